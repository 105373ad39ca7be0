"""Coverage of townships, villages and communities by facilities, measured against a plan's targets.

A unit (county, township, street, village or community committee) is *covered* when at least one
facility of the category is placed in it (its code), or — under a service-radius rule stated in the
target (the plans' 15-minute circles) — when a facility lies within ``radius_km`` of the unit's
polygon. Only rows with ``match_status == "matched"`` are placed; every other row of the category is
counted and listed as unplaced, never dropped.

Levels (codes from the national gazetteer, digits 7–9 of a township code decide its kind):

=======================  ======================================================================
``county``               county-level units (县、市、区) in the region
``township_and_street``  乡镇(街道): townships with digits 7–9 below 400 (400+ special units only
                         when the target says ``include_special``)
``township``             镇 and 乡 (100–399)
``street``               街道 (001–099)
``village``              村委会
``community``            社区居委会
``village_and_community`` both
=======================  ======================================================================

Village-level units under a 400+ special unit follow the same ``include_special`` option.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.gazetteer import load_gazetteer
from towncover.errors import TowncoverError

LEVELS = (
    "county",
    "township_and_street",
    "township",
    "street",
    "village",
    "community",
    "village_and_community",
)
VILLAGE_LEVELS = ("village", "community", "village_and_community")
TOWNSHIP_LEVELS = ("township_and_street", "township", "street")

#: Level nouns used in status texts (需新增覆盖 N 个乡镇(街道)).
LEVEL_NOUNS: dict[str, tuple[str, str]] = {
    "county": ("县(市、区)", "counties"),
    "township_and_street": ("乡镇(街道)", "townships and streets"),
    "township": ("乡镇", "townships"),
    "street": ("街道", "streets"),
    "village": ("村", "villages"),
    "community": ("社区", "communities"),
    "village_and_community": ("村(社区)", "villages and communities"),
}
METRICS = ("coverage_rate", "count", "ratio", "per_thousand", "other")
COMPARATORS = (">=", "<=", "==")
_EPS = 1e-9
_PERCENT_UNITS = {"%", "％", "percent", "pct"}
_TOWNSHIP_KINDS_BY_LEVEL = {
    "township_and_street": ("street", "town", "township"),
    "township": ("town", "township"),
    "street": ("street",),
}
_VILLAGE_KINDS_BY_LEVEL = {
    "village": ("village",),
    "community": ("community",),
    "village_and_community": ("village", "community"),
}
_EXCLUDED_STATUS_FOR_TOTALS = ("out_of_region", "rejected")


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
            units=_records(self.units),
        )
        return out


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------
def level_units(region_code: str, level: str, *, include_special: bool = False) -> pd.DataFrame:
    """The units counted at a level within a region, from the national gazetteer.

    Parameters
    ----------
    region_code : str
        Division code of the region (2, 4, 6 or 9 digits).
    level : str
        One of :data:`LEVELS`.
    include_special : bool
        Count 400+ special units (开发区、园区、农场…) at ``township_and_street``, and the villages
        and communities under them at village levels. Off by default, as in the plans.

    Returns
    -------
    pandas.DataFrame
        ``code, name, county_code, township_code, kind`` in code order.

    Raises
    ------
    TowncoverError
        For an unknown level.
    """
    _check_level(level)
    gaz = load_gazetteer()
    region_code = str(region_code)
    if level == "county":
        frame = gaz.counties_in(region_code)[["code", "name"]].copy()
        frame["county_code"] = frame["code"]
        frame["township_code"] = pd.NA
        frame["kind"] = "county"
    elif level in TOWNSHIP_LEVELS:
        frame = gaz.townships_in(region_code, include_special=True)
        kinds = _TOWNSHIP_KINDS_BY_LEVEL[level]
        if include_special and level == "township_and_street":
            kinds = (*kinds, "special")
        frame = frame[frame["kind"].isin(kinds)][["code", "name", "county_code", "kind"]].copy()
        frame["township_code"] = frame["code"]
    else:
        frame = gaz.villages_in(region_code)
        frame = frame[frame["kind"].isin(_VILLAGE_KINDS_BY_LEVEL[level])]
        if not include_special:
            serial = pd.to_numeric(frame["township_code"].str[6:9], errors="coerce")
            frame = frame[serial < _special_min()]
        frame = frame[["code", "name", "county_code", "township_code", "kind"]].copy()
    frame = frame.sort_values("code").reset_index(drop=True)
    return frame[["code", "name", "county_code", "township_code", "kind"]].astype("string")


def _special_min() -> int:
    from towncover import settings

    return int(settings.SPECIAL_UNIT_MIN)


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise TowncoverError(
            f"未知的统计层级“{level}”;可选:{'、'.join(LEVELS)}",
            f"unknown level '{level}'; choose one of {', '.join(LEVELS)}",
            column="level",
        )


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
    _check_level(level)
    _check_columns(geocoded, ["township_code", "match_status", "category"])
    region_code = str(region_code)
    if radius_km is not None:
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
    table = level_units(region_code, level, include_special=include_special)
    in_category = _category_mask(geocoded, category)
    placed = in_category & _placed_mask(geocoded, level)
    notes: list[str] = []

    unit_code, township_only = _unit_code_of(geocoded, level)
    township_only_rows = int((placed & township_only).sum())
    codes_placed = unit_code[placed & ~township_only]
    in_units = codes_placed.isin(table["code"])
    outside_units_rows = int((~in_units).sum())
    counts = codes_placed[in_units].value_counts()
    table["n_facilities"] = counts.reindex(table["code"]).fillna(0).astype("int64").to_numpy()
    covered = table["n_facilities"].to_numpy() > 0

    facilities = _facility_frame(geocoded, placed, unit_code)
    shapes = None
    if radius_km is not None:
        shapes, n_within, nearest = _within_radius(table["code"], units, facilities, facilities_points, radius_km)
        table["n_within"] = n_within
        table["nearest_km"] = nearest
        missing = table["code"][np.isnan(nearest) & (table["n_facilities"].to_numpy() == 0)
                                & ~table["code"].isin(shapes["code"]).to_numpy()]
        if len(missing):
            notes.append(
                f"{len(missing)} 个单元没有边界,只按编码落位计算:{'、'.join(missing.astype(str))} / "
                f"{len(missing)} units have no polygon and are counted by placement only"
            )
        covered = covered | (n_within > 0)
        notes.append(f"服务半径 {radius_km:g} km(设施到单元边界的距离)/ service radius {radius_km:g} km "
                     "(distance from facility to unit polygon)")
    table["covered"] = covered
    table["status"] = np.where(covered, "已覆盖 / covered", "未覆盖 / not covered")

    total = len(table)
    n_cov = int(covered.sum())
    rate = (100.0 * n_cov / total) if total else None
    unplaced = geocoded.loc[in_category & ~_placed_mask(geocoded, level)]
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
    if len(unplaced):
        notes.append(f"{len(unplaced)} 行未定位到乡镇,未计入 / {len(unplaced)} rows not placed, not counted")
    if not include_special and level != "county":
        notes.append("不含 400+ 特殊区域(开发区、园区等) / 400+ special units (development zones...) excluded")
    met = None if target is None or rate is None else _compare(rate, comparator, float(target))
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


def measure_for_target(analysis: Any, category: str, level: str) -> CoverageResult:
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
    plan = getattr(analysis, "plan", None)
    dropped_radius = False
    matching = [t for t in getattr(plan, "targets", None) or []
                if getattr(t, "metric", None) == "coverage_rate" and getattr(t, "category", None) == category
                and getattr(t, "level", None) == level and getattr(t, "evaluable", True)]
    target = matching[0] if matching else None
    kwargs: dict[str, Any] = {}
    if target is not None:
        radius = getattr(target, "radius_km", None)
        if radius is not None and (analysis.units is None or level in VILLAGE_LEVELS):
            # No unit shapes (or village points) to measure distance: count presence only, and say so.
            radius = None
            dropped_radius = True
        kwargs = dict(include_special=bool(getattr(target, "include_special", False)), radius_km=radius,
                      units=analysis.units if radius is not None else None, target=float(target.value),
                      comparator=getattr(target, "comparator", None) or ">=")
    result = measure(analysis.placed, analysis.region.code, category, level, **kwargs)
    if dropped_radius:
        result.notes.append(
            "规划目标带服务半径,但此级别没有点位或边界:按单元内有无设施计 / the plan's target has a service "
            "radius, but there are no points or polygons at this level: counted by presence in the unit"
        )
    if len(matching) > 1:
        others = "、".join(f"{t.id}({_display(t.value)}%)" for t in matching[1:])
        result.notes.append(
            f"按目标 {target.id}({_display(target.value)}%)判断;同一类别和层级另有目标:{others},见完整报告 / "
            f"judged against {target.id}; the plan has more targets for this category and level: "
            f"{', '.join(t.id for t in matching[1:])} (see the full report)"
        )
    return result


# ---------------------------------------------------------------------------------------------
# Helpers for measuring
# ---------------------------------------------------------------------------------------------
def _check_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TowncoverError(
            f"定位结果缺少列:{'、'.join(missing)}", f"the geocoded table lacks column(s): {', '.join(missing)}",
            column=missing[0],
        )


def _blank(series: pd.Series) -> pd.Series:
    s = series.astype("string")
    return s.isna() | (s.str.strip() == "")


def _placed_mask(frame: pd.DataFrame, level: str | None = None) -> pd.Series:
    """Rows placed at a level: on a township, or at county level on a known county.

    A county-level facility (安岳县殡仪馆, 安岳县西街49号) names no township but is placed in its county;
    so is a row whose township tied between candidates of one county.
    """
    status = frame["match_status"].astype("string").fillna("")
    on_township = (status == "matched") & ~_blank(frame["township_code"])
    if level != "county" or "county_code" not in frame.columns:
        return on_township
    in_county = status.isin(["matched", "ambiguous", "unmatched"]) & ~_blank(frame["county_code"])
    return on_township | in_county


def _county_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's county code: its own ``county_code``, else the first six digits of its township."""
    township = frame["township_code"].astype("string").str.strip().str[:6]
    if "county_code" not in frame.columns:
        return township
    county = frame["county_code"].astype("string").str.strip()
    return county.where(~_blank(county), township)


def _category_mask(frame: pd.DataFrame, category: str | list[str] | tuple[str, ...] | None) -> pd.Series:
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


def _unit_code_of(frame: pd.DataFrame, level: str) -> tuple[pd.Series, pd.Series]:
    """Unit code of each row at a level, and whether the row lacks the village a village level needs."""
    township = frame["township_code"].astype("string").str.strip()
    if level == "county":
        return _county_of(frame), pd.Series(False, index=frame.index)
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


def metric_crs(lng: np.ndarray, lat: np.ndarray) -> Any:
    """A local azimuthal equidistant CRS (metres) centred on the given WGS-84 points.

    Parameters
    ----------
    lng, lat : numpy.ndarray
        Longitudes and latitudes (WGS-84), at least one finite pair.

    Returns
    -------
    pyproj.CRS
    """
    from pyproj import CRS

    lon0 = float(np.nanmean(lng)) if np.isfinite(lng).any() else 105.0
    lat0 = float(np.nanmean(lat)) if np.isfinite(lat).any() else 35.0
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84 +units=m +no_defs")


def _shapes_for(codes: pd.Series, units: Any) -> Any:
    """Unit polygons for the given codes, in EPSG:4326 (GeoDataFrame[code, geometry])."""
    import geopandas as gpd

    if not isinstance(units, gpd.GeoDataFrame) or "code" not in units.columns:
        raise TowncoverError(
            "单元边界必须是带 code 列的 GeoDataFrame", "unit polygons must be a GeoDataFrame with a 'code' column",
            column="code",
        )
    shapes = units[["code", "geometry"]].copy()
    shapes["code"] = shapes["code"].astype("string")
    shapes = shapes[shapes["code"].isin(codes) & shapes.geometry.notna() & ~shapes.geometry.is_empty]
    shapes = shapes.drop_duplicates("code")
    if shapes.crs is None:
        shapes = shapes.set_crs(4326)
    return shapes.to_crs(4326).reset_index(drop=True)


def _points_for(facilities: pd.DataFrame, facilities_points: Any) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 lng/lat arrays of the facilities used for distances."""
    import geopandas as gpd

    if facilities_points is None:
        lng, lat = facilities["lng"].to_numpy(float), facilities["lat"].to_numpy(float)
    elif isinstance(facilities_points, gpd.GeoDataFrame | gpd.GeoSeries):
        pts = facilities_points if facilities_points.crs is not None else facilities_points.set_crs(4326)
        pts = pts.to_crs(4326)
        geom = pts.geometry if isinstance(pts, gpd.GeoDataFrame) else pts
        lng, lat = geom.x.to_numpy(float), geom.y.to_numpy(float)
    else:
        frame = pd.DataFrame(facilities_points)
        lng_col = "lng" if "lng" in frame.columns else "lng_wgs84"
        lat_col = "lat" if "lat" in frame.columns else "lat_wgs84"
        lng = pd.to_numeric(frame[lng_col], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(frame[lat_col], errors="coerce").to_numpy(float)
    ok = np.isfinite(lng) & np.isfinite(lat)
    return lng[ok], lat[ok]


def _within_radius(
    codes: pd.Series, units: Any, facilities: pd.DataFrame, facilities_points: Any, radius_km: float
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Per unit: facilities within the radius of its polygon, and distance to the nearest (km)."""
    import geopandas as gpd
    import shapely

    shapes = _shapes_for(codes, units)
    lng, lat = _points_for(facilities, facilities_points)
    n = len(codes)
    n_within = np.zeros(n, dtype=np.int64)
    nearest = np.full(n, np.nan)
    if len(shapes) == 0 or len(lng) == 0:
        return shapes, n_within, nearest
    centre = shapes.geometry.union_all().centroid
    crs = metric_crs(np.array([centre.x]), np.array([centre.y]))
    polys = shapes.to_crs(crs).geometry.to_numpy()
    pts = gpd.GeoSeries(gpd.points_from_xy(lng, lat), crs=4326).to_crs(crs).to_numpy()
    tree = shapely.STRtree(pts)
    poly_idx, _pt_idx = tree.query(polys, predicate="dwithin", distance=radius_km * 1000.0)
    within = np.bincount(poly_idx, minlength=len(polys))
    near_poly, near_pt = tree.query_nearest(polys, all_matches=False)
    dist = shapely.distance(polys[near_poly], pts[near_pt]) / 1000.0
    nearest_by_shape = np.full(len(polys), np.nan)
    nearest_by_shape[near_poly] = dist
    position = pd.Series(np.arange(n), index=codes.astype(str).to_numpy())
    where = position.reindex(shapes["code"].astype(str).to_numpy()).to_numpy()
    n_within[where] = within
    nearest[where] = nearest_by_shape
    return shapes, n_within, nearest


def _compare(measured: float, comparator: str, value: float) -> bool:
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


# ---------------------------------------------------------------------------------------------
# Inputs: population table, planned projects
# ---------------------------------------------------------------------------------------------
_CODE_HEADERS = ("code", "区划代码", "代码", "行政区划代码", "统计用区划代码", "乡镇代码", "乡镇(街道)代码", "单位代码")
_NAME_HEADERS = ("name", "名称", "单位名称", "乡镇", "乡镇(街道)", "地区", "区域")
_POPULATION_ALIASES = {
    "population": ("population", "人口", "总人口", "常住人口", "户籍人口", "人口数"),
    "elderly_population": ("elderly_population", "elderly", "老年人口", "60岁以上人口", "60周岁以上人口", "60岁及以上人口", "60周岁及以上人口",
                "老年人数", "老年人口数"),
}


_POPULATION_PATTERNS = {"population": r"人口", "elderly_population": r"老年|老人|[6-8]0周?岁|65周?岁"}
_POPULATION_EXCLUDE = {"population": r"老年|老人|周?岁|儿童|户", "elderly_population": r"^$"}


def _norm_header(text: Any) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).lower()


def _find_header(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    normed = {_norm_header(c): c for c in columns}
    for cand in candidates:
        if _norm_header(cand) in normed:
            return normed[_norm_header(cand)]
    return None


def _natural_code(values: pd.Series) -> pd.Series:
    """Division codes to their natural length (321202001000 -> 321202001, 321202000000 -> 321202)."""
    s = values.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    padded = s.str.pad(12, side="right", fillchar="0").str[:12]
    out = padded.copy()
    for length in (9, 6, 4, 2):
        zeros = "0" * (12 - length)
        out = out.mask(padded.str[length:] == zeros, padded.str[:length])
    return out.where(s.str.fullmatch(r"\d{2,12}").fillna(False))


def _read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise TowncoverError(f"找不到文件 {path}", f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return pd.read_excel(path, dtype=str)
    if suffix == ".csv":
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False)
            except UnicodeDecodeError:
                continue
    raise TowncoverError(f"不支持的文件类型:{path.name}(请用 .csv 或 .xlsx)",
                         f"unsupported file type: {path.name} (use .csv or .xlsx)")


def read_population(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read a population table: a division code per row and one or more population columns.

    Parameters
    ----------
    source : path or pandas.DataFrame
        .csv/.xlsx with a code column (区划代码/乡镇代码/code) and numeric columns. Columns headed
        人口/总人口/常住人口 are also available as ``population``, 老年人口/60岁以上人口 as
        ``elderly_population``.

    Returns
    -------
    pandas.DataFrame
        ``code`` (natural length) plus every numeric column (floats), original headers kept.

    Raises
    ------
    TowncoverError
        No code column, a bad code or a non-numeric value (row and column named).
    """
    frame = source.copy() if isinstance(source, pd.DataFrame) else _read_table(source)
    frame.columns = [str(c).strip() for c in frame.columns]
    code_col = _find_header(list(frame.columns), _CODE_HEADERS)
    if code_col is None:
        raise TowncoverError("人口表缺少区划代码列(区划代码/乡镇代码/code)",
                             "the population table has no division-code column (区划代码/code)", column="code")
    codes = _natural_code(frame[code_col])
    bad = codes.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise TowncoverError(f"人口表第 {i + 2} 行的区划代码“{frame[code_col].iloc[i]}”无效",
                             f"row {i + 2} of the population table has an invalid division code",
                             row=i + 2, column=code_col)
    out = pd.DataFrame({"code": codes.astype(str).to_numpy()})
    name_col = _find_header(list(frame.columns), _NAME_HEADERS)
    if name_col is not None and name_col != code_col:
        out["name"] = frame[name_col].astype("string").to_numpy()
    for col in frame.columns:
        if col in (code_col, name_col):
            continue
        text = frame[col].astype("string").str.replace(",", "", regex=False).str.strip()
        values = pd.to_numeric(text.replace("", pd.NA), errors="coerce")
        if values.isna().all():
            continue
        wrong = values.isna() & text.fillna("").ne("")
        if wrong.any():
            i = int(np.flatnonzero(wrong.to_numpy())[0])
            raise TowncoverError(f"人口表第 {i + 2} 行“{col}”列不是数字:{text.iloc[i]}",
                                 f"row {i + 2} of the population table: column '{col}' is not a number",
                                 row=i + 2, column=col)
        out[col] = values.astype(float).to_numpy()
    numeric = [c for c in out.columns if c not in ("code", "name")]
    for alias, headers in _POPULATION_ALIASES.items():
        found = _find_header(numeric, headers)
        if found is None:  # 60岁以上老年人口, 65周岁及以上人口数…: by pattern, when exactly one column fits
            fits = [c for c in numeric if re.search(_POPULATION_PATTERNS[alias], _norm_header(c))
                    and not re.search(_POPULATION_EXCLUDE[alias], _norm_header(c))]
            found = fits[0] if len(fits) == 1 else None
        if found is not None and alias not in out.columns:
            out[alias] = out[found]
    return out


def _population_total(population: pd.DataFrame, region_code: str, column: str) -> float | None:
    """The region's population in ``column``: its own row, else the sum of the finest rows inside it."""
    codes = population["code"].astype(str)
    values = pd.to_numeric(population[column], errors="coerce")
    own = values[codes == region_code]
    if len(own) and own.notna().all():
        return float(own.sum())
    inside = codes.str.startswith(region_code) & (codes.str.len() > len(region_code))
    if not inside.any():
        return None
    shortest = codes[inside].str.len().min()
    chosen = values[inside & (codes.str.len() == shortest)]
    return float(chosen.sum()) if chosen.notna().any() else None


def _population_column(population: pd.DataFrame, wanted: str | None) -> str | None:
    numeric = [c for c in population.columns if c not in ("code", "name")]
    if wanted:
        if wanted in population.columns:
            return wanted
        found = _find_header(numeric, (wanted,) + _POPULATION_ALIASES.get(wanted, ()))
        return found
    return "population" if "population" in numeric else (numeric[0] if len(numeric) == 1 else None)


_PLANNED_HEADERS = {
    "name": ("name", "名称", "项目名称", "设施名称", "机构名称"),
    "category": ("category", "类别", "类型", "设施类型", "项目类型", "机构类型"),
    "township_code": ("township_code", "乡镇代码", "乡镇(街道)代码", "乡镇街道代码"),
    "township": ("township", "乡镇", "乡镇(街道)", "乡镇街道", "所在乡镇"),
    "village_code": ("village_code", "村代码", "村(社区)代码", "村社区代码"),
    "village": ("village", "村", "村(社区)", "村社区", "社区", "所在村"),
    "year": ("year", "年份", "年度", "计划年份", "建成年份", "计划建成年份", "完成年份"),
    "beds": ("beds", "床位", "床位数", "床位(张)"),
    "nursing_beds": ("nursing_beds", "护理型床位", "护理型床位数"),
}


def read_planned(source: str | Path | pd.DataFrame, region_code: str) -> pd.DataFrame:
    """Read a sheet of planned projects and place each on township (and village) codes.

    Parameters
    ----------
    source : path or pandas.DataFrame
        Columns (Chinese or English headers): name 项目名称, category 类型 (a category id or any
        text :func:`facilities.categories.classify` understands), township code 乡镇代码 or township
        name 乡镇, optionally village code/name 村(社区), year 计划年份, beds 床位, nursing beds.
    region_code : str
        The region the projects lie in (names are resolved within it).

    Returns
    -------
    pandas.DataFrame
        ``row, name, category, township_code, village_code, year, beds, nursing_beds`` (row = the
        row number in the file, header on row 1).

    Raises
    ------
    TowncoverError
        A missing column, an unknown category, or a township/village not found (row and column named).
    """
    frame = source.copy() if isinstance(source, pd.DataFrame) else _read_table(source)
    if {"row", "township_code", "category"} <= set(frame.columns) and frame.attrs.get("towncover_planned"):
        return frame
    frame.columns = [str(c).strip() for c in frame.columns]
    cols = {role: _find_header(list(frame.columns), heads) for role, heads in _PLANNED_HEADERS.items()}
    if cols["category"] is None:
        raise TowncoverError("规划项目表缺少“类型”列", "the planned-projects sheet has no category column",
                             column="类型")
    if cols["township_code"] is None and cols["township"] is None:
        raise TowncoverError("规划项目表缺少“乡镇”或“乡镇代码”列",
                             "the planned-projects sheet has no township or township-code column", column="乡镇")
    gaz = load_gazetteer()
    region_code = str(region_code)
    towns = gaz.townships_in(region_code)
    villages = gaz.villages_in(region_code)
    rows = np.arange(len(frame)) + 2

    def text(role: str) -> pd.Series:
        if cols[role] is None:
            return pd.Series("", index=frame.index, dtype="string")
        return frame[cols[role]].astype("string").fillna("").str.strip()

    category = _planned_categories(text("category"), text("name"), cols["category"], rows)
    township = _resolve_codes(text("township_code"), text("township"), towns, None, rows,
                              (cols["township_code"], cols["township"]), "乡镇", "township")
    village = _resolve_codes(text("village_code"), text("village"), villages, township, rows,
                             (cols["village_code"], cols["village"]), "村(社区)", "village")
    # A village fixes its township.
    township = township.where(village.isna(), village.str[:9])
    missing = township.isna()
    if missing.any():
        i = int(np.flatnonzero(missing.to_numpy())[0])
        raise TowncoverError(f"规划项目表第 {rows[i]} 行没有乡镇", f"planned project on row {rows[i]} has no township",
                             row=int(rows[i]), column=cols["township"] or cols["township_code"])
    years = pd.to_numeric(text("year").str.extract(r"(\d{4})", expand=False), errors="coerce")
    out = pd.DataFrame({
        "row": rows,
        "name": text("name").to_numpy(),
        "category": category.to_numpy(),
        "township_code": township.astype("string").to_numpy(),
        "village_code": village.astype("string").to_numpy(),
        "year": years.astype("Int64").to_numpy(),
    })
    for role in ("beds", "nursing_beds"):
        if cols[role] is not None:
            out[role] = pd.to_numeric(text(role), errors="coerce").to_numpy()
    out.attrs["towncover_planned"] = True
    return out


def _planned_categories(types: pd.Series, names: pd.Series, column: str, rows: np.ndarray) -> pd.Series:
    from facilities import categories as cats

    known = set(cats.CATEGORIES)
    direct = types.where(types.isin(known))
    classified = cats.classify(types.where(~types.isin(known), ""), names)
    out = direct.fillna(classified.astype("string"))
    bad = out.isna() | (out == cats.UNCLASSIFIED)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise TowncoverError(f"规划项目表第 {rows[i]} 行的类型“{types.iloc[i]}”无法识别",
                             f"planned project on row {rows[i]}: category '{types.iloc[i]}' not recognised",
                             row=int(rows[i]), column=column)
    return out


def _resolve_codes(
    codes: pd.Series, names: pd.Series, units: pd.DataFrame, township: pd.Series | None,
    rows: np.ndarray, columns: tuple[str | None, str | None], noun_zh: str, noun_en: str,
) -> pd.Series:
    """Codes given directly or by unique name (within the township when one is known)."""
    code_column, name_column = columns
    valid = set(units["code"])
    by_code = _natural_code(codes.where(codes != "", pd.NA))
    given_code = codes != ""
    bad_code = given_code & ~by_code.isin(valid).fillna(False)
    if bad_code.any():
        i = int(np.flatnonzero(bad_code.to_numpy())[0])
        raise TowncoverError(f"规划项目表第 {rows[i]} 行的{noun_zh}代码“{codes.iloc[i]}”不在本区域",
                             f"planned project on row {rows[i]}: {noun_en} code '{codes.iloc[i]}' is not in the region",
                             row=int(rows[i]), column=code_column)
    out = by_code.where(given_code, pd.NA).astype("string")
    need = ~given_code & (names != "")
    for i in np.flatnonzero(need.to_numpy()):
        name = names.iloc[i]
        cands = units[units["name"] == name]
        if township is not None and not pd.isna(township.iloc[i]):
            cands = cands[cands["code"].str.startswith(str(township.iloc[i]))]
        if len(cands) != 1:
            why_zh = "找不到" if cands.empty else "有多个同名"
            why_en = "not found" if cands.empty else "ambiguous"
            raise TowncoverError(f"规划项目表第 {rows[i]} 行的{noun_zh}“{name}”{why_zh}(请填写区划代码)",
                                 f"planned project on row {rows[i]}: {noun_en} '{name}' {why_en} (give its code)",
                                 row=int(rows[i]), column=name_column)
        out.iloc[i] = cands["code"].iloc[0]
    return out


def apply_planned(geocoded: pd.DataFrame, planned: pd.DataFrame, region_code: str | None = None,
                  *, until_year: int | None = None) -> pd.DataFrame:
    """Append planned projects to a geocoded frame as placed rows (a scenario).

    Parameters
    ----------
    geocoded : pandas.DataFrame
        The geocoded facilities.
    planned : pandas.DataFrame
        Planned projects, raw (then ``region_code`` is needed to resolve them) or from
        :func:`read_planned`.
    region_code : str, optional
        Region for resolving township/village names and codes in a raw sheet.
    until_year : int, optional
        Only projects due by this year (projects without a year are always included).

    Returns
    -------
    pandas.DataFrame
        ``geocoded`` with a ``source`` column (``sheet``), followed by one row per planned project
        with ``match_status="matched"``, ``match_method="planned"``, ``source="planned"`` and
        ``planned_year``.
    """
    if not planned.attrs.get("towncover_planned"):
        if region_code is None:
            raise TowncoverError("解析规划项目表需要指定区域", "reading a planned-projects sheet needs the region")
        planned = read_planned(planned, region_code)
    chosen = planned
    if until_year is not None:
        chosen = planned[planned["year"].isna() | (planned["year"] <= int(until_year))]
    base = geocoded.copy()
    if "source" not in base.columns:
        base["source"] = "sheet"
    add = pd.DataFrame({
        "row": chosen["row"].to_numpy(),
        "township_code": chosen["township_code"].to_numpy(),
        "village_code": chosen["village_code"].to_numpy(),
        "county_code": chosen["township_code"].astype("string").str[:6].to_numpy(),
        "match_status": "matched",
        "match_method": "planned",
        "match_note": "规划项目 / planned project",
        "lng_wgs84": np.nan,
        "lat_wgs84": np.nan,
        "category": chosen["category"].to_numpy(),
        "source": "planned",
        "planned_year": chosen["year"].to_numpy(),
        "planned_name": chosen["name"].to_numpy(),
    })
    for role in ("beds", "nursing_beds"):
        if role in chosen.columns:
            add[role] = chosen[role].to_numpy()
    combined = pd.concat([base.reset_index(drop=True), add], ignore_index=True)
    return combined


# ---------------------------------------------------------------------------------------------
# Evaluating a plan
# ---------------------------------------------------------------------------------------------
EVALUATION_COLUMNS = [
    "id", "label_zh", "label_en", "metric", "level", "category", "comparator", "target_value", "measured",
    "unit", "unit_label", "met", "status", "shortfall_units", "shortfall_text", "covered", "total", "year", "baseline",
    "baseline_year", "change_from_baseline", "binding", "evaluable", "reason", "notes",
]


def evaluate_plan(
    geocoded: pd.DataFrame,
    plan: Any,
    region_code: str,
    *,
    population: pd.DataFrame | None = None,
    planned: pd.DataFrame | None = None,
    units: Any = None,
) -> pd.DataFrame:
    """Evaluate every target of a plan against the facilities: one row per target.

    Parameters
    ----------
    geocoded : pandas.DataFrame
        Geocoded facilities with ``category`` (and ``beds``/``nursing_beds`` where the sheet has them).
    plan : facilities.targets.Plan
    region_code : str
    population : pandas.DataFrame, optional
        From :func:`read_population`; needed by per-thousand targets and used to rank gaps.
    planned : pandas.DataFrame, optional
        Planned projects (raw sheet or :func:`read_planned`); adds ``measured_planned``,
        ``met_planned``, ``shortfall_planned``: the figures if the projects due by each target's
        year were built.
    units : geopandas.GeoDataFrame, optional
        Unit polygons for radius rules.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EVALUATION_COLUMNS` (plus the scenario columns when ``planned`` is given).
        ``measured`` and ``target_value`` are exact (rates in percent 0–100); ``met`` is True/False
        or None when not evaluable.
    """
    table, _details = evaluate_plan_details(geocoded, plan, region_code, population=population,
                                            planned=planned, units=units)
    return table


def evaluate_plan_details(
    geocoded: pd.DataFrame,
    plan: Any,
    region_code: str,
    *,
    population: pd.DataFrame | None = None,
    planned: pd.DataFrame | None = None,
    units: Any = None,
) -> tuple[pd.DataFrame, dict[str, CoverageResult]]:
    """Like :func:`evaluate_plan`, also returning each coverage target's :class:`CoverageResult`.

    Returns
    -------
    (pandas.DataFrame, dict of str to CoverageResult)
        The evaluation table and, per evaluated coverage-rate target id, its result (units and status).
    """
    region_code = str(region_code)
    if planned is not None and not planned.attrs.get("towncover_planned"):
        planned = read_planned(planned, region_code)
    rows: list[dict[str, Any]] = []
    details: dict[str, CoverageResult] = {}
    for target in getattr(plan, "targets", []) or []:
        row, result = _evaluate_target(geocoded, target, region_code, population, units)
        if result is not None:
            details[str(target.id)] = result
        if planned is not None:
            year = getattr(target, "year", None)
            scenario = apply_planned(geocoded, planned, until_year=int(year) if year else None)
            srow, _ = _evaluate_target(scenario, target, region_code, population, units)
            row["measured_planned"] = srow["measured"]
            row["met_planned"] = srow["met"]
            row["shortfall_planned"] = srow["shortfall_units"]
            n_projects = int((scenario["source"] == "planned").sum())
            row["planned_projects"] = n_projects
        rows.append(row)
    columns = list(EVALUATION_COLUMNS)
    if planned is not None:
        columns += ["measured_planned", "met_planned", "shortfall_planned", "planned_projects"]
    table = pd.DataFrame(rows, columns=columns)
    for col in ("met", "evaluable", "binding") + (("met_planned",) if planned is not None else ()):
        table[col] = table[col].astype("object")
    return table, details


def _attr(target: Any, name: str, default: Any = None) -> Any:
    value = getattr(target, name, default)
    return default if value is None else value


def _base_row(target: Any) -> dict[str, Any]:
    return {
        "id": str(_attr(target, "id", "")),
        "label_zh": _attr(target, "label_zh", ""),
        "label_en": _attr(target, "label_en", ""),
        "metric": _attr(target, "metric", "other"),
        "level": getattr(target, "level", None),
        "category": getattr(target, "category", None),
        "comparator": _attr(target, "comparator", ">="),
        "target_value": _float_or_none(getattr(target, "value", None)),
        "measured": None,
        "unit": _attr(target, "unit", ""),
        "unit_label": unit_label(_attr(target, "unit", "")),
        "met": None,
        "status": "",
        "shortfall_units": None,
        "shortfall_text": "",
        "covered": None,
        "total": None,
        "year": getattr(target, "year", None),
        "baseline": _float_or_none(getattr(target, "baseline", None)),
        "baseline_year": getattr(target, "baseline_year", None),
        "change_from_baseline": None,
        "binding": getattr(target, "binding", None),
        "evaluable": True,
        "reason": "",
        "notes": "",
    }


def unit_label(unit: str, lang: str = "zh") -> str:
    """Display form of a target unit key (``percent`` → ``%``, ``beds_per_1000_elderly`` → ``张/千名老年人``)."""
    from facilities.targets import UNITS

    pair = UNITS.get(str(unit))
    if pair is None:
        return str(unit or "")
    return pair[0] if lang == "zh" else pair[1]


def _float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _not_evaluable(row: dict[str, Any], reason: str) -> tuple[dict[str, Any], None]:
    row.update(evaluable=False, reason=reason, met=None, status="无法评估 / not evaluable")
    return row, None


def _evaluate_target(
    geocoded: pd.DataFrame, target: Any, region_code: str, population: pd.DataFrame | None, units: Any
) -> tuple[dict[str, Any], CoverageResult | None]:
    row = _base_row(target)
    metric = row["metric"]
    if not _attr(target, "evaluable", True):
        return _not_evaluable(row, _attr(target, "not_evaluable_reason", "") or "规划目标标注为无法由设施数据评估 / "
                              "the plan marks this target as not answerable from facility data")
    if row["target_value"] is None:
        return _not_evaluable(row, "目标没有数值 / the target has no numeric value")
    if metric == "coverage_rate":
        return _evaluate_coverage(geocoded, target, region_code, units, row)
    if metric == "count":
        return _evaluate_count(geocoded, target, region_code, row), None
    if metric in ("ratio", "per_thousand"):
        return _evaluate_ratio(geocoded, target, region_code, population, row), None
    return _not_evaluable(row, "此类指标无法由设施清单计算 / this kind of target cannot be computed from a "
                          "facility list")


def _finish(row: dict[str, Any], measured: float, target: Any) -> None:
    row["measured"] = float(measured)
    row["met"] = _compare(measured, row["comparator"], row["target_value"])
    if row["baseline"] is not None:
        row["change_from_baseline"] = float(measured) - row["baseline"]


def _status(row: dict[str, Any]) -> None:
    year = f"({row['year']} 年目标)" if row["year"] else ""
    year_en = f" (target for {row['year']})" if row["year"] else ""
    if row["met"]:
        row["status"] = f"达标{year} / met{year_en}"
        return
    zh, _, en = str(row["shortfall_text"] or "").partition(" / ")
    row["status"] = f"未达标{year}" + (f":{zh}" if zh else "") + f" / not met{year_en}" + (f": {en}" if en else "")


def _evaluate_coverage(
    geocoded: pd.DataFrame, target: Any, region_code: str, units: Any, row: dict[str, Any]
) -> tuple[dict[str, Any], CoverageResult | None]:
    level = row["level"]
    if level not in LEVELS:
        return _not_evaluable(row, f"未知层级 {level} / unknown level {level}")
    if not row["category"]:
        return _not_evaluable(row, "目标没有指定设施类别 / the target names no facility category")
    radius = _float_or_none(getattr(target, "radius_km", None))
    if radius is not None and level in VILLAGE_LEVELS:
        return _not_evaluable(row, "村(社区)级没有点位或边界,无法按服务半径评估 / village-level coverage by "
                              "service radius needs village points or polygons, which do not exist")
    if radius is not None and units is None:
        units = _default_cells(region_code)
        if units is None:
            return _not_evaluable(row, "按服务半径评估需要乡镇边界,本区域没有 / the service-radius rule needs "
                                  "township polygons, which this region lacks")
    include_special = bool(getattr(target, "include_special", False))
    result = measure(geocoded, region_code, row["category"], level, include_special=include_special,
                     radius_km=radius, units=units if radius is not None else None,
                     target=row["target_value"], comparator=row["comparator"])
    if bool(getattr(target, "rural_only", False)) and level in TOWNSHIP_LEVELS and level != "township":
        result = _restrict(result, result.units["kind"].isin(["town", "township"]).to_numpy())
        result.notes.append("只计农村乡镇(镇、乡)/ rural townships (towns, 乡) only")
    if result.total == 0:
        return _not_evaluable(row, "本区域在此层级没有单元 / the region has no units at this level")
    row.update(covered=result.covered, total=result.total)
    _finish(row, result.rate, target)
    if row["comparator"] != "<=":
        need = units_needed(result.covered, result.total, row["target_value"])
        row["shortfall_units"] = need
        if need:
            noun_zh, noun_en = LEVEL_NOUNS[level]
            row["shortfall_text"] = f"需新增覆盖 {need} 个{noun_zh} / {need} more {noun_en} to cover"
    row["notes"] = ";".join(result.notes)
    _status(row)
    return row, result


def _restrict(result: CoverageResult, keep: np.ndarray) -> CoverageResult:
    units = result.units[keep].reset_index(drop=True)
    covered = int(units["covered"].sum())
    total = len(units)
    rate = 100.0 * covered / total if total else None
    met = None if result.target is None or rate is None else _compare(rate, result.comparator, result.target)
    return CoverageResult(**{**result.__dict__, "units": units, "covered": covered, "total": total, "rate": rate,
                             "uncovered": units.loc[~units["covered"], "code"].astype(str).tolist(), "met": met,
                             "notes": list(result.notes)})


def _default_cells(region_code: str) -> Any:
    try:
        from geo import boundaries
    except ImportError:
        return None
    try:
        if not boundaries.has_map(region_code):
            return None
        return boundaries.township_cells(region_code)
    except TowncoverError:
        return None


def _evaluate_count(geocoded: pd.DataFrame, target: Any, region_code: str, row: dict[str, Any]) -> dict[str, Any]:
    if not row["category"]:
        return _not_evaluable(row, "目标没有指定设施类别 / the target names no facility category")[0]
    _check_columns(geocoded, ["township_code", "match_status", "category"])
    level = row["level"] if row["level"] in LEVELS else "county"
    placed = _category_mask(geocoded, row["category"]) & _placed_mask(geocoded, level)
    township = geocoded["township_code"].astype("string")
    in_region = (_county_of(geocoded) if level == "county" else township).str.startswith(region_code).fillna(False)
    rural = bool(getattr(target, "rural_only", False))
    notes = []
    if level in VILLAGE_LEVELS:
        unit_code, _ = _unit_code_of(geocoded, level)
        allowed = level_units(region_code, level, include_special=bool(getattr(target, "include_special", False)))
        in_units = unit_code.isin(allowed["code"]).fillna(False)
    elif level == "county":
        # Counting facilities, not units: 400+ special units are part of the county and count.
        in_units = in_region
    else:
        allowed = level_units(region_code, level, include_special=bool(getattr(target, "include_special", False)))
        in_units = township.isin(allowed["code"]).fillna(False)
    if rural:
        kinds = load_gazetteer().townships.set_index("code")["kind"]
        kind = township.map(kinds)
        in_units = in_units & kind.isin(["town", "township"]).fillna(False)
        notes.append("只计农村(镇、乡)/ rural (towns, 乡) only")
    count = int((placed & in_units).sum())
    unplaced = int((_category_mask(geocoded, row["category"]) & ~_placed_mask(geocoded, level)).sum())
    if unplaced:
        notes.append(f"另有 {unplaced} 行未定位,未计入 / {unplaced} more rows not placed, not counted")
    _finish(row, count, target)
    if row["comparator"] != "<=":
        need = max(0, math.ceil(round(row["target_value"] - count, 9)))
        row["shortfall_units"] = need
        if need:
            row["shortfall_text"] = f"需新增 {need} 个设施 / {need} more facilities needed"
    row["notes"] = ";".join(notes)
    _status(row)
    return row


_ROLE_WORDS = {"beds": ("床位", "beds", "张"), "nursing_beds": ("护理型床位", "nursing beds", "张"),
               "facilities": ("设施", "facilities", "个")}


def _role_words(role: str | None) -> tuple[str, str, str]:
    return _ROLE_WORDS.get(role or "facilities", (str(role), str(role), ""))


def _role_sum(frame: pd.DataFrame, rows: pd.Series, role: str | None) -> tuple[float, int]:
    """Sum of a numeric role over the rows (``facilities`` or None counts rows), and blanks counted as 0."""
    if not role or role == "facilities":
        return float(rows.sum()), 0
    values = pd.to_numeric(frame.loc[rows, role], errors="coerce")
    return float(values.sum()), int(values.isna().sum())


def _is_percent(unit: Any) -> bool:
    return str(unit or "").strip().lower() in _PERCENT_UNITS


def _evaluate_ratio(
    geocoded: pd.DataFrame, target: Any, region_code: str, population: pd.DataFrame | None, row: dict[str, Any]
) -> dict[str, Any]:
    metric = row["metric"]
    numerator = getattr(target, "numerator", None)
    denominator = getattr(target, "denominator", None)
    if metric == "ratio" and (not numerator or not denominator):
        return _not_evaluable(row, "比例目标没有给出分子和分母列 / the ratio target names no numerator and "
                              "denominator columns")[0]
    for col in (numerator,) + ((denominator,) if metric == "ratio" else ()):
        if col and col != "facilities" and col not in geocoded.columns:
            return _not_evaluable(row, f"设施表没有“{col}”列 / the facility sheet has no '{col}' column")[0]
    rows = _category_mask(geocoded, row["category"]) if row["category"] else pd.Series(True, index=geocoded.index)
    status = geocoded["match_status"].astype("string").fillna("")
    rows = rows & ~status.isin(_EXCLUDED_STATUS_FOR_TOTALS)
    notes = ["按清单内本类设施(不含区域外、无效行)合计 / totals over the sheet's rows of the category "
             "(excluding out-of-region and rejected rows)"]
    num, missing_num = _role_sum(geocoded, rows, numerator)
    if missing_num:
        notes.append(f"{missing_num} 行“{numerator}”为空,按 0 计 / {missing_num} rows lack '{numerator}', "
                     "counted as 0")
    if metric == "ratio":
        den, _ = _role_sum(geocoded, rows, denominator)
        if den <= 0:
            return _not_evaluable(row, f"“{denominator}”合计为 0,无法计算比例 / '{denominator}' totals 0")[0]
        scale = 100.0 if _is_percent(row["unit"]) else 1.0
        measured = scale * float(num) / den
        _finish(row, measured, target)
        if not row["met"] and row["comparator"] != "<=":
            need = max(0, math.ceil(round(row["target_value"] / scale * den - float(num), 9)))
            row["shortfall_units"] = need
            nz, ne, nu = _role_words(numerator)
            dz, de, du = _role_words(denominator)
            row["shortfall_text"] = (f"{nz}需再增加 {need} {nu}(现有{dz} {den:g} {du}不变) / "
                                     f"{need} more {ne} (with the present {den:g} {de})")
    else:
        if population is None:
            return _not_evaluable(row, "千人指标需要人口表 / per-thousand targets need a population table")[0]
        column = _population_column(population, getattr(target, "population_column", None))
        if column is None:
            wanted = getattr(target, "population_column", None) or "population"
            return _not_evaluable(row, f"人口表没有“{wanted}”列 / the population table has no '{wanted}' "
                                  "column")[0]
        people = _population_total(population, region_code, column)
        if not people:
            return _not_evaluable(row, f"人口表没有本区域({region_code})的“{column}” / the population "
                                  f"table has no '{column}' for {region_code}")[0]
        measured = 1000.0 * float(num) / people
        notes.append(f"人口:{column} = {people:g} / population: {column} = {people:g}")
        _finish(row, measured, target)
        if not row["met"] and row["comparator"] != "<=":
            need = max(0, math.ceil(round(row["target_value"] * people / 1000.0 - float(num), 9)))
            row["shortfall_units"] = need
            nz, ne, nu = _role_words(numerator)
            row["shortfall_text"] = f"{nz}需再增加 {need} {nu} / {need} more {ne}"
    row["notes"] = ";".join(notes)
    _status(row)
    return row


def format_evaluation(evaluation: pd.DataFrame) -> str:
    """The evaluation table as plain text for the terminal (rates with 1 decimal).

    Parameters
    ----------
    evaluation : pandas.DataFrame
        From :func:`evaluate_plan`.

    Returns
    -------
    str
    """
    lines = []
    for rec in evaluation.to_dict("records"):
        unit = rec.get("unit_label") or ""
        if rec.get("evaluable") is False:
            lines.append(f"[{rec['id']}] {rec['label_zh']}: 无法评估 / not evaluable — {rec['reason']}")
            continue
        measured = _display(rec.get("measured"))
        target = _display(rec.get("target_value"))
        lines.append(f"[{rec['id']}] {rec['label_zh']}: {measured}{unit} {rec['comparator']} {target}{unit} — "
                     f"{rec['status']}")
        change = _float_or_none(rec.get("change_from_baseline"))
        if change is not None:
            since = f"{int(rec['baseline_year'])} 年" if rec.get("baseline_year") else ""
            since_en = f" ({int(rec['baseline_year'])})" if rec.get("baseline_year") else ""
            lines.append(f"    较基期{since}{_display(rec.get('baseline'))}{unit}:{change:+.1f}{unit} / "
                         f"from the baseline{since_en}: {change:+.1f}{unit}")
        if "met_planned" in rec and rec.get("met_planned") is not None:
            lines.append(f"    含规划项目 / with planned projects: {_display(rec.get('measured_planned'))}{unit} — "
                         f"{'达标 / met' if rec['met_planned'] else '未达标 / not met'}")
    return "\n".join(lines)


def _display(value: Any) -> str:
    value = _float_or_none(value)
    if value is None:
        return "—"
    return f"{value:.1f}" if not float(value).is_integer() else f"{value:.0f}"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def _plain(value: Any) -> Any:
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


def close_gap(result: CoverageResult, target_rate: float, **kwargs: Any) -> pd.DataFrame:
    """The smallest set of units (or sites) that brings a coverage result to a target rate.

    See :func:`facilities.gaps.close_gap` for parameters.
    """
    from facilities.gaps import close_gap as _close_gap

    return _close_gap(result, target_rate, **kwargs)
