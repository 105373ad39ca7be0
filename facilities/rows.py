"""Row classification: what each data row of a facility table is, and what is wrong in its cells.

A row is blank, kept, or rejected with a reason (nothing to place, a total row, a repeated header);
kept rows' cell-level problems (not a number, swapped or out-of-China coordinates, duplicates …) are
listed in Chinese and English. Numbers (coordinates, beds) are parsed here once, and each row's
operating status is read from its status column and its name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from facilities.headers import by_value, compact_text, normalise_header, reads_as
from towncover.errors import TowncoverError
from towncover.vocabulary import OPERATING_STATUSES

if TYPE_CHECKING:  # facilities.sheets builds its Sheet from these functions
    from facilities.sheets import Sheet

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
_NAME_STATUS_WORDS = "在建|拟建|筹建|待建|规划|建设中|未建成|停业|停业整顿|关闭|已关闭|撤销|已撤销|注销|暂停|暂停营业|停办|歇业"
_NAME_STATUS = re.compile(rf"[(\[【]\s*({_NAME_STATUS_WORDS})\s*[)\]】]")
# A name can only say a status if it holds one of the words, or a character NFKC may turn into a CJK one
# (radicals, enclosed and compatibility ideographs).
# Characters, not escapes: pandas hands a pattern with \u or \s to Python's re, value by value, not to Arrow.
_NAME_STATUS_HINT = f"{_NAME_STATUS_WORDS}|[\u2E80-\u2FDF\u3200-\u33FF\uF900-\uFAFF\U0002F800-\U0002FA1F]"


CHINA_LNG = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)

PROBLEM_COLUMNS = ["row", "column", "message_zh", "message_en"]
_SUM_WORDS = "合计|总计|小计|共计|总数|total"
_SUM_ROW = re.compile(rf"^({_SUM_WORDS})[:：]?$", re.IGNORECASE)
_EXCEL_ERRORS = ("#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!")


class RowVerdict(NamedTuple):
    """What each data row of a table is, aligned with its frame.

    ``blank`` rows are dropped and counted; ``rejected`` rows are set aside with ``reason_zh`` /
    ``reason_en`` (empty strings for the other rows); the rest are kept.
    """

    blank: np.ndarray
    rejected: np.ndarray
    reason_zh: np.ndarray
    reason_en: np.ndarray


def classify_rows(frame: pd.DataFrame, roles: dict[str, str], header: list[str], names_all: list[str],
                  file_rows: np.ndarray, formula_cells: dict[int, list[int]]) -> RowVerdict:
    """Sort a table's data rows into blank, rejected (with a reason) and kept.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data rows as text, one column per kept header.
    roles : dict of str to str
        Role → column of ``frame``.
    header : list of str
        The header row as written (its filled cells set how many must repeat for a repeated header).
    names_all : list of str
        Every column's name, by the column's position in the file (formula notes name them).
    file_rows : numpy.ndarray
        Each row's 1-based row number in the file.
    formula_cells : dict of int to list of int
        File row → 0-based columns holding formulas without a saved result (such a row is never blank).

    Returns
    -------
    RowVerdict
    """
    nonempty = frame != ""
    has_formula = np.isin(file_rows, list(formula_cells)) if formula_cells else np.zeros(len(frame), bool)
    blank = ~nonempty.any(axis=1).to_numpy() & ~has_formula
    usable_roles = [r for r in ("name", "address", "township", "village", "division_code") if r in roles]
    usable = np.zeros(len(frame), bool)
    for r in usable_roles:
        usable |= nonempty[roles[r]].to_numpy()
    if "lng" in roles and "lat" in roles:
        usable |= (nonempty[roles["lng"]] & nonempty[roles["lat"]]).to_numpy()

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
    sums = ~blank & _total_rows(frame, roles)
    reason_zh[sums] = "合计/小计行,不是设施"
    reason_en[sums] = "a total/subtotal row, not a facility"
    reps = ~blank & _repeated_headers(frame, header)
    reason_zh[reps] = "重复的表头行"
    reason_en[reps] = "a repeated header row"
    return RowVerdict(blank, no_content | sums | reps, reason_zh, reason_en)


def _says_total(values: pd.Series) -> np.ndarray:
    """Each cell reads 合计, 小计, total … (each distinct text holding such a word tested once)."""
    out = np.zeros(len(values), dtype=bool)
    maybe = _holds(values, "[计数lL]")  # every word ends so, written with spaces (合 计) or not
    if maybe.any():
        out[maybe] = by_value(values[maybe], lambda v: v.str.replace(r"\s+", "", regex=True).str.match(
            _SUM_ROW.pattern, case=False)).astype(bool)
    return out


def _holds(values: pd.Series, pattern: str) -> np.ndarray:
    """Which cells contain ``pattern``: one vectorised pass (Arrow's RE2) before any per-text work."""
    return np.asarray(values.astype("str").str.contains(pattern, regex=True), dtype=bool)


def _total_rows(frame: pd.DataFrame, roles: dict[str, str]) -> np.ndarray:
    """A total row (合计, 小计 …) says so in one of its cells (the name, or 序号 beside an empty name)
    and has no name or address other than that word."""
    keys = [frame[roles[r]] for r in ("name", "address") if r in roles]
    is_sum = np.ones(len(frame), dtype=bool)
    for key in keys:
        is_sum &= key.eq("").to_numpy(dtype=bool) | _says_total(key)
    if is_sum.any():
        said = np.zeros(len(frame), dtype=bool)
        for col in frame.columns[: max(3, len(keys))] if len(frame.columns) else []:
            said[is_sum] |= _says_total(frame[col][is_sum])
        is_sum &= said
    return is_sum


def _repeated_headers(frame: pd.DataFrame, header: list[str]) -> np.ndarray:
    """A row repeats the header when enough of its cells read as their column's header.

    Columns are checked in turn, each only on the rows that can still reach the threshold.
    """
    repeats = np.zeros(len(frame), bool)
    if not len(frame):
        return repeats
    names = [str(c) for c in frame.columns]
    header_norm = [normalise_header(h) for h in names]
    need = max(2, min(3, sum(1 for h in header if h)))
    hits = np.zeros(len(frame), int)
    checked = [(col, hn) for col, hn in zip(names, header_norm, strict=True) if not hn.startswith("列")]
    for k, (col, hn) in enumerate(checked):
        alive = np.flatnonzero(hits + (len(checked) - k) >= need)
        if not len(alive):
            break
        hits[alive] += reads_as(frame[col] if len(alive) == len(frame) else frame[col].iloc[alive], hn)
    return hits >= need

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
        found = by_value(sheet.frame[col], _status_of_text)
        said = (found != "operating") & (found != "")  # "": words not known, left operating (a problem)
        status[said] = found[said]
        text = sheet.frame[col].to_numpy(dtype=object)
        zh[said] = [f"“{col}”为“{t}”" for t in text[said]]
        en[said] = [f'"{col}" says {t}' for t in text[said]]
    if "name" in sheet.roles:
        names = sheet.frame[sheet.roles["name"]]
        maybe = _holds(names, _NAME_STATUS_HINT)
        words = pd.Series(np.nan, index=names.index, dtype=object)
        if maybe.any():
            words[maybe] = names[maybe].str.normalize("NFKC").str.extract(_NAME_STATUS.pattern)[0]
        from_name = by_value(words.fillna(""), _status_of_text)
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


def sheet_problems(
    sheet: Sheet,
    notes: list[tuple[int, int, str, str]],
    names_all: list[str],
    keep_cols: list[int],
    kept_rows: np.ndarray,
) -> pd.DataFrame:
    """The kept rows' cell problems (row, column, message_zh, message_en), by row, then column order.

    Formula cells without a saved value, Excel error values, numbers that are not numbers or are
    negative, nursing beds over beds, coordinate problems, unknown status words, malformed division
    codes and repeated facilities (same name and address).
    """
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
        _coordinate_problems(add, frame, roles, numbers["lng"], numbers["lat"])
    if "status" in roles:
        col = roles["status"]
        unknown = by_value(frame[col], _status_of_text) == ""
        add(unknown, col, "无法识别(按运营中计)", "says no status known (counted as operating)")
    if "division_code" in roles:
        col = roles["division_code"]

        def _bad_code(text: pd.Series) -> pd.Series:
            code = compact_text(text)
            return code.ne("") & ~code.str.fullmatch(r"\d{2}|\d{4}|\d{6}|\d{9}|\d{12}")

        add(by_value(frame[col], _bad_code), col, "不是 2/4/6/9/12 位的区划代码",
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


#: How a check reports: rows (a mask over the kept rows), the column, and what is wrong (zh, en).
_Report = Callable[[np.ndarray, str, Iterable[str] | str, Iterable[str] | str], None]


def _coordinate_problems(add: _Report, frame: pd.DataFrame, roles: dict[str, str], lng: np.ndarray,
                         lat: np.ndarray) -> None:
    """One half of a pair missing, swapped pairs, 0/0, and values outside China."""
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
    return by_value(text.astype("str"), _parse_distinct)


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
