"""The units counted at each level of a region: counties, townships, streets, villages, communities.

Levels (codes from the national gazetteer, digits 7–9 of a township code decide its kind):

=======================  ======================================================================
``county``               county-level units (县、市、区) in the region
``township_and_street``  乡镇(街道): townships with digits 7–9 below 400 (400+ special units only
                         when the target says ``include_special``)
``township``             镇 and 乡 (100–399)
``street``               街道 (001–099)
``village``              村委会
``community``            社区居委会
``village_and_community`` both
=======================  ======================================================================

Village-level units under a 400+ special unit follow the same ``include_special`` option. The level
ids and their nouns live in :mod:`towncover.vocabulary`.
"""

from __future__ import annotations

import pandas as pd

from geo.gazetteer import load_gazetteer
from towncover import settings
from towncover.errors import TowncoverError
from towncover.vocabulary import COUNTY_LEVEL, LEVELS, TOWNSHIP_LEVELS, VILLAGE_LEVELS

__all__ = ["LEVELS", "TOWNSHIP_LEVELS", "VILLAGE_LEVELS", "check_level", "level_units", "level_noun"]

_TOWNSHIP_KINDS_BY_LEVEL = {
    "township_and_street": ("street", "town", "township"),
    "township": ("town", "township"),
    "street": ("street",),
}
_VILLAGE_KINDS_BY_LEVEL = {
    "village": ("village",),
    "community": ("community",),
    "village_and_community": ("village", "community"),
}
UNIT_COLUMNS = ["code", "name", "county_code", "township_code", "kind"]


def level_noun(level: str | None, lang: str = "zh") -> str:
    """The noun of a level in texts (``乡镇(街道)``, ``townships and streets``); ``单元``/``units`` if unknown."""
    pair = LEVELS.get(str(level), ("单元", "units"))
    return pair[1] if lang == "en" else pair[0]


def check_level(level: str) -> None:
    """Raise a bilingual :class:`TowncoverError` unless ``level`` is one of :data:`LEVELS`."""
    if level not in LEVELS:
        raise TowncoverError(
            f"未知的统计层级“{level}”;可选:{'、'.join(LEVELS)}",
            f"unknown level '{level}'; choose one of {', '.join(LEVELS)}",
            column="level",
        )


def level_units(region_code: str, level: str, *, include_special: bool = False) -> pd.DataFrame:
    """The units counted at a level within a region, from the national gazetteer.

    Parameters
    ----------
    region_code : str
        Division code of the region (2, 4, 6 or 9 digits).
    level : str
        One of :data:`LEVELS`.
    include_special : bool
        Count 400+ special units (开发区、园区、农场…) at ``township_and_street``, and the villages
        and communities under them at village levels. Off by default, as in the plans.

    Returns
    -------
    pandas.DataFrame
        ``code, name, county_code, township_code, kind`` in code order.

    Raises
    ------
    TowncoverError
        For an unknown level.
    """
    check_level(level)
    gaz = load_gazetteer()
    region_code = str(region_code)
    if level == COUNTY_LEVEL:
        frame = gaz.counties_in(region_code)[["code", "name"]].copy()
        frame["county_code"] = frame["code"]
        frame["township_code"] = pd.NA
        frame["kind"] = "county"
    elif level in TOWNSHIP_LEVELS:
        frame = gaz.townships_in(region_code, include_special=True)
        kinds = _TOWNSHIP_KINDS_BY_LEVEL[level]
        if include_special and level == "township_and_street":
            kinds = (*kinds, "special")
        frame = frame[frame["kind"].isin(kinds)][["code", "name", "county_code", "kind"]].copy()
        frame["township_code"] = frame["code"]
    else:
        frame = gaz.villages_in(region_code)
        frame = frame[frame["kind"].isin(_VILLAGE_KINDS_BY_LEVEL[level])]
        if not include_special:
            serial = pd.to_numeric(frame["township_code"].str[6:9], errors="coerce")
            frame = frame[serial < int(settings.SPECIAL_UNIT_MIN)]
        frame = frame[UNIT_COLUMNS].copy()
    frame = frame.sort_values("code").reset_index(drop=True)
    return frame[UNIT_COLUMNS].astype("string")
