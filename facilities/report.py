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

Text cells starting with ``=``, ``+``, ``-`` or ``@`` are written with a leading single quote in .csv
and .xlsx so a spreadsheet never runs them as formulas.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from facilities.coverage import CoverageResult, plain, records
from facilities.evaluation import Evaluation
from towncover.errors import TowncoverError
from towncover.vocabulary import unique_sheet_name

_FORMULA_START = ("=", "+", "-", "@")
_UNIT_COLUMNS = ["code", "name", "county_code", "township_code", "kind", "n_facilities", "n_within", "nearest_km",
                 "covered", "status"]
_PERCENT_COLUMNS = ("measured", "target_value", "measured_planned", "change_from_baseline", "baseline")
_RATE_COLUMNS = ("rate_after", "rate", "nearest_km")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that start with = + - @ with a single quote (spreadsheet formula injection).

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        A copy; numbers are left as they are.
    """
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            text = series.astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(bool)
            is_str = np.array([isinstance(v, str) for v in series.to_numpy()], dtype=bool)
            hit = risky & is_str
            if hit.any():
                values = series.to_numpy(dtype=object).copy()
                values[hit] = ["'" + v for v in values[hit]]
                out[col] = values
    out.columns = ["'" + c if isinstance(c, str) and c.startswith(_FORMULA_START) else c for c in out.columns]
    return out


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
    details: dict[str, CoverageResult | pd.DataFrame] | str | os.PathLike | None = None,
    path: str | os.PathLike | None = None,
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
        if evaluation.plan is None:
            raise TowncoverError("没有规划目标,无法生成报告", "no plan targets: nothing to report")
        return write_tables(evaluation.table, evaluation.details, out, geocoded=evaluation.geocoded,
                            gaps=evaluation.gaps())
    return write_tables(evaluation, details or {}, path, geocoded=geocoded, gaps=gaps)


def write_tables(
    table: pd.DataFrame,
    details: dict[str, CoverageResult | pd.DataFrame],
    path: str | os.PathLike,
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
        _atomic(path, lambda tmp: _write_xlsx(tmp, table, details, gaps, unplaced, unclassified))
    elif suffix == ".csv":
        _atomic(path, lambda tmp: neutralise(table).to_csv(tmp, index=False, encoding="utf-8-sig"))
        long = _units_long(details)
        units_path = path.with_name(f"{path.stem}_units.csv")
        _atomic(units_path, lambda tmp: neutralise(long).to_csv(tmp, index=False, encoding="utf-8-sig"))
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
        _atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    else:
        raise TowncoverError(f"报告只能写成 .xlsx、.csv 或 .json,而不是“{path.suffix}”",
                             f"the report can be .xlsx, .csv or .json, not '{path.suffix}'")
    return path


def _json_default(value: Any) -> Any:
    out = plain(value)
    if out is value:
        return str(value)
    return out


def _units_long(details: dict[str, CoverageResult | pd.DataFrame]) -> pd.DataFrame:
    parts = []
    for tid, result in details.items():
        units = _units_frame(result)
        units.insert(0, "target_id", tid)
        parts.append(units)
    if not parts:
        return pd.DataFrame(columns=["target_id", *_UNIT_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_xlsx(tmp: str, evaluation: pd.DataFrame, details: dict, gaps: dict, unplaced: pd.DataFrame,
                unclassified: pd.DataFrame) -> None:
    used: set[str] = set()
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        sheet = unique_sheet_name("targets", used)
        neutralise(evaluation).to_excel(writer, sheet_name=sheet, index=False)
        _format_percent(writer.sheets[sheet], evaluation)
        for tid, result in details.items():
            sheet = unique_sheet_name(f"cov_{tid}", used)
            frame = _units_frame(result)
            neutralise(frame).to_excel(writer, sheet_name=sheet, index=False)
            _format_columns(writer.sheets[sheet], frame, _RATE_COLUMNS)
        for tid, gap in gaps.items():
            sheet = unique_sheet_name(f"gap_{tid}", used)
            neutralise(gap).to_excel(writer, sheet_name=sheet, index=False)
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
            neutralise(out).to_excel(writer, sheet_name=sheet, index=False)


def _format_columns(ws, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    for j, col in enumerate(frame.columns, start=1):
        if col in columns:
            for i in range(2, len(frame) + 2):
                ws.cell(row=i, column=j).number_format = "0.0"


def _format_percent(ws, evaluation: pd.DataFrame) -> None:
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
