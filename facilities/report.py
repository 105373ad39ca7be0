"""The coverage report: a row per target, and per target its units with their status.

Formats by file suffix:

``.xlsx``
    Sheet ``targets`` (one row per target), one sheet per evaluated coverage target (``cov_<id>``: its
    units, covered or not), one per gap closed (``gap_<id>``), ``unplaced`` (rows not placed on a
    township) and ``unclassified`` (rows no category fits). Rates are stored exact and displayed with
    one decimal.
``.csv``
    The targets table (UTF-8 with BOM, so Excel reads the Chinese), and beside it
    ``<stem>_units.csv``: every coverage target's units, one row per target and unit.
``.json``
    ``{"targets": [...], "coverage": {id: {...units...}}, "gaps": {id: {...}}, "unplaced": [...],
    "unclassified": [...]}``.

Text cells a spreadsheet would run as formulas get a leading single quote in .csv and .xlsx
(:func:`towncover.files.neutralise_cells`); .xlsx drops the control characters it cannot hold
(:func:`towncover.files.xlsx_safe`). Files are written atomically (:func:`towncover.files.atomic_write`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from facilities.coverage import CoverageResult, plain, records
from facilities.evaluation import Evaluation
from towncover.errors import TowncoverError
from towncover.files import atomic_write, xlsx_safe
from towncover.files import neutralise_cells as neutralise
from towncover.vocabulary import unique_sheet_name

if TYPE_CHECKING:  # openpyxl is pandas' engine here, imported by the writer
    from openpyxl.worksheet.worksheet import Worksheet

_UNIT_COLUMNS = ["code", "name", "county_code", "township_code", "kind", "n_facilities", "n_within", "nearest_km",
                 "covered", "status"]
_PERCENT_COLUMNS = ("measured", "target_value", "measured_planned", "change_from_baseline", "baseline")
_RATE_COLUMNS = ("rate_after", "rate", "nearest_km")


def _units_frame(result: CoverageResult | pd.DataFrame) -> pd.DataFrame:
    units = result.units if isinstance(result, CoverageResult) else result
    return units[[c for c in _UNIT_COLUMNS if c in units.columns]].copy()


def _problem_rows(geocoded: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    if geocoded is None:
        return pd.DataFrame(), pd.DataFrame()
    status = geocoded["match_status"].astype("string").fillna("") if "match_status" in geocoded else None
    unplaced = geocoded[status != "matched"] if status is not None else geocoded.iloc[0:0]
    if "category" in geocoded.columns:
        unclassified = geocoded[geocoded["category"].astype("string").fillna("unclassified") == "unclassified"]
    else:
        unclassified = geocoded.iloc[0:0]
    return unplaced, unclassified


def write_report(
    evaluation: Evaluation | pd.DataFrame,
    details: Mapping[str, CoverageResult | pd.DataFrame] | str | os.PathLike[str] | None = None,
    path: str | os.PathLike[str] | None = None,
    *,
    geocoded: pd.DataFrame | None = None,
    gaps: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Write the coverage report of an :class:`~facilities.evaluation.Evaluation` (by the suffix of ``path``).

    Formats it only: the plan is evaluated and the gaps are closed once, by the evaluation.

    Parameters
    ----------
    evaluation : Evaluation
        From :func:`facilities.evaluation.evaluate`. (The older form ``write_report(table, details,
        path, geocoded=..., gaps=...)`` with the parts of one is still accepted: see
        :func:`write_tables`.)
    details : str or PathLike
        With an Evaluation: the output path, ``.xlsx``, ``.csv`` or ``.json``.

    Returns
    -------
    pathlib.Path
        The written file (written atomically: temporary file, then rename).

    Raises
    ------
    TowncoverError
        For an unsupported suffix, or an evaluation without a plan.
    """
    if isinstance(evaluation, Evaluation):
        out = details if path is None else path
        if out is None or isinstance(out, Mapping):
            raise TypeError("write_report(evaluation, path): the output path is missing")
        if evaluation.plan is None:
            raise TowncoverError("没有规划目标,无法生成报告", "no plan targets: nothing to report")
        return write_tables(evaluation.table, evaluation.details, out, geocoded=evaluation.geocoded,
                            gaps=evaluation.gaps())
    if path is None or isinstance(details, str | os.PathLike):
        raise TypeError("write_report(table, details, path): the output path is missing")
    return write_tables(evaluation, details or {}, path, geocoded=geocoded, gaps=gaps)


def write_tables(
    table: pd.DataFrame,
    details: Mapping[str, CoverageResult | pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    geocoded: pd.DataFrame | None = None,
    gaps: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Write given report parts to .xlsx, .csv or .json (by the suffix of ``path``).

    Parameters
    ----------
    table : pandas.DataFrame
        The evaluation table (one row per target).
    details : dict
        Target id → :class:`CoverageResult` (or its units frame).
    path : str or PathLike
        Output file, ``.xlsx``, ``.csv`` or ``.json``.
    geocoded : pandas.DataFrame, optional
        The geocoded facilities, for the ``unplaced`` and ``unclassified`` views.
    gaps : dict, optional
        Target id → :func:`facilities.gaps.close_gap` result.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TowncoverError
        For an unsupported suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    gaps = gaps or {}
    unplaced, unclassified = _problem_rows(geocoded)
    if suffix == ".xlsx":
        atomic_write(path, lambda tmp: _write_xlsx(tmp, table, details, gaps, unplaced, unclassified))
    elif suffix == ".csv":
        atomic_write(path, lambda tmp: neutralise(table).to_csv(tmp, index=False, encoding="utf-8-sig"))
        long = _units_long(details)
        units_path = path.with_name(f"{path.stem}_units.csv")
        atomic_write(units_path, lambda tmp: neutralise(long).to_csv(tmp, index=False, encoding="utf-8-sig"))
    elif suffix == ".json":
        payload = {
            "targets": records(table),
            "coverage": {tid: (r.to_dict() if isinstance(r, CoverageResult) else {"units": records(r)})
                         for tid, r in details.items()},
            "gaps": {tid: {"attrs": {k: plain(v) for k, v in g.attrs.items()}, "rows": records(g)}
                     for tid, g in gaps.items()},
            "unplaced": records(unplaced),
            "unclassified": records(unclassified),
        }
        text = json.dumps(payload, ensure_ascii=False, indent=2, default=_json_default)
        atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    else:
        raise TowncoverError(f"报告只能写成 .xlsx、.csv 或 .json,而不是“{path.suffix}”",
                             f"the report can be .xlsx, .csv or .json, not '{path.suffix}'")
    return path


def _json_default(value: Any) -> Any:
    out = plain(value)
    if out is value:
        return str(value)
    return out


def _units_long(details: Mapping[str, CoverageResult | pd.DataFrame]) -> pd.DataFrame:
    parts = []
    for tid, result in details.items():
        units = _units_frame(result)
        units.insert(0, "target_id", tid)
        parts.append(units)
    if not parts:
        return pd.DataFrame(columns=["target_id", *_UNIT_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def _write_xlsx(tmp: Path, evaluation: pd.DataFrame, details: Mapping[str, CoverageResult | pd.DataFrame],
                gaps: Mapping[str, pd.DataFrame], unplaced: pd.DataFrame,
                unclassified: pd.DataFrame) -> None:
    used: set[str] = set()
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        sheet = unique_sheet_name("targets", used)
        _cells(evaluation).to_excel(writer, sheet_name=sheet, index=False)
        _format_percent(writer.sheets[sheet], evaluation)
        for tid, result in details.items():
            sheet = unique_sheet_name(f"cov_{tid}", used)
            frame = _units_frame(result)
            _cells(frame).to_excel(writer, sheet_name=sheet, index=False)
            _format_columns(writer.sheets[sheet], frame, _RATE_COLUMNS)
        for tid, gap in gaps.items():
            sheet = unique_sheet_name(f"gap_{tid}", used)
            _cells(gap).to_excel(writer, sheet_name=sheet, index=False)
            _format_columns(writer.sheets[sheet], gap, _RATE_COLUMNS)
            ws = writer.sheets[sheet]
            note_row = len(gap) + 3
            ws.cell(row=note_row, column=1, value="criterion")
            ws.cell(row=note_row, column=2, value=str(gap.attrs.get("criterion", "")))
            ws.cell(row=note_row + 1, column=1, value="method")
            ws.cell(row=note_row + 1, column=2, value=str(gap.attrs.get("method", "")))
        for name, frame in (("unplaced", unplaced), ("unclassified", unclassified)):
            sheet = unique_sheet_name(name, used)
            out = frame if len(frame.columns) else pd.DataFrame({"row": []})
            _cells(out).to_excel(writer, sheet_name=sheet, index=False)


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    return xlsx_safe(neutralise(frame))


def _format_columns(ws: Worksheet, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    for j, col in enumerate(frame.columns, start=1):
        if col in columns:
            for i in range(2, len(frame) + 2):
                ws.cell(row=i, column=j).number_format = "0.0"


def _format_percent(ws: Worksheet, evaluation: pd.DataFrame) -> None:
    """Rates and ratios (percent) display with one decimal; the stored value stays exact."""
    if "unit" not in evaluation.columns:
        return
    percent = (evaluation["unit"].astype("string").isin(["percent", "%"])).fillna(False).to_numpy(bool)
    for j, col in enumerate(evaluation.columns, start=1):
        if col not in _PERCENT_COLUMNS:
            continue
        for i in np.flatnonzero(percent):
            ws.cell(row=int(i) + 2, column=j).number_format = "0.0"


__all__ = ["write_report", "write_tables", "neutralise"]
