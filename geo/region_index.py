"""The name index of one region: every division name (province, city, county, township, village, in
full and short forms, and the names of divisions *outside* the region), built complete and cached.

An Aho–Corasick automaton (leftmost-longest, ``ahocorasick_rs``) finds the names in normalised text
(:mod:`geo.normalise`); each pattern's :class:`Key` says what it means. :class:`KeyTable` holds the
same keys as arrays for the array matcher (:mod:`geo.batch`).
"""

from __future__ import annotations

import gc
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from enum import IntEnum
from functools import lru_cache
from typing import Any, NamedTuple

import ahocorasick_rs
import numpy as np
import pandas as pd

from geo.arrays import object_array
from geo.gazetteer import Gazetteer, Region, load_gazetteer
from geo.names import PLACEHOLDERS, admin_short, town_aliases, town_forms, town_short_name, village_forms
from geo.normalise import normalise_many


class EntryKind(IntEnum):
    """What an index entry is, while building (one name may have entries of several kinds)."""

    ANCESTOR = 0  # the region's province or city (or a province region's cities): names no township
    COUNTY = 1
    COUNTY_SHORT = 2
    TOWN = 3
    TOWN_SHORT = 4
    VILLAGE = 5
    FOREIGN = 6  # a division outside the region
    FOREIGN_SHORT = 7
    FOREIGN_TWO = 8  # a two-character county outside (城区, 新县): counts only before a township-like name
    SHADOW = 9  # a township short name equal to a village form (not indexed as a township)
    TOWN_ETHNIC = 10  # an ethnic township's leading name + 乡/镇 (金坡乡 for 金坡苗族彝族满族乡)
    TOWN_SWAP = 11  # a township's name with 乡 and 镇 swapped (石门乡 for 石门镇)


class Category(IntEnum):
    """What a key means at match time (one per key, by precedence)."""

    COUNTY = 0
    FOREIGN = 1
    ANCESTOR = 2
    PLACE = 3  # a township, a township short name or a village


class Check(IntEnum):
    """The test a hit of a key must pass in its text to count (see geo.matching.passed_over)."""

    NONE = 0
    SHORT_NAME = 1  # first or right after another name; not before a road word, a house number or a town
    VILLAGE_FORM = 2  # not before 镇/乡
    TWO_CHARACTER_COUNTY = 3  # outside the region (城区, 新县): only before a township-like name


_N_KINDS = len(EntryKind)


@dataclass(frozen=True, slots=True)
class Key:
    """What one indexed string means (precomputed so matching does no set work per hit)."""

    cat: Category
    counties: tuple[str, ...] = ()
    towns: tuple[str, ...] = ()
    shorts: tuple[str, ...] = ()
    villages: tuple[str, ...] = ()
    shadow: tuple[str, ...] = ()  # township short names equal to this village form (not indexed as towns)
    foreign: str = ""
    check: Check = Check.NONE
    ethnic: tuple[str, ...] = ()  # ethnic townships this is the leading name + 乡/镇 of (no full name alike)
    swapped: tuple[str, ...] = ()  # townships this is the name of with 乡/镇 swapped (no full name alike)




@dataclass(frozen=True)
class RegionIndex:
    """Names of one region (and of everything outside it) ready for matching, built complete.

    Nothing is added after building but :attr:`stem_finders`, a memo of one small automaton per
    township whose village stems are looked for (made on first use: most townships never need one).
    """

    region: Region
    scope: str
    automaton: ahocorasick_rs.AhoCorasick  # pattern i is the name of keys[i]
    keys: list[Key]
    town_name: dict[str, str]
    village_name: dict[str, str]
    village_stems: dict[str, list[tuple[str, str]]]  # township code → (stem, village code), longest first
    county_name: dict[str, str]
    town_key: dict[str, str]  # township code → normalised name
    short_name: dict[str, str]  # township code → short name as written (石羊), the name when it has none
    short_key: dict[str, str]  # township code → normalised short name
    stem_codes: dict[str, tuple[str, ...]]  # village stem → village codes
    names_hold_digits: bool  # a name such as 黄寺大街24号社区 (the geocoder then keeps digits as written)
    table: KeyTable  # the keys as arrays, for the array matcher
    stem_finders: dict[str, tuple[ahocorasick_rs.AhoCorasick, list[int]]] = field(default_factory=dict)


class _Entries(NamedTuple):
    """Index entries while building, in the order they are added: one per key, kind and code."""

    key: np.ndarray  # normalised name (object)
    kind: np.ndarray  # EntryKind.ANCESTOR ... EntryKind.SHADOW (int)
    code: np.ndarray  # division code (object)


def _entries(keys: Sequence[str] | np.ndarray, kind: int | Sequence[int],
             codes: Sequence[str] | np.ndarray) -> _Entries:
    """Entries for the keys long enough to be indexed (two characters or more).

    Parameters
    ----------
    keys : sequence of str
        Normalised names.
    kind : int or sequence of int
        Entry kind, one for all keys or one per key.
    codes : sequence of str
        Division code of each key.

    Returns
    -------
    _Entries
    """
    key, code = object_array(keys), object_array(codes)
    kinds = np.broadcast_to(np.asarray(kind, dtype=np.int64), key.shape)
    long = np.fromiter(map(len, key), dtype=np.int64, count=len(key)) >= 2
    return _Entries(key[long], kinds[long], code[long])


def _concat(parts: Sequence[_Entries]) -> _Entries:
    """The entries of ``parts``, one after another."""
    return _Entries(*(np.concatenate(column) for column in zip(*parts, strict=True)))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while an index is built, then count what it built as old.

    Building allocates some 10^5 keys, lists and tuples per province: the collections they would
    trigger, and the one after of all the new objects, traverse every live object (a tenth of the
    build time, more in a process holding more). The index holds no reference cycles and lives on in
    the cache, so its objects go straight to the oldest generation (``freeze`` + ``unfreeze``; not
    when objects are frozen already), as they would after surviving two collections.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


@lru_cache(maxsize=16)
@_gc_paused()
def region_index(code: str) -> RegionIndex:
    """Build (once per region, cached) the name index for a region code.

    Parameters
    ----------
    code : str
        Division code of the region (2, 4, 6 or 9 digits).

    Returns
    -------
    RegionIndex
    """
    gaz = load_gazetteer()
    region = gaz.region(code)
    scope = code[:6] if len(code) > 6 else code
    counties = gaz.counties_in(scope)
    towns = gaz.townships_in(scope)

    # Ancestors (province, city) and, for a province region, its cities: they name no township.
    admin = [(scope[:n], gaz.name_of(scope[:n])) for n in (2, 4) if n < len(scope) or n == len(scope) < 6]
    if len(scope) == 2:
        cities = gaz.cities.loc[gaz.cities["code"].str.startswith(scope)]
        admin += list(zip(cities["code"].tolist(), cities["name"].tolist(), strict=True))
    ancestor = _ancestor_entries(admin)
    county_name = dict(zip(counties["code"].tolist(), counties["name"].tolist(), strict=True))
    county = _entries(normalise_many(list(county_name.values())), EntryKind.COUNTY, list(county_name))
    county_short = _by_short_name({c: s for c, name in county_name.items() if (s := admin_short(name))})
    town_name = dict(zip(towns["code"].tolist(), towns["name"].tolist(), strict=True))
    town, town_short = _town_entries(town_name)
    village, village_name, village_stems = _village_entries(gaz.villages_in(scope))

    # Short forms only where they collide with no fuller in-scope name; a township short name equal
    # to a village form is remembered (a "shadow") so that such a text is reported as ambiguous.
    village_keys = set(village.key)
    fuller = set(county.key) | set(town.key[town.kind == EntryKind.TOWN])
    town_shorts = _town_short_entries(town_short, village_keys, fuller)
    taken = village_keys  # grows to every in-scope key (not copied: it holds 10^5)
    taken.update(ancestor.key, town.key, fuller, town_shorts.key)
    county_shorts = _unique_shorts(county_short, EntryKind.COUNTY_SHORT, taken)
    taken.update(county_shorts.key)

    entries = _concat([ancestor, county, town, village, town_shorts, county_shorts,
                       _foreign_entries(gaz, scope, taken)])
    patterns, keys = _compile_keys(entries)
    automaton = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
    town_key = dict(zip(town_name, normalise_many(list(town_name.values())), strict=True))
    short_name = {c: town_short_name(name) for c, name in town_name.items()}
    short_key = dict(zip(short_name, normalise_many(list(short_name.values())), strict=True))
    return RegionIndex(region=region, scope=scope, automaton=automaton, keys=keys,
                       town_name=town_name, village_name=village_name, village_stems=village_stems,
                       county_name=county_name, town_key=town_key, short_name=short_name, short_key=short_key,
                       stem_codes=_stem_codes(village_stems),
                       names_hold_digits=re.search("[0-9]", "".join(patterns)) is not None,
                       table=_key_table(keys, town_name, village_name, village_stems, town_key, short_name, short_key))


def _stem_codes(village_stems: dict[str, list[tuple[str, str]]]) -> dict[str, tuple[str, ...]]:
    """Village codes by bare stem, over every township."""
    table: dict[str, list[str]] = {}
    for pairs in village_stems.values():
        for stem, code in pairs:
            table.setdefault(stem, []).append(code)
    return {k: tuple(sorted(v)) for k, v in table.items()}


def _ancestor_entries(frame_codes: list[tuple[str, str]]) -> _Entries:
    """Full and short names of the region's ancestors (and of a province's cities), placeholders left out."""
    forms, codes = [], []
    for c, name in frame_codes:
        if name in PLACEHOLDERS:
            continue
        short = admin_short(name)
        forms += [name, short] if short else [name]
        codes += [c, c] if short else [c]
    return _entries(normalise_many(forms), EntryKind.ANCESTOR, codes)


def _town_entries(town_name: dict[str, str]) -> tuple[_Entries, dict[str, list[str]]]:
    """Entries of the full forms of every township (see :func:`town_forms`) and of the forms a county
    writes it in (:func:`town_aliases`), and codes by short name."""
    forms, codes, kinds, stems = [], [], [], {}
    for c, name in town_name.items():
        full, stem = town_forms(name)
        ethnic, swapped = town_aliases(name)
        forms += full + ethnic + swapped
        codes += [c] * (len(full) + len(ethnic) + len(swapped))
        kinds += ([EntryKind.TOWN] * len(full) + [EntryKind.TOWN_ETHNIC] * len(ethnic)
                  + [EntryKind.TOWN_SWAP] * len(swapped))
        if stem:
            stems[c] = stem
    return _entries(normalise_many(forms), kinds, codes), _by_short_name(stems)


def _by_short_name(shorts: dict[str, str]) -> dict[str, list[str]]:
    """Codes by normalised short name (``shorts`` maps each code to its short name)."""
    grouped: dict[str, list[str]] = {}
    for key, c in zip(normalise_many(list(shorts.values())), shorts, strict=True):
        grouped.setdefault(key, []).append(c)
    return grouped


def _town_short_entries(town_short: dict[str, list[str]], village_keys: set[str], fuller: set[str]
                        ) -> _Entries:
    """Township short names: a shadow where a village form is the same, none where a fuller name is."""
    keys, kinds, codes = [], [], []
    for key, short_codes in town_short.items():
        if key in village_keys or key not in fuller:
            keys += [key] * len(short_codes)
            kinds += [EntryKind.SHADOW if key in village_keys else EntryKind.TOWN_SHORT] * len(short_codes)
            codes += short_codes
    return _entries(keys, kinds, codes)


def _unique_shorts(shorts: dict[str, list[str]], kind: int, *taken: set[str]) -> _Entries:
    """Entries for the short names that belong to one division and are no other key (in ``taken``)."""
    unique = {key: codes[0] for key, codes in shorts.items()
              if len(codes) == 1 and not any(key in keys for keys in taken)}
    return _entries(list(unique), kind, list(unique.values()))


def _village_entries(villages: pd.DataFrame
                     ) -> tuple[_Entries, dict[str, str], dict[str, list[tuple[str, str]]]]:
    """Entries of the village forms, names by code, and bare stems by township code (longest first).

    Parameters
    ----------
    villages : pandas.DataFrame
        Committees of the region (``code``, ``name``, ``kind``).

    Returns
    -------
    entries : _Entries
        Each committee's forms (see :func:`village_forms`) in turn.
    village_name : dict
    village_stems : dict
    """
    codes = villages["code"].to_numpy(dtype=object)
    names = villages["name"].to_numpy(dtype=object)
    # Forms are worked out once per distinct (name, kind): a third of a province's committees share theirs.
    shape = villages.groupby(["name", "kind"], sort=False, dropna=False).ngroup().to_numpy()
    first = np.unique(shape, return_index=True)[1]
    kinds = villages["kind"].to_numpy(dtype=object)
    shapes = list(map(village_forms, names[first].tolist(), kinds[first].tolist()))
    n_forms = np.fromiter((len(forms) for forms, _ in shapes), dtype=np.int64, count=len(shapes))
    folded = object_array(normalise_many([form for forms, _ in shapes for form in forms]))
    per_village = n_forms[shape]
    at = _ranges(starts=(np.cumsum(n_forms) - n_forms)[shape], lengths=per_village)
    entries = _entries(folded[at], EntryKind.VILLAGE, np.repeat(codes, per_village))

    # Bare stems (of two characters or more before normalising), grouped by township, longest first.
    stems = [stem for _, stem in shapes]
    has_stem = (np.fromiter(map(len, stems), dtype=np.int64, count=len(stems)) >= 2)[shape]
    stem, code = object_array(normalise_many(stems))[shape[has_stem]], codes[has_stem]
    town_id, town = pd.factorize(villages["code"].str.slice(0, 9)[has_stem])
    length = np.fromiter(map(len, stem), dtype=np.int64, count=len(stem))
    order = np.argsort(town_id * (length.max(initial=0) + 1) - length, kind="stable")
    listed = list(zip(stem[order].tolist(), code[order].tolist(), strict=True))
    bounds = np.searchsorted(town_id[order], np.arange(len(town) + 1)).tolist()
    village_stems = {t: listed[bounds[i]:bounds[i + 1]] for i, t in enumerate(town.tolist())}
    return entries, dict(zip(codes.tolist(), names.tolist(), strict=True)), village_stems


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``range(start, start + length)`` for each start and length, one after another."""
    ends = np.cumsum(lengths)
    out: np.ndarray = np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - lengths - starts, lengths)
    return out


def _foreign_entries(gaz: Gazetteer, scope: str, taken: set[str]) -> _Entries:
    """Divisions outside the region: full names (and province/city short forms), never in-scope keys."""
    div = _divisions(gaz)
    inside = div["code"].str.startswith(scope) | div["code"].isin([scope[:2], scope[:4], scope[:6]])
    taken_key = np.fromiter(map(taken.__contains__, div["key"].tolist()), dtype=bool, count=len(div))
    div = div[~(inside | div["placeholder"]).to_numpy() & ~taken_key]
    foreign = _entries(div["key"].to_numpy(), div["kind"].to_numpy(), div["code"].to_numpy())
    shorts: dict[str, list[str]] = {}
    for short, c in zip(div["short"].tolist(), div["code"].tolist(), strict=True):
        if short is not None:
            shorts.setdefault(short, []).append(c)
    return _concat([foreign, _unique_shorts(shorts, EntryKind.FOREIGN_SHORT, taken, set(foreign.key))])


@lru_cache(maxsize=1)
def _divisions(gaz: Gazetteer) -> pd.DataFrame:
    """Every province, city and county, as region indexes see those outside them.

    Columns ``code``, ``name``, ``key`` (normalised name), ``kind`` (EntryKind.FOREIGN; EntryKind.FOREIGN_TWO for 城区,
    东区, 新县: two-character county names count only before a township-like name), ``short``
    (normalised short name of a province or city, else None) and ``placeholder`` (市辖区...).
    """
    parts = []
    for frame, n in ((gaz.provinces, 2), (gaz.cities, 4), (gaz.counties, 6)):
        names = frame["name"].tolist()
        shorts = [admin_short(name) if n < 6 else None for name in names]
        folded = [f if short else None for f, short in zip(normalise_many([s or "" for s in shorts]), shorts,
                                                           strict=True)]
        parts.append(pd.DataFrame({
            "code": frame["code"].tolist(),
            "name": names,
            "key": normalise_many(names),
            "kind": [EntryKind.FOREIGN_TWO if n == 6 and len(name) <= 2 else EntryKind.FOREIGN for name in names],
            "short": pd.Series(folded, dtype=object),
            "placeholder": [name in PLACEHOLDERS for name in names],
        }))
    return pd.concat(parts, ignore_index=True)


def _compile_keys(entries: _Entries) -> tuple[list[str], list[Key]]:
    """The patterns (distinct keys, in order of their first entry) and what each means (:func:`_compile_key`).

    An entry repeated for a key counts once. Keys with the same entries (a village's 村 and 村委会
    forms) share one ``Key`` (immutable).
    """
    key_id, patterns = pd.factorize(entries.key)
    code_id, codes = pd.factorize(entries.code)
    first = ~pd.Series((key_id * _N_KINDS + entries.kind) * len(codes) + code_id).duplicated().to_numpy()
    key_id, kind, code_id = key_id[first], entries.kind[first], code_id[first]
    keys = np.empty(len(patterns), dtype=object)

    # Keys of one entry (nine in ten): a Key per distinct (kind, code), most of them a village's.
    one = np.bincount(key_id, minlength=len(patterns))[key_id] == 1
    meaning_id, meaning = pd.factorize(kind[one] * len(codes) + code_id[one])
    meant_kind, meant_code = meaning // len(codes), codes[meaning % len(codes)]
    made = np.empty(len(meaning), dtype=object)
    for k in np.unique(meant_kind).tolist():
        made[meant_kind == k] = _keys_of_one(k, meant_code[meant_kind == k].tolist())
    keys[key_id[one]] = made[meaning_id]

    # Keys of several entries: a Key per distinct list of entries. Villages only (nineteen in
    # twenty: villages of the same name) mean their codes, sorted, as in _compile_key.
    rows = np.flatnonzero(~one)
    rows = rows[np.argsort(key_id[rows], kind="stable")]
    starts = np.flatnonzero(np.diff(key_id[rows], prepend=-1))
    bounds = list(zip(starts.tolist(), [*starts[1:].tolist(), len(rows)], strict=True))
    kinds, several = kind[rows].tolist(), codes[code_id[rows]].tolist()
    meanings: list[tuple[Any, ...]] = [tuple(sorted(several[start:stop])) for start, stop in bounds]
    mixed: dict[tuple[Any, ...], None] = {}
    for i in np.flatnonzero(np.add.reduceat(kind[rows] != EntryKind.VILLAGE, starts) if len(rows) else []).tolist():
        start, stop = bounds[i]
        meanings[i] = tuple(zip(kinds[start:stop], several[start:stop], strict=True))
        mixed[meanings[i]] = None
    villages = [meaning for meaning in dict.fromkeys(meanings) if meaning not in mixed]
    compiled = dict(zip(villages, _many_keys(len(villages), cat=itertools.repeat(Category.PLACE), villages=villages,
                                             check=itertools.repeat(Check.VILLAGE_FORM)), strict=True))
    compiled.update((meaning, _compile_key(meaning)) for meaning in mixed)
    keys[key_id[rows[starts]]] = list(map(compiled.__getitem__, meanings))
    return patterns.tolist(), keys.tolist()


def _many_keys(n: int, **columns: Iterable[object]) -> list[Key]:
    """``n`` keys, given the values of some fields (the others take their default).

    Parameters
    ----------
    n : int
    **columns : iterable
        The values of a field, one per key (``itertools.repeat(value)``: the same for all).

    Returns
    -------
    list of Key
        As ``Key(**fields)`` n times, but faster: positional arguments, and no Python loop.
    """
    return list(map(Key, *(columns.get(f.name, itertools.repeat(f.default, n)) for f in fields(Key))))




# A key of one entry, by the entry's kind: its category, the field that holds the code, and its check
# (EntryKind.ANCESTOR, EntryKind.SHADOW: Key(Category.ANCESTOR)). What _compile_key answers, without the set work.
_ONE_ENTRY: dict[int, tuple[Category, str, Check]] = {
    EntryKind.COUNTY: (Category.COUNTY, "counties", Check.NONE),
    EntryKind.COUNTY_SHORT: (Category.COUNTY, "counties", Check.SHORT_NAME),
    EntryKind.FOREIGN: (Category.FOREIGN, "foreign", Check.NONE),
    EntryKind.FOREIGN_SHORT: (Category.FOREIGN, "foreign", Check.SHORT_NAME),
    EntryKind.FOREIGN_TWO: (Category.FOREIGN, "foreign", Check.TWO_CHARACTER_COUNTY),
    EntryKind.TOWN: (Category.PLACE, "towns", Check.NONE),
    EntryKind.TOWN_SHORT: (Category.PLACE, "shorts", Check.SHORT_NAME),
    EntryKind.VILLAGE: (Category.PLACE, "villages", Check.VILLAGE_FORM),
    EntryKind.TOWN_ETHNIC: (Category.PLACE, "ethnic", Check.NONE),
    EntryKind.TOWN_SWAP: (Category.PLACE, "swapped", Check.NONE),
}


def _keys_of_one(kind: int, codes: list[str]) -> list[Key]:
    """What a key means that has one entry, of this kind, for each of these codes."""
    if kind not in _ONE_ENTRY:
        return [Key(Category.ANCESTOR)] * len(codes)
    cat, holder, check = _ONE_ENTRY[kind]
    held = codes if holder == "foreign" else zip(codes)  # a code, or a tuple of one
    return _many_keys(len(codes), cat=itertools.repeat(cat), check=itertools.repeat(check), **{holder: held})


def _compile_key(lst: Sequence[tuple[int, str]]) -> Key:
    if len(lst) == 1:  # most names mean one thing
        return _keys_of_one(lst[0][0], [lst[0][1]])[0]
    kinds = {k for k, _ in lst}

    def codes(*wanted: int) -> tuple[str, ...]:
        return tuple(sorted({c for k, c in lst if k in wanted}))

    if kinds & {EntryKind.COUNTY, EntryKind.COUNTY_SHORT}:
        return Key(Category.COUNTY, counties=codes(EntryKind.COUNTY, EntryKind.COUNTY_SHORT),
                   check=Check.SHORT_NAME if EntryKind.COUNTY not in kinds else Check.NONE)
    if kinds & {EntryKind.FOREIGN, EntryKind.FOREIGN_SHORT, EntryKind.FOREIGN_TWO}:
        if EntryKind.FOREIGN in kinds:
            check = Check.NONE
        else:
            check = Check.TWO_CHARACTER_COUNTY if EntryKind.FOREIGN_TWO in kinds else Check.SHORT_NAME
        foreign = codes(EntryKind.FOREIGN, EntryKind.FOREIGN_SHORT, EntryKind.FOREIGN_TWO)[0]
        return Key(Category.FOREIGN, foreign=foreign, check=check)
    aliases = {EntryKind.TOWN_ETHNIC, EntryKind.TOWN_SWAP}
    if kinds & ({EntryKind.TOWN, EntryKind.TOWN_SHORT, EntryKind.VILLAGE} | aliases):
        if kinds & ({EntryKind.TOWN} | aliases):
            check = Check.NONE
        elif EntryKind.TOWN_SHORT in kinds:
            check = Check.SHORT_NAME
        else:
            check = Check.VILLAGE_FORM
        # A township's own name wins over another's alias (and the leading name over a swap).
        ethnic = codes(EntryKind.TOWN_ETHNIC) if EntryKind.TOWN not in kinds else ()
        swapped = codes(EntryKind.TOWN_SWAP) if not kinds & {EntryKind.TOWN, EntryKind.TOWN_ETHNIC} else ()
        return Key(Category.PLACE, towns=codes(EntryKind.TOWN), shorts=codes(EntryKind.TOWN_SHORT),
                   villages=codes(EntryKind.VILLAGE), shadow=codes(EntryKind.SHADOW), check=check,
                   ethnic=ethnic, swapped=swapped)
    return Key(Category.ANCESTOR)


@dataclass(frozen=True)
class KeyTable:
    """The keys of an index as arrays, for the array matcher (:mod:`geo.batch`). A key's township codes are
    ``town_code[town_start[k]:town_start[k + 1]]``; likewise the townships it names by their short
    form, its counties and its villages (codes as integers)."""

    cat: np.ndarray  # int8, Category
    check: np.ndarray  # int8, Check
    shadowed: np.ndarray  # bool: a township's short name equals this village form
    aliased: np.ndarray  # bool: an alias of a township (its leading name, 乡/镇 swapped)
    swap_start: np.ndarray  # the townships a key names with 乡/镇 swapped, as town_start/town_code
    swap_code: np.ndarray
    foreign: np.ndarray  # object: the outside division a foreign key names ("" for the others)
    town_start: np.ndarray
    town_code: np.ndarray
    short_start: np.ndarray
    short_code: np.ndarray
    county_start: np.ndarray
    county_code: np.ndarray
    village_start: np.ndarray
    village_code: np.ndarray
    towns: np.ndarray  # int64, sorted: the region's township codes
    stem_starts: np.ndarray  # int64, sorted: (position in towns << 42) | first two characters of each village stem
    # object, aligned with towns: code, county code, name, normalised name, normalised short name, short name
    town_text: np.ndarray
    villages: np.ndarray  # int64, sorted: the region's village codes
    village_text: np.ndarray  # object, aligned with villages: [code, name] per row


def _key_table(keys: list[Key], town_name: dict[str, str], village_name: dict[str, str],
               village_stems: dict[str, list[tuple[str, str]]], town_key: dict[str, str],
               short_name: dict[str, str], short_key: dict[str, str]) -> KeyTable:
    """The keys and the region's townships and villages as arrays (see :class:`KeyTable`)."""

    def flat(field: str) -> tuple[np.ndarray, np.ndarray]:
        lists = [getattr(k, field) for k in keys]
        start = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, lists), dtype=np.int64, count=len(lists)), out=start[1:])
        return start, np.fromiter((int(c) for codes in lists for c in codes), dtype=np.int64, count=int(start[-1]))

    def columns(*values: list[str]) -> np.ndarray:
        out = np.empty((len(values[0]), len(values)), dtype=object)
        for j, column in enumerate(values):
            out[:, j] = column
        return out

    # Codes of one level have one length, so sorting the strings sorts the numbers.
    town_codes, village_codes = sorted(town_name), sorted(village_name)
    position = {c: i for i, c in enumerate(town_codes)}
    stem_starts = np.unique(np.array(
        [(position[t] << 42) | (ord(stem[0]) << 21) | ord(stem[1])
         for t, stems in village_stems.items() if t in position for stem, _ in stems], dtype=np.int64))
    (town_start, town_code), (short_start, short_code), (county_start, county_code), (village_start, village_code) = (
        flat("towns"), flat("shorts"), flat("counties"), flat("villages"))
    swap_start, swap_code = flat("swapped")
    foreign = np.empty(len(keys), dtype=object)
    foreign[:] = [k.foreign for k in keys]
    return KeyTable(
        cat=np.fromiter((k.cat for k in keys), dtype=np.int8, count=len(keys)),
        check=np.fromiter((k.check for k in keys), dtype=np.int8, count=len(keys)),
        shadowed=np.fromiter((bool(k.shadow) for k in keys), dtype=bool, count=len(keys)),
        aliased=np.fromiter((bool(k.ethnic or k.swapped) for k in keys), dtype=bool, count=len(keys)),
        swap_start=swap_start, swap_code=swap_code,
        foreign=foreign,
        town_start=town_start, town_code=town_code, short_start=short_start, short_code=short_code,
        county_start=county_start, county_code=county_code, village_start=village_start, village_code=village_code,
        towns=np.array(town_codes, dtype=np.int64), stem_starts=stem_starts,
        town_text=columns(town_codes, [c[:6] for c in town_codes], [town_name[c] for c in town_codes],
                          [town_key[c] for c in town_codes], [short_key[c] for c in town_codes],
                          [short_name[c] for c in town_codes]),
        villages=np.array(village_codes, dtype=np.int64),
        village_text=columns(village_codes, [village_name[c] for c in village_codes]),
    )
