"""Judging a plan: every target measured once, its shortfall in the plan's own unit, the gaps to close.

:func:`evaluate` turns an analysis (plus a population table and planned projects, when given) into an
:class:`Evaluation`, made once: the target table, each coverage target's units, the unmet targets and
(on first use) the gaps that would close them. The report, the map layers, the CLI and the app only
format it.

Targets a facility list cannot answer come back ``evaluable=False`` with the reason: the plan marks
them so, they lack a value or a category, or the sheet lists no facilities of their category at all
(an elderly-care-only sheet says nothing about 未成年人保护工作站: not evaluable, never "not met").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from facilities import categories as _categories
from facilities.coverage import (
    CoverageResult,
    category_mask,
    check_columns,
    compare,
    county_of,
    coverage_targets,
    existing_mask,
    float_or_none,
    format_number,
    left_out_note,
    measure,
    placed_mask,
    unit_code_of,
    units_needed,
)
from facilities.inputs import apply_planned, population_column, population_total, read_planned
from facilities.levels import level_noun, level_units
from geo.gazetteer import load_gazetteer
from towncover.errors import TowncoverError
from towncover.vocabulary import (
    COUNTY_LEVEL,
    LEVELS,
    NOT_IN_REGION_STATUSES,
    TOWNSHIP_LEVELS,
    UNITS,
    VILLAGE_LEVELS,
    is_percent,
)

if TYPE_CHECKING:
    from facilities.pipeline import Analysis
    from facilities.targets import Plan, Target

EVALUATION_COLUMNS = [
    "id", "label_zh", "label_en", "metric", "level", "category", "comparator", "target_value", "measured",
    "unit", "unit_label", "met", "status", "shortfall_units", "shortfall_text", "covered", "total", "year", "baseline",
    "baseline_year", "change_from_baseline", "binding", "evaluable", "reason", "notes",
]
SCENARIO_COLUMNS = ["measured_planned", "met_planned", "shortfall_planned", "planned_projects"]
#: The level a view falls back to when no target names one.
DEFAULT_LEVEL = "township_and_street"


@dataclass(frozen=True)
class View:
    """The category and level a page opens on, and why.

    Attributes
    ----------
    category, level : str
    target_id : str or None
        The coverage target that makes this view meaningful, if any.
    """

    category: str
    level: str
    target_id: str | None = None


@dataclass
class Evaluation:
    """A plan judged against an analysis, made once by :func:`evaluate`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per target, columns :data:`EVALUATION_COLUMNS` (plus :data:`SCENARIO_COLUMNS` with
        planned projects); ``measured`` and ``target_value`` exact, rates in percent 0–100.
    details : dict of str to CoverageResult
        Per evaluated coverage-rate target id, its units and their status.
    region_code : str
    plan : facilities.targets.Plan or None
    geocoded : pandas.DataFrame
        The rows the plan was judged on (the analysis's ``placed``).
    population, planned : pandas.DataFrame or None
        The side tables used (:mod:`facilities.inputs`).
    """

    table: pd.DataFrame
    details: dict[str, CoverageResult]
    region_code: str
    plan: Plan | None
    geocoded: pd.DataFrame
    population: pd.DataFrame | None = None
    planned: pd.DataFrame | None = None
    _gaps: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def unmet(self) -> dict[str, CoverageResult]:
        """Coverage targets measured and not met that more units would meet (``<=`` targets excluded)."""
        return {tid: r for tid, r in self.details.items() if r.met is False and r.comparator != "<="}

    def gap(self, target_id: str) -> pd.DataFrame:
        """The fewest units (or sites) closing an unmet target (:func:`facilities.gaps.close_gap`), computed once."""
        if target_id not in self._gaps:
            from facilities.gaps import close_gap

            result = self.unmet()[target_id]
            if result.target is None:  # an unmet result was measured against a target
                raise ValueError(f"{target_id}: an unmet result without a target")
            self._gaps[target_id] = close_gap(result, result.target, population=self.population)
        return self._gaps[target_id]

    def gaps(self) -> dict[str, pd.DataFrame]:
        """:meth:`gap` of every unmet target, in plan order."""
        return {tid: self.gap(tid) for tid in self.unmet()}

    def text(self) -> str:
        """The table as plain text for the terminal (:func:`format_evaluation`)."""
        return format_evaluation(self.table)

    def ordered(self) -> pd.DataFrame:
        """The table with evaluable targets first (plan order), then the others grouped by reason."""
        return order_targets(self.table)

    def not_evaluable_groups(self) -> list[tuple[str, list[str]]]:
        """``(reason, [target ids])`` for the targets that cannot be evaluated, in order of first appearance."""
        return not_evaluable_groups(self.table)

    def default_view(self) -> View:
        """The category and level the sheet and plan make meaningful (:func:`default_view`)."""
        return default_view(self.geocoded, self.plan)


def evaluate(
    analysis: Analysis,
    *,
    population: pd.DataFrame | None = None,
    planned: pd.DataFrame | None = None,
    plan: Plan | None = None,
) -> Evaluation:
    """Judge a plan against an analysis, once.

    Parameters
    ----------
    analysis : facilities.pipeline.Analysis
        Needs ``placed``, ``region``, ``boundaries`` (radius rules fall back to the cells) and ``plan``.
    population : pandas.DataFrame, optional
        From :func:`facilities.inputs.read_population`.
    planned : pandas.DataFrame, optional
        Planned projects (raw sheet or :func:`facilities.inputs.read_planned`).
    plan : facilities.targets.Plan, optional
        Instead of ``analysis.plan`` (an edited plan).

    Returns
    -------
    Evaluation
        With an empty table when there is no plan.
    """
    plan = analysis.plan if plan is None else plan
    region_code = str(analysis.region.code)
    if planned is not None and not planned.attrs.get("towncover_planned"):
        planned = read_planned(planned, region_code)
    details: dict[str, CoverageResult]
    if plan is None:
        table, details = _empty_table(planned is not None), {}
    else:
        table, details = evaluate_plan_details(analysis.placed, plan, region_code, population=population,
                                               planned=planned, units=analysis.boundaries)
    return Evaluation(table=table, details=details, region_code=region_code, plan=plan, geocoded=analysis.placed,
                      population=population, planned=planned)


def evaluate_plan(
    geocoded: pd.DataFrame,
    plan: Plan,
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
        From :func:`facilities.inputs.read_population`; needed by per-thousand targets.
    planned : pandas.DataFrame, optional
        Planned projects (raw sheet or :func:`facilities.inputs.read_planned`); adds ``measured_planned``,
        ``met_planned``, ``shortfall_planned``: the figures if the projects due by each target's
        year were built.
    units : geopandas.GeoDataFrame, optional
        Unit polygons for radius rules.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EVALUATION_COLUMNS` (plus :data:`SCENARIO_COLUMNS` when ``planned`` is given).
    """
    table, _details = evaluate_plan_details(geocoded, plan, region_code, population=population,
                                            planned=planned, units=units)
    return table


def evaluate_plan_details(
    geocoded: pd.DataFrame,
    plan: Plan,
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
    listed = listed_categories(geocoded)
    rows: list[dict[str, Any]] = []
    details: dict[str, CoverageResult] = {}
    for target in plan.targets:
        check = _Check(target, region_code, population, units, listed)
        row, result = check.run(geocoded)
        if result is not None:
            details[str(target.id)] = result
        if planned is not None:
            scenario = apply_planned(geocoded, planned, until_year=int(target.year) if target.year else None)
            srow, _ = check.run(scenario)
            row["measured_planned"] = srow["measured"]
            row["met_planned"] = srow["met"]
            row["shortfall_planned"] = srow["shortfall_units"]
            row["planned_projects"] = int((scenario["source"] == "planned").sum())
        rows.append(row)
    table = pd.DataFrame(rows, columns=_columns(planned is not None))
    return _typed(table, planned is not None), details


def _columns(scenario: bool) -> list[str]:
    return EVALUATION_COLUMNS + (SCENARIO_COLUMNS if scenario else [])


def _typed(table: pd.DataFrame, scenario: bool) -> pd.DataFrame:
    for col in ("met", "evaluable", "binding") + (("met_planned",) if scenario else ()):
        table[col] = table[col].astype("object")
    return table


def _empty_table(scenario: bool) -> pd.DataFrame:
    return _typed(pd.DataFrame(columns=_columns(scenario)), scenario)


def listed_categories(geocoded: pd.DataFrame) -> set[str]:
    """Categories the sheet lists at least one row of (planned projects and rejected rows aside)."""
    if "category" not in geocoded.columns:
        return set()
    rows = geocoded
    if "source" in rows.columns:
        rows = rows[rows["source"].astype("string").fillna("sheet") != "planned"]
    if "match_status" in rows.columns:
        rows = rows[~rows["match_status"].astype("string").isin(["rejected"]).fillna(False)]
    return set(rows["category"].dropna().astype(str))


def unit_label(unit: str, lang: str = "zh") -> str:
    """Display form of a target unit key (``percent`` → ``%``, ``beds_per_1000_elderly`` → ``张/千名老年人``)."""
    pair = UNITS.get(str(unit))
    if pair is None:
        return str(unit or "")
    return pair[0] if lang == "zh" else pair[1]


def _base_row(target: Target) -> dict[str, Any]:
    return {
        "id": str(target.id),
        "label_zh": target.label_zh or "",
        "label_en": target.label_en or "",
        "metric": target.metric or "other",
        "level": target.level,
        "category": target.category,
        "comparator": target.comparator or ">=",
        "target_value": float_or_none(target.value),
        "measured": None,
        "unit": target.unit or "",
        "unit_label": unit_label(target.unit or ""),
        "met": None,
        "status": "",
        "shortfall_units": None,
        "shortfall_text": "",
        "covered": None,
        "total": None,
        "year": target.year,
        "baseline": float_or_none(target.baseline),
        "baseline_year": target.baseline_year,
        "change_from_baseline": None,
        "binding": target.binding,
        "evaluable": True,
        "reason": "",
        "notes": "",
    }


def _not_evaluable(row: dict[str, Any], reason: str) -> tuple[dict[str, Any], None]:
    row.update(evaluable=False, reason=reason, met=None, status="无法评估 / not evaluable")
    return row, None


def _finish(row: dict[str, Any], measured: float) -> None:
    row["measured"] = float(measured)
    row["met"] = compare(measured, row["comparator"], row["target_value"])
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


def _absent_reason(category: str) -> str:
    zh, en = _categories.label(category, "zh"), _categories.label(category, "en")
    return (f"清单中没有“{zh}”类设施,无法判断是否达标 / the sheet lists no {en} facilities: "
            "whether the target is met cannot be told")


@dataclass
class _Check:
    """One target's check, run on the sheet and again on the planned-projects scenario."""

    target: Target
    region_code: str
    population: pd.DataFrame | None
    units: Any
    listed: set[str]

    def run(self, geocoded: pd.DataFrame) -> tuple[dict[str, Any], CoverageResult | None]:
        target = self.target
        row = _base_row(target)
        metric = row["metric"]
        if not target.evaluable:
            return _not_evaluable(row, target.not_evaluable_reason or "规划目标标注为无法由设施数据评估 / "
                                  "the plan marks this target as not answerable from facility data")
        if row["target_value"] is None:
            return _not_evaluable(row, "目标没有数值 / the target has no numeric value")
        if metric not in ("coverage_rate", "count", "ratio", "per_thousand"):
            return _not_evaluable(row, "此类指标无法由设施清单计算 / this kind of target cannot be computed "
                                  "from a facility list")
        if row["category"] and row["category"] not in self.listed:
            return _not_evaluable(row, _absent_reason(row["category"]))
        if metric == "coverage_rate":
            return _evaluate_coverage(geocoded, target, self.region_code, self.units, row)
        if metric == "count":
            return _evaluate_count(geocoded, target, self.region_code, row), None
        return _evaluate_ratio(geocoded, target, self.region_code, self.population, row), None


def _evaluate_coverage(
    geocoded: pd.DataFrame, target: Target, region_code: str, units: Any, row: dict[str, Any]
) -> tuple[dict[str, Any], CoverageResult | None]:
    level = row["level"]
    if level not in LEVELS:
        return _not_evaluable(row, f"未知层级 {level} / unknown level {level}")
    if not row["category"]:
        return _not_evaluable(row, "目标没有指定设施类别 / the target names no facility category")
    radius = float_or_none(target.radius_km)
    if radius is not None and level in VILLAGE_LEVELS:
        return _not_evaluable(row, "村(社区)级没有点位或边界,无法按服务半径评估 / village-level coverage by "
                              "service radius needs village points or polygons, which do not exist")
    if radius is not None and units is None:
        units = _default_cells(region_code)
        if units is None:
            return _not_evaluable(row, "按服务半径评估需要乡镇边界,本区域没有 / the service-radius rule needs "
                                  "township polygons, which this region lacks")
    result = measure(geocoded, region_code, row["category"], level, include_special=bool(target.include_special),
                     radius_km=radius, units=units if radius is not None else None,
                     target=row["target_value"], comparator=row["comparator"])
    if target.rural_only and level in TOWNSHIP_LEVELS and level != "township":
        result = _restrict(result, result.units["kind"].isin(["town", "township"]).to_numpy())
        result.notes.append("只计农村乡镇(镇、乡)/ rural townships (towns, 乡) only")
    if result.total == 0 or result.rate is None:
        return _not_evaluable(row, "本区域在此层级没有单元 / the region has no units at this level")
    row.update(covered=result.covered, total=result.total)
    _finish(row, result.rate)
    if row["comparator"] != "<=":
        need = units_needed(result.covered, result.total, row["target_value"])
        row["shortfall_units"] = need
        if need:
            row["shortfall_text"] = (f"需新增覆盖 {need} 个{level_noun(level)} / "
                                     f"{need} more {level_noun(level, 'en')} to cover")
    row["notes"] = ";".join(result.notes)
    _status(row)
    return row, result


def _restrict(result: CoverageResult, keep: np.ndarray) -> CoverageResult:
    units = result.units[keep].reset_index(drop=True)
    covered = int(units["covered"].sum())
    total = len(units)
    rate = 100.0 * covered / total if total else None
    met = None if result.target is None or rate is None else compare(rate, result.comparator, result.target)
    return CoverageResult(**{**result.__dict__, "units": units, "covered": covered, "total": total, "rate": rate,
                             "uncovered": units.loc[~units["covered"], "code"].astype(str).tolist(), "met": met,
                             "notes": list(result.notes)})


def _default_cells(region_code: str) -> Any:
    from geo import boundaries

    try:
        if not boundaries.has_map(region_code):
            return None
        return boundaries.township_cells(region_code)
    except TowncoverError:
        return None


def _evaluate_count(geocoded: pd.DataFrame, target: Target, region_code: str, row: dict[str, Any]) -> dict[str, Any]:
    if not row["category"]:
        return _not_evaluable(row, "目标没有指定设施类别 / the target names no facility category")[0]
    check_columns(geocoded, ["township_code", "match_status", "category"])
    level = row["level"] if row["level"] in LEVELS else COUNTY_LEVEL
    in_category = category_mask(geocoded, row["category"])
    placed = in_category & placed_mask(geocoded, level) & existing_mask(geocoded)
    township = geocoded["township_code"].astype("string")
    in_region = (county_of(geocoded) if level == COUNTY_LEVEL else township).str.startswith(region_code).fillna(False)
    notes = [note for note in [left_out_note(geocoded, in_category)] if note]
    if level in VILLAGE_LEVELS:
        unit_code, _ = unit_code_of(geocoded, level)
        allowed = level_units(region_code, level, include_special=bool(target.include_special))
        in_units = unit_code.isin(allowed["code"]).fillna(False)
    elif level == COUNTY_LEVEL:
        # Counting facilities, not units: 400+ special units are part of the county and count.
        in_units = in_region
    else:
        allowed = level_units(region_code, level, include_special=bool(target.include_special))
        in_units = township.isin(allowed["code"]).fillna(False)
    if target.rural_only:
        kinds = load_gazetteer().townships.set_index("code")["kind"]
        kind = township.map(kinds)
        in_units = in_units & kind.isin(["town", "township"]).fillna(False)
        notes.append("只计农村(镇、乡)/ rural (towns, 乡) only")
    count = int((placed & in_units).sum())
    unplaced = int((category_mask(geocoded, row["category"]) & ~placed_mask(geocoded, level)).sum())
    if unplaced:
        notes.append(f"另有 {unplaced} 行未定位,未计入 / {unplaced} more rows not placed, not counted")
    _finish(row, count)
    if row["comparator"] != "<=":
        need = max(0, math.ceil(round(row["target_value"] - count, 9)))
        row["shortfall_units"] = need
        if need:
            row["shortfall_text"] = f"需新增 {need} 个设施 / {need} more facilities needed"
    row["notes"] = ";".join(notes)
    _status(row)
    return row


#: What a summed sheet role is called and counted in (zh noun, en noun, zh measure word).
ROLE_WORDS = {"beds": ("床位", "beds", "张"), "nursing_beds": ("护理型床位", "nursing beds", "张"),
              "facilities": ("设施", "facilities", "个")}


def _role_words(role: str | None) -> tuple[str, str, str]:
    return ROLE_WORDS.get(role or "facilities", (str(role), str(role), ""))


def _role_sum(frame: pd.DataFrame, rows: pd.Series, role: str | None) -> tuple[float, int]:
    """Sum of a numeric role over the rows (``facilities`` or None counts rows), and blanks counted as 0."""
    if not role or role == "facilities":
        return float(rows.sum()), 0
    values = pd.to_numeric(frame.loc[rows, role], errors="coerce")
    return float(values.sum()), int(values.isna().sum())


def _evaluate_ratio(
    geocoded: pd.DataFrame, target: Target, region_code: str, population: pd.DataFrame | None, row: dict[str, Any]
) -> dict[str, Any]:
    metric = row["metric"]
    numerator, denominator = target.numerator, target.denominator
    if metric == "ratio" and (not numerator or not denominator):
        return _not_evaluable(row, "比例目标没有给出分子和分母列 / the ratio target names no numerator and "
                              "denominator columns")[0]
    for col in (numerator,) + ((denominator,) if metric == "ratio" else ()):
        if col and col != "facilities" and col not in geocoded.columns:
            return _not_evaluable(row, f"设施表没有“{col}”列 / the facility sheet has no '{col}' column")[0]
    rows = category_mask(geocoded, row["category"]) if row["category"] else pd.Series(True, index=geocoded.index)
    status = geocoded["match_status"].astype("string").fillna("")
    rows = rows & ~status.isin(NOT_IN_REGION_STATUSES)
    notes = ["按清单内本类设施(不含区域外、无效行)合计 / totals over the sheet's rows of the category "
             "(excluding out-of-region and rejected rows)"]
    notes += [note for note in [left_out_note(geocoded, rows)] if note]
    rows = rows & existing_mask(geocoded)
    num, missing_num = _role_sum(geocoded, rows, numerator)
    if missing_num:
        notes.append(f"{missing_num} 行“{numerator}”为空,按 0 计 / {missing_num} rows lack '{numerator}', "
                     "counted as 0")
    if metric == "ratio":
        den, _ = _role_sum(geocoded, rows, denominator)
        if den <= 0:
            return _not_evaluable(row, f"“{denominator}”合计为 0,无法计算比例 / '{denominator}' totals 0")[0]
        _ratio_shortfall(row, num, den, numerator, denominator)
    else:
        people, column = _people(population, target, region_code)
        if people is None:
            return _not_evaluable(row, column)[0]
        notes.append(f"人口:{column} = {people:g} / population: {column} = {people:g}")
        _per_thousand_shortfall(row, num, people, numerator)
    row["notes"] = ";".join(notes)
    _status(row)
    return row


def _ratio_shortfall(row: dict[str, Any], num: float, den: float, numerator: str | None,
                     denominator: str | None) -> None:
    scale = 100.0 if is_percent(row["unit"]) else 1.0
    _finish(row, scale * float(num) / den)
    if not row["met"] and row["comparator"] != "<=":
        need = max(0, math.ceil(round(row["target_value"] / scale * den - float(num), 9)))
        row["shortfall_units"] = need
        nz, ne, nu = _role_words(numerator)
        dz, de, du = _role_words(denominator)
        row["shortfall_text"] = (f"{nz}需再增加 {need} {nu}(现有{dz} {den:g} {du}不变) / "
                                 f"{need} more {ne} (with the present {den:g} {de})")


def _people(population: pd.DataFrame | None, target: Target, region_code: str) -> tuple[float | None, str]:
    """The region's population for a per-thousand target and its column, or (None, why not)."""
    if population is None:
        return None, "千人指标需要人口表 / per-thousand targets need a population table"
    column = population_column(population, target.population_column)
    if column is None:
        wanted = target.population_column or "population"
        return None, f"人口表没有“{wanted}”列 / the population table has no '{wanted}' column"
    people = population_total(population, region_code, column)
    if not people:
        return None, (f"人口表没有本区域({region_code})的“{column}” / the population table has no "
                      f"'{column}' for {region_code}")
    return people, column


def _per_thousand_shortfall(row: dict[str, Any], num: float, people: float, numerator: str | None) -> None:
    _finish(row, 1000.0 * float(num) / people)
    if not row["met"] and row["comparator"] != "<=":
        need = max(0, math.ceil(round(row["target_value"] * people / 1000.0 - float(num), 9)))
        row["shortfall_units"] = need
        nz, ne, nu = _role_words(numerator)
        row["shortfall_text"] = f"{nz}需再增加 {need} {nu} / {need} more {ne}"


def shortfall_phrase(rec: dict[str, Any], numerator: str | None = None, lang: str = "zh") -> str:
    """What an unmet target still lacks, in the plan's unit: ``还差 3 个乡镇(街道)``, ``还差 702 张护理型床位``.

    Parameters
    ----------
    rec : dict
        A row of the evaluation table.
    numerator : str, optional
        The target's summed sheet role (``nursing_beds``) for ratio and per-thousand targets.
    lang : {"zh", "en"}

    Returns
    -------
    str
        "" when the target is met, not evaluable or has no shortfall in whole units.
    """
    need = float_or_none(rec.get("shortfall_units"))
    if rec.get("met") is not False or not need:
        return ""
    metric = rec.get("metric")
    if metric == "coverage_rate":
        what_zh, what_en = f"个{level_noun(rec.get('level'))}", level_noun(rec.get("level"), "en")
    elif metric in ("ratio", "per_thousand"):
        noun_zh, what_en, word = _role_words(numerator)
        what_zh = f"{word}{noun_zh}"
    else:
        what_zh, what_en = "个设施", "facilities"
    return f"还差 {int(need)} {what_zh}" if lang == "zh" else f"short by {int(need)} {what_en}"


def order_targets(table: pd.DataFrame) -> pd.DataFrame:
    """Evaluable targets first (plan order), then the others grouped by reason (first appearance)."""
    evaluable = table["evaluable"].astype(bool).to_numpy() & table["met"].notna().to_numpy()
    reasons = table["reason"].astype("string").fillna("")
    first = {r: i for i, r in reversed(list(enumerate(reasons)))}
    key = np.where(evaluable, -1, reasons.map(first).to_numpy(dtype=float))
    order = np.lexsort((np.arange(len(table)), key))
    return table.iloc[order]


def not_evaluable_groups(table: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """``(reason, [target ids])`` of the targets not evaluated, grouped by reason, in order of appearance."""
    out: dict[str, list[str]] = {}
    rest = table[~(table["evaluable"].astype(bool) & table["met"].notna())]
    for tid, reason in zip(rest["id"], rest["reason"].astype("string").fillna(""), strict=True):
        out.setdefault(str(reason), []).append(str(tid))
    return list(out.items())


def default_view(geocoded: pd.DataFrame, plan: Plan | None) -> View:
    """The category and level a page should open on, given the sheet and the plan.

    The first evaluable coverage-rate target of the plan whose category the sheet lists; else the
    category with the most rows in the sheet at :data:`DEFAULT_LEVEL`. An elderly-care-only sheet opens
    on elderly care, never on 未成年人保护工作站 at 0 of 46.

    Parameters
    ----------
    geocoded : pandas.DataFrame
        The analysis's rows, with ``category``.
    plan : facilities.targets.Plan or None

    Returns
    -------
    View
    """
    listed = listed_categories(geocoded)
    for target in plan.targets if plan is not None else []:
        if target.category in listed and target.level in LEVELS and coverage_targets(plan, target.category,
                                                                                     target.level):
            return View(category=str(target.category), level=str(target.level), target_id=str(target.id))
    known = [c for c in _categories.CATEGORIES if c in listed]
    if known:
        counts = geocoded["category"].astype("string").value_counts()
        return View(category=max(known, key=lambda c: (int(counts.get(c, 0)), -known.index(c))),
                    level=DEFAULT_LEVEL)
    return View(category=next(iter(_categories.CATEGORIES)), level=DEFAULT_LEVEL)


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
        measured = format_number(rec.get("measured"))
        target = format_number(rec.get("target_value"))
        lines.append(f"[{rec['id']}] {rec['label_zh']}: {measured}{unit} {rec['comparator']} {target}{unit} — "
                     f"{rec['status']}")
        change = float_or_none(rec.get("change_from_baseline"))
        if change is not None:
            since = f"{int(rec['baseline_year'])} 年" if rec.get("baseline_year") else ""
            since_en = f" ({int(rec['baseline_year'])})" if rec.get("baseline_year") else ""
            lines.append(f"    较基期{since}{format_number(rec.get('baseline'))}{unit}:{change:+.1f}{unit} / "
                         f"from the baseline{since_en}: {change:+.1f}{unit}")
        if "met_planned" in rec and rec.get("met_planned") is not None:
            lines.append(f"    含规划项目 / with planned projects: {format_number(rec.get('measured_planned'))}{unit} — "
                         f"{'达标 / met' if rec['met_planned'] else '未达标 / not met'}")
    return "\n".join(lines)
