"""Measuring coverage: how many units of a level have a facility of a category.

A unit (county, township, street, village or community committee) is *covered* when at least one
facility of the category is placed in it (its code), or — under a service-radius rule stated in the
target (the plans' 15-minute circles) — when a facility lies within ``radius_km`` of the unit's
polygon (:mod:`facilities.radius`). Only rows with ``match_status == "matched"`` are placed; every
other row of the category is counted and listed as unplaced, never dropped. The units of each level
come from :mod:`facilities.levels`; judging a whole plan is :mod:`facilities.evaluation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from facilities.levels import check_level, level_units
from facilities.radius import within_radius
from towncover.errors import TowncoverError
from towncover.vocabulary import COUNTY_LEVEL, TOWNSHIP_LEVELS, VILLAGE_LEVELS

if TYPE_CHECKING:
    from facilities.pipeline import Analysis
    from facilities.targets import Plan, Target

_EPS = 1e-9

# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------
@dataclass
class CoverageResult:
    """Coverage of one category at one level in one region.

    Attributes
    ----------
    category : str
        Category id (``elderly_regional_centre``), or ``"all"``.
    level : str
        One of :data:`LEVELS`.
    covered, total : int
        Units covered and units counted.
    rate : float or None
        ``100 * covered / total`` (exact, percent 0–100); None when there are no units.
    units : pandas.DataFrame
        One row per unit: ``code, name, county_code, township_code, kind, n_facilities, covered``
        (plus ``n_within``, ``nearest_km`` under a radius rule) and ``status``.
    uncovered : list of str
        Codes of the units not covered, in code order.
    unplaced_rows : int
        Rows of the category not placed on a township (ambiguous, unmatched, out of region,
        rejected).
    target : float or None
        The target rate in percent, when measured against one.
    met : bool or None
        Whether the target is met (None without a target).
    region_code : str
    include_special : bool
    radius_km : float or None
    comparator : str
    unplaced : pandas.DataFrame
        The unplaced rows themselves (all their columns).
    township_only_rows : int
        At village levels: rows placed on a township but on no village, which cannot cover a
        village (counted here, not in ``unplaced_rows``).
    outside_units_rows : int
        Placed rows of the category in a unit not counted at this level (a street at level
        ``township``, a 400+ special unit when specials are excluded).
    facilities : pandas.DataFrame
        The placed rows of the category: ``row, unit_code, township_code, village_code, lng, lat``.
    notes : list of str
        What the figures rest on, Chinese / English.
    unit_shapes : geopandas.GeoDataFrame or None
        Unit polygons used for the radius rule (``code``, ``geometry``), if any.
    """

    category: str
    level: str
    covered: int
    total: int
    rate: float | None
    units: pd.DataFrame
    uncovered: list[str]
    unplaced_rows: int
    target: float | None = None
    met: bool | None = None
    region_code: str = ""
    include_special: bool = False
    radius_km: float | None = None
    comparator: str = ">="
    unplaced: pd.DataFrame = field(default_factory=pd.DataFrame)
    township_only_rows: int = 0
    outside_units_rows: int = 0
    facilities: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    unit_shapes: Any = None

    def to_json(self) -> dict[str, Any]:
        """The command-line JSON contract, exactly these keys.

        Returns
        -------
        dict
            ``{category, level, covered, total, rate, uncovered, unplaced_rows, target, met}`` with
            ``rate`` and ``target`` in percent (0–100) or None.
        """
        return {
            "category": self.category,
            "level": self.level,
            "covered": int(self.covered),
            "total": int(self.total),
            "rate": None if self.rate is None else float(self.rate),
            "uncovered": [str(c) for c in self.uncovered],
            "unplaced_rows": int(self.unplaced_rows),
            "target": None if self.target is None else float(self.target),
            "met": None if self.met is None else bool(self.met),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything in :meth:`to_json` plus the options, notes and the unit table (for reports)."""
        out = self.to_json()
        out.update(
            region_code=self.region_code,
            include_special=bool(self.include_special),
            radius_km=self.radius_km,
            comparator=self.comparator,
            township_only_rows=int(self.township_only_rows),
            outside_units_rows=int(self.outside_units_rows),
            notes=list(self.notes),
            units=records(self.units),
        )
        return out


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------
def measure(
    geocoded: pd.DataFrame,
    region_code: str,
    category: str | list[str] | None,
    level: str,
    *,
    include_special: bool = False,
    radius_km: float | None = None,
    units: Any = None,
    facilities_points: Any = None,
    target: float | None = None,
    comparator: str = ">=",
) -> CoverageResult:
    """Measure how many units of a level have a facility of a category.

    Parameters
    ----------
    geocoded : pandas.DataFrame
        The geocoder's frame with a ``category`` column: ``row, township_code, village_code,
        match_status, lng_wgs84, lat_wgs84, category`` (others kept for the unplaced listing).
    region_code : str
        Division code of the region.
    category : str, list of str or None
        Category id(s); None or ``"all"`` for every row.
    level : str
        One of :data:`LEVELS`.
    include_special : bool
        Count the 400+ special units (see :func:`level_units`). Off by default.
    radius_km : float, optional
        Service radius: a unit is also covered when a facility lies within this many km of its
        polygon. Needs ``units``; not available at village levels (no village polygons or points).
    units : geopandas.GeoDataFrame, optional
        Unit polygons with a ``code`` column (township cells or the user's boundaries).
    facilities_points : geopandas.GeoDataFrame or pandas.DataFrame, optional
        Facility points to use for the radius rule instead of the placed rows' coordinates
        (a GeoDataFrame of points, or a frame with ``lng``/``lat`` in WGS-84).
    target : float, optional
        Target rate in percent (0–100); sets ``met``.
    comparator : {">=", "<=", "=="}
        How the rate is compared with the target.

    Returns
    -------
    CoverageResult

    Raises
    ------
    TowncoverError
        Unknown level, missing columns, a radius at village level, or a radius without polygons.
    """
    check_level(level)
    check_columns(geocoded, ["township_code", "match_status", "category"])
    region_code = str(region_code)
    radius_km = _checked_radius(radius_km, level, units)
    table = level_units(region_code, level, include_special=include_special)
    in_category = category_mask(geocoded, category)
    exists = existing_mask(geocoded)
    placed = in_category & placed_mask(geocoded, level) & exists
    notes = [note for note in [left_out_note(geocoded, in_category)] if note]

    unit_code, township_only_rows, outside_units_rows = _count_in_units(geocoded, placed, level, table)
    covered = table["n_facilities"].to_numpy() > 0

    facilities = _facility_frame(geocoded, placed, unit_code)
    shapes = None
    if radius_km is not None:
        shapes, within = _apply_radius(table, units, facilities, facilities_points, radius_km, notes)
        covered = covered | within
    table["covered"] = covered
    table["status"] = np.where(covered, "已覆盖 / covered", "未覆盖 / not covered")

    total = len(table)
    n_cov = int(covered.sum())
    rate = (100.0 * n_cov / total) if total else None
    unplaced = geocoded.loc[in_category & ~placed_mask(geocoded, level)]
    notes.extend(_count_notes(township_only_rows, outside_units_rows, len(unplaced),
                              not include_special and level != COUNTY_LEVEL))
    met = None if target is None or rate is None else compare(rate, comparator, float(target))
    return CoverageResult(
        category=_category_name(category),
        level=level,
        covered=n_cov,
        total=total,
        rate=rate,
        units=table,
        uncovered=table.loc[~covered, "code"].astype(str).tolist(),
        unplaced_rows=len(unplaced),
        target=None if target is None else float(target),
        met=met,
        region_code=region_code,
        include_special=include_special,
        radius_km=radius_km,
        comparator=comparator,
        unplaced=unplaced,
        township_only_rows=township_only_rows,
        outside_units_rows=outside_units_rows,
        facilities=facilities,
        notes=notes,
        unit_shapes=shapes,
    )


def _count_in_units(geocoded: pd.DataFrame, placed: pd.Series, level: str,
                    table: pd.DataFrame) -> tuple[pd.Series, int, int]:
    """Add ``n_facilities`` per unit; each row's unit code, rows lacking a village, rows outside the units."""
    unit_code, township_only = unit_code_of(geocoded, level)
    township_only_rows = int((placed & township_only).sum())
    codes_placed = unit_code[placed & ~township_only]
    in_units = codes_placed.isin(table["code"])
    counts = codes_placed[in_units].value_counts()
    table["n_facilities"] = counts.reindex(table["code"]).fillna(0).astype("int64").to_numpy()
    return unit_code, township_only_rows, int((~in_units).sum())


def _checked_radius(radius_km: float | None, level: str, units: Any) -> float | None:
    """The service radius as a float, or a bilingual error when it cannot be applied."""
    if radius_km is None:
        return None
    radius_km = float(radius_km)
    if not radius_km > 0:
        raise TowncoverError(
            f"服务半径必须为正数,而不是 {radius_km}", f"service radius must be positive, not {radius_km}",
            column="radius_km",
        )
    if level in VILLAGE_LEVELS:
        raise TowncoverError(
            "村(社区)级没有点位或边界,无法按服务半径评估", "village-level coverage by service radius cannot "
            "be evaluated: there are no village points or polygons", column="radius_km",
        )
    if units is None:
        raise TowncoverError(
            "按服务半径评估需要单元边界(乡镇边界或示意单元)",
            "the service-radius rule needs unit polygons (township boundaries or schematic cells)",
            column="radius_km",
        )
    return radius_km


def _apply_radius(table: pd.DataFrame, units: Any, facilities: pd.DataFrame, facilities_points: Any,
                  radius_km: float, notes: list[str]) -> tuple[Any, np.ndarray]:
    """Add ``n_within``/``nearest_km`` to the unit table; the shapes used and which units a facility reaches."""
    shapes, n_within, nearest = within_radius(table["code"], units, facilities, facilities_points, radius_km)
    table["n_within"] = n_within
    table["nearest_km"] = nearest
    missing = table["code"][np.isnan(nearest) & (table["n_facilities"].to_numpy() == 0)
                            & ~table["code"].isin(shapes["code"]).to_numpy()]
    if len(missing):
        notes.append(
            f"{len(missing)} 个单元没有边界,只按编码落位计算:{'、'.join(missing.astype(str))} / "
            f"{len(missing)} units have no polygon and are counted by placement only"
        )
    notes.append(f"服务半径 {radius_km:g} km(设施到单元边界的距离)/ service radius {radius_km:g} km "
                 "(distance from facility to unit polygon)")
    return shapes, n_within > 0


def _count_notes(township_only_rows: int, outside_units_rows: int, unplaced_rows: int,
                 specials_excluded: bool) -> list[str]:
    """What the figures leave out, Chinese / English."""
    notes = []
    if township_only_rows:
        notes.append(
            f"{township_only_rows} 个设施只定位到乡镇、未定位到村(社区),不能覆盖村(社区),已单列 / "
            f"{township_only_rows} facilities are placed on a township but on no village or community; "
            "they cannot cover one and are counted separately"
        )
    if outside_units_rows:
        notes.append(
            f"{outside_units_rows} 个设施位于本层级不计入的单元(如 400+ 特殊区域或其他类型单元) / "
            f"{outside_units_rows} facilities lie in units not counted at this level "
            "(e.g. 400+ special units, or units of another kind)"
        )
    if unplaced_rows:
        notes.append(f"{unplaced_rows} 行未定位到乡镇,未计入 / {unplaced_rows} rows not placed, not counted")
    if specials_excluded:
        notes.append("不含 400+ 特殊区域(开发区、园区等) / 400+ special units (development zones...) excluded")
    return notes


def coverage_targets(plan: Plan | None, category: str, level: str) -> list[Target]:
    """The plan's evaluable coverage-rate targets for one category and level, in plan order."""
    if plan is None:
        return []
    return [t for t in plan.targets if t.metric == "coverage_rate" and t.category == category
            and t.level == level and t.evaluable and t.value is not None]


def measure_for_target(analysis: Analysis, category: str, level: str) -> CoverageResult:
    """Measure one category and level of an analysis, using the plan's target for it if there is one.

    Parameters
    ----------
    analysis : facilities.pipeline.Analysis
        Needs ``placed``, ``region``, ``units`` and ``plan``.
    category, level : str

    Returns
    -------
    CoverageResult
        With ``target``/``met`` from the first coverage-rate target of the plan for this category
        and level (its ``include_special`` and ``radius_km`` applied), else without a target.
    """
    dropped_radius = False
    matching = coverage_targets(analysis.plan, category, level)
    target = matching[0] if matching else None
    kwargs: dict[str, Any] = {}
    if target is not None:
        radius = target.radius_km
        if radius is not None and (analysis.units is None or level in VILLAGE_LEVELS):
            # No unit shapes (or village points) to measure distance: count presence only, and say so.
            radius = None
            dropped_radius = True
        kwargs = dict(include_special=bool(target.include_special), radius_km=radius,
                      units=analysis.units if radius is not None else None, target=float_or_none(target.value),
                      comparator=target.comparator or ">=")
    result = measure(analysis.placed, analysis.region.code, category, level, **kwargs)
    if dropped_radius:
        result.notes.append(
            "规划目标带服务半径,但此级别没有点位或边界:按单元内有无设施计 / the plan's target has a service "
            "radius, but there are no points or polygons at this level: counted by presence in the unit"
        )
    if target is not None and len(matching) > 1:
        others = "、".join(f"{t.id}({format_number(t.value)}%)" for t in matching[1:])
        result.notes.append(
            f"按目标 {target.id}({format_number(target.value)}%)判断;同一类别和层级另有目标:{others},见完整报告 / "
            f"judged against {target.id}; the plan has more targets for this category and level: "
            f"{', '.join(t.id for t in matching[1:])} (see the full report)"
        )
    return result


# ---------------------------------------------------------------------------------------------
# Helpers for measuring
# ---------------------------------------------------------------------------------------------
def check_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TowncoverError(
            f"定位结果缺少列:{'、'.join(missing)}", f"the geocoded table lacks column(s): {', '.join(missing)}",
            column=missing[0],
        )


def _blank(series: pd.Series) -> pd.Series:
    s = series.astype("string")
    return s.isna() | (s.str.strip() == "")


def existing_mask(frame: pd.DataFrame) -> pd.Series:
    """Rows of facilities that exist today: not under construction, not closed (the loader's status).

    A frame without the status column (an older caller, planned projects) counts every row.
    """
    if "operating_status" not in frame.columns:
        return pd.Series(True, index=frame.index)
    return ~frame["operating_status"].astype("string").isin(["under_construction", "closed"]).fillna(False)


def left_out_note(frame: pd.DataFrame, rows: pd.Series) -> str | None:
    """Say how many of ``rows`` were left out as not existing today, by status; None when none were."""
    if "operating_status" not in frame.columns:
        return None
    status = frame.loc[rows, "operating_status"].astype("string")
    building, closed = int((status == "under_construction").sum()), int((status == "closed").sum())
    if not building + closed:
        return None
    return (f"未计入 {building + closed} 行:在建或拟建 {building} 行、停业或关闭 {closed} 行 / "
            f"{building + closed} rows left out: {building} under construction or planned, {closed} closed")


def placed_mask(frame: pd.DataFrame, level: str | None = None) -> pd.Series:
    """Rows placed at a level: on a township, or at county level on a known county.

    A county-level facility (安岳县殡仪馆, 安岳县西街49号) names no township but is placed in its county;
    so is a row whose township tied between candidates of one county.
    """
    status = frame["match_status"].astype("string").fillna("")
    on_township = (status == "matched") & ~_blank(frame["township_code"])
    if level != COUNTY_LEVEL or "county_code" not in frame.columns:
        return on_township
    in_county = status.isin(["matched", "ambiguous", "unmatched"]) & ~_blank(frame["county_code"])
    return on_township | in_county


def county_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's county code: its own ``county_code``, else the first six digits of its township."""
    township = frame["township_code"].astype("string").str.strip().str[:6]
    if "county_code" not in frame.columns:
        return township
    county = frame["county_code"].astype("string").str.strip()
    return county.where(~_blank(county), township)


def category_mask(frame: pd.DataFrame, category: str | list[str] | tuple[str, ...] | None) -> pd.Series:
    if category is None or category == "all":
        return pd.Series(True, index=frame.index)
    wanted = [category] if isinstance(category, str) else list(category)
    from facilities.categories import CATEGORIES, UNCLASSIFIED

    unknown = [c for c in wanted if c not in CATEGORIES and c != UNCLASSIFIED]
    if unknown:
        raise TowncoverError(
            f"未知的设施类别“{unknown[0]}”;可选:{'、'.join(CATEGORIES)}",
            f"unknown facility category '{unknown[0]}'; choose one of {', '.join(CATEGORIES)}",
            column="category",
        )
    return frame["category"].astype("string").isin(wanted).fillna(False).astype(bool)


def _category_name(category: str | list[str] | tuple[str, ...] | None) -> str:
    if category is None:
        return "all"
    return category if isinstance(category, str) else "+".join(category)


def unit_code_of(frame: pd.DataFrame, level: str) -> tuple[pd.Series, pd.Series]:
    """Unit code of each row at a level, and whether the row lacks the village a village level needs."""
    township = frame["township_code"].astype("string").str.strip()
    if level == COUNTY_LEVEL:
        return county_of(frame), pd.Series(False, index=frame.index)
    if level in TOWNSHIP_LEVELS:
        return township, pd.Series(False, index=frame.index)
    if "village_code" in frame.columns:
        village = frame["village_code"].astype("string").str.strip()
        no_village = _blank(village)
    else:
        village = pd.Series(pd.NA, index=frame.index, dtype="string")
        no_village = pd.Series(True, index=frame.index)
    return village, no_village


def _facility_frame(frame: pd.DataFrame, placed: pd.Series, unit_code: pd.Series) -> pd.DataFrame:
    sub = frame.loc[placed]
    n = len(sub)

    def col(name: str, dtype: str) -> Any:
        if name in sub.columns:
            return sub[name].to_numpy()
        return np.full(n, np.nan) if dtype == "float" else np.full(n, None, dtype=object)

    out = pd.DataFrame({
        "row": col("row", "obj"),
        "unit_code": unit_code[placed].to_numpy(),
        "township_code": sub["township_code"].astype("string").to_numpy(),
        "village_code": col("village_code", "obj"),
        "lng": pd.to_numeric(pd.Series(col("lng_wgs84", "float")), errors="coerce").to_numpy(dtype=float),
        "lat": pd.to_numeric(pd.Series(col("lat_wgs84", "float")), errors="coerce").to_numpy(dtype=float),
    })
    return out


def compare(measured: float, comparator: str, value: float) -> bool:
    if comparator == ">=":
        return bool(measured >= value - _EPS)
    if comparator == "<=":
        return bool(measured <= value + _EPS)
    if comparator == "==":
        return bool(abs(measured - value) <= _EPS)
    raise TowncoverError(
        f"未知的比较符“{comparator}”;可选 >=、<=、==", f"unknown comparator '{comparator}'; use >=, <= or ==",
        column="comparator",
    )


def units_needed(covered: int, total: int, target_rate: float) -> int:
    """How many more units must be covered for ``covered / total`` to reach ``target_rate`` percent.

    Parameters
    ----------
    covered, total : int
    target_rate : float
        Percent, 0–100.

    Returns
    -------
    int
        ``max(0, ceil(target_rate * total / 100) - covered)``, computed without float drift
        (60 % of 10 is 6, not 7).
    """
    required = math.ceil(round(float(target_rate) * total / 100.0, 9))
    return max(0, min(required, total) - int(covered))


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as JSON-safe dicts (see :func:`plain`)."""
    return [{str(k): plain(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def plain(value: Any) -> Any:
    """A JSON-safe Python value (numpy scalars unwrapped, NaN/NA to None)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value



def float_or_none(value: Any) -> float | None:
    """A float, or None for None, NaN and text that is not a number."""
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def format_number(value: Any) -> str:
    """A figure for texts: whole numbers without decimals, others with one; ``—`` when missing."""
    value = float_or_none(value)
    if value is None:
        return "—"
    return f"{value:.1f}" if not float(value).is_integer() else f"{value:.0f}"
