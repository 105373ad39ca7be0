"""Read a facility sheet (.csv, .xlsx, .xls) into a :class:`Sheet`, losing no row.

Real 民政 sheets have title rows above the header, merged header cells, headers written in many ways
(机构名称 / 名称 / 单位名称 …), GBK-encoded CSV files, formulas, blank rows and cells that are not what
their column says. :func:`read_sheet` finds the header, recognises the columns it needs (``roles``),
keeps every data row as text with its row number in the file, sets aside rows with nothing usable
(``rejected``, with a reason) and lists cell-level problems (``problems``) in Chinese and English.

Row accounting: ``rows_read == kept + blank + rejected`` where ``rows_read`` counts the rows below the
header down to the last non-blank row. It is checked on every read.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import itertools
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from geo.archive import check_members, iter_member, open_zip
from geo.geocoder import OUTPUT_COLUMNS
from towncover import settings
from towncover.errors import TowncoverError
from towncover.vocabulary import OPERATING_STATUSES, sheet_column

ROLES: tuple[str, ...] = (
    "name", "address", "category", "lng", "lat", "township", "village", "county", "division_code",
    "beds", "nursing_beds", "remark", "status",
)

#: Headers recognised for each role (compared after :func:`normalise_header`).
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("机构名称", "名称", "单位名称", "设施名称", "服务机构名称", "机构名", "养老机构名称", "站点名称",
             "服务设施名称", "场所名称", "项目名称", "站点", "机构", "name", "facility", "facilityname"),
    "address": ("地址", "详细地址", "所在地", "机构地址", "地点", "位置", "所在位置", "具体地址", "单位地址",
                "住址", "坐落", "坐落位置", "address", "addr", "location"),
    "category": ("类型", "机构类型", "设施类型", "类别", "机构类别", "设施类别", "服务类型", "性质", "机构性质",
                 "type", "category", "kind"),
    "lng": ("经度", "lng", "lon", "long", "longitude", "x", "x坐标", "东经"),
    "lat": ("纬度", "lat", "latitude", "y", "y坐标", "北纬"),
    "township": ("乡镇", "街道", "乡镇(街道)", "所属乡镇", "乡镇街道", "所在乡镇", "所属乡镇(街道)", "所在乡镇(街道)",
                 "镇街", "乡镇名称", "街道名称", "乡(镇、街道)", "乡镇(街道)名称", "township", "town", "street"),
    "village": ("村", "社区", "村(社区)", "所属村", "所在村", "村社区", "村(居)", "村居", "行政村", "所属村(社区)",
                "所在村(社区)", "村(社区)名称", "村名称", "社区名称", "village", "community"),
    "county": ("县", "区", "县(市、区)", "县市区", "县(区)", "区县", "县区", "所属县区", "所属县(市、区)",
               "所在县(市、区)", "县(市)", "county", "district"),
    "division_code": ("行政区划代码", "区划代码", "code", "统计用区划代码", "行政代码", "村代码", "乡镇代码", "adcode",
                      "divisioncode"),
    "beds": ("床位数", "床位", "beds", "床位数(张)", "床位(张)", "总床位", "总床位数", "核定床位", "核定床位数",
             "设计床位", "设计床位数", "床位总数"),
    "nursing_beds": ("护理型床位", "护理型床位数", "护理床位", "护理床位数", "nursingbeds"),
    "remark": ("备注", "说明", "remark", "remarks", "note", "notes"),
    "status": ("运营状态", "状态", "建设状态", "营业状态", "运行状态", "机构状态", "经营状态", "设施状态", "使用状态",
               "运营情况", "建设情况", "status", "operatingstatus"),
}

# Headers seen in such sheets that are no role but show a row is the header row.
_OTHER_HEADERS = ("序号", "编号", "联系电话", "电话", "负责人", "联系人", "法定代表人", "建成时间", "建设时间",
                  "运营方式", "运营主体", "面积", "建筑面积", "服务人数", "no", "id", "phone", "tel")

# Fuzzy header patterns (for headers not in the lists), tried in this order; first match wins.
_FUZZY: tuple[tuple[str, str], ...] = (
    ("nursing_beds", r"护理.*床"),
    ("beds", r"床位|床数"),
    ("division_code", r"代码|编码"),
    ("lng", r"经度"),
    ("lat", r"纬度"),
    ("township", r"乡镇|镇街|所属街道|所在街道|街道名"),
    ("village", r"村社区|村居|所属村|所在村|村名|行政村|社区名"),
    ("county", r"县区|区县|县市区|所属县|所在县"),
    ("address", r"地址|住址|位置|地点|坐落"),
    ("category", r"类型|类别|性质"),
    ("name", r"名称|名字"),
    ("remark", r"备注|说明"),
    ("status", r"状态"),
)
_FUZZY_MAX_LEN = 12

#: The column naming each row's worksheet when a workbook holds several facility tables.
SHEET_COLUMN = "sheet"

#: Roles whose cells are numbers, parsed once by the loader into :attr:`Sheet.numbers`.
NUMERIC_ROLES: tuple[str, ...] = ("lng", "lat", "beds", "nursing_beds")

#: A facility's status, in the column :data:`STATUS_COLUMN` of the pipeline's rows: only ``operating``
#: facilities exist today; ``under_construction`` ones (在建, 拟建, 筹建 …) count in the target-year
#: scenario like planned projects; ``closed`` ones (停业, 撤销, 注销 …) count nowhere.
STATUS_COLUMN = "operating_status"
STATUS_VALUES: tuple[str, ...] = tuple(OPERATING_STATUSES)
STATUS_NOTE_COLUMN = "status_note"
#: Words of a status cell, tried in this order (停止运营 is closed, 未运营 not yet open); first match wins.
_STATUS_WORDS: tuple[tuple[str, str], ...] = (
    ("closed", r"停业|停止|关闭|关停|撤销|撤并|注销|暂停|停办|歇业|取缔|废止|终止|已撤|闲置|停用"),
    ("under_construction", r"在建|拟建|筹建|待建|规划|计划|建设中|未建成|未运营|未开业|未投用|待运营|待开业|装修"),
    ("operating", r"运营|运行|正常|营业|开业|建成|在用|使用|投用|开放|服务中|是|有"),
)
#: The same words in brackets in a facility's name: 区域养老服务中心（在建）.
_NAME_STATUS = re.compile(r"[(\[【]\s*(在建|拟建|筹建|待建|规划|建设中|未建成|停业|停业整顿|关闭|已关闭|撤销|已撤销|注销|"
                          r"暂停|暂停营业|停办|歇业)\s*[)\]】]")

#: Columns the tool adds to every row downstream; a user's column of the same name is renamed "…(原表)".
_TOOL_COLUMNS = frozenset((*OUTPUT_COLUMNS, SHEET_COLUMN, "category", "category_label", STATUS_COLUMN,
                           STATUS_NOTE_COLUMN))

HEADER_SCAN_ROWS = 20
CHINA_LNG = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)

PROBLEM_COLUMNS = ["row", "column", "message_zh", "message_en"]

_STRIP_CHARS = re.compile(r"[\s()\[\]{}【】<>《》〈〉:*、,.;'\"/\\_\-|·•]+")
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】")
_ZERO_WIDTH_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
_ZERO_WIDTH = dict.fromkeys(map(ord, _ZERO_WIDTH_CHARS), None)
_SUM_ROW = re.compile(r"^(合计|总计|小计|共计|总数|total)[:：]?$", re.IGNORECASE)
_EXCEL_ERRORS = ("#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!")


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


def normalise_header(text: object) -> str:
    """Header text for matching: NFKC (full-width → half-width), lower case, no spaces, brackets,
    punctuation or trailing colon.

    >>> normalise_header("乡镇（街道）：")
    '乡镇街道'
    """
    return _header_tail(unicodedata.normalize("NFKC", str(text)))


def _header_tail(text: str) -> str:
    """:func:`normalise_header` after NFKC: no zero-width characters, lower case, stripped."""
    if any(ch in text for ch in _ZERO_WIDTH_CHARS):
        text = text.translate(_ZERO_WIDTH)
    return _STRIP_CHARS.sub("", text.lower())


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
    data, filename = _read_bytes(source, filename)
    if columns:
        unknown = sorted(set(columns) - set(ROLES))
        if unknown:
            raise TowncoverError(
                f"未知的列角色:{'、'.join(unknown)};可用:{'、'.join(ROLES)}",
                f"unknown column role(s): {', '.join(unknown)}; known roles: {', '.join(ROLES)}",
            )
    grids, encoding = _grids(data, filename)

    read: list[Sheet] = []
    skipped: list[dict[str, str]] = []
    best = None  # (score, name, header_idx, grid, notes): the error to raise when no sheet holds a table
    for name, (grid, cell_notes) in grids.items():
        if not any(any(row) for row in grid):
            skipped.append(_skip(name, "空工作表", "the worksheet is empty"))
            continue
        header_idx, score = _find_header(grid, columns)
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
    data, filename = _read_bytes(source, filename)
    for grid, _notes in _grids(data, filename)[0].values():
        header_idx = next((i for i, row in enumerate(grid[:HEADER_SCAN_ROWS]) if sum(1 for c in row if c) >= 2), None)
        if header_idx is None:
            continue
        width = max(len(r) for r in grid[header_idx:])
        names = _column_names(grid[header_idx], width)
        body = grid[header_idx + 1:]
        keep = [i for i, r in enumerate(body) if any(r)]
        frame = pd.DataFrame(_matrix([body[i] for i in keep], width), columns=names).astype("str")
        frame.attrs["rows"] = [header_idx + 2 + i for i in keep]
        return frame
    raise TowncoverError(f"文件 {filename} 中找不到表头(前 {HEADER_SCAN_ROWS} 行没有两个以上的列名)",
                         f"no header row found in {filename} (none of the first {HEADER_SCAN_ROWS} rows has "
                         "two or more column names)")


def _grids(data: bytes, filename: str) -> tuple[dict[str | None, tuple[list[list[str]], list]], str | None]:
    """Each worksheet (one for a text file) as a grid of text cells and its formula notes
    ((row, 0-based column, zh, en)), and the text encoding (None for Excel)."""
    kind = _detect_kind(data, filename)
    if kind == "text":
        text, encoding = _decode(data, filename)
        return {None: (_split_text(text), [])}, encoding
    return (_read_xlsx(data, filename) if kind == "xlsx" else _read_xls(data, filename)), None


def numeric_column(sheet: Sheet, role: str) -> pd.Series:
    """A role's column as floats (NaN where empty or not a number), aligned with ``sheet.frame``.

    Understands full-width digits, thousands separators, units (``120张``, ``104.5°``) and, for
    coordinates, degrees-minutes-seconds (``104°31′12″E``).

    Parameters
    ----------
    sheet : Sheet
    role : str
        A role present in ``sheet.roles`` (``beds``, ``nursing_beds``, ``lng``, ``lat`` …).

    Returns
    -------
    pandas.Series of float64, named after the role.

    Raises
    ------
    TowncoverError
        When the sheet has no column for ``role``.
    """
    col = sheet.roles.get(role)
    if col is None:
        raise TowncoverError(
            f"表格中没有“{role}”对应的列", f"the sheet has no column for role '{role}'",
        )
    if role in sheet.numbers.columns and len(sheet.numbers) == len(sheet.frame):
        return sheet.numbers[role].rename(role)
    values = _parse_numbers(sheet.frame[col])
    return pd.Series(values, index=sheet.frame.index, name=role, dtype="float64")


def facility_status(sheet: Sheet) -> pd.DataFrame:
    """Each kept row's status from the status column (运营状态 …) and words in brackets in the name.

    The stricter of the two wins (closed, then under construction, then operating): a 区域养老服务中心
    （在建） is under construction whatever its status cell says. A status cell that says nothing known
    leaves the row operating and is listed in the problems.

    Returns
    -------
    pandas.DataFrame
        :data:`STATUS_COLUMN` and :data:`STATUS_NOTE_COLUMN` (what said so, "中文 / English" like
        ``match_note``; "" for operating rows nothing speaks against), aligned with ``sheet.frame``.
    """
    n = len(sheet.frame)
    rank = {v: i for i, v in enumerate(STATUS_VALUES)}  # stricter is higher
    status = np.full(n, "operating", dtype=object)
    zh = np.full(n, "", dtype=object)
    en = np.full(n, "", dtype=object)
    if "status" in sheet.roles:
        col = sheet.roles["status"]
        found = _by_value(sheet.frame[col], _status_of_text)
        said = (found != "operating") & (found != "")  # "": words not known, left operating (a problem)
        status[said] = found[said]
        text = sheet.frame[col].to_numpy(dtype=object)
        zh[said] = [f"“{col}”为“{t}”" for t in text[said]]
        en[said] = [f'"{col}" says {t}' for t in text[said]]
    if "name" in sheet.roles:
        words = sheet.frame[sheet.roles["name"]].str.normalize("NFKC").str.extract(_NAME_STATUS.pattern)[0]
        from_name = _by_value(words.fillna(""), _status_of_text)
        stricter = words.notna().to_numpy() & (np.vectorize(rank.get, otypes=[int])(from_name)
                                               > np.vectorize(rank.get, otypes=[int])(status))
        status[stricter] = from_name[stricter]
        zh[stricter] = [f"名称含“({w})”" for w in words[stricter]]
        en[stricter] = [f"the name says ({w})" for w in words[stricter]]
    note = np.where(zh != "", zh + " / " + en, "")
    return pd.DataFrame({STATUS_COLUMN: status, STATUS_NOTE_COLUMN: note}, index=sheet.frame.index).astype("str")


def _status_of_text(values: pd.Series) -> np.ndarray:
    """The status each distinct text says ("operating" when it says none); "" for unknown words."""
    text = values.astype("str").str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    out = np.full(len(text), "operating", dtype=object)
    decided = text.eq("").to_numpy(dtype=bool, copy=True)
    for status, pattern in _STATUS_WORDS:
        hit = ~decided & text.str.contains(pattern, regex=True).to_numpy(dtype=bool)
        out[hit] = status
        decided |= hit
    out[~decided] = ""
    return out


def sheet_coordinates(sheet: Sheet) -> pd.DataFrame:
    """Longitude and latitude as floats, with swapped pairs put right and out-of-range values NaN.

    Returns
    -------
    pandas.DataFrame
        Columns ``lng``, ``lat`` (float, in the sheet's datum, NaN when missing or unusable) and
        ``swapped`` (bool: the sheet had them the other way round), aligned with ``sheet.frame``.
    """
    n = len(sheet.frame)
    if "lng" not in sheet.roles or "lat" not in sheet.roles:
        return pd.DataFrame({"lng": np.full(n, np.nan), "lat": np.full(n, np.nan),
                             "swapped": np.zeros(n, bool)}, index=sheet.frame.index)
    lng = numeric_column(sheet, "lng").to_numpy()
    lat = numeric_column(sheet, "lat").to_numpy()
    swapped = _in(lat, CHINA_LNG) & _in(lng, CHINA_LAT) & ~(_in(lng, CHINA_LNG) & _in(lat, CHINA_LAT))
    x = np.where(swapped, lat, lng)
    y = np.where(swapped, lng, lat)
    ok = _in(x, CHINA_LNG) & _in(y, CHINA_LAT)
    return pd.DataFrame({"lng": np.where(ok, x, np.nan), "lat": np.where(ok, y, np.nan), "swapped": swapped},
                        index=sheet.frame.index)


# ---------------------------------------------------------------------------------------------
# Reading bytes and file kinds
# ---------------------------------------------------------------------------------------------

_TEXT_EXT = (".csv", ".txt", ".tsv")
_XLSX_EXT = (".xlsx", ".xlsm")
_XLS_EXT = (".xls",)


def _read_bytes(source: Any, filename: str | None) -> tuple[bytes, str]:
    limit = settings.MAX_UPLOAD_MB * 1024 * 1024
    if isinstance(source, (str, Path)):
        path = Path(source)
        filename = filename or path.name
        if not path.is_file():
            raise TowncoverError(f"找不到文件 {path}", f"file not found: {path}")
        if path.stat().st_size > limit:
            raise _too_big(filename, path.stat().st_size)
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        filename = filename or Path(str(getattr(source, "name", "") or "")).name or None
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass
        data = source.read(limit + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise TowncoverError(
            f"无法读取类型为 {type(source).__name__} 的输入", f"cannot read input of type {type(source).__name__}",
        )
    filename = filename or "(上传的文件)"
    if len(data) > limit:
        raise _too_big(filename, len(data))
    if not data.strip():
        raise TowncoverError(f"文件 {filename} 是空的", f"file {filename} is empty")
    return data, filename


def _too_big(filename: str, size: int) -> TowncoverError:
    mb = size / 1024 / 1024
    return TowncoverError(
        f"文件 {filename} 太大({mb:.1f} MB),上限为 {settings.MAX_UPLOAD_MB} MB",
        f"file {filename} is too large ({mb:.1f} MB); the limit is {settings.MAX_UPLOAD_MB} MB",
    )


def _detect_kind(data: bytes, filename: str) -> str:
    ext = Path(filename).suffix.lower()
    if data[:4] == b"PK\x03\x04":
        if ext in _TEXT_EXT:
            raise _not_table(filename, "是压缩包或 Excel 文件却以文本扩展名命名", "is a zip/Excel file named as text")
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<html", b"<!doctype", b"<?xml", b"<table", b"<meta")):
        raise TowncoverError(
            f"文件 {filename} 是网页(HTML/XML)格式,不是真正的 Excel/CSV;请用 Excel 打开后“另存为” .xlsx 再上传",
            f"file {filename} is an HTML/XML page, not a real Excel or CSV file; open it in Excel, "
            "'Save As' .xlsx and upload that",
        )
    if ext in _XLSX_EXT or ext in _XLS_EXT:
        raise TowncoverError(
            f"文件 {filename} 已损坏或不是 Excel 文件(内容不是 Excel 格式)",
            f"file {filename} is corrupt or not an Excel file (its content is not in Excel format)",
        )
    if ext in _TEXT_EXT or ext == "":
        return "text"
    raise TowncoverError(
        f"不支持的文件类型“{ext}”({filename});请上传 .xlsx、.xls 或 .csv",
        f"unsupported file type '{ext}' ({filename}); upload .xlsx, .xls or .csv",
    )


def _not_table(filename: str, zh: str, en: str) -> TowncoverError:
    return TowncoverError(f"文件 {filename} 不是表格:{zh}", f"file {filename} is not a table: {en}")


def _decode(data: bytes, filename: str) -> tuple[str, str]:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:4096]:
        # UTF-16 without a byte-order mark: the ASCII characters' zero bytes all on one side.
        zeros = {i % 2 for i, b in enumerate(data[:4096]) if b == 0}
        for enc, side in (("utf-16-le", 1), ("utf-16-be", 0)):
            if zeros == {side} and len(data) % 2 == 0:
                try:
                    text = data.decode(enc)
                except UnicodeDecodeError:
                    continue
                if "\x00" not in text:
                    return text, enc
        raise _not_table(filename, "含有二进制内容", "it holds binary content")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "utf-8-sig":
            enc = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
        return text, enc
    from charset_normalizer import from_bytes

    match = from_bytes(data).best()
    if match is None or match.encoding is None:
        raise _not_table(filename, "无法识别文字编码", "its text encoding cannot be recognised")
    return str(match), match.encoding


def _split_text(text: str) -> list[list[str]]:
    sample = text[:20000]
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    best, best_score = ",", -1.0
    for delim in (",", "\t", ";", "|"):
        counts = [ln.count(delim) for ln in lines]
        if not counts or max(counts) == 0:
            continue
        # Most lines carrying the most common non-zero count of the delimiter.
        nonzero = [c for c in counts if c]
        common = max(set(nonzero), key=nonzero.count)
        score = nonzero.count(common) * (1 + np.log1p(common))
        if score > best_score:
            best, best_score = delim, score
    # A cell may be as long as the file (csv's default limit of 131,072 characters refused the whole file).
    csv.field_size_limit(max(csv.field_size_limit(), settings.MAX_UPLOAD_MB * 2**20))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=best)
    try:
        if any(ch in text for ch in _ZERO_WIDTH_CHARS):
            return [[_clean(v) for v in row] for row in reader]
        # No zero-width characters anywhere: cleaning a text cell is only stripping it (as _clean does).
        strip = str.strip
        return [list(map(strip, row)) for row in reader]
    except csv.Error as exc:
        raise TowncoverError(f"CSV 文件格式错误:{exc}", f"malformed CSV file: {exc}") from None


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.translate(_ZERO_WIDTH).strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if np.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value).strip()


# ---------------------------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------------------------

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?r="([A-Z]+)(\d+)"[^>]*?(?:/>|>(.*?)</(?:\w+:)?c>)', re.DOTALL)
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")

#: What an .xlsx may unpack to (all members), and any member that is not a worksheet.
XLSX_MAX_UNPACKED_MB = 1024
XLSX_MAX_PART_MB = 256
#: Rows × columns of one worksheet's used range (cells with a value; styled empty cells do not count).
XLSX_MAX_CELLS = 20_000_000
#: Merged ranges per worksheet (each clipped to the used range).
XLSX_MAX_MERGES = 100_000
#: Longest stretch of worksheet XML without a complete cell (a row of one cell is a few hundred bytes).
_XLSX_MAX_RUN = 16 * 2**20


@dataclass
class _SheetSurvey:
    """What a worksheet's XML holds beside its values, found in the streaming pass that checks it.

    ``merges`` are (top, left, bottom, right), 0-based inclusive; ``formulas`` are formula cells
    without a saved result: (1-based row, 0-based column, formula text).
    """

    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    formulas: list[tuple[int, int, str]] = field(default_factory=list)


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _col_letter(idx: int) -> str:
    s = ""
    idx += 1
    while idx:
        idx, r = divmod(idx - 1, 26)
        s = chr(65 + r) + s
    return s


def _xlsx_label(filename: str) -> tuple[str, str]:
    return f"Excel 文件 {filename} ", f"the Excel file {filename}"


def _read_xlsx(data: bytes, filename: str) -> dict[str | None, tuple[list[list[str]], list]]:
    """Every visible worksheet as a grid of text, after bounding what the file unpacks to.

    The zip is checked by its declared sizes, then every member is unpacked once as a stream (the
    real sizes and CRCs checked, worksheets surveyed for their used range, merges and formulas);
    only then does openpyxl read the cells, limited to the used range.
    """
    import openpyxl

    zh, en = _xlsx_label(filename)
    zf = open_zip(data, zh, en)
    with zf:
        entries = check_members(zf, XLSX_MAX_UNPACKED_MB * 2**20, zh, en)
        parts = _sheet_parts(zf)
        sheet_parts = set(parts.values())
        surveys: dict[str, _SheetSurvey] = {}
        for entry in entries:
            if entry.filename in sheet_parts:
                surveys[entry.filename] = _survey(zf, entry, zh, en)
            else:
                for _ in iter_member(zf, entry, XLSX_MAX_PART_MB * 2**20, zh, en):
                    pass
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - KeyError, InvalidFileException, XML errors...
        raise TowncoverError(
            f"Excel 文件 {filename} 已损坏或已加密,无法打开({type(exc).__name__})",
            f"Excel file {filename} is corrupt or encrypted and cannot be opened ({type(exc).__name__})",
        ) from None
    try:
        out: dict[str | None, tuple[list[list[str]], list]] = {}
        for ws in wb.worksheets:
            if getattr(ws, "sheet_state", "visible") != "visible" and len(wb.worksheets) > 1:
                continue
            survey = surveys.get(parts.get(ws.title, ""), _SheetSurvey())
            grid = _worksheet_grid(ws, zh, en)
            _fill_merged(grid, survey.merges)
            out[ws.title] = (grid, _formula_notes(grid, survey.formulas))
        return out
    except TowncoverError:
        raise
    except Exception as exc:  # noqa: BLE001 - any damage openpyxl meets in the cells
        raise TowncoverError(
            f"Excel 文件 {filename} 内容损坏,无法读取({type(exc).__name__})",
            f"Excel file {filename} has corrupt content and cannot be read ({type(exc).__name__})",
        ) from None
    finally:
        wb.close()


def _worksheet_grid(ws: Any, zh: str, en: str) -> list[list[str]]:
    """A read-only worksheet's cells as text rows, each as long as its last cell holding a value.

    openpyxl's ``iter_rows`` pads every row to the widest one, so a styled empty cell at column
    XFD makes each row 16,384 cells; its parser is read here directly, empty cells skipped, and
    the table (rows × widest row) is kept within :data:`XLSX_MAX_CELLS` as it grows.
    """
    from openpyxl.worksheet._reader import WorkSheetParser

    grid: list[list[str]] = []
    width = 0
    book = ws.parent
    with ws._get_source() as src:
        parser = WorkSheetParser(src, ws._shared_strings, data_only=True, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        for idx, cells in parser.parse():
            values = [(c["column"], c["value"]) for c in cells if c["value"] is not None]
            if not values or idx <= len(grid):  # empty, or a row number seen already (as openpyxl skips it)
                continue
            row_width = max(col for col, _ in values)
            width = max(width, row_width)
            if idx * width > XLSX_MAX_CELLS:
                raise TowncoverError(
                    f"{zh}的工作表数据区过大(至少 {idx} 行 × {width} 列,上限 {XLSX_MAX_CELLS:,} 个单元格)",
                    f"{en} has too large a worksheet (at least {idx} rows × {width} columns; "
                    f"the limit is {XLSX_MAX_CELLS:,} cells)",
                )
            grid.extend([] for _ in range(idx - 1 - len(grid)))
            row = [""] * row_width
            for col, value in values:
                row[col - 1] = _clean(value)
            grid.append(row)
    return grid


def _survey(zf: zipfile.ZipFile, entry: zipfile.ZipInfo, zh: str, en: str) -> _SheetSurvey:
    """Stream one worksheet's XML once (sizes and CRC checked): its merged ranges and unsaved formulas.

    Only runs of the XML holding a formula or a merged range are searched with regular expressions;
    the rest is only checked for a complete cell every 16 MB.
    """
    survey = _SheetSurvey()
    carry = b""
    for chunk in itertools.chain(iter_member(zf, entry, XLSX_MAX_UNPACKED_MB * 2**20, zh, en), [None]):
        buf = carry + chunk if chunk is not None else carry
        if chunk is not None:
            # Cut after the last row tag (complete cells before it), else after the last complete cell.
            row_end = buf.rfind(b"row>")
            cut = row_end + 4 if row_end >= 0 else max(buf.rfind(b"</c>") + 4, buf.rfind(b"/>") + 2, 0)
            if not cut and len(buf) > _XLSX_MAX_RUN:
                raise TowncoverError(
                    f"{zh}的工作表 XML 格式异常(超过 {_XLSX_MAX_RUN // 2**20} MB 没有完整的单元格)",
                    f"{en} has malformed worksheet XML (over {_XLSX_MAX_RUN // 2**20} MB without a complete cell)",
                )
            buf, carry = buf[:cut], buf[cut:]
        _survey_part(buf, survey, zh, en)
    return survey


def _survey_part(part: bytes, survey: _SheetSurvey, zh: str, en: str) -> None:
    """Add the formulas and merged ranges of one run of complete rows (or the XML's tail) to ``survey``."""
    if b"<f" in part or b":f>" in part or b":f " in part:
        for col, row, inner in _CELL.findall(part):
            if not inner or not _FORMULA.search(inner) or re.search(rb"<(?:\w+:)?v>[^<]", inner):
                continue
            f = re.search(rb"<(?:\w+:)?f[^>]*>(.*?)</(?:\w+:)?f>", inner, re.DOTALL)
            formula = "=" + _xml_unescape(f.group(1).decode("utf-8", "replace")) if f else "(共享公式)"
            survey.formulas.append((int(row), _col_index(col.decode()), formula))
    if b"mergeCell" not in part:
        return
    for c1, r1, c2, r2 in _MERGE.findall(part):
        survey.merges.append((int(r1) - 1, _col_index(c1.decode()), int(r2) - 1, _col_index(c2.decode())))
        if len(survey.merges) > XLSX_MAX_MERGES:
            raise TowncoverError(f"{zh}的合并单元格过多(上限 {XLSX_MAX_MERGES:,} 个)",
                                 f"{en} has too many merged ranges (limit {XLSX_MAX_MERGES:,})")


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet title → its XML part inside the .xlsx zip."""
    try:
        wbxml = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except (KeyError, zipfile.BadZipFile, zlib.error, OSError, EOFError):
        return {}
    targets = dict(re.findall(rb'<Relationship\s[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(rb'<Relationship\s[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
    out = {}
    for tag in re.findall(rb"<(?:\w+:)?sheet\s[^>]*/>", wbxml):
        name = re.search(rb'name="([^"]*)"', tag)
        rid = re.search(rb'r:id="([^"]*)"', tag) or re.search(rb'\bid="([^"]*)"', tag)
        if not (name and rid) or rid.group(1) not in targets:
            continue
        target = targets[rid.group(1)].decode("utf-8", "replace")
        part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        title = _xml_unescape(name.group(1).decode("utf-8", "replace"))
        out[title] = part
    return out


def _xml_unescape(s: str) -> str:
    return (s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _fill_merged(grid: list[list[str]], merges: list[tuple[int, int, int, int]]) -> None:
    """Copy each merged range's top-left value into its empty cells (header cells spanning columns/rows).

    Ranges are clipped to the used range (a ``A1:XFD1048576`` merge fills no cell outside the data);
    ranges starting far below the header are left alone (one value, one row).
    """
    width = max((len(r) for r in grid), default=0)
    for top, left, bottom, right in merges:
        if top >= len(grid) or top >= HEADER_SCAN_ROWS + 5 or left >= width:
            continue
        bottom, right = min(bottom, len(grid) - 1), min(right, width - 1)
        value = grid[top][left] if left < len(grid[top]) else ""
        if not value:
            continue
        for r in range(top, bottom + 1):
            row = grid[r]
            if len(row) <= right:
                row.extend([""] * (right + 1 - len(row)))
            for c in range(left, right + 1):
                if not row[c]:
                    row[c] = value


def _formula_notes(grid: list[list[str]], formulas: list[tuple[int, int, str]]) -> list[tuple[int, int, str, str]]:
    """Formula cells without a saved result (the file was written by a program, never opened in Excel)."""
    notes = []
    width = max((len(r) for r in grid), default=0)
    for row, c, formula in formulas:
        r = row - 1
        width = max(width, c + 1)
        if max(row, len(grid)) * width > XLSX_MAX_CELLS:
            raise TowncoverError(f"工作表数据区过大(公式在第 {row} 行,上限 {XLSX_MAX_CELLS:,} 个单元格)",
                                 f"the worksheet is too large (a formula in row {row}; "
                                 f"the limit is {XLSX_MAX_CELLS:,} cells)", row=row)
        # The cell reads as empty: its row is made to reach it (the grid stops at the last value).
        grid.extend([] for _ in range(row - len(grid)))
        if c >= len(grid[r]):
            grid[r].extend([""] * (c + 1 - len(grid[r])))
        if not grid[r][c]:
            notes.append((row, c, f"是公式 {formula},文件中没有保存计算结果(请用 Excel 打开并保存后再上传)",
                          f"is a formula {formula} with no saved result (open and save the file in Excel, "
                          "then upload it again)"))
    return notes


def _read_xls(data: bytes, filename: str) -> dict[str | None, tuple[list[list[str]], list]]:
    """Every visible worksheet of an .xls as a grid of text; any damage xlrd meets is one line."""
    try:
        return _read_xls_sheets(data, filename)
    except TowncoverError:
        raise
    except Exception as exc:  # noqa: BLE001 - IndexError, struct.error, AssertionError, OverflowError, XLRDError…
        raise TowncoverError(
            f"Excel 文件 {filename} 内容损坏,无法读取({type(exc).__name__})",
            f"Excel file {filename} has corrupt content and cannot be read ({type(exc).__name__})",
        ) from None


def _read_xls_sheets(data: bytes, filename: str) -> dict[str | None, tuple[list[list[str]], list]]:
    import xlrd

    try:
        # xlrd writes its warnings about damaged records to a log (stdout by default): kept quiet.
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True, logfile=io.StringIO())
    except Exception:
        try:
            book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=io.StringIO())
        except Exception as exc:
            raise TowncoverError(
                f"Excel 文件 {filename} 已损坏或已加密,无法打开({type(exc).__name__})",
                f"Excel file {filename} is corrupt or encrypted and cannot be opened ({type(exc).__name__})",
            ) from None
    out: dict[str | None, tuple[list[list[str]], list]] = {}
    for idx in range(book.nsheets):
        sh = book.sheet_by_index(idx)
        if getattr(sh, "visibility", 0) != 0 and book.nsheets > 1:
            continue
        grid: list[list[str]] = []
        notes: list[tuple[int, int, str, str]] = []
        for r in range(sh.nrows):
            row = []
            for cell in sh.row(r):
                if cell.ctype == xlrd.XL_CELL_DATE:
                    try:
                        value: Any = xlrd.xldate_as_datetime(cell.value, book.datemode)
                    except Exception:
                        value = cell.value
                elif cell.ctype == xlrd.XL_CELL_ERROR:
                    value = xlrd.error_text_from_code.get(cell.value, "#ERR")
                else:
                    value = cell.value
                row.append(_clean(value))
            grid.append(row)
        for r1, r2, c1, c2 in getattr(sh, "merged_cells", []):
            if r1 >= HEADER_SCAN_ROWS + 5:
                continue
            value = grid[r1][c1] if r1 < len(grid) and c1 < len(grid[r1]) else ""
            for r in range(r1, min(r2, len(grid))):
                for c in range(c1, min(c2, len(grid[r]))):
                    if not grid[r][c]:
                        grid[r][c] = value
        out[sh.name] = (grid, notes)
    return out


# ---------------------------------------------------------------------------------------------
# Header and roles
# ---------------------------------------------------------------------------------------------

_EXACT: dict[str, str] = {}
for _role, _names in HEADER_SYNONYMS.items():
    for _n in _names:
        _EXACT.setdefault(normalise_header(_n), _role)
_OTHER = {normalise_header(n) for n in _OTHER_HEADERS}
_FUZZY_RE = [(role, re.compile(pat)) for role, pat in _FUZZY]


def _header_forms(text: str) -> list[str]:
    """The header normalised whole, and with bracketed parts (units, notes) removed."""
    nfkc = unicodedata.normalize("NFKC", text)
    forms = [normalise_header(nfkc)]
    short = normalise_header(_BRACKETED.sub("", nfkc))
    if short and short != forms[0]:
        forms.append(short)
    return forms


def _match_role(text: str) -> tuple[str | None, int]:
    """(role, strength) for a header cell: 3 exact synonym, 1 fuzzy pattern, 0 none."""
    if not text:
        return None, 0
    forms = _header_forms(text)
    for f in forms:
        if f in _EXACT:
            return _EXACT[f], 3
    if len(forms[0]) <= _FUZZY_MAX_LEN:
        for role, pat in _FUZZY_RE:
            if pat.search(forms[0]):
                return role, 1
    return None, 0


def _row_score(row: list[str], overrides: set[str]) -> int:
    score = 0
    for cell in row:
        if not cell:
            continue
        if normalise_header(cell) in overrides:
            score += 3
            continue
        role, strength = _match_role(cell)
        if strength:
            score += strength
        elif any(f in _OTHER for f in _header_forms(cell)):
            score += 1
    return score


def _find_header(grid: list[list[str]], columns: dict[str, str] | None) -> tuple[int, int]:
    overrides = {normalise_header(h) for h in (columns or {}).values()}
    best_idx, best_score = 0, 0
    for i, row in enumerate(grid[:HEADER_SCAN_ROWS]):
        # A header row has several cells; a one-cell title row never wins on its own.
        if sum(1 for c in row if c) < 2:
            continue
        score = _row_score(row, overrides)
        if score > best_score:
            best_idx, best_score = i, score
    return best_idx, best_score


def _subheader(header: list[str], below: list[str]) -> list[str] | None:
    """The combined header when the row below continues a header with merged cells, else None.

    The row below continues the header when each of its non-empty cells either repeats the header
    cell above (a vertically merged cell) or is a recognised header under a horizontally merged or
    empty header cell, and at least one is the latter.
    """
    width = max(len(header), len(below))
    top = header + [""] * (width - len(header))
    low = below + [""] * (width - len(below))
    combined, found = list(top), False
    for c in range(width):
        if not low[c] or low[c] == top[c]:
            continue
        merged_above = not top[c] or (c > 0 and top[c - 1] == top[c]) or (c + 1 < width and top[c + 1] == top[c])
        known = _match_role(low[c])[1] > 0 or any(f in _OTHER for f in _header_forms(low[c]))
        if not (merged_above and known):
            return None
        combined[c], found = low[c], True
    return combined if found else None


def _column_names(header: list[str], width: int) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for i in range(width):
        h = header[i] if i < len(header) else ""
        h = re.sub(r"\s*\n\s*", "", h).strip() or f"列{_col_letter(i)}"
        if h in _TOOL_COLUMNS:  # the user's own "row" or "match_status" is kept, under another name
            h = sheet_column(h)
        if h in seen:
            seen[h] += 1
            h = f"{h}_{seen[h]}"
        else:
            seen[h] = 1
        names.append(h)
    return names


def _assign_roles(names: list[str], columns: dict[str, str] | None) -> dict[str, str]:
    roles: dict[str, str] = {}
    taken: set[str] = set()
    for role, header in (columns or {}).items():
        match = next((n for n in names if n == header.strip()), None)
        if match is None:
            match = next((n for n in names if normalise_header(n) == normalise_header(header)), None)
        if match is None:
            raise TowncoverError(
                f"指定的“{role}”列“{header}”不在表头中;表头有:{'、'.join(names)}",
                f"column '{header}' given for role '{role}' is not in the header; the header has: "
                f"{', '.join(names)}",
                column=header,
            )
        roles[role] = match
        taken.add(match)
    matches = [(n, *_match_role(n)) for n in names if n not in taken]
    for wanted in (3, 1):
        for name, role, strength in matches:
            if strength == wanted and role not in roles and name not in taken:
                roles[role] = name
                taken.add(name)
    return {r: roles[r] for r in ROLES if r in roles}


# ---------------------------------------------------------------------------------------------
# Building the Sheet
# ---------------------------------------------------------------------------------------------


_SEPARATOR = "\ue000"  # a private-use character: NFKC-stable, caseless, composes with nothing


def _map_joined(values: list[str], func: Any) -> list[str]:
    """``[func(v) for v in values]`` computed in one call of ``func`` on the joined text.

    For the functions used here (removing zero-width characters, ``str.lower``, deleting runs of
    whitespace or punctuation: each acts on characters or runs of them, never across the separator)
    the result of the joined text is the joined results. The separator is a private-use character,
    neither cased nor case-ignorable (so Greek final sigma is decided as for the value on its own),
    neither whitespace nor punctuation. When a value holds the separator, ``func`` runs per value.
    """
    if not values:
        return []
    joined = _SEPARATOR.join(values)
    if joined.count(_SEPARATOR) == len(values) - 1:
        out = func(joined).split(_SEPARATOR)
        if len(out) == len(values):
            return out
    return [func(v) for v in values]


def _nfkc(values: list[str]) -> list[str]:
    # One C call per value: NFKC's quick check returns most values as they are, which a joined text
    # would lose (one character needing work sends the whole text through the slow path).
    return list(map(unicodedata.normalize, itertools.repeat("NFKC", len(values)), values))


def _normalise_headers(values: list[str]) -> list[str]:
    """:func:`normalise_header` of each value."""
    return _map_joined(_nfkc([str(v) for v in values]), _header_tail)


_WHITESPACE = re.compile(r"\s+")
# Characters that NFKC leaves alone and that compose with nothing (CJK unified ideographs U+4E00–U+9FFF,
# visible ASCII); the second set is also left alone by lower() and by the header stripping, but for ".".
_PLAIN_TEXT = "[\u4e00-\u9fff!-~]*"
_PLAIN_HEADER = "[\u4e00-\u9fff0-9a-z.]*"


def _no_whitespace(text: str) -> str:
    return _WHITESPACE.sub("", text)


def compact_text(values: pd.Series) -> pd.Series:
    """NFKC (full-width → half-width) with all whitespace removed, value by value.

    The same as ``values.str.normalize("NFKC").str.replace(r"\\s+", "", regex=True)``, computed once
    per distinct value in one pass over their joined text.

    Parameters
    ----------
    values : pandas.Series
        Text (``str`` or ``string`` dtype; missing values stay missing).

    Returns
    -------
    pandas.Series
        Same index and dtype as ``values``.

    Examples
    --------
    >>> compact_text(pd.Series(["石羊镇　敬老院", " １２号 "])).tolist()
    ['石羊镇敬老院', '12号']
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    uniq = pd.Series(uniques, dtype=values.dtype)
    # Text of CJK ideographs and visible ASCII only is its own answer (nothing to normalise, no space).
    todo = ~uniq.str.fullmatch(_PLAIN_TEXT).fillna(True).to_numpy(dtype=bool) & uniq.notna().to_numpy()
    if todo.any():
        uniq = uniq.copy()
        uniq[todo] = _map_joined(_nfkc([str(t) for t in uniq[todo]]), _no_whitespace)
    return pd.Series(uniq.array.take(codes), index=values.index, name=values.name, dtype=values.dtype)


def _reads_as(values: pd.Series, header: str) -> np.ndarray:
    """``normalise_header(v) == header`` for each value (a ``str`` Series), as a bool array."""
    out = np.zeros(len(values), dtype=bool)
    # CJK ideographs, digits, lower-case ASCII letters and dots: normalising only drops the dots.
    plain = values.str.fullmatch(_PLAIN_HEADER).to_numpy(dtype=bool)
    if plain.any():
        out[plain] = values[plain].str.replace(".", "", regex=False).eq(header).to_numpy(dtype=bool)
    if not plain.all():
        # Compared as Python strings (numpy would drop trailing NUL characters from a str scalar).
        wanted = np.array(header, dtype=object)
        out[~plain] = _by_value(values[~plain], lambda v: np.array(_normalise_headers(v.tolist()), dtype=object) == wanted)
    return out


def _by_value(values: pd.Series, func: Any) -> np.ndarray:
    """``func`` (an element-wise function of a Series) evaluated once per distinct value of ``values``.

    Returns the results as a numpy array aligned with ``values``.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    result = np.asarray(func(pd.Series(uniques, dtype=values.dtype)))
    return result[codes]


def _matrix(body: list[list[str]], width: int) -> np.ndarray:
    """The data rows as a 2-D object array, short rows padded with ``""`` to ``width`` columns."""
    if not body:
        return np.empty((0, width), dtype=object)
    padded = [r if len(r) == width else r + [""] * (width - len(r)) for r in body]
    out = np.empty((len(padded), width), dtype=object)
    out[:] = padded
    return out


def _build(
    grid: list[list[str]],
    header_idx: int,
    columns: dict[str, str] | None,
    notes: list[tuple[int, int, str, str]],
    filename: str,
    encoding: str | None,
    sheet_name: str | None,
) -> Sheet:
    header = list(grid[header_idx])
    sub = _subheader(header, grid[header_idx + 1] if header_idx + 1 < len(grid) else [])
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
    names_all = _column_names(header, width)
    names = [names_all[i] for i in keep_cols]
    matrix = _matrix(body, width)[:, keep_cols]
    roles = _assign_roles(names, columns)
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

    nonempty = frame.ne("")
    has_formula = np.isin(file_rows, list(formula_cells)) if formula_cells else np.zeros(len(frame), bool)
    blank = ~nonempty.any(axis=1).to_numpy() & ~has_formula
    usable_roles = [r for r in ("name", "address", "township", "village", "division_code") if r in roles]
    usable = np.zeros(len(frame), bool)
    for r in usable_roles:
        usable |= nonempty[roles[r]].to_numpy()
    if "lng" in roles and "lat" in roles:
        usable |= (nonempty[roles["lng"]] & nonempty[roles["lat"]]).to_numpy()
    # A total row (合计, 小计 …) says so in one of its cells (the name, or 序号 beside an empty name)
    # and has no name or address other than that word. Each distinct text is tested once.
    def says_total(values: pd.Series) -> np.ndarray:
        return _by_value(values, lambda v: v.str.replace(r"\s+", "", regex=True).str.match(
            _SUM_ROW.pattern, case=False)).astype(bool)

    keys = [frame[roles[r]] for r in ("name", "address") if r in roles]
    is_sum = np.ones(len(frame), dtype=bool)
    for key in keys:
        is_sum &= key.eq("").to_numpy(dtype=bool) | says_total(key)
    if is_sum.any():
        said = np.zeros(len(frame), dtype=bool)
        for col in frame.columns[: max(3, len(keys))] if len(frame.columns) else []:
            said[is_sum] |= says_total(frame[col][is_sum])
        is_sum &= said
    header_norm = [normalise_header(h) for h in names]
    repeats = np.zeros(len(frame), bool)
    if len(frame):
        # A row repeats the header when enough of its cells read as their column's header. Columns
        # are checked in turn, each only on the rows that can still reach the threshold.
        need = max(2, min(3, sum(1 for h in header if h)))
        hits = np.zeros(len(frame), int)
        checked = [(col, hn) for col, hn in zip(names, header_norm, strict=True) if not hn.startswith("列")]
        for k, (col, hn) in enumerate(checked):
            alive = np.flatnonzero(hits + (len(checked) - k) >= need)
            if not len(alive):
                break
            hits[alive] += _reads_as(frame[col] if len(alive) == len(frame) else frame[col].iloc[alive], hn)
        repeats = hits >= need

    reason_zh = np.full(len(frame), "", dtype=object)
    reason_en = np.full(len(frame), "", dtype=object)
    no_content = ~blank & ~usable
    reason_zh[no_content] = "没有名称、地址、乡镇、村或坐标,无法使用"
    reason_en[no_content] = "no name, address, township, village or coordinates: nothing to place"
    formula_only = no_content & has_formula
    if formula_only.any():
        for i in np.flatnonzero(formula_only):
            cols = "、".join(names_all[c] for c in sorted(formula_cells[int(file_rows[i])]) if c < len(names_all))
            reason_zh[i] = f"公式({cols})没有保存计算结果:请用 Excel 打开并保存后再上传"
            reason_en[i] = (f"formulas without saved results ({cols.replace('、', ', ')}): "
                            "open and save the file in Excel, then upload it again")
    sums = ~blank & is_sum
    reason_zh[sums] = "合计/小计行,不是设施"
    reason_en[sums] = "a total/subtotal row, not a facility"
    reps = ~blank & repeats
    reason_zh[reps] = "重复的表头行"
    reason_en[reps] = "a repeated header row"
    rejected_mask = no_content | sums | reps
    kept_mask = ~blank & ~rejected_mask

    rejected = frame[rejected_mask].copy()
    rejected["row"] = file_rows[rejected_mask]
    rejected["reason_zh"] = pd.array(reason_zh[rejected_mask], dtype="str")
    rejected["reason_en"] = pd.array(reason_en[rejected_mask], dtype="str")
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
    sheet.problems = _problems(sheet, notes, names_all, keep_cols, file_rows[kept_mask])
    s = sheet.summary()
    if s["rows_read"] != s["kept"] + s["blank"] + s["rejected"]:
        raise TowncoverError(  # pragma: no cover - an internal invariant
            f"行数核对失败:{s}", f"row accounting failed: {s}",
        )
    return sheet


def _problems(
    sheet: Sheet,
    notes: list[tuple[int, int, str, str]],
    names_all: list[str],
    keep_cols: list[int],
    kept_rows: np.ndarray,
) -> pd.DataFrame:
    parts: list[pd.DataFrame] = []
    frame, roles = sheet.frame, sheet.roles
    rows = np.asarray(kept_rows, dtype=int)

    def add(mask: np.ndarray, column: str, zh: Iterable[str] | str, en: Iterable[str] | str) -> None:
        mask = np.asarray(mask, bool)
        if not mask.any():
            return
        r = rows[mask]
        zh_s = np.broadcast_to(np.asarray(zh, dtype=object), mask.shape)[mask] if not isinstance(zh, str) else zh
        en_s = np.broadcast_to(np.asarray(en, dtype=object), mask.shape)[mask] if not isinstance(en, str) else en
        part = pd.DataFrame({"row": r, "column": column, "zh": zh_s, "en": en_s})
        part["message_zh"] = "第 " + part["row"].astype(str) + f" 行“{column}”" + part["zh"].astype(str)
        part["message_en"] = "row " + part["row"].astype(str) + f': "{column}" ' + part["en"].astype(str)
        parts.append(part[PROBLEM_COLUMNS])

    # Formula cells without a saved value (one problem per note, in the notes' order), and Excel error values.
    header_names = dict(zip(keep_cols, (names_all[i] for i in keep_cols), strict=True))
    kept_set = set(rows.tolist())
    used = [(r, header_names[c], zh, en) for r, c, zh, en in notes if r in kept_set and c in header_names]
    if used:
        part = pd.DataFrame(used, columns=["row", "column", "zh", "en"])
        row_text = part["row"].astype(str)
        part["message_zh"] = "第 " + row_text + " 行“" + part["column"] + "”" + part["zh"].astype(str)
        part["message_en"] = "row " + row_text + ': "' + part["column"] + '" ' + part["en"].astype(str)
        parts.append(part[PROBLEM_COLUMNS])
    for col in frame.columns:
        err = frame[col].isin(_EXCEL_ERRORS).to_numpy()
        if err.any():
            values = frame[col].to_numpy().astype(str)
            add(err, col, np.char.add("是 Excel 错误值 ", values), np.char.add("is an Excel error value ", values))

    numbers = {}
    for role in ("lng", "lat", "beds", "nursing_beds"):
        if role in roles:
            col = roles[role]
            text = frame[col]
            values = numeric_column(sheet, role).to_numpy()
            numbers[role] = values
            bad = text.ne("").to_numpy() & np.isnan(values) & ~text.isin(_EXCEL_ERRORS).to_numpy()
            add(bad, col, "不是数字", "is not a number")
            if role in ("beds", "nursing_beds"):
                add(values < 0, col, "是负数", "is negative")
    if "beds" in numbers and "nursing_beds" in numbers:
        add(numbers["nursing_beds"] > numbers["beds"], roles["nursing_beds"],
            "大于总床位数", "is larger than the number of beds")
    if "lng" in numbers and "lat" in numbers:
        lng, lat = numbers["lng"], numbers["lat"]
        has_lng, has_lat = ~np.isnan(lng), ~np.isnan(lat)
        lng_text = frame[roles["lng"]].ne("").to_numpy()
        lat_text = frame[roles["lat"]].ne("").to_numpy()
        add(has_lng & ~lat_text, roles["lat"], "为空(只有经度)", "is empty (longitude only)")
        add(has_lat & ~lng_text, roles["lng"], "为空(只有纬度)", "is empty (latitude only)")
        both = has_lng & has_lat
        swapped = both & _in(lat, CHINA_LNG) & _in(lng, CHINA_LAT)
        add(swapped, roles["lng"], "与纬度可能写反了(已按对调处理)",
            "and the latitude appear swapped (read the other way round)")
        zero = both & (lng == 0) & (lat == 0)
        add(zero, roles["lng"], "和纬度都是 0,视为没有坐标", "and the latitude are both 0: treated as missing")
        add(both & ~swapped & ~zero & ~_in(lng, CHINA_LNG), roles["lng"],
            f"超出中国范围({CHINA_LNG[0]:g}–{CHINA_LNG[1]:g})",
            f"is outside China ({CHINA_LNG[0]:g}–{CHINA_LNG[1]:g})")
        add(both & ~swapped & ~zero & ~_in(lat, CHINA_LAT), roles["lat"],
            f"超出中国范围({CHINA_LAT[0]:g}–{CHINA_LAT[1]:g})",
            f"is outside China ({CHINA_LAT[0]:g}–{CHINA_LAT[1]:g})")
    if "status" in roles:
        col = roles["status"]
        unknown = _by_value(frame[col], _status_of_text) == ""
        add(unknown, col, "无法识别(按运营中计)", "says no status known (counted as operating)")
    if "division_code" in roles:
        col = roles["division_code"]

        def _bad_code(text: pd.Series) -> pd.Series:
            code = compact_text(text)
            return code.ne("") & ~code.str.fullmatch(r"\d{2}|\d{4}|\d{6}|\d{9}|\d{12}")

        add(_by_value(frame[col], _bad_code), col, "不是 2/4/6/9/12 位的区划代码",
            "is not a 2/4/6/9/12-digit division code")
    # The same facility listed twice (same name and address, compared after NFKC without spaces).
    keys = [roles[r] for r in ("name", "address") if r in roles]
    if keys and len(frame):
        group, filled = _key_groups([frame[k] for k in keys])
        _, first_pos, inverse = np.unique(group, return_index=True, return_inverse=True)
        first_of_row = first_pos[inverse.reshape(-1)]
        dup = (first_of_row != np.arange(len(frame))) & filled
        if dup.any():
            first = rows[first_of_row].astype(str)
            add(dup, keys[0], np.char.add("与第 ", np.char.add(first, " 行重复")),
                np.char.add("duplicates row ", first))
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype="int64" if c == "row" else "str") for c in PROBLEM_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["row"] = out["row"].astype("int64")
    position = {c: i for i, c in enumerate(frame.columns)}
    out["_col"] = out["column"].map(position)
    return out.sort_values(["row", "_col"], kind="stable").drop(columns="_col").reset_index(drop=True)


def _key_groups(columns: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """Rows with equal keys share a group number; keys are NFKC with whitespace removed.

    Returns
    -------
    group : numpy.ndarray of int64
        Equal for rows whose normalised values are equal in every column.
    filled : numpy.ndarray of bool
        Some normalised value of the row is not empty.
    """
    group = np.zeros(len(columns[0]), dtype=np.int64)
    filled = np.zeros(len(columns[0]), dtype=bool)
    for col in columns:
        codes, uniques = pd.factorize(col, use_na_sentinel=False)
        norm = compact_text(pd.Series(uniques, dtype=col.dtype))
        norm_codes, norm_uniques = pd.factorize(norm, use_na_sentinel=False)
        value = norm_codes[codes]
        filled |= norm.ne("").to_numpy()[codes]
        group = group * len(norm_uniques) + value
    return group, filled


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------

_DMS = re.compile(
    r"^(?P<sign>[-+])?(?P<d>\d+(?:\.\d+)?)\s*[°度]\s*(?:(?P<m>\d+(?:\.\d+)?)\s*['′’分]\s*)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*(?:\"|″|”|''|′′|秒)?\s*)?(?P<h>[EWNSewns东西南北])?$"
)
_UNIT = re.compile(r"(?:张|床|个|间|人|°|度|[EWNSewns]|东经|北纬)$")


def _parse_numbers(text: pd.Series) -> np.ndarray:
    # Parsed once per distinct text (the parse is element-wise; number columns repeat values).
    return _by_value(text.astype("str"), _parse_distinct)


def _parse_distinct(text: pd.Series) -> np.ndarray:
    # Plain decimals (ASCII digits, one dot) come through the text clean-up unchanged: it runs on the rest.
    s, plain = text.copy(), text.copy()
    rest = ~text.str.fullmatch(r"[0-9]+(?:\.[0-9]+)?").to_numpy(dtype=bool)
    if rest.any():
        r = text[rest].str.normalize("NFKC").str.strip()
        r = r.str.replace(r"^(?:东经|北纬|[ENen](?=\s*\d))\s*", "", regex=True)
        p = r.str.replace(",", "", regex=False).str.replace(r"\s+", "", regex=True)
        s[rest] = r
        plain[rest] = p.str.replace(_UNIT.pattern, "", regex=True)
    values = np.array(pd.to_numeric(plain.where(plain.ne(""), None), errors="coerce")
                      .to_numpy(dtype="float64", na_value=np.nan), copy=True)
    todo = np.isnan(values) & s.str.contains(r"[°度]", regex=True).to_numpy()
    if todo.any():
        parts = s[todo].str.extract(_DMS.pattern)
        d = pd.to_numeric(parts["d"], errors="coerce")
        m = pd.to_numeric(parts["m"], errors="coerce").fillna(0)
        sec = pd.to_numeric(parts["s"], errors="coerce").fillna(0)
        sign = np.where(parts["sign"].eq("-").fillna(False) | parts["h"].isin(list("WSws西南")).fillna(False), -1, 1)
        values[todo] = (sign * (d + m / 60 + sec / 3600)).to_numpy(dtype="float64", na_value=np.nan)
    return values


def _in(values: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (values >= bounds[0]) & (values <= bounds[1])
