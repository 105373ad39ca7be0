"""What the app shows, computed away from the UI: unit tables, target cards, the chart, display tables.

Everything here is plain pandas / geopandas so it can be tested without a browser; ``app.py`` only
lays the results out. The map is drawn by ``facilities.mapview`` / ``geo.webmap``; the review queue,
corrections and workspace are in ``facilities.review``; plan edits in ``facilities.session``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from facilities import coverage as _coverage
from facilities.evaluation import unit_label
from geo.gazetteer import load_gazetteer
from towncover.vocabulary import LEVELS


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
        unit = unit_label(rec.get("unit") or "", lang)
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
            shortfall = str(rec.get("shortfall_text") or "").partition(" / ")
            said = shortfall[0] if zh else shortfall[2]
            status = (f"未达标:{said}" if zh else f"not met: {said}") if said else ("未达标" if zh else "not met")
        if rec.get("covered") is not None and rec.get("total") is not None and not pd.isna(rec.get("covered")):
            noun_zh, noun_en = LEVELS.get(rec.get("level") or "", ("个单元", "units"))
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


def display_table(frame: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """A table as the app shows it: headers, statuses, kinds and yes/no in ``lang``, numbers to 0.1.

    The data keeps its English column names and values; only this copy is translated.
    """
    from facilities.i18n import COLUMN_LABELS, STATUS_LABELS, VALUE_LABELS

    en = lang == "en"
    out = frame.copy()
    if "match_status" in out:
        out["match_status"] = out["match_status"].map(lambda v: STATUS_LABELS.get(str(v), (v, v))[en])
    for column in ("kind", "criterion"):
        if column in out:
            out[column] = out[column].map(lambda v: VALUE_LABELS.get(str(v), (v, v))[en])
    for column in ("match_note", "note", "reason"):
        if column in out:
            out[column] = out[column].map(lambda v: one_language(v, lang))
    for column in out.columns:
        if pd.api.types.is_bool_dtype(out[column]):
            out[column] = out[column].map(lambda v: VALUE_LABELS[str(bool(v))][en])
        elif pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(1)
    if "message_zh" in out and "message_en" in out:
        out = out.drop(columns="message_en" if not en else "message_zh")
    return out.rename(columns={c: COLUMN_LABELS[c][en] for c in out.columns if c in COLUMN_LABELS})


def one_language(value: Any, lang: str = "zh") -> Any:
    """The ``lang`` half of a bilingual note ``"中文 / English"`` (each of several ``"; "``-joined notes).

    Text without " / " is returned as it is.
    """
    if not isinstance(value, str) or " / " not in value:
        return value
    parts = [part.partition(" / ") for part in value.split("; ")]
    if lang == "en":
        return "; ".join(en or zh for zh, _, en in parts)
    return ";".join(zh for zh, _, _ in parts)
