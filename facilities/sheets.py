"""Read a facility sheet (.csv, .xlsx, .xls) into a :class:`Sheet`, losing no row.

Real 民政 sheets have title rows above the header, merged header cells, headers written in many ways
(机构名称 / 名称 / 单位名称 …), GBK-encoded CSV files, formulas, blank rows and cells that are not what
their column says. :func:`read_sheet` finds the header, recognises the columns it needs (``roles``),
keeps every data row as text with its row number in the file, sets aside rows with nothing usable
(``rejected``, with a reason) and lists cell-level problems (``problems``) in Chinese and English.

Row accounting: ``rows_read == kept + blank + rejected`` where ``rows_read`` counts the rows below the
header down to the last non-blank row. It is checked on every read.

The work is split by concern: :mod:`facilities.workbook` reads files into grids of text,
:mod:`facilities.headers` finds the header and the columns' roles, :mod:`facilities.rows` sorts and
checks the rows; this module puts them together into a :class:`Sheet`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from facilities.headers import (
    HEADER_SYNONYMS,
    ROLES,
    assign_roles,
    column_names,
    compact_text,
    find_header,
    normalise_header,
    subheader,
)
from facilities.rows import (
    CHINA_LAT,
    CHINA_LNG,
    NUMERIC_ROLES,
    PROBLEM_COLUMNS,
    STATUS_COLUMN,
    STATUS_NOTE_COLUMN,
    STATUS_VALUES,
    classify_rows,
    facility_status,
    numeric_column,
    sheet_coordinates,
    sheet_problems,
)
from facilities.workbook import HEADER_SCAN_ROWS, CellNote, Grid, read_bytes, read_grids
from geo.geocoder import OUTPUT_COLUMNS
from towncover.errors import TowncoverError

__all__ = ["CHINA_LAT", "CHINA_LNG", "HEADER_SCAN_ROWS", "HEADER_SYNONYMS", "NUMERIC_ROLES", "PROBLEM_COLUMNS",
           "ROLES", "SHEET_COLUMN", "STATUS_COLUMN", "STATUS_NOTE_COLUMN", "STATUS_VALUES", "Sheet", "compact_text",
           "facility_status", "normalise_header", "numeric_column", "read_sheet", "read_table", "sheet_coordinates"]

#: The column naming each row's worksheet when a workbook holds several facility tables.
SHEET_COLUMN = "sheet"

#: Columns the tool adds to every row downstream; a user's column of the same name is renamed "…(原表)".
_TOOL_COLUMNS = frozenset((*OUTPUT_COLUMNS, SHEET_COLUMN, "category", "category_label", STATUS_COLUMN,
                           STATUS_NOTE_COLUMN))


@dataclass
class Sheet:
    """A facility sheet as read: every data row kept as text, with its row number in the file.

    Attributes
    ----------
    frame : pandas.DataFrame
        The data rows (blank and rejected rows excluded), original columns in input order, all str;
        empty cells are ``""``. RangeIndex.
    roles : dict of str to str
        Role (``name``, ``address``, ``category``, ``lng``, ``lat``, ``township``, ``village``,
        ``county``, ``division_code``, ``beds``, ``nursing_beds``, ``remark``) → column of ``frame``.
    source_rows : list of int
        1-based row number in the file of each ``frame`` row.
    header_row : int
        1-based row number of the header row (the lower one of a two-row header); data start below.
    encoding : str or None
        Text encoding of a CSV file (``utf-8``, ``utf-8-sig``, ``gb18030``, ``utf-16`` …); None for Excel.
    problems : pandas.DataFrame
        Columns ``row``, ``column``, ``message_zh``, ``message_en``: cell-level problems; the rows
        are still used.
    rejected : pandas.DataFrame
        Rows with nothing usable: original columns plus ``row``, ``reason_zh``, ``reason_en``.
    filename : str or None
    sheet_name : str or None
        The worksheet read from an Excel workbook.
    rows_read : int
        Rows below the header down to the last non-blank row.
    blank_rows : list of int
        Row numbers of fully blank rows (dropped, counted).
    numbers : pandas.DataFrame
        The numeric roles the sheet has (of ``lng``, ``lat``, ``beds``, ``nursing_beds``) as floats,
        parsed once here (degrees-minutes-seconds, 东经/北纬, units such as ``50张``), NaN where empty
        or not a number; aligned with ``frame``. Later stages (the geocoder, coverage) read these,
        never the text.
    status : pandas.DataFrame
        Each kept row's :data:`STATUS_COLUMN` (one of :data:`STATUS_VALUES`) and :data:`STATUS_NOTE_COLUMN`
        (what said so, the status column or the name, "中文 / English"; "" for operating rows nothing
        speaks against), aligned with ``frame``.
    sheets : list of dict
        Each worksheet read (``name``, ``header_row``, ``rows_read``, ``kept``, ``blank``,
        ``rejected``). When several are read, ``frame`` starts with a :data:`SHEET_COLUMN` column
        naming each row's worksheet, and a later worksheet's rows are numbered on after the earlier
        ones' last row (row numbers stay unique; problems name the worksheet and its own row).
    skipped_sheets : list of dict
        Worksheets holding no facility table: ``name``, ``reason_zh``, ``reason_en``.
    """

    frame: pd.DataFrame
    roles: dict[str, str]
    source_rows: list[int]
    header_row: int
    encoding: str | None
    problems: pd.DataFrame
    rejected: pd.DataFrame
    filename: str | None = None
    sheet_name: str | None = None
    rows_read: int = 0
    blank_rows: list[int] = field(default_factory=list)
    numbers: pd.DataFrame = field(default_factory=pd.DataFrame)
    status: pd.DataFrame = field(default_factory=pd.DataFrame)
    sheets: list[dict[str, Any]] = field(default_factory=list)
    skipped_sheets: list[dict[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Row accounting and what was recognised.

        Returns
        -------
        dict
            ``rows_read``, ``kept``, ``blank``, ``rejected`` (``rows_read == kept + blank + rejected``),
            ``problems`` (count), ``header_row``, ``encoding``, ``sheet_name``, ``filename``, ``roles``,
            ``status`` (kept rows per :data:`STATUS_VALUES`: only ``operating`` ones exist today),
            ``sheets`` (each worksheet read, with its rows), ``skipped_sheets`` (name and reason).
        """
        return {
            "rows_read": self.rows_read,
            "kept": len(self.frame),
            "blank": len(self.blank_rows),
            "rejected": len(self.rejected),
            "problems": len(self.problems),
            "header_row": self.header_row,
            "encoding": self.encoding,
            "sheet_name": self.sheet_name,
            "filename": self.filename,
            "roles": dict(self.roles),
            "status": {v: int((self.status[STATUS_COLUMN] == v).sum()) if len(self.status) else 0
                       for v in STATUS_VALUES},
            "sheets": [dict(s) for s in self.sheets],
            "skipped_sheets": [dict(s) for s in self.skipped_sheets],
        }

    def describe_sheets(self) -> tuple[str, str]:
        """Which worksheets were read (with their rows) and which were skipped and why, (zh, en)."""
        zh = "、".join(f"“{s['name']}” {s['rows_read']} 行" for s in self.sheets if s["name"] not in (None, "None"))
        en = ", ".join(f"\"{s['name']}\" {s['rows_read']} rows" for s in self.sheets
                       if s["name"] not in (None, "None"))
        if self.skipped_sheets:
            zh += ";跳过 " + "、".join(f"“{s['name']}”({s['reason_zh']})" for s in self.skipped_sheets)
            en += "; skipped " + ", ".join(f"\"{s['name']}\" ({s['reason_en']})" for s in self.skipped_sheets)
        return zh, en

    def column(self, role: str) -> pd.Series | None:
        """The ``frame`` column holding ``role``, or None when the sheet has none."""
        col = self.roles.get(role)
        return None if col is None else self.frame[col]


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------


def read_sheet(
    source: str | Path | bytes | IO[bytes],
    *,
    filename: str | None = None,
    columns: dict[str, str] | None = None,
) -> Sheet:
    """Read a facility sheet from a path, bytes or a binary file-like object.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or file-like
        The file. A file-like object with a ``name`` (e.g. a Streamlit upload) names itself.
    filename : str, optional
        The file's name, used for its extension (.csv, .txt, .tsv, .xlsx, .xlsm, .xls) when
        ``source`` is bytes; the content decides where it is unambiguous.
    columns : dict of str to str, optional
        Role → header overrides, e.g. ``{"name": "站点", "address": "位置说明"}``.

    Returns
    -------
    Sheet

    Raises
    ------
    TowncoverError
        Empty, oversized, corrupt or unknown files; no header row with a name or address column;
        an override naming an unknown role or a header the sheet lacks.
    """
    data, filename = read_bytes(source, filename)
    if columns:
        unknown = sorted(set(columns) - set(ROLES))
        if unknown:
            raise TowncoverError(
                f"未知的列角色:{'、'.join(unknown)};可用:{'、'.join(ROLES)}",
                f"unknown column role(s): {', '.join(unknown)}; known roles: {', '.join(ROLES)}",
            )
    grids, encoding = read_grids(data, filename)

    read: list[Sheet] = []
    skipped: list[dict[str, str]] = []
    best = None  # (score, name, header_idx, grid, notes): the error to raise when no sheet holds a table
    for name, (grid, cell_notes) in grids.items():
        if not any(any(row) for row in grid):
            skipped.append(_skip(name, "空工作表", "the worksheet is empty"))
            continue
        header_idx, score = find_header(grid, columns)
        if best is None or score > best[0]:
            best = (score, name, header_idx, grid, cell_notes)
        if score <= 0:
            skipped.append(_skip(name, "没有可识别的表头", "no recognisable header row"))
            continue
        try:
            read.append(_build(grid, header_idx, columns, cell_notes, filename, encoding, name))
        except TowncoverError as exc:
            if len(grids) == 1:
                raise
            skipped.append(_skip(name, "表头中没有“名称”或“地址”列", "no name or address column in the header"))
            del exc
    if best is None:
        raise TowncoverError(
            f"文件 {filename} 是空的,没有任何数据", f"file {filename} is empty: it holds no data",
        )
    if not read:
        score, name, header_idx, grid, notes = best
        if score <= 0:
            raise TowncoverError(
                f"文件 {filename} 中找不到表头:前 {HEADER_SCAN_ROWS} 行里没有“机构名称”“地址”等可识别的列名",
                f"no header row found in {filename}: none of the first {HEADER_SCAN_ROWS} rows has "
                "recognisable column names such as 机构名称 (name) or 地址 (address)",
            )
        return _build(grid, header_idx, columns, notes, filename, encoding, name)
    sheet = read[0] if len(read) == 1 else _stack(read)
    sheet.sheets = [_sheet_rows(part) for part in read] if len(read) > 1 else [_sheet_rows(sheet)]
    sheet.skipped_sheets = skipped
    return sheet


def _skip(name: str | None, zh: str, en: str) -> dict[str, str]:
    return {"name": str(name), "reason_zh": zh, "reason_en": en}


def _sheet_rows(sheet: Sheet) -> dict[str, Any]:
    s = sheet.summary()
    return {"name": sheet.sheet_name, "header_row": sheet.header_row,
            **{k: s[k] for k in ("rows_read", "kept", "blank", "rejected")}}


def _stack(parts: list[Sheet]) -> Sheet:
    """Several worksheets' tables as one sheet: a ``sheet`` column says which worksheet each row is from.

    Rows keep unique numbers: a later worksheet's rows are numbered on after the earlier ones
    (offset by their last row), and every problem names its worksheet and its row there.
    """
    first = parts[0]
    roles = dict(first.roles)
    frames, rejected, problems, numbers, status, kept_rows, blank_rows = [], [], [], [], [], [], []
    offset = 0
    for part in parts:
        rename = {}
        for role, col in part.roles.items():
            if role in roles and roles[role] != col:
                rename[col] = roles[role]
            roles.setdefault(role, col)
        name = str(part.sheet_name)
        frame = part.frame.rename(columns=rename)
        frame.insert(0, SHEET_COLUMN, name)
        frames.append(frame)
        rej = part.rejected.rename(columns=rename)
        rej.insert(0, SHEET_COLUMN, name)
        rej["row"] = rej["row"] + offset
        rejected.append(rej)
        prob = part.problems.copy()
        prob["row"] = prob["row"] + offset
        prob["column"] = prob["column"].replace(rename)
        prob["message_zh"] = f"工作表“{name}”" + prob["message_zh"]
        prob["message_en"] = f'worksheet "{name}", ' + prob["message_en"]
        problems.append(prob)
        numbers.append(part.numbers)
        status.append(part.status)
        kept_rows += [r + offset for r in part.source_rows]
        blank_rows += [r + offset for r in part.blank_rows]
        offset += part.header_row + part.rows_read

    def stacked(items: list[pd.DataFrame]) -> pd.DataFrame:
        out = pd.concat(items, ignore_index=True)
        return out.astype(object).where(out.notna(), "").astype("str") if len(out.columns) else out

    frame = stacked(frames)
    numeric = pd.concat(numbers, ignore_index=True).astype("float64")
    return Sheet(
        frame=frame, roles={r: roles[r] for r in ROLES if r in roles}, source_rows=kept_rows,
        header_row=first.header_row, encoding=first.encoding,
        problems=pd.concat(problems, ignore_index=True).astype({"row": "int64"}),
        rejected=stacked(rejected).astype({"row": "int64"}), filename=first.filename,
        sheet_name="、".join(str(p.sheet_name) for p in parts), rows_read=sum(p.rows_read for p in parts),
        blank_rows=blank_rows, numbers=numeric.reindex(columns=[r for r in NUMERIC_ROLES if r in roles]),
        status=stacked(status),
    )


def read_table(source: str | Path | bytes | IO[bytes], *, filename: str | None = None) -> pd.DataFrame:
    """Read any small table (population, planned projects) with the facility sheet's safe readers.

    The same limits, encodings and one-line errors as :func:`read_sheet` (a CSV named .xlsx, a
    damaged or bomb-like workbook …), without facility roles: the first row with two or more
    filled cells of the first worksheet holding one is the header.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or file-like
    filename : str, optional
        The file's name (its extension), needed when ``source`` is bytes.

    Returns
    -------
    pandas.DataFrame
        Every row below the header as text (``""`` for empty cells), headers stripped; blank rows
        dropped. ``.attrs["rows"]`` holds each row's 1-based row number in the file.

    Raises
    ------
    TowncoverError
        Empty, oversized, corrupt or unknown files; no header row.
    """
    data, filename = read_bytes(source, filename)
    for grid, _notes in read_grids(data, filename)[0].values():
        header_idx = next((i for i, row in enumerate(grid[:HEADER_SCAN_ROWS]) if sum(1 for c in row if c) >= 2), None)
        if header_idx is None:
            continue
        width = max(len(r) for r in grid[header_idx:])
        names = column_names(grid[header_idx], width, _TOOL_COLUMNS)
        body = grid[header_idx + 1:]
        keep = [i for i, r in enumerate(body) if any(r)]
        frame = pd.DataFrame(_matrix([body[i] for i in keep], width), columns=names).astype("str")
        frame.attrs["rows"] = [header_idx + 2 + i for i in keep]
        return frame
    raise TowncoverError(f"文件 {filename} 中找不到表头(前 {HEADER_SCAN_ROWS} 行没有两个以上的列名)",
                         f"no header row found in {filename} (none of the first {HEADER_SCAN_ROWS} rows has "
                         "two or more column names)")


def _matrix(body: list[list[str]], width: int) -> np.ndarray:
    """The data rows as a 2-D object array, short rows padded with ``""`` to ``width`` columns."""
    if not body:
        return np.empty((0, width), dtype=object)
    padded = [r if len(r) == width else r + [""] * (width - len(r)) for r in body]
    out = np.empty((len(padded), width), dtype=object)
    out[:] = padded
    return out


def _build(
    grid: Grid,
    header_idx: int,
    columns: dict[str, str] | None,
    notes: list[CellNote],
    filename: str,
    encoding: str | None,
    sheet_name: str | None,
) -> Sheet:
    header = list(grid[header_idx])
    sub = subheader(header, grid[header_idx + 1] if header_idx + 1 < len(grid) else [])
    if sub is not None:  # a two-row header: 坐标 merged over 经度 | 纬度
        header, header_idx = sub, header_idx + 1
    body = grid[header_idx + 1:]
    # Formula cells without a saved result read as empty but are not: their rows are never blank.
    formula_cells: dict[int, list[int]] = {}
    for r, c, _zh, _en in notes:
        formula_cells.setdefault(r, []).append(c)
    while body and not any(body[-1]) and header_idx + 1 + len(body) not in formula_cells:
        body.pop()
    width = max([len(header)] + [len(r) for r in body]) if body else len(header)
    # Columns with neither a header nor any value are dropped (stray formatting).
    keep_cols = [i for i in range(width)
                 if (i < len(header) and header[i]) or any(i < len(r) and r[i] for r in body)]
    names_all = column_names(header, width, _TOOL_COLUMNS)
    names = [names_all[i] for i in keep_cols]
    matrix = _matrix(body, width)[:, keep_cols]
    roles = assign_roles(names, columns)
    if "name" not in roles and "address" not in roles:
        raise TowncoverError(
            f"第 {header_idx + 1} 行表头中没有可识别的“名称”或“地址”列(表头:{'、'.join(names)});"
            "可用“指定列”手动选择",
            f"the header in row {header_idx + 1} has no recognisable name or address column "
            f"(header: {', '.join(names)}); choose the columns by hand",
            row=header_idx + 1,
        )
    file_rows = np.arange(header_idx + 2, header_idx + 2 + len(body))
    frame = pd.DataFrame(matrix, columns=names).astype("str") if len(body) else pd.DataFrame(
        {n: pd.Series([], dtype="str") for n in names})
    frame.columns = names

    verdict = classify_rows(frame, roles, header, names_all, file_rows, formula_cells)
    blank, rejected_mask = verdict.blank, verdict.rejected
    kept_mask = ~blank & ~rejected_mask

    rejected = frame[rejected_mask].copy()
    rejected["row"] = file_rows[rejected_mask]
    rejected["reason_zh"] = pd.array(verdict.reason_zh[rejected_mask], dtype="str")
    rejected["reason_en"] = pd.array(verdict.reason_en[rejected_mask], dtype="str")
    rejected = rejected.reset_index(drop=True)
    kept = frame[kept_mask].reset_index(drop=True)
    kept_rows = file_rows[kept_mask]
    blank_rows = file_rows[blank].tolist()

    sheet = Sheet(
        frame=kept, roles=roles, source_rows=[int(r) for r in kept_rows], header_row=header_idx + 1,
        encoding=encoding, problems=pd.DataFrame(columns=PROBLEM_COLUMNS), rejected=rejected,
        filename=filename, sheet_name=sheet_name, rows_read=len(body), blank_rows=[int(r) for r in blank_rows],
    )
    sheet.numbers = pd.DataFrame({role: numeric_column(sheet, role) for role in NUMERIC_ROLES if role in roles},
                                 index=kept.index)
    sheet.status = facility_status(sheet)
    sheet.problems = sheet_problems(sheet, notes, names_all, keep_cols, file_rows[kept_mask])
    s = sheet.summary()
    if s["rows_read"] != s["kept"] + s["blank"] + s["rejected"]:
        raise TowncoverError(  # pragma: no cover - an internal invariant
            f"行数核对失败:{s}", f"row accounting failed: {s}",
        )
    return sheet


