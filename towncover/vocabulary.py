"""The words towncover speaks: levels, metrics, comparators, units, match statuses, datums, colours.

Each id is written here once with its Chinese and English label; ``geo/`` and ``facilities/`` both read
this module (``geo/`` never imports ``facilities/``). Dictionaries keep their ids in display order, so
``list(LEVELS)`` is the ordered id list and ``LEVELS[id]`` its ``(zh, en)`` pair.

Also here: the two small helpers every writer and reader needs, :func:`natural_code` (division codes
to their natural length) and :func:`unique_sheet_name` (Excel worksheet names).
"""

from __future__ import annotations

import re

import pandas as pd

#: Unit levels of a coverage target, with the nouns used in texts (需新增覆盖 N 个乡镇(街道)).
LEVELS: dict[str, tuple[str, str]] = {
    "county": ("县(市、区)", "counties"),
    "township_and_street": ("乡镇(街道)", "townships and streets"),
    "township": ("乡镇", "townships"),
    "street": ("街道", "streets"),
    "village": ("村", "villages"),
    "community": ("社区", "communities"),
    "village_and_community": ("村(社区)", "villages and communities"),
}
COUNTY_LEVEL = "county"
#: Levels whose units are townships (乡镇/街道 codes of 9 digits). The county level is not one of them.
TOWNSHIP_LEVELS = ("township_and_street", "township", "street")
#: Levels whose units are village committees (村委会/社区居委会, 12 digits): no polygons, no points.
VILLAGE_LEVELS = ("village", "community", "village_and_community")

METRICS: dict[str, tuple[str, str]] = {
    "coverage_rate": ("覆盖率", "coverage rate"),
    "count": ("数量", "count"),
    "ratio": ("比例", "ratio"),
    "per_thousand": ("每千人拥有量", "per thousand"),
    "other": ("其他", "other"),
}
COMPARATORS: dict[str, tuple[str, str]] = {">=": ("≥", "≥"), "<=": ("≤", "≤"), "==": ("=", "=")}

#: Units a plan states its targets in (the plan's own words: 个, 张, %, 人/社区).
UNITS: dict[str, tuple[str, str]] = {
    "percent": ("%", "%"),
    "units": ("个", "units"),
    "persons": ("人", "persons"),
    "beds": ("张", "beds"),
    "beds_per_1000_elderly": ("张/千名老年人", "beds per 1,000 elderly"),
    "persons_per_unit": ("人/个", "persons per unit"),
    "persons_per_community": ("人/社区", "persons per community"),
    "sqm": ("平方米", "m²"),
    "sqm_per_100_households": ("平方米/百户", "m² per 100 households"),
    "percent_points": ("个百分点", "percentage points"),
    "minutes": ("分钟", "minutes"),
    "times": ("次", "times"),
    "yuan": ("元", "yuan"),
    "other": ("", ""),
}
#: How a unit key or a free-text unit says "percent".
PERCENT_UNITS = ("percent", "%", "％", "pct")

#: What became of a sheet row, in the order the summaries list them.
MATCH_STATUSES: dict[str, tuple[str, str]] = {
    "matched": ("已匹配", "matched"),
    "ambiguous": ("有歧义", "ambiguous"),
    "unmatched": ("未匹配", "unmatched"),
    "out_of_region": ("区域外", "out of region"),
    "rejected": ("无效行", "rejected"),
}
#: Rows a planner is asked to resolve.
REVIEW_STATUSES = ("ambiguous", "unmatched", "out_of_region")
#: Rows that are not facilities of the region at all (left out of sheet totals such as bed counts).
NOT_IN_REGION_STATUSES = ("out_of_region", "rejected")
#: The evidence that placed a row (the geocoder's ``match_method``; "corrected" by the planner).
MATCH_METHODS: dict[str, tuple[str, str]] = {
    "code": ("区划代码", "division code"),
    "coordinates": ("坐标", "coordinates"),
    "address": ("地址", "address"),
    "name": ("名称", "name"),
    "corrected": ("人工更正", "corrected by the planner"),
}
#: Where a facility's map point comes from.
POINT_POSITIONS: dict[str, tuple[str, str]] = {
    "coordinates": ("表中坐标", "the sheet's coordinates"),
    "township_centre": ("乡镇内示意位置(无坐标)", "inside its township (no coordinates; approximate)"),
}
#: A township's coverage on the map and in exports.
COVERAGE_STATUSES: dict[str, tuple[str, str]] = {
    "covered": ("已覆盖", "covered"),
    "not_covered": ("未覆盖", "not covered"),
    "not_counted": ("不计入本层级", "not counted at this level"),
}
#: Township kinds by code (001-099 街道, 100-199 镇, 200-399 乡, 400+ special units).
TOWNSHIP_KINDS: dict[str, tuple[str, str]] = {
    "street": ("街道", "street"),
    "town": ("镇", "town"),
    "township": ("乡", "township"),
    "special": ("特殊区域", "special unit"),
}
#: Values shown in the app's tables: kinds of unit, gap-ranking criteria, yes/no.
VALUE_LABELS: dict[str, tuple[str, str]] = {
    **TOWNSHIP_KINDS,
    "village": ("村", "village"),
    "community": ("社区", "community"),
    "other": ("其他", "other"),
    "code": ("代码顺序", "code order"),
    "population": ("人口", "population"),
    "distance_km": ("距离(公里)", "distance (km)"),
    "True": ("是", "yes"),
    "False": ("否", "no"),
}
#: Said after a sheet's own column whose name the tool's output takes (``row`` → ``row(原表)``).
SHEET_COLUMN_SUFFIX = "(原表)"

#: A facility's status as the loader reads it (运营状态 column, （在建） in the name): only ``operating``
#: facilities exist today; ``under_construction`` ones count in the target-year scenario like planned
#: projects; ``closed`` ones count nowhere.
OPERATING_STATUSES: dict[str, tuple[str, str]] = {
    "operating": ("运营中", "operating"),
    "under_construction": ("在建或拟建", "under construction or planned"),
    "closed": ("停业或关闭", "closed"),
}

#: Datums of a sheet's coordinates.
CRS_NAMES: dict[str, tuple[str, str]] = {
    "wgs84": ("WGS-84(GPS、天地图)", "WGS-84 (GPS, Tianditu)"),
    "cgcs2000": ("CGCS2000(国家大地坐标系)", "CGCS2000 (China Geodetic Coordinate System)"),
    "gcj02": ("GCJ-02(高德、腾讯)", "GCJ-02 (Amap, Tencent)"),
    "bd09": ("BD-09(百度)", "BD-09 (Baidu)"),
}
CRS_CHOICES = tuple(CRS_NAMES)

#: One colour per facility category, the same on every map, legend and export: dark or bright, none near
#: the map's coverage blue (#1f78b4) and orange (#e6550d) under which markers would vanish.
CATEGORY_COLOURS: dict[str, str] = {
    "minors_protection_station": "#ffd92f",
    "social_work_station": "#8073ac",
    "funeral_service_station": "#525252",
    "funeral_home": "#000000",
    "public_cemetery": "#543005",
    "elderly_mutual_aid": "#7fbc41",
    "elderly_regional_centre": "#54278f",
    "elderly_day_care": "#c51b7d",
    "nursing_home": "#006d2c",
    "community_service": "#01665e",
}
UNCLASSIFIED_COLOUR = "#bdbdbd"


def label(vocabulary: dict[str, tuple[str, str]], key: str | None, lang: str = "zh") -> str:
    """The label of ``key`` in a vocabulary (``label(LEVELS, "township", "en")`` → ``"townships"``).

    Unknown keys come back as they are, so a label never hides a value.
    """
    pair = vocabulary.get(str(key)) if key is not None else None
    if pair is None:
        return "" if key is None else str(key)
    return pair[1] if lang == "en" else pair[0]


def category_colour(category: str | None) -> str:
    """The fixed map colour of a category id (grey for unclassified or unknown ids)."""
    return CATEGORY_COLOURS.get(str(category), UNCLASSIFIED_COLOUR)


def is_percent(unit: object) -> bool:
    """Whether a unit key or free-text unit means percent (``percent``, ``%``, ``％``)."""
    return str(unit or "").strip().lower() in PERCENT_UNITS


def sheet_column(name: str) -> str:
    """The name a sheet's own column keeps beside the tool's column of the same name (``row(原表)``)."""
    return f"{name}{SHEET_COLUMN_SUFFIX}"


def natural_code(values: pd.Series) -> pd.Series:
    """Division codes to their natural length (321202001000 → 321202001, 321202000000 → 321202).

    Parameters
    ----------
    values : pandas.Series
        Codes as text or numbers (``321202001000.0`` from a spreadsheet is read as its digits).

    Returns
    -------
    pandas.Series
        String codes of 2, 4, 6, 9 or 12 digits; NA where a value is not 2–12 digits.
    """
    s = values.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    padded = s.str.pad(12, side="right", fillchar="0").str[:12]
    out = padded.copy()
    for length in (9, 6, 4, 2):
        zeros = "0" * (12 - length)
        out = out.mask(padded.str[length:] == zeros, padded.str[:length])
    return out.where(s.str.fullmatch(r"\d{2,12}").fillna(False))


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_MAX = 31


def unique_sheet_name(text: str, used: set[str]) -> str:
    """An Excel worksheet name from ``text``, unique (case-insensitively) among ``used``; adds it to ``used``.

    Excel forbids ``[ ] : * ? / \\`` and names over 31 characters; a repeat gets ``~2``, ``~3``…
    """
    base = _SHEET_FORBIDDEN.sub("_", str(text))[:_SHEET_MAX] or "sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f"~{n}"
        name = base[: _SHEET_MAX - len(suffix)] + suffix
        n += 1
    used.add(name.lower())
    return name
