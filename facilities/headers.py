"""Column recognition: which row of a grid is the header and what each column means (its role).

Headers are compared after :func:`normalise_header` (NFKC, lower case, no spaces, brackets or
punctuation) against :data:`HEADER_SYNONYMS`, then against fuzzy patterns; a two-row header (坐标
merged over 经度 | 纬度) is read as one. Also here, the text helpers the row checks share:
:func:`compact_text` and :func:`by_value` (a function evaluated once per distinct value).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Collection

import numpy as np
import numpy.typing as npt
import pandas as pd

from facilities.workbook import _ZERO_WIDTH, _ZERO_WIDTH_CHARS, HEADER_SCAN_ROWS, column_letter
from towncover.errors import TowncoverError
from towncover.vocabulary import sheet_column

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

_STRIP_CHARS = re.compile(r"[\s()\[\]{}【】<>《》〈〉:*、,.;'\"/\\_\-|·•]+")
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】")


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


def find_header(grid: list[list[str]], columns: dict[str, str] | None) -> tuple[int, int]:
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


def subheader(header: list[str], below: list[str]) -> list[str] | None:
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


def column_names(header: list[str], width: int, reserved: Collection[str] = ()) -> list[str]:
    """Unique column names: blank headers named by their letter (列C), repeats numbered (地址_2), and a
    header in ``reserved`` (a column the tool adds downstream) kept as :func:`~towncover.vocabulary.sheet_column`."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i in range(width):
        h = header[i] if i < len(header) else ""
        h = re.sub(r"\s*\n\s*", "", h).strip() or f"列{column_letter(i)}"
        if h in reserved:  # the user's own "row" or "match_status" is kept, under another name
            h = sheet_column(h)
        if h in seen:
            seen[h] += 1
            h = f"{h}_{seen[h]}"
        else:
            seen[h] = 1
        names.append(h)
    return names


def assign_roles(names: list[str], columns: dict[str, str] | None) -> dict[str, str]:
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
        for name, found, strength in matches:
            if strength == wanted and found is not None and found not in roles and name not in taken:
                roles[found] = name
                taken.add(name)
    return {r: roles[r] for r in ROLES if r in roles}


_SEPARATOR = "\ue000"  # a private-use character: NFKC-stable, caseless, composes with nothing


def _map_joined(values: list[str], func: Callable[[str], str]) -> list[str]:
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
    return list(map(functools.partial(unicodedata.normalize, "NFKC"), values))


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


def reads_as(values: pd.Series, header: str) -> np.ndarray:
    """``normalise_header(v) == header`` for each value (a ``str`` Series), as a bool array."""
    out = np.zeros(len(values), dtype=bool)
    # CJK ideographs, digits, lower-case ASCII letters and dots: normalising only drops the dots.
    plain = values.str.fullmatch(_PLAIN_HEADER).to_numpy(dtype=bool)
    if plain.any():
        out[plain] = values[plain].str.replace(".", "", regex=False).eq(header).to_numpy(dtype=bool)
    if not plain.all():
        # Compared as Python strings (numpy would drop trailing NUL characters from a str scalar).
        wanted = np.array(header, dtype=object)
        out[~plain] = by_value(values[~plain], lambda v: np.array(_normalise_headers(v.tolist()), dtype=object) == wanted)
    return out


def by_value(values: pd.Series, func: Callable[[pd.Series], npt.ArrayLike | pd.Series]) -> np.ndarray:
    """``func`` (an element-wise function of a Series) evaluated once per distinct value of ``values``.

    Returns the results as a numpy array aligned with ``values``.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    result = np.asarray(func(pd.Series(uniques, dtype=values.dtype)))
    return result[codes]

