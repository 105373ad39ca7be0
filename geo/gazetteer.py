"""The national division gazetteer (统计用区划代码, NBS 2023 edition) and region look-up.

Codes are strings with their natural length: province 2, prefecture 4, county 6, township 9,
village/community committee 12 digits. Parents are the code prefixes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from towncover import settings
from towncover.errors import TowncoverError

Level = Literal["province", "city", "county", "township"]
_LEVEL_BY_LENGTH: dict[int, Level] = {2: "province", 4: "city", 6: "county", 9: "township"}

# Township kinds by code digits 7-9 (DATA.md): 001-099 街道, 100-199 镇, 200-399 乡, 400+ special.
TOWNSHIP_KINDS = ("street", "town", "township", "special")
VILLAGE_KINDS = ("village", "community", "other")

_COMMUNITY = re.compile(r"(?:社区|居委会|居民委员会)")
_VILLAGE = re.compile(r"(?:村委会|村民委员会|村$|嘎查)")


@dataclass(frozen=True)
class Region:
    """A division chosen as the scope of a sheet: a province, prefecture, county or township.

    Attributes
    ----------
    code : str
        Division code of natural length (2, 4, 6 or 9 digits).
    name : str
        Its own name (安岳县).
    level : {"province", "city", "county", "township"}
    full_name : str
        Name with its parents (四川省资阳市安岳县); municipal "市辖区" placeholders left out.
    """

    code: str
    name: str
    level: Level
    full_name: str


def township_kind(codes: pd.Series) -> pd.Series:
    """Classify 9-digit township codes as street, town, township or special (vectorised)."""
    serial = pd.to_numeric(codes.str[6:9], errors="coerce").to_numpy()
    kind = np.select(
        [serial <= settings.STREET_MAX, serial <= settings.TOWN_MAX, serial < settings.SPECIAL_UNIT_MIN],
        ["street", "town", "township"],
        default="special",
    )
    return pd.Series(kind, index=codes.index, dtype="string")


def village_kind(names: pd.Series) -> pd.Series:
    """Classify committee names as village (村委会), community (社区居委会) or other."""
    community = names.str.contains(_COMMUNITY)
    village = names.str.contains(_VILLAGE) & ~community
    kind = np.select([community, village], ["community", "village"], default="other")
    return pd.Series(kind, index=names.index, dtype="string")


class Gazetteer:
    """All divisions of mainland China down to village and community committees.

    Attributes
    ----------
    provinces, cities, counties : pandas.DataFrame
        Columns ``code``, ``name`` (and the parent code).
    townships : pandas.DataFrame
        Columns ``code``, ``name``, ``county_code``, ``kind`` (street | town | township | special).
    villages : pandas.DataFrame
        Columns ``code``, ``name``, ``township_code``, ``county_code``, ``kind``
        (village | community | other).
    """

    def __init__(
        self,
        provinces: pd.DataFrame,
        cities: pd.DataFrame,
        counties: pd.DataFrame,
        townships: pd.DataFrame,
        villages: pd.DataFrame,
    ) -> None:
        self.provinces = provinces
        self.cities = cities
        self.counties = counties
        self.townships = townships
        self.villages = villages
        self._names = pd.concat(
            [frame.set_index("code")["name"] for frame in (provinces, cities, counties, townships)]
        )
        self._regions: dict[str, Region] = {}  # code → Region, filled as regions are asked for

    @classmethod
    def from_tables(
        cls,
        provinces: pd.DataFrame,
        cities: pd.DataFrame,
        counties: pd.DataFrame,
        townships: pd.DataFrame,
        villages: pd.DataFrame,
    ) -> Gazetteer:
        """The gazetteer from the NBS tables as shipped (code, name): parents and kinds derived here."""
        townships = townships.assign(county_code=townships["code"].str[:6], kind=township_kind(townships["code"]))
        villages = villages.assign(township_code=villages["code"].str[:9], county_code=villages["code"].str[:6],
                                   kind=village_kind(villages["name"]))
        return cls(provinces, cities, counties, townships, villages)

    def frames(self) -> dict[str, pd.DataFrame]:
        """The five tables by name, as :class:`Gazetteer` takes them."""
        return {"provinces": self.provinces, "cities": self.cities, "counties": self.counties,
                "townships": self.townships, "villages": self.villages}

    # -- look-up -------------------------------------------------------------------------------
    def name_of(self, code: str) -> str:
        """Name of a province, prefecture, county or township code; raises if unknown."""
        try:
            return str(self._names.loc[code])
        except KeyError:
            raise TowncoverError(
                f"区划代码 {code} 不在统计用区划代码(2023)中",
                f"division code {code} is not in the 2023 NBS division codes",
            ) from None

    def full_name(self, code: str) -> str:
        """Name with parents, e.g. 四川省资阳市安岳县 for 512021."""
        parts = [self.name_of(code[:n]) for n in (2, 4, 6, 9) if n <= len(code)]
        return "".join(p for p in parts if p not in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"))

    def region(self, query: str | int) -> Region:
        """Resolve a region given as a code (2, 4, 6, 9 or 12 digits, zero-padded or not) or a name.

        Parameters
        ----------
        query : str or int
            ``"512021"``, ``512021000000``, ``"安岳县"``, ``"四川省安岳县"``, ``"宜春市"``.

        Returns
        -------
        Region

        Raises
        ------
        TowncoverError
            When nothing matches, or a bare name matches several divisions (the candidates are named).
        """
        known = self._regions.get(query) if isinstance(query, str) else None
        if known is not None:  # the geocoder asks for its region once per sheet
            return known
        text = unicodedata.normalize("NFKC", str(query)).strip()
        if not text:
            raise TowncoverError("未指定区域", "no region given")
        if text.isdigit():
            code = _trim_code(text)
            if code not in self._names.index:
                raise TowncoverError(
                    f"区划代码 {text} 不在统计用区划代码(2023)中",
                    f"division code {text} is not in the 2023 NBS division codes",
                )
            return self._region(code)
        matches = self._names[self._names == text]
        if matches.empty:
            # A name with parents in front (四川省安岳县, 资阳市安岳县): match the tail, check parents.
            tails = self._names[[text.endswith(n) and len(n) >= 2 for n in self._names.to_numpy()]]
            candidates = [c for c in tails.index if _parents_fit(self, c, text[: -len(self._names[c])])]
            matches = self._names.loc[candidates]
        # Prefer the larger unit when a city and its own placeholder share a name (中山市 4420/442000).
        codes = sorted(set(matches.index), key=len)
        if len(codes) > 1 and all(c.startswith(codes[0]) for c in codes):
            codes = codes[:1]
        if not codes:
            raise TowncoverError(
                f"找不到区域“{text}”:请用区划代码或规范名称(如 512021 或 安岳县)",
                f"region '{text}' not found: give a division code or official name (e.g. 512021 or 安岳县)",
            )
        if len(codes) > 1:
            listed = "、".join(f"{self.full_name(c)}({c})" for c in codes[:8])
            raise TowncoverError(
                f"区域“{text}”有多个同名区划:{listed};请用区划代码",
                f"region '{text}' is ambiguous ({len(codes)} divisions share the name); use a division code",
            )
        return self._region(codes[0])

    def _region(self, code: str) -> Region:
        found = self._regions.get(code)
        if found is None:
            found = self._regions[code] = Region(code=code, name=self.name_of(code), level=_LEVEL_BY_LENGTH[len(code)],
                                                 full_name=self.full_name(code))
        return found

    # -- scoped frames ---------------------------------------------------------------------------
    def counties_in(self, code: str) -> pd.DataFrame:
        """County-level units within a region (the county itself for a county or township)."""
        return _starting_with(self.counties, code[:6])

    def townships_in(self, code: str, *, include_special: bool = True) -> pd.DataFrame:
        """Township-level units within a region, special units (400+) optional."""
        frame = _starting_with(self.townships, code)
        if not include_special:
            frame = frame[frame["kind"] != "special"].reset_index(drop=True)
        return frame

    def villages_in(self, code: str) -> pd.DataFrame:
        """Village and community committees within a region."""
        return _starting_with(self.villages, code)


def _starting_with(frame: pd.DataFrame, code: str) -> pd.DataFrame:
    """The rows whose code starts with ``code``, renumbered from 0.

    Taken as one slice when they are contiguous (the frames are sorted by code): a province's
    villages are then not copied column by column out of the 600,000.
    """
    rows = np.flatnonzero(frame["code"].str.startswith(code).to_numpy(dtype=bool))
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
        return frame.iloc[rows[0]:rows[-1] + 1].reset_index(drop=True)
    return frame.iloc[rows].reset_index(drop=True)


def _trim_code(digits: str) -> str:
    """12-digit (or 6-digit zero-padded) codes to their natural length: 512021000000 -> 512021."""
    if len(digits) in (2, 4, 6, 9) and not (len(digits) == 6 and digits.endswith("0000")):
        if len(digits) == 6 and digits.endswith("00") and not digits.endswith("0000"):
            return digits[:4] if digits[2:4] != "00" else digits[:2]
        return digits
    padded = digits.ljust(12, "0")[:12]
    for length, zeros in ((2, 10), (4, 8), (6, 6), (9, 3)):
        if padded[length:] == "0" * zeros:
            return padded[:length]
    return padded


def _parents_fit(gaz: Gazetteer, code: str, prefix: str) -> bool:
    """Whether every name in ``prefix`` belongs to a parent of ``code`` (四川省资阳市 for 512021)."""
    rest = prefix
    for n in (2, 4, 6):
        if n >= len(code):
            break
        name = gaz.name_of(code[:n])
        short = re.sub(r"(省|市|自治区|壮族自治区|回族自治区|维吾尔自治区|特别行政区)$", "", name)
        for form in (name, short):
            if form and rest.startswith(form):
                rest = rest[len(form):]
                break
    return rest == ""


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Load the national gazetteer from ``data/gazetteer`` (cached in memory, and on disk).

    Parsing the shipped CSV files and deriving the kinds takes about a second; every later process reads
    the finished tables from an uncompressed Arrow (Feather) copy in :data:`towncover.settings.CACHE_DIR`
    (about 0.1 s), named by a digest of the shipped files, so a changed gazetteer is never read stale.
    """
    sources = {name: settings.GAZETTEER_DIR / file for name, file in _TABLES.items()}
    try:
        digest = _digest(sources.values())
    except FileNotFoundError as exc:
        raise TowncoverError(
            f"缺少区划数据文件 {exc.filename};请运行 python data/build_gazetteer.py",
            f"gazetteer file {exc.filename} missing; run python data/build_gazetteer.py",
        ) from None
    cached = settings.CACHE_DIR / f"gazetteer-{digest}"
    try:
        return Gazetteer(**{name: pd.read_feather(cached / f"{name}.feather") for name in _TABLES})
    except (OSError, ValueError, KeyError, ImportError):
        pass  # not cached yet (or unreadable): parse the shipped files and cache them
    gaz = Gazetteer.from_tables(**{name: pd.read_csv(path, dtype=str, keep_default_na=False)
                                   for name, path in sources.items()})
    _write_cache(gaz, cached)
    return gaz


_TABLES = {"provinces": "provinces.csv", "cities": "cities.csv", "counties": "counties.csv",
           "townships": "townships.csv.gz", "villages": "villages.csv.gz"}
_CACHE_FORMAT = "1"  # bump when the derived columns change


def _digest(paths: Iterable[Path]) -> str:
    digest = hashlib.blake2b(_CACHE_FORMAT.encode(), digest_size=10)
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _write_cache(gaz: Gazetteer, folder: Path) -> None:
    """Write the tables into ``folder`` as a whole (a temporary folder renamed), or not at all."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".gazetteer-"))
    except OSError:
        return  # a read-only cache folder only costs the next process a second
    try:
        for name, frame in gaz.frames().items():
            frame.to_feather(tmp / f"{name}.feather", compression="uncompressed")
        os.rename(tmp, folder)
    except OSError:  # a full disk, or another process cached it first
        shutil.rmtree(tmp, ignore_errors=True)
