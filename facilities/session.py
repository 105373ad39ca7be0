"""What the app decides before it draws: the category and level shown, the target that governs them, plan edits.

No UI here: ``app.py`` asks these functions and lays out what they return, and the CLI resolves a
category's target through the same :func:`facilities.coverage.measure_for_target`, so the app and the
command line describe one category alike (evaluable targets only, the service radius dropped with a
note where there are no shapes to measure it on).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from facilities import categories as _categories
from facilities import coverage as _coverage
from facilities import targets as _targets
from facilities.evaluation import DEFAULT_LEVEL
from facilities.pipeline import Analysis
from towncover.errors import TowncoverError
from towncover.vocabulary import LEVELS


# ---------------------------------------------------------------------------------------------
# Category and level
# ---------------------------------------------------------------------------------------------
def category_counts(analysis: Analysis) -> pd.Series:
    """Rows of each known category in the sheet (placed or not, rejected rows left out), most first."""
    placed = analysis.placed
    keep = placed["match_status"].astype("string").ne("rejected").fillna(True).to_numpy()
    counts = placed.loc[keep, "category"].astype(str).value_counts()
    counts = counts[counts.index.isin(list(_categories.CATEGORIES))]
    return counts.sort_values(ascending=False, kind="stable")


def coverage_targets(plan: Any) -> list[_targets.Target]:
    """The plan's evaluable coverage-rate targets (those a facility list can answer), in plan order."""
    return [t for t in (plan.targets if plan is not None else [])
            if t.metric == "coverage_rate" and t.evaluable and t.category and t.level]


def category_options(analysis: Analysis, plan: Any) -> list[str]:
    """Categories to offer: those the sheet lists (most rows first), then the plan's, then every other."""
    listed = category_counts(analysis).index.tolist()
    planned = [t.category for t in coverage_targets(plan)]
    return list(dict.fromkeys([*listed, *planned, *_categories.CATEGORIES]))


def level_options() -> list[str]:
    """Levels a coverage figure can be shown at (below the county)."""
    return [level for level in LEVELS if level != "county"]


def measure_choice(analysis: Analysis, plan: Any, category: str, level: str) -> _coverage.CoverageResult:
    """Coverage of one category and level under the plan as the planner edited it (the CLI's resolution).

    Parameters
    ----------
    analysis : facilities.pipeline.Analysis
    plan : facilities.targets.Plan or None
        The plan in force (the built-in one or the planner's edit).
    category, level : str

    Returns
    -------
    CoverageResult
        From :func:`facilities.coverage.measure_for_target`: the first evaluable coverage target for
        this category and level sets the rate, ``include_special`` and ``radius_km`` (dropped, with a
        note, where there are no unit shapes).
    """
    return _coverage.measure_for_target(dataclasses.replace(analysis, plan=plan), category, level)


def other_region_hint(analysis: Analysis, gazetteer: Any) -> tuple[str, int] | None:
    """The county most out-of-region rows name, when they are many (a wrong region chosen?).

    Parameters
    ----------
    analysis : facilities.pipeline.Analysis
    gazetteer : geo.gazetteer.Gazetteer

    Returns
    -------
    (county full name, rows) or None
        None unless at least 5 rows (and 2% of the sheet) are out of region and 5 of them name one county.
    """
    placed = analysis.placed
    out = placed["match_status"].astype("string").eq("out_of_region").fillna(False).to_numpy()
    if out.sum() < max(5, len(placed) / 50):
        return None
    address = analysis.sheet.roles.get("address")
    name = analysis.sheet.roles.get("name")
    text = pd.Series("", index=placed.index[out], dtype="string")
    for column in (address, name):
        if column in placed:
            text = text + " " + placed.loc[out, column].astype("string").fillna("")
    counties = gazetteer.counties
    counties = counties[counties["name"].astype(str).str.len() >= 2]
    found = pd.Series(pd.NA, index=text.index, dtype="string")
    for code, cname in zip(counties["code"].astype(str), counties["name"].astype(str), strict=True):
        hit = found.isna() & text.str.contains(cname, regex=False).fillna(False)
        if hit.any():
            found[hit] = code
    counts = found.value_counts()
    if not len(counts) or counts.iloc[0] < 5:
        return None
    code = str(counts.index[0])
    return gazetteer.full_name(code), int(out.sum())


# ---------------------------------------------------------------------------------------------
# Editing the plan's targets
# ---------------------------------------------------------------------------------------------
#: Target fields a planner edits in the app, with their column headers (zh, en).
EDITABLE: dict[str, tuple[str, str]] = {
    "id": ("编号", "Id"),
    "label_zh": ("指标名称", "Name (Chinese)"),
    "label_en": ("英文名称", "Name (English)"),
    "metric": ("指标类型", "Metric"),
    "category": ("设施类别", "Facility category"),
    "level": ("统计层级", "Level"),
    "comparator": ("比较", "Comparator"),
    "value": ("目标值", "Target value"),
    "unit": ("单位", "Unit"),
    "year": ("目标年份", "Target year"),
    "include_special": ("计入特殊区域(400+)", "Count special units (400+)"),
    "radius_km": ("服务半径(公里)", "Service radius (km)"),
    "evaluable": ("可评估", "Evaluable"),
}
_NUMBERS = {"value": float, "radius_km": float, "year": int}
_FLAGS = ("include_special", "evaluable")
CUSTOM_QUOTE = "(规划人员自定义 / custom target)"


def plan_frame(plan: Any) -> pd.DataFrame:
    """The plan's targets as an editable table: one row per target, the columns of :data:`EDITABLE`."""
    targets = plan.targets if plan is not None else []
    frame = pd.DataFrame([{k: getattr(t, k) for k in EDITABLE} for t in targets], columns=list(EDITABLE))
    for name in ("value", "radius_km"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    frame["year"] = pd.to_numeric(frame["year"], errors="coerce").astype("Int64")
    for name in _FLAGS:
        frame[name] = frame[name].fillna(name == "evaluable").astype(bool)
    for name in ("id", "label_zh", "label_en", "metric", "category", "level", "comparator", "unit"):
        frame[name] = frame[name].astype(object)
    return frame


def _cell(value: Any, name: str) -> Any:
    """An edited cell as a plan file would hold it: None for blank, Python numbers and bools."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    if name in _NUMBERS:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return value  # refused by the plan's own check, which names the field
        return int(number) if _NUMBERS[name] is int and number == int(number) else number
    if name in _FLAGS:
        return bool(value)
    return value


def plan_from_frame(plan: Any, frame: pd.DataFrame, region_code: str, region_name: str) -> Any:
    """A plan with the planner's edits: changed fields, removed targets, new custom targets.

    A target whose row is unchanged is kept exactly as the plan has it (so applying an untouched table
    is a no-op on every plan); a changed or new row is checked by the plan file's own rules
    (:func:`facilities.targets.target_from_dict`).

    Parameters
    ----------
    plan : facilities.targets.Plan or None
        The plan the table was made from (None: a new plan of custom targets only).
    frame : pandas.DataFrame
        :func:`plan_frame` as edited (rows may be added or removed).
    region_code, region_name : str

    Returns
    -------
    facilities.targets.Plan

    Raises
    ------
    TowncoverError
        Naming the table row and the column (as headed in the editor) of the first invalid cell.
    """
    known = {t.id: t for t in (plan.targets if plan is not None else [])}
    out: list[_targets.Target] = []
    used: set[str] = set()
    for i, rec in enumerate(frame.to_dict("records"), start=1):
        cells = {k: _cell(rec.get(k), k) for k in EDITABLE}
        base = known.get(str(cells["id"])) if cells["id"] is not None else None
        if base is not None and str(base.id) not in used:
            changes = {k: v for k, v in cells.items() if k != "id" and v != _cell(getattr(base, k), k)}
            target = base if not changes else _checked(i, {**dataclasses.asdict(base), **changes})
        else:
            target = _checked(i, _custom(cells, i, used))
        used.add(target.id)
        out.append(target)
    if plan is not None:
        return dataclasses.replace(plan, targets=out)
    return _targets.Plan(id=f"{region_code}_custom", region_code=str(region_code), region_name=region_name,
                         title=f"{region_name} 自定义指标 / custom targets", year_from=2021, year_to=2025,
                         seed_file="", targets=out)


def _custom(cells: dict[str, Any], index: int, used: set[str]) -> dict[str, Any]:
    """A new target's fields from an added row (defaults for what the planner left blank)."""
    tid = str(cells["id"] or f"custom_{index}")
    while tid in used:
        tid += "_2"
    metric = cells["metric"] or "coverage_rate"
    raw = {k: v for k, v in cells.items() if v is not None}
    label = cells["label_zh"] or tid
    return {**raw, "id": tid, "metric": metric, "label_zh": label, "label_en": cells["label_en"] or label,
            "quote": CUSTOM_QUOTE, "unit": cells["unit"] or ("percent" if metric == "coverage_rate" else "units"),
            "evaluable": True if cells["evaluable"] is None else cells["evaluable"]}


def _checked(index: int, raw: dict[str, Any]) -> _targets.Target:
    """``raw`` as a target, or the plan's own complaint naming the editor's row and column."""
    try:
        return _targets.target_from_dict(raw, index)
    except TowncoverError as exc:
        zh, en = EDITABLE.get(exc.column or "", (exc.column or "", exc.column or ""))
        detail_zh = exc.message_zh.split(":", 1)[-1]
        detail_en = exc.message_en.split(": ", 1)[-1]
        raise TowncoverError(f"指标表第 {index} 行「{zh}」:{detail_zh}", f"targets table row {index}, "
                             f"\"{en}\": {detail_en}", row=index, column=zh or None) from None


def default_level(plan: Any, category: str) -> str:
    """The level of the plan's first evaluable coverage target for ``category``, else :data:`DEFAULT_LEVEL`."""
    return next((str(t.level) for t in coverage_targets(plan) if t.category == category), DEFAULT_LEVEL)




#: ``operating_status`` values (the sheet reader's) that do not count as existing facilities.
NOT_OPERATING = {"under_construction": ("在建/拟建", "under construction or planned"),
                 "closed": ("停业/关闭", "closed or suspended")}


def sheet_lines(analysis: Analysis) -> list[tuple[str, str]]:
    """What the overview says about the file beyond the row counts, as (zh, en) lines.

    The worksheets read and skipped (when the reader describes them), and how many rows a facility
    status keeps out of the existing facilities (when the reader gives ``operating_status``).
    """
    lines: list[tuple[str, str]] = []
    describe = getattr(analysis.sheet, "describe_sheets", None)  # readers of one worksheet have none
    if describe is not None:
        zh, en = describe()
        if zh:
            lines.append((f"读取的工作表:{zh}", f"Worksheets read: {en}"))
    placed = analysis.placed
    if "operating_status" in placed:
        counts = placed["operating_status"].astype(str).value_counts()
        said = [(n, NOT_OPERATING[s]) for s, n in counts.items() if s in NOT_OPERATING]
        if said:
            lines.append(("不计为现有设施:" + "、".join(f"{zh} {n} 行" for n, (zh, _) in said),
                          "Not counted as existing: " + ", ".join(f"{n} rows {en}" for n, (_, en) in said)))
    return lines
