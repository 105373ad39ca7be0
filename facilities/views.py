"""What the app shows, computed away from the UI: review queue, map units, target cards, edits, workspace.

Everything here is plain pandas / geopandas so it can be tested without a browser; ``app.py`` only
lays the results out. The map itself is drawn by ``facilities.mapview`` / ``geo.webmap``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from facilities import categories as _categories
from facilities import corrections as _corrections
from facilities import coverage as _coverage
from facilities import targets as _targets
from geo.gazetteer import load_gazetteer
from towncover.errors import TowncoverError

#: Rows the planner must look at: the geocoder could not place them on one township.
REVIEW_STATUSES = ("ambiguous", "unmatched", "out_of_region")
WORKSPACE_LAYERS = ("townships", "facilities", "corrections", "placed")


# ---------------------------------------------------------------------------------------------
# Review queue and corrections
# ---------------------------------------------------------------------------------------------
def _role_column(placed: pd.DataFrame, sheet: Any, role: str) -> pd.Series:
    roles = getattr(sheet, "roles", {}) or {}
    column = roles.get(role)
    if column is not None and column in placed.columns:
        return placed[column].astype("string").fillna("")
    return pd.Series("", index=placed.index, dtype="string")


def review_queue(placed: pd.DataFrame, sheet: Any = None) -> pd.DataFrame:
    """Rows the geocoder could not put on exactly one township, for the planner to resolve.

    Parameters
    ----------
    placed : pandas.DataFrame
        ``Analysis.placed``.
    sheet : facilities.sheets.Sheet, optional
        To find the name and address columns.

    Returns
    -------
    pandas.DataFrame
        ``row, name, address, category_label, match_status, candidates, match_note`` for every row
        whose status is ambiguous, unmatched or out of region, in file order.
    """
    keep = placed["match_status"].astype("string").isin(REVIEW_STATUSES).fillna(False).to_numpy()
    rows = placed.loc[keep]
    out = pd.DataFrame(
        {
            "row": rows["row"].astype("int64").to_numpy(),
            "name": _role_column(rows, sheet, "name").to_numpy(),
            "address": _role_column(rows, sheet, "address").to_numpy(),
            "category_label": rows.get("category_label", pd.Series("", index=rows.index)).astype("string").to_numpy(),
            "match_status": rows["match_status"].astype("string").to_numpy(),
            "candidates": rows.get("candidates", pd.Series("", index=rows.index)).astype("string")
            .fillna("").to_numpy(),
            "match_note": rows.get("match_note", pd.Series("", index=rows.index)).astype("string")
            .fillna("").to_numpy(),
        }
    )
    return out.sort_values("row").reset_index(drop=True)


def township_choices(region_code: str, candidates: str = "") -> list[tuple[str, str]]:
    """Townships a planner may pick for a row: the geocoder's candidates first, then all of the region.

    Parameters
    ----------
    region_code : str
    candidates : str
        Semicolon-joined township codes (the ``candidates`` column).

    Returns
    -------
    list of (code, label)
        Label ``name (code)``, candidates marked ★; every township of the region exactly once.
    """
    gaz = load_gazetteer()
    towns = gaz.townships_in(str(region_code), include_special=True)[["code", "name"]]
    names = dict(zip(towns["code"].astype(str), towns["name"].astype(str), strict=False))
    cand = [c for c in str(candidates or "").split(";") if c]
    out: list[tuple[str, str]] = []
    for code in cand:
        name = names.get(code) or gaz.name_of(code) or code
        out.append((code, f"★ {name} ({code})"))
    seen = set(cand)
    for code in sorted(names):
        if code not in seen:
            out.append((code, f"{names[code]} ({code})"))
    return out


def add_correction(corrections: pd.DataFrame | None, row: int, township_code: str, note: str = "") -> pd.DataFrame:
    """A corrections table with ``row`` set to ``township_code`` (replacing an earlier choice for it).

    Parameters
    ----------
    corrections : pandas.DataFrame or None
        Columns ``row, township_code, village_code, note``.
    row : int
        File row number.
    township_code : str
        A 9-digit township code of the gazetteer.
    note : str

    Returns
    -------
    pandas.DataFrame
        Sorted by row.
    """
    base = _corrections.empty() if corrections is None else corrections.reindex(columns=_corrections.COLUMNS)
    base = base[base["row"].astype("int64") != int(row)]
    new = pd.DataFrame({"row": [int(row)], "township_code": [str(township_code)], "village_code": [""],
                        "note": [note]})
    out = pd.concat([base.astype(object), new.astype(object)], ignore_index=True)
    out["row"] = out["row"].astype("int64")
    for col in ("township_code", "village_code", "note"):
        out[col] = out[col].fillna("").astype(str)
    return out.sort_values("row").reset_index(drop=True)


def corrections_key(corrections: pd.DataFrame | None) -> tuple[tuple[int, str, str], ...]:
    """A hashable form of a corrections table (for caching)."""
    if corrections is None or corrections.empty:
        return ()
    frame = corrections.reindex(columns=_corrections.COLUMNS).fillna("")
    return tuple(
        (int(r), str(t), str(v))
        for r, t, v in zip(frame["row"], frame["township_code"], frame["village_code"], strict=False)
    )


def corrections_from_key(key: tuple[tuple[int, str, str], ...]) -> pd.DataFrame | None:
    """Inverse of :func:`corrections_key` (notes are not part of the key)."""
    if not key:
        return None
    frame = pd.DataFrame(list(key), columns=["row", "township_code", "village_code"])
    frame["note"] = ""
    frame["row"] = frame["row"].astype("int64")
    return frame


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
def unit_table(result: _coverage.CoverageResult, lang: str = "zh") -> pd.DataFrame:
    """The units of a coverage result for the table view: code, name, township, kind, facilities, covered.

    Parameters
    ----------
    result : CoverageResult
    lang : {"zh", "en"}

    Returns
    -------
    pandas.DataFrame
        ``code, name, township_code, township_name, kind, n_facilities, covered`` (plus
        ``nearest_km`` under a radius rule), in code order.
    """
    gaz = load_gazetteer()
    table = result.units.copy()
    names = gaz.townships.set_index("code")["name"]
    town = table["township_code"].astype("string")
    table["township_name"] = names.reindex(town.fillna("").to_numpy()).fillna("").to_numpy()
    cols = ["code", "name", "township_code", "township_name", "kind", "n_facilities", "covered"]
    if "nearest_km" in table:
        cols.append("nearest_km")
    out = table[cols].copy()
    out["covered"] = out["covered"].astype(bool)
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    value = float(value)
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"


def target_cards(evaluation: pd.DataFrame, lang: str = "zh") -> list[dict[str, Any]]:
    """One card per target: measured value against the target, met or short by N units, target year.

    Parameters
    ----------
    evaluation : pandas.DataFrame
        From :func:`facilities.coverage.evaluate_plan`.
    lang : {"zh", "en"}

    Returns
    -------
    list of dict
        ``id, title, measured, target, status, state`` (``met`` | ``short`` | ``na``), ``year``,
        ``detail`` (covered / total units, or the reason a target cannot be evaluated; with planned
        projects, the target-year figure they would give).
    """
    zh = lang == "zh"
    cards = []
    for rec in evaluation.to_dict("records"):
        unit = _coverage.unit_label(rec.get("unit") or "", lang)
        sep = "" if unit in ("%", "") or zh else " "
        measured = _fmt(rec.get("measured"))
        target = _fmt(rec.get("target_value"))
        comparator = str(rec.get("comparator") or ">=").replace(">=", "≥").replace("<=", "≤")
        year = rec.get("year")
        year = None if year is None or (isinstance(year, float) and np.isnan(year)) else int(year)
        detail = ""
        if not rec.get("evaluable", True) or rec.get("met") is None:
            state = "na"
            status = "无法评估" if zh else "not evaluable"
            reason = str(rec.get("reason") or "")
            detail = reason.split(" / ")[0] if zh else (reason.split(" / ")[-1])
        elif rec.get("met"):
            state, status = "met", ("达标" if zh else "met")
        else:
            state = "short"
            need = rec.get("shortfall_units")
            if need is not None and not (isinstance(need, float) and np.isnan(need)) and rec.get("level"):
                noun_zh, noun_en = _coverage.LEVEL_NOUNS.get(rec["level"], ("个单元", "units"))
                status = f"未达标：还差 {int(need)} 个{noun_zh}" if zh else f"short by {int(need)} {noun_en}"
            else:
                status = "未达标" if zh else "not met"
        if rec.get("covered") is not None and rec.get("total") is not None and not pd.isna(rec.get("covered")):
            noun_zh, noun_en = _coverage.LEVEL_NOUNS.get(rec.get("level") or "", ("个单元", "units"))
            cov, tot = int(rec["covered"]), int(rec["total"])
            detail = f"已覆盖 {cov} / {tot} 个{noun_zh}" if zh else f"{cov} of {tot} {noun_en} covered"
        planned = rec.get("measured_planned")
        if planned is not None and not pd.isna(planned) and rec.get("planned_projects"):
            verdict = rec.get("met_planned")
            verdict = ("达标" if zh else "met") if verdict else ("未达标" if zh else "not met")
            n = int(rec["planned_projects"])
            scenario = (f"含 {n} 个规划项目:{_fmt(planned)}{sep}{unit},{verdict}" if zh
                        else f"with {n} planned projects: {_fmt(planned)}{sep}{unit}, {verdict}")
            detail = f"{detail};{scenario}" if detail and zh else (f"{detail}; {scenario}" if detail else scenario)
        cards.append(
            {
                "id": rec.get("id"),
                "title": rec.get("label_zh") if zh else rec.get("label_en"),
                "measured": "—" if measured == "—" else f"{measured}{sep}{unit}",
                "target": f"{comparator} {target}{sep}{unit}",
                "status": status,
                "state": state,
                "year": year,
                "detail": detail,
            }
        )
    return cards


def coverage_chart_frame(evaluation: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Coverage-rate targets for the overview chart: label, measured percent, target percent, met.

    Returns
    -------
    pandas.DataFrame
        ``label, measured, target, met`` for every evaluated coverage-rate target (percent 0–100).
    """
    rows = evaluation[(evaluation["metric"] == "coverage_rate") & evaluation["measured"].notna()]
    label = rows["label_zh"] if lang == "zh" else rows["label_en"]
    return pd.DataFrame(
        {
            "label": label.astype(str).to_numpy(),
            "measured": rows["measured"].astype(float).round(1).to_numpy(),
            "target": rows["target_value"].astype(float).to_numpy(),
            "met": rows["met"].astype(bool).to_numpy(),
        }
    )


#: Target fields a planner edits in the app.
EDITABLE = ["id", "label_zh", "label_en", "metric", "category", "level", "value", "unit", "year",
            "include_special", "radius_km"]


def plan_frame(plan: Any) -> pd.DataFrame:
    """The plan's targets as an editable table (columns :data:`EDITABLE`)."""
    targets = getattr(plan, "targets", None) or []
    rows = [{k: getattr(t, k) for k in EDITABLE} for t in targets]
    frame = pd.DataFrame(rows, columns=EDITABLE)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    frame["year"] = pd.to_numeric(frame["year"], errors="coerce").astype("Int64")
    frame["radius_km"] = pd.to_numeric(frame["radius_km"], errors="coerce").astype(float)
    frame["include_special"] = frame["include_special"].fillna(False).astype(bool)
    for col in ("id", "label_zh", "label_en", "metric", "category", "level", "unit"):
        frame[col] = frame[col].astype(object)
    return frame


def _clean(value: Any) -> Any:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def plan_from_frame(plan: Any, frame: pd.DataFrame, region_code: str, region_name: str) -> Any:
    """A plan with the planner's edits: changed values, years, levels and options; new custom targets.

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
        A row without a metric, a coverage target without category or level, an unknown category,
        level or metric, or a coverage value outside 0–100 (naming the row).
    """
    known = {t.id: t for t in (getattr(plan, "targets", None) or [])}
    cats = set(_categories.CATEGORIES)
    out: list[Any] = []
    used: set[str] = set()
    for i, rec in enumerate(frame.to_dict("records"), start=1):
        rec = {k: _clean(rec.get(k)) for k in EDITABLE}
        metric = rec["metric"] or "coverage_rate"
        if metric not in _targets.METRICS:
            raise TowncoverError(f"第 {i} 个指标:未知的指标类型 {metric}", f"target {i}: unknown metric {metric}",
                                 row=i, column="metric")
        if rec["category"] is not None and rec["category"] not in cats:
            raise TowncoverError(f"第 {i} 个指标:未知的设施类别 {rec['category']}",
                                 f"target {i}: unknown facility category {rec['category']}", row=i, column="category")
        if rec["level"] is not None and rec["level"] not in _coverage.LEVELS:
            raise TowncoverError(f"第 {i} 个指标:未知的层级 {rec['level']}", f"target {i}: unknown level {rec['level']}",
                                 row=i, column="level")
        if metric == "coverage_rate":
            if rec["category"] is None or rec["level"] is None:
                raise TowncoverError(f"第 {i} 个指标:覆盖率指标需要设施类别和层级",
                                     f"target {i}: a coverage target needs a category and a level", row=i)
            if rec["value"] is not None and not 0 <= float(rec["value"]) <= 100:
                raise TowncoverError(f"第 {i} 个指标:覆盖率应在 0–100 之间", f"target {i}: a coverage rate is 0-100",
                                     row=i, column="value")
        tid = str(rec["id"] or f"custom_{i}")
        while tid in used:
            tid += "_2"
        used.add(tid)
        changes = {
            "id": tid,
            "label_zh": str(rec["label_zh"] or tid),
            "label_en": str(rec["label_en"] or rec["label_zh"] or tid),
            "metric": metric,
            "category": rec["category"],
            "level": rec["level"],
            "value": None if rec["value"] is None else float(rec["value"]),
            "unit": rec["unit"] or ("percent" if metric == "coverage_rate" else "units"),
            "year": None if rec["year"] is None else int(rec["year"]),
            "include_special": bool(rec["include_special"] or False),
            "radius_km": None if rec["radius_km"] is None else float(rec["radius_km"]),
        }
        base = known.get(str(rec["id"])) if rec["id"] is not None else None
        if base is not None:
            out.append(dataclasses.replace(base, **changes))
        else:
            out.append(_targets.Target(quote="(规划人员自定义 / custom target)", **changes))
    if plan is not None:
        return dataclasses.replace(plan, targets=out)
    return _targets.Plan(id=f"{region_code}_custom", region_code=str(region_code), region_name=region_name,
                         title=f"{region_name} 自定义指标 / custom targets", year_from=2021, year_to=2025,
                         seed_file="", targets=out)


# ---------------------------------------------------------------------------------------------
# Workspace
# ---------------------------------------------------------------------------------------------
def save_workspace(path: str | os.PathLike, layers: dict[str, gpd.GeoDataFrame], corrections: pd.DataFrame | None,
                   placed: pd.DataFrame | None = None) -> Path:
    """Save the map layers, the planner's corrections and the placed rows in one GeoPackage.

    Parameters
    ----------
    path : str or PathLike
        Target ``.gpkg``; written to a temporary file first, then renamed.
    layers : dict
        ``townships`` / ``facilities`` GeoDataFrames (EPSG:4326); None values are skipped.
    corrections : pandas.DataFrame or None
        Columns ``row, township_code, village_code, note`` (an empty table when None).
    placed : pandas.DataFrame, optional
        ``Analysis.placed`` without the geometry columns (kept so the workspace shows every row).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.gpkg")
    tmp.unlink(missing_ok=True)
    try:
        for name, frame in layers.items():
            if frame is not None and len(frame):
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG")
        corr = _corrections.empty() if corrections is None else corrections.reindex(columns=_corrections.COLUMNS)
        corr = corr.astype({"row": "int64"}).astype({c: str for c in _corrections.COLUMNS[1:]})
        pyogrio.write_dataframe(pd.DataFrame(corr), tmp, layer="corrections", driver="GPKG")
        if placed is not None:
            plain = pd.DataFrame({c: placed[c].astype("string").fillna("").astype(str) for c in placed.columns})
            pyogrio.write_dataframe(plain, tmp, layer="placed", driver="GPKG")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_workspace_corrections(source: str | os.PathLike | bytes) -> pd.DataFrame:
    """The corrections saved in a workspace GeoPackage (or a corrections CSV).

    Parameters
    ----------
    source : path or bytes
        A ``.gpkg`` written by :func:`save_workspace`, or CSV bytes / path from
        :func:`facilities.corrections.save_corrections`.

    Returns
    -------
    pandas.DataFrame
        ``row, township_code, village_code, note``.

    Raises
    ------
    TowncoverError
        If the file is neither a workspace nor a corrections file.
    """
    import io
    import tempfile

    data = Path(source).read_bytes() if not isinstance(source, bytes | bytearray) else bytes(source)
    if not data.startswith(b"SQLite format 3"):
        return _corrections.load_corrections(io.BytesIO(data))
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "workspace.gpkg"
        file.write_bytes(data)
        try:
            layers = [str(n) for n, _ in pyogrio.list_layers(file)]
            frame = (pyogrio.read_dataframe(file, layer="corrections", read_geometry=False)
                     if "corrections" in layers else None)
        except Exception as exc:  # noqa: BLE001 - DataSourceError and the like: a damaged file, said plainly
            raise TowncoverError(f"工作空间文件已损坏或被截断,无法读取({type(exc).__name__})",
                                 f"the workspace file is damaged or truncated and cannot be read "
                                 f"({type(exc).__name__})") from None
    if frame is None:
        raise TowncoverError("工作空间文件中没有更正表(corrections 图层)",
                             "the workspace file has no corrections layer")
    frame = pd.DataFrame(frame).reindex(columns=_corrections.COLUMNS)
    for col in _corrections.COLUMNS[1:]:
        frame[col] = frame[col].fillna("").astype(str)
    frame["row"] = _corrections.load_corrections(io.StringIO(frame.to_csv(index=False)))["row"].to_numpy()
    return frame
