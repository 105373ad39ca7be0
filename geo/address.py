"""Offline parsing of Chinese addresses and facility names to township and village codes.

A per-region index of division names (province, city, county, township and village, in full and
short forms, plus the names of divisions *outside* the region) is matched with an Aho–Corasick
automaton (leftmost-longest, ``ahocorasick_rs``) over normalised text (NFKC, whitespace and punctuation
removed, traditional characters folded to simplified ones). Names are resolved hierarchically:
county → township → village.
Ambiguity is reported, never guessed.
"""

from __future__ import annotations

import gc
import itertools
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from functools import cache, lru_cache
from typing import Any, NamedTuple

import ahocorasick_rs
import numpy as np
import pandas as pd

from geo.gazetteer import Gazetteer, Region, load_gazetteer

# --------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------

_PUNCT = " \t\r\n\u3000\u00a0,.;:!?'\"()[]{}<>-_/\\|#*~`^+=&%$@，。；：！？、“”‘’（）【】《》〈〉「」『』·…—－～"


@lru_cache(maxsize=1)
def _translation() -> dict[int, int | None]:
    """One ``str.translate`` table: traditional → simplified (OpenCC character table), punctuation out."""
    import opencc

    path = os.path.join(os.path.dirname(opencc.__file__), "dictionary", "TSCharacters.txt")
    table: dict[int, int | None] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2 or len(parts[0]) != 1:
                continue
            target = parts[1].split(" ")[0]
            if len(target) == 1 and target != parts[0]:
                table[ord(parts[0])] = ord(target)
    for ch in _PUNCT:
        table[ord(ch)] = None
    return table


def normalise(text: object) -> str:
    """Fold an address for matching: NFKC (full-width → ASCII), no whitespace or punctuation,
    traditional characters → simplified.

    The same folding is applied to gazetteer names, so a character the table maps (乾 → 干) matches
    consistently on both sides; output names always come from the gazetteer unchanged.

    Parameters
    ----------
    text : object
        Any cell value; None/NaN give "".

    Returns
    -------
    str
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    s = str(text)
    if not s or s in ("<NA>", "nan", "None"):
        return ""
    return unicodedata.normalize("NFKC", s).translate(_translation())


_SEP = "\x00"  # a starter character NFKC leaves alone and the translation table keeps
_MISSING = frozenset(("<NA>", "nan", "None"))  # what missing cells read as once made text


@lru_cache(maxsize=1)
def _lookup() -> np.ndarray:
    """The translation table as a code-point lookup array (0 = delete; NUL itself is kept by the caller)."""
    lut = np.arange(0x110000, dtype=np.uint32)
    for k, v in _translation().items():
        lut[k] = 0 if v is None else v
    return lut


def _translate_joined(text: str, fold_digits: bool = False) -> str:
    """``text.translate(_translation())`` on a long string, as one NumPy gather (the text holds NUL separators).

    ``fold_digits``: each run of ASCII digits becomes one "0" (see :func:`normalise_many`).
    """
    if len(text) < 256:
        out = text.translate(_translation())
        return _DIGIT_RUN.sub("0", out) if fold_digits else out
    try:
        raw = text.encode("utf-32-le")
    except UnicodeEncodeError:  # lone surrogates (undecodable bytes kept by the reader)
        out = text.translate(_translation())
        return _DIGIT_RUN.sub("0", out) if fold_digits else out
    codes = np.frombuffer(raw, dtype=np.uint32)
    mapped = _lookup()[codes]
    keep = (mapped != 0) | (codes == 0)
    mapped = mapped[keep]
    if fold_digits:
        digit = (mapped >= ord("0")) & (mapped <= ord("9"))
        run_on = digit.copy()
        run_on[1:] &= digit[:-1]
        mapped[digit] = ord("0")
        mapped = mapped[~run_on]
    return mapped.tobytes().decode("utf-32-le")


_DIGIT_RUN = re.compile(r"[0-9]+")


def normalise_many(values: list[str], *, fold_digits: bool = False) -> list[str]:
    """:func:`normalise` over a list of strings at once (one NFKC and one translate call in C).

    Parameters
    ----------
    values : list of str
        Cell values already converted to ``str`` ("" for missing).
    fold_digits : bool, default False
        Also write each run of digits as one "0" (育才路12号 and 育才路7号 then share one answer and
        one cache entry). For matching only, where no division name of the region holds a digit
        (a few in 北京 do: 黄寺大街24号社区): matching never reads a digit's value, only that a number
        stands before 号/组.

    Returns
    -------
    list of str
        ``[normalise(v) for v in values]``, computed on the joined text.
    """
    if not values:
        return []
    quick, nfkc = unicodedata.is_normalized, unicodedata.normalize
    joined = _SEP.join([v if quick("NFKC", v) else nfkc("NFKC", v) for v in values])
    if joined.count(_SEP) != len(values) - 1:  # a value holds the separator itself: one by one
        out = [normalise(v) for v in values]
        return [_DIGIT_RUN.sub("0", v) for v in out] if fold_digits else out
    out = _translate_joined(joined, fold_digits).split(_SEP)
    if len(out) != len(values):
        out = [normalise(v) for v in values]
        return [_DIGIT_RUN.sub("0", v) for v in out] if fold_digits else out
    if not _MISSING.isdisjoint(values):  # ("" folds to "" by itself)
        for i, v in enumerate(values):
            if v in _MISSING:
                out[i] = ""
    return out


# --------------------------------------------------------------------------------------------------
# Name forms
# --------------------------------------------------------------------------------------------------

_ETHNIC = r"(?:[\u4e00-\u9fff]{1,4}?族)+"
_ADMIN_SUFFIX = re.compile(
    rf"^(?P<stem>[\u4e00-\u9fff]{{2,}}?)(?:{_ETHNIC}自治(?:州|县|旗)|壮族自治区|回族自治区|维吾尔自治区|自治区"
    r"|特别行政区|省|市|自治州|地区|盟|县|区|旗|特区|林区)$"
)
_TOWN_SUFFIX = re.compile(
    rf"^(?P<stem>[\u4e00-\u9fff0-9]{{2,}}?)(?:街道办事处|街道办|街道|办事处|{_ETHNIC}乡|民族乡|镇|乡|苏木)$"
)
_VILLAGE_SUFFIX = re.compile(
    r"(?:村民委员会|村民委会|村委会|社区居民委员会|社区居民委会|社区居委会|社区居委会会|居民委员会|居委会|委员会|村|社区|嘎查)$"
)
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
# What may not follow a short name: it is then part of another name (a road, a former township...).
_NOT_AFTER = ("镇", "乡", "村", "街", "路", "巷", "道", "区", "县", "市", "社区", "居委", "大道", "大街", "院")
_UNKNOWN_TOWN = re.compile(r"^[\u4e00-\u9fff]{1,2}(?:镇|乡|街道)")
# Every full village form holds one of these (村, 社区, 居委会, 嘎查, or the official ...委员会).
_NAMES_A_VILLAGE = re.compile("村|社区|居委|嘎查|委员会")
# What may follow a bare village stem for it to be read as one (see _leading_stem).
_AFTER_BARE_STEM = re.compile(r"(?:$|[0-9一二三四五六七八九十]+(?:组|社|队)|组|互助|农村|幸福院|党群|综合服务|日间照料"
                              r"|居家养老|儿童之家|老年活动)")
# A house number (12号, 3弄, 5栋): the name before it is a road's (山林8组 is a village group: kept).
_HOUSE_NUMBER = re.compile(r"\d+(?:号|弄|栋|幢|号楼)")
_TOWN_TOKEN = re.compile(r"^([\u4e00-\u9fff]{2,5}?(?:街道办事处|街道|镇|乡))")


def _admin_short(name: str) -> str | None:
    m = _ADMIN_SUFFIX.match(name)
    return m.group("stem") if m and len(m.group("stem")) >= 2 else None


def _town_forms(name: str) -> tuple[list[str], str | None]:
    """Full forms (name, 街道办事处 variants) and the short stem of a township name."""
    full = [name]
    m = _TOWN_SUFFIX.match(name)
    stem = m.group("stem") if m else None
    if name.endswith("街道"):
        full += [name + "办事处", name[:-2] + "办事处", name[:-2] + "街办", name + "办"]
    elif name.endswith("办事处"):
        full += [name[:-3] + "街道", name[:-3] + "街道办事处"]
    if stem is not None and len(stem) < 2:
        stem = None
    return full, stem


def _village_forms(name: str, kind: str) -> tuple[list[str], str]:
    """Forms of a committee name (official, 村/社区 form, 居委会 form) and its bare stem."""
    stem = name
    stems = []
    for _ in range(3):
        new = _VILLAGE_SUFFIX.sub("", stem)
        if new == stem or len(new) < 1:
            break
        stem = new
        stems.append(stem)
    forms = {name}
    if kind == "community" or "社区" in name:
        # Every stripping stage of a community: 孔雀村社区居民委员会 is written 孔雀村社区 as well as 孔雀社区.
        for s in stems or [stem]:
            forms |= {s + "社区", s + "居委会", s + "社区居委会"}
    elif "嘎查" in name:
        forms |= {stem + "嘎查"}
    elif "村" in name:
        forms |= {stem + "村", stem + "村委会"}
    else:
        forms |= {stem}
    return sorted(forms), stem


# --------------------------------------------------------------------------------------------------
# The region index
# --------------------------------------------------------------------------------------------------

# Entry kinds while building.
ANCESTOR, COUNTY, COUNTY_SHORT, TOWN, TOWN_SHORT, VILLAGE, FOREIGN, FOREIGN_SHORT, FOREIGN_TWO, SHADOW = range(10)
_N_KINDS = SHADOW + 1
# Token categories at match time (one per key, by precedence).
_C_COUNTY, _C_FOREIGN, _C_ANCESTOR, _C_PLACE = range(4)


@dataclass(frozen=True, slots=True)
class _Key:
    """What one indexed string means (precomputed so matching does no set work per hit)."""

    cat: int
    counties: tuple[str, ...] = ()
    towns: tuple[str, ...] = ()
    shorts: tuple[str, ...] = ()
    villages: tuple[str, ...] = ()
    shadow: tuple[str, ...] = ()  # township short names equal to this village form (not indexed as towns)
    foreign: str = ""
    check: int = 0  # 0 none, 1 short name (boundary check), 2 village form, 3 two-character foreign county


@dataclass
class RegionIndex:
    """Names of one region (and of everything outside it) ready for matching."""

    region: Region
    scope: str
    automaton: ahocorasick_rs.AhoCorasick  # pattern i is the name of keys[i]
    keys: list[_Key]
    town_name: dict[str, str]
    village_name: dict[str, str]
    village_stems: dict[str, list[tuple[str, str]]]
    county_name: dict[str, str]
    town_key: dict[str, str] = field(default_factory=dict)  # township code → normalised name
    short_key: dict[str, str] = field(default_factory=dict)  # township code → normalised short name (lazy)
    stem_codes: dict[str, tuple[str, ...]] | None = None  # village stem → village codes (built on first use)
    names_hold_digits: bool = False  # a name such as 黄寺大街24号社区 (the geocoder then keeps digits as written)
    stem_finders: dict[str, tuple[ahocorasick_rs.AhoCorasick, list[int]]] = field(default_factory=dict)  # lazy
    table: _KeyTable | None = None  # the keys as arrays, for quick_answers (built on first use)


class _Entries(NamedTuple):
    """Index entries while building, in the order they are added: one per key, kind and code."""

    key: np.ndarray  # normalised name (object)
    kind: np.ndarray  # ANCESTOR ... SHADOW (int)
    code: np.ndarray  # division code (object)


def _entries(keys: Sequence[str], kind: int | Sequence[int], codes: Sequence[str]) -> _Entries:
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
    key, code = _object_array(keys), _object_array(codes)
    kinds = np.broadcast_to(np.asarray(kind, dtype=np.int64), key.shape)
    long = np.fromiter(map(len, key), dtype=np.int64, count=len(key)) >= 2
    return _Entries(key[long], kinds[long], code[long])


def _object_array(values: Sequence[str]) -> np.ndarray:
    """``values`` as a NumPy object array (as they are when they are one)."""
    if isinstance(values, np.ndarray):
        return values
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


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
        admin += gaz.cities.loc[gaz.cities["code"].str.startswith(scope), ["code", "name"]].to_numpy().tolist()
    ancestor = _ancestor_entries(admin)
    county_name = dict(zip(counties["code"].tolist(), counties["name"].tolist(), strict=True))
    county = _entries(normalise_many(list(county_name.values())), COUNTY, list(county_name))
    county_short = _by_short_name({c: s for c, name in county_name.items() if (s := _admin_short(name))})
    town_name = dict(zip(towns["code"].tolist(), towns["name"].tolist(), strict=True))
    town, town_short = _town_entries(town_name)
    village, village_name, village_stems = _village_entries(gaz.villages_in(scope))

    # Short forms only where they collide with no fuller in-scope name; a township short name equal
    # to a village form is remembered (a "shadow") so that such a text is reported as ambiguous.
    village_forms = set(village.key)
    fuller = set(county.key) | set(town.key)
    town_shorts = _town_short_entries(town_short, village_forms, fuller)
    taken = village_forms  # grows to every in-scope key (not copied: it holds 10^5)
    taken.update(ancestor.key, fuller, town_shorts.key)
    county_shorts = _unique_shorts(county_short, COUNTY_SHORT, taken)
    taken.update(county_shorts.key)

    entries = _concat([ancestor, county, town, village, town_shorts, county_shorts,
                       _foreign_entries(gaz, scope, taken)])
    patterns, keys = _compile_keys(entries)
    automaton = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
    return RegionIndex(region=region, scope=scope, automaton=automaton, keys=keys,
                       town_name=town_name, village_name=village_name, village_stems=village_stems,
                       county_name=county_name,
                       town_key=dict(zip(town_name, normalise_many(list(town_name.values())), strict=True)),
                       names_hold_digits=re.search("[0-9]", "".join(patterns)) is not None)


def _ancestor_entries(frame_codes: list[tuple[str, str]]) -> _Entries:
    """Full and short names of the region's ancestors (and of a province's cities), placeholders left out."""
    forms, codes = [], []
    for c, name in frame_codes:
        if name in _PLACEHOLDERS:
            continue
        short = _admin_short(name)
        forms += [name, short] if short else [name]
        codes += [c, c] if short else [c]
    return _entries(normalise_many(forms), ANCESTOR, codes)


def _town_entries(town_name: dict[str, str]) -> tuple[_Entries, dict[str, list[str]]]:
    """Entries of the full forms of every township (see :func:`_town_forms`), and codes by short name."""
    forms, codes, stems = [], [], {}
    for c, name in town_name.items():
        full, stem = _town_forms(name)
        forms += full
        codes += [c] * len(full)
        if stem:
            stems[c] = stem
    return _entries(normalise_many(forms), TOWN, codes), _by_short_name(stems)


def _by_short_name(shorts: dict[str, str]) -> dict[str, list[str]]:
    """Codes by normalised short name (``shorts`` maps each code to its short name)."""
    grouped: dict[str, list[str]] = {}
    for key, c in zip(normalise_many(list(shorts.values())), shorts, strict=True):
        grouped.setdefault(key, []).append(c)
    return grouped


def _town_short_entries(town_short: dict[str, list[str]], village_forms: set[str], fuller: set[str]
                        ) -> _Entries:
    """Township short names: a shadow where a village form is the same, none where a fuller name is."""
    keys, kinds, codes = [], [], []
    for key, short_codes in town_short.items():
        if key in village_forms or key not in fuller:
            keys += [key] * len(short_codes)
            kinds += [SHADOW if key in village_forms else TOWN_SHORT] * len(short_codes)
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
        Each committee's forms (see :func:`_village_forms`) in turn.
    village_name : dict
    village_stems : dict
    """
    codes = villages["code"].to_numpy(dtype=object)
    names = villages["name"].to_numpy(dtype=object)
    # Forms are worked out once per distinct (name, kind): a third of a province's committees share theirs.
    shape = villages.groupby(["name", "kind"], sort=False, dropna=False).ngroup().to_numpy()
    first = np.unique(shape, return_index=True)[1]
    kinds = villages["kind"].to_numpy(dtype=object)
    shapes = list(map(_village_forms, names[first].tolist(), kinds[first].tolist()))
    n_forms = np.fromiter((len(forms) for forms, _ in shapes), dtype=np.int64, count=len(shapes))
    folded = _object_array(normalise_many([form for forms, _ in shapes for form in forms]))
    per_village = n_forms[shape]
    at = _ranges(starts=(np.cumsum(n_forms) - n_forms)[shape], lengths=per_village)
    entries = _entries(folded[at], VILLAGE, np.repeat(codes, per_village))

    # Bare stems (of two characters or more before normalising), grouped by township, longest first.
    stems = [stem for _, stem in shapes]
    has_stem = (np.fromiter(map(len, stems), dtype=np.int64, count=len(stems)) >= 2)[shape]
    stem, code = _object_array(normalise_many(stems))[shape[has_stem]], codes[has_stem]
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
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - lengths - starts, lengths)


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
    return _concat([foreign, _unique_shorts(shorts, FOREIGN_SHORT, taken, set(foreign.key))])


@lru_cache(maxsize=1)
def _divisions(gaz: Gazetteer) -> pd.DataFrame:
    """Every province, city and county, as region indexes see those outside them.

    Columns ``code``, ``name``, ``key`` (normalised name), ``kind`` (FOREIGN; FOREIGN_TWO for 城区,
    东区, 新县: two-character county names count only before a township-like name), ``short``
    (normalised short name of a province or city, else None) and ``placeholder`` (市辖区...).
    """
    parts = []
    for frame, n in ((gaz.provinces, 2), (gaz.cities, 4), (gaz.counties, 6)):
        names = frame["name"].tolist()
        shorts = [_admin_short(name) if n < 6 else None for name in names]
        folded = [f if short else None for f, short in zip(normalise_many([s or "" for s in shorts]), shorts,
                                                           strict=True)]
        parts.append(pd.DataFrame({
            "code": frame["code"].tolist(),
            "name": names,
            "key": normalise_many(names),
            "kind": [FOREIGN_TWO if n == 6 and len(name) <= 2 else FOREIGN for name in names],
            "short": pd.Series(folded, dtype=object),
            "placeholder": [name in _PLACEHOLDERS for name in names],
        }))
    return pd.concat(parts, ignore_index=True)


def _compile_keys(entries: _Entries) -> tuple[list[str], list[_Key]]:
    """The patterns (distinct keys, in order of their first entry) and what each means (:func:`_compile_key`).

    An entry repeated for a key counts once. Keys with the same entries (a village's 村 and 村委会
    forms) share one ``_Key`` (immutable).
    """
    key_id, patterns = pd.factorize(entries.key)
    code_id, codes = pd.factorize(entries.code)
    first = ~pd.Series((key_id * _N_KINDS + entries.kind) * len(codes) + code_id).duplicated().to_numpy()
    key_id, kind, code_id = key_id[first], entries.kind[first], code_id[first]
    keys = np.empty(len(patterns), dtype=object)

    # Keys of one entry (nine in ten): a _Key per distinct (kind, code), most of them a village's.
    one = np.bincount(key_id, minlength=len(patterns))[key_id] == 1
    meaning_id, meaning = pd.factorize(kind[one] * len(codes) + code_id[one])
    meant_kind, meant_code = meaning // len(codes), codes[meaning % len(codes)]
    made = np.empty(len(meaning), dtype=object)
    for k in np.unique(meant_kind).tolist():
        made[meant_kind == k] = _keys_of_one(k, meant_code[meant_kind == k].tolist())
    keys[key_id[one]] = made[meaning_id]

    # Keys of several entries: a _Key per distinct list of entries. Villages only (nineteen in
    # twenty: villages of the same name) mean their codes, sorted, as in _compile_key.
    rows = np.flatnonzero(~one)
    rows = rows[np.argsort(key_id[rows], kind="stable")]
    starts = np.flatnonzero(np.diff(key_id[rows], prepend=-1))
    bounds = list(zip(starts.tolist(), [*starts[1:].tolist(), len(rows)], strict=True))
    kinds, several = kind[rows].tolist(), codes[code_id[rows]].tolist()
    meanings: list[tuple] = [tuple(sorted(several[start:stop])) for start, stop in bounds]
    mixed: dict[tuple[tuple[int, str], ...], None] = {}
    for i in np.flatnonzero(np.add.reduceat(kind[rows] != VILLAGE, starts) if len(rows) else []).tolist():
        start, stop = bounds[i]
        meanings[i] = tuple(zip(kinds[start:stop], several[start:stop], strict=True))
        mixed[meanings[i]] = None
    villages = [meaning for meaning in dict.fromkeys(meanings) if meaning not in mixed]
    compiled = dict(zip(villages, _many_keys(len(villages), cat=itertools.repeat(_C_PLACE), villages=villages,
                                             check=itertools.repeat(2)), strict=True))
    compiled.update((meaning, _compile_key(meaning)) for meaning in mixed)
    keys[key_id[rows[starts]]] = list(map(compiled.__getitem__, meanings))
    return patterns.tolist(), keys.tolist()


def _many_keys(n: int, **columns: Iterable) -> list[_Key]:
    """``n`` keys, given the values of some fields (the others take their default).

    Parameters
    ----------
    n : int
    **columns : iterable
        The values of a field, one per key (``itertools.repeat(value)``: the same for all).

    Returns
    -------
    list of _Key
        As ``_Key(**fields)`` n times, but faster: positional arguments, and no Python loop.
    """
    return list(map(_Key, *(columns.get(f.name, itertools.repeat(f.default, n)) for f in fields(_Key))))


# A name hit: (index into RegionIndex.keys, start, stop), character offsets, stop exclusive.
Hit = tuple[int, int, int]
_OTHER = "\x01"  # stands in for a character that must not complete a name (区域, see _match_text)


def scan(idx: RegionIndex, text: str) -> list[Hit]:
    """The leftmost-longest name hits in one normalised text.

    Parameters
    ----------
    idx : RegionIndex
    text : str
        Normalised (:func:`normalise`).

    Returns
    -------
    list of (int, int, int)
        Key index, start and stop (exclusive) of each hit, left to right, not overlapping. (One call
        per text costs about what one call over the texts joined does, without splitting the hits.)
    """
    return idx.automaton.find_matches_as_indexes(text) if text else []


# A key of one entry, by the entry's kind: its category, the field that holds the code, and its check
# (ANCESTOR, SHADOW: _Key(_C_ANCESTOR)). What _compile_key answers, without the set work.
_ONE_ENTRY = {
    COUNTY: (_C_COUNTY, "counties", 0), COUNTY_SHORT: (_C_COUNTY, "counties", 1),
    FOREIGN: (_C_FOREIGN, "foreign", 0), FOREIGN_SHORT: (_C_FOREIGN, "foreign", 1),
    FOREIGN_TWO: (_C_FOREIGN, "foreign", 3),
    TOWN: (_C_PLACE, "towns", 0), TOWN_SHORT: (_C_PLACE, "shorts", 1), VILLAGE: (_C_PLACE, "villages", 2),
}


def _keys_of_one(kind: int, codes: list[str]) -> list[_Key]:
    """What a key means that has one entry, of this kind, for each of these codes."""
    if kind not in _ONE_ENTRY:
        return [_Key(_C_ANCESTOR)] * len(codes)
    cat, holder, check = _ONE_ENTRY[kind]
    held = codes if holder == "foreign" else zip(codes)  # a code, or a tuple of one
    return _many_keys(len(codes), cat=itertools.repeat(cat), check=itertools.repeat(check), **{holder: held})


def _compile_key(lst: Sequence[tuple[int, str]]) -> _Key:
    if len(lst) == 1:  # most names mean one thing
        return _keys_of_one(lst[0][0], [lst[0][1]])[0]
    kinds = {k for k, _ in lst}

    def codes(*wanted: int) -> tuple[str, ...]:
        return tuple(sorted({c for k, c in lst if k in wanted}))

    if kinds & {COUNTY, COUNTY_SHORT}:
        return _Key(_C_COUNTY, counties=codes(COUNTY, COUNTY_SHORT),
                    check=1 if COUNTY not in kinds else 0)
    if kinds & {FOREIGN, FOREIGN_SHORT, FOREIGN_TWO}:
        check = 0 if FOREIGN in kinds else (3 if FOREIGN_TWO in kinds else 1)
        return _Key(_C_FOREIGN, foreign=codes(FOREIGN, FOREIGN_SHORT, FOREIGN_TWO)[0], check=check)
    if kinds & {TOWN, TOWN_SHORT, VILLAGE}:
        if TOWN in kinds:
            check = 0
        elif TOWN_SHORT in kinds:
            check = 1
        else:
            check = 2
        return _Key(_C_PLACE, towns=codes(TOWN), shorts=codes(TOWN_SHORT), villages=codes(VILLAGE),
                    shadow=codes(SHADOW), check=check)
    return _Key(_C_ANCESTOR)


# --------------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------------


@dataclass
class AddressMatch:
    """The answer for one address.

    Attributes
    ----------
    status : {"matched", "ambiguous", "unmatched", "out_of_region"}
    method : str
        How it was found ("address", "name", ...) or "" when nothing was found.
    county_code, township_code, township_name, village_code, village_name : str
        "" where unknown. ``township_code`` is set when ``status`` is "matched" (or "out_of_region"
        for a township of the same county outside a township-level region).
    note_zh, note_en : str
        Why, in plain words (the candidates when ambiguous, the unknown name when unmatched).
    candidates : list of str
        Township codes that tied or disagreed.
    unknown_town : str
        A township-like name in the text that is not a current township (pre-merger).
    """

    status: str = "unmatched"
    method: str = ""
    county_code: str = ""
    township_code: str = ""
    township_name: str = ""
    village_code: str = ""
    village_name: str = ""
    note_zh: str = ""
    note_en: str = ""
    candidates: list[str] = field(default_factory=list)
    unknown_town: str = ""

    @property
    def note(self) -> str:
        """Chinese and English note in one string."""
        if not self.note_zh:
            return ""
        return f"{self.note_zh} / {self.note_en}"

    @property
    def found_something(self) -> bool:
        """Whether the text said anything decisive (a township, a tie, another region, an old name)."""
        return self.status != "unmatched" or bool(self.unknown_town)


@lru_cache(maxsize=4096)
def _full_name(code: str) -> str:
    return load_gazetteer().full_name(code)


def _listing(names: dict[str, str], codes: list[str] | tuple[str, ...], limit: int = 8) -> str:
    shown = "、".join(f"{names.get(c, c)}({c})" for c in codes[:limit])
    return shown + ("…" if len(codes) > limit else "")


def _match_text(idx: RegionIndex, text: str, county_hint: tuple[str, ...] = ()) -> AddressMatch:
    """Resolve one normalised text against the index."""
    if "区域" in text:
        # 泉港区域养老服务中心: 区域 ("regional") must not complete a district name (泉州市泉港区).
        text = text.replace("区域", _OTHER + "域")
    hits = scan(idx, text)
    infos = idx.keys
    counties: list[str] = []
    first_admin = ""  # "in" | "out"
    foreign = ""
    prev = -1
    towns_full: list[tuple[str, ...]] = []
    towns_short: list[tuple[str, ...]] = []
    villages: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    admin_end = 0
    gaps: list[tuple[int, int]] = []
    last = 0
    for kid, start, stop in hits:
        info = infos[kid]
        end, length = stop - 1, stop - start
        if info.check and _passed_over(info.check, text, end, length, last):
            continue
        gaps.append((last, start))
        last = end + 1
        cat = info.cat
        if cat == _C_COUNTY:
            for c in info.counties:
                if c not in counties:
                    counties.append(c)
            first_admin = first_admin or "in"
            admin_end = end + 1
        elif cat == _C_FOREIGN:
            # A foreign name counts when it leads the address or follows a province/city name.
            if not first_admin or prev in (_C_ANCESTOR, _C_FOREIGN):
                if not foreign:
                    foreign = info.foreign
                first_admin = first_admin or "out"
                admin_end = end + 1
        elif cat == _C_ANCESTOR:
            admin_end = end + 1
        else:
            if info.towns:
                towns_full.append(info.towns)
            elif info.shorts:
                towns_short.append(info.shorts)
            if info.villages:
                villages.append((text[start:end + 1], info.villages, info.shadow))
            first_admin = first_admin or "in"
        prev = cat
    gaps.append((last, len(text)))
    m = AddressMatch()
    if first_admin == "out":
        full = _full_name(foreign)
        m.status = "out_of_region"
        m.note_zh = f"地址属于区域外的“{full}”({foreign}),不在{idx.region.full_name}"
        m.note_en = f"address names {foreign} ({full}), outside the region {idx.region.code}"
        return m
    scope = counties or list(county_hint)
    if len(scope) == 1:
        m.county_code = scope[0]

    def in_scope(codes: tuple[str, ...]) -> list[str]:
        if not scope:
            return list(codes)
        return [c for c in codes if c[:6] in scope]

    # Township: full names first, then short names.
    for group, short in ((towns_full, False), (towns_short, True)):
        if not group:
            continue
        if len(group) == 1 and len(group[0]) == 1 and (not scope or group[0][0][:6] in scope):
            kept = list(group[0])  # the common case
        else:
            kept = sorted({c for codes in group for c in in_scope(codes)})
        if not kept:
            named = sorted({c for codes in group for c in codes})
            m.candidates = named
            m.note_zh = (f"乡镇“{_listing(idx.town_name, named)}”不在所给县"
                         f"“{'、'.join(idx.county_name[c] for c in scope if c in idx.county_name)}”内")
            m.note_en = f"township {', '.join(named)} is not in the county named"
            return m
        if len(kept) > 1:
            settled = {v[:9] for _, vs, _ in villages for v in vs} & set(kept)
            if len(settled) != 1:
                m.status = "ambiguous"
                m.candidates = kept
                m.note_zh = f"乡镇名在 {len(kept)} 处重复或相互矛盾:{_listing(idx.town_name, kept)};请给出县或村"
                m.note_en = f"township name matches {len(kept)} townships: {', '.join(kept)}; give the county or village"
                return m
            kept = sorted(settled)
        _set_town(m, idx, kept[0])
        _find_village(m, idx, text, villages)
        if short:
            m.note_zh = f"按乡镇简称“{_short_of(idx, kept[0])}”匹配"
            m.note_en = f"matched on the township's short name ({kept[0]})"
        return m

    # No township: an unknown township-like name right after the county (or at the start)?
    unknown = _unknown_town(text, gaps, admin_end)
    if unknown:
        m.unknown_town = unknown
        m.note_zh = f"乡镇名“{unknown}”不在 2023 年区划中(可能已撤并)"
        m.note_en = f"township name '{unknown}' is not in the 2023 divisions (possibly merged away)"
        if villages:
            towns = sorted({c[:9] for c in in_scope(villages[0][1])})
            if towns:
                m.note_zh += f";村名“{villages[0][0]}”属于 {_listing(idx.town_name, towns)},请核实"
                m.note_en += f"; village '{villages[0][0]}' belongs to {', '.join(towns)}: please check"
        return m

    # Village only: used when the village name is unique (in the region or the named county).
    sets = [(form, in_scope(codes), in_scope(shadow)) for form, codes, shadow in villages]
    sets = [s for s in sets if s[1]]
    if sets:
        form, codes, shadow = sets[0]
        towns = sorted({c[:9] for c in codes} | set(shadow))
        if len(towns) > 1 and not shadow:
            common = set(towns)
            for _, cs, sh in sets[1:]:
                common &= {c[:9] for c in cs} | set(sh)
            if len(common) == 1:
                towns = sorted(common)
                codes = [c for c in codes if c[:9] in common]
        if len(towns) == 1:
            _set_town(m, idx, towns[0])
            if len(codes) == 1:
                m.village_code, m.village_name = codes[0], idx.village_name[codes[0]]
            m.note_zh = f"未给出乡镇,由唯一的村名“{form}”确定"
            m.note_en = f"no township given; placed by the unique village name '{form}'"
            return m
        m.status = "ambiguous"
        m.candidates = towns
        if shadow:
            m.note_zh = (f"“{form}”既是村名又是乡镇简称,对应 {len(towns)} 个乡镇:"
                         f"{_listing(idx.town_name, towns)};未给出乡镇")
            m.note_en = (f"'{form}' is both a village name and a township's short name "
                         f"({len(towns)} townships: {', '.join(towns)}); no township given")
        else:
            m.note_zh = f"村名“{form}”在 {len(towns)} 个乡镇重复:{_listing(idx.town_name, towns)};未给出乡镇"
            m.note_en = (f"village name '{form}' shared by {len(towns)} townships: {', '.join(towns)}; "
                         "no township given")
        return m
    # A bare village stem (青龙, 青龙3组) leading what is left: never placed, but its townships are named.
    stem, codes = _leading_stem(idx, text[admin_end:])
    codes = in_scope(codes)
    if codes:
        towns = sorted({c[:9] for c in codes})
        listed = _listing(idx.village_name, codes)
        if len(towns) > 1:
            m.status = "ambiguous"
            m.candidates = towns
            m.note_zh = (f"“{stem}”可能是 {len(towns)} 个乡镇的村(社区):{listed};"
                         "未写明村或社区,也未给出乡镇")
            m.note_en = (f"'{stem}' may be a village of {len(towns)} townships ({', '.join(towns)}); "
                         "no 村/社区 and no township given")
        else:
            m.note_zh = f"“{stem}”可能是{_listing(idx.town_name, towns)}的{listed},未写明村或社区,请核实"
            m.note_en = f"'{stem}' may be village {', '.join(codes)}; no 村/社区 written: please check"
        return m
    if counties:
        names = "、".join(idx.county_name[c] for c in counties)
        m.note_zh = f"只识别到县级“{names}”,未找到乡镇或村名"
        m.note_en = "only the county was recognised; no township or village name found"
    elif text:
        m.note_zh = "地址中未找到本区域的乡镇或村名"
        m.note_en = "no township or village name of the region found"
    else:
        m.note_zh = "地址为空"
        m.note_en = "empty address"
    return m


def _leading_stem(idx: RegionIndex, text: str) -> tuple[str, tuple[str, ...]]:
    """The longest village stem (2–6 characters) that ``text`` starts with, and its village codes.

    Only where the stem stands alone, before a village group (3组) or a village facility's own words
    (青龙互助养老服务点): 人民医院 or 光明路 are not villages.
    """
    if len(text) < 2:
        return "", ()
    if idx.stem_codes is None:
        table: dict[str, list[str]] = {}
        for pairs in idx.village_stems.values():
            for stem, code in pairs:
                table.setdefault(stem, []).append(code)
        idx.stem_codes = {k: tuple(sorted(v)) for k, v in table.items()}
    for n in range(min(6, len(text)), 1, -1):
        codes = idx.stem_codes.get(text[:n])
        if codes:
            return (text[:n], codes) if _AFTER_BARE_STEM.match(text, n) else ("", ())
    return "", ()


def _passed_over(check: int, text: str, end: int, length: int, last: int) -> bool:
    """Whether a name hit ending at ``end`` is not that name in this text (``last``: end of the previous hit).

    check 1, a short name: it stands first or right after another name (安岳县石羊敬老院); inside a word
    it is not one (日间照料中心 is not 中心镇); before 路/街/镇... or a house number it is a road (人民路12号).
    check 2, a village form: not before 镇/乡. check 3, a two-character county elsewhere (城区, 新县): only
    before a township-like name.
    """
    if check == 1:
        after = text[end + 1:end + 4]
        return (end - length + 1 != last
                or after.startswith(_NOT_AFTER)
                or _HOUSE_NUMBER.match(text, end + 1) is not None
                or (_UNKNOWN_TOWN.match(after) is not None and not after.startswith("场镇")))
    if check == 2:
        return text[end + 1:end + 2] in ("镇", "乡")
    return not _TOWN_TOKEN.match(text[end + 1:end + 7])


def _short_of(idx: RegionIndex, code: str) -> str:
    _, stem = _town_forms(idx.town_name[code])
    return stem or idx.town_name[code]


def _set_town(m: AddressMatch, idx: RegionIndex, code: str) -> None:
    m.status = "matched"
    m.township_code = code
    m.township_name = idx.town_name[code]
    m.county_code = code[:6]


def _find_village(m: AddressMatch, idx: RegionIndex, text: str,
                  villages: list[tuple[str, tuple[str, ...], tuple[str, ...]]], *, stems_too: bool = True) -> None:
    """Village within the matched township: a village token, else (``stems_too``) a bare stem in the text."""
    code = _village_code(idx, m.township_code, text, villages, stems_too)
    if code:
        m.village_code, m.village_name = code, idx.village_name[code]


def _village_code(idx: RegionIndex, town: str, text: str, villages: list[tuple[str, tuple[str, ...], tuple[str, ...]]],
                  stems_too: bool = True) -> str:
    """The village code of :func:`_find_village` ("" when none)."""
    for _, codes, _ in villages:
        mine = [c for c in codes if c[:9] == town]
        if len(mine) == 1:
            return mine[0]
    stems = idx.village_stems.get(town) if stems_too else None
    if not stems:
        return ""
    town_key = idx.town_key.get(town)
    if town_key is None:
        town_key = normalise(idx.town_name[town])
    # Stems are read after the township's name (full, else short: 中山 must not find 中山村 in itself).
    cut = text.find(town_key)
    if cut >= 0:
        rest = text[cut + len(town_key):]
    else:
        short = idx.short_key.get(town)
        if short is None:
            short = idx.short_key[town] = normalise(_short_of(idx, town))
        cut = text.find(short)
        rest = text[cut + len(short):] if cut >= 0 else text
    found = idx.stem_finders.get(town)
    if found is None:
        found = idx.stem_finders[town] = _stem_finder(stems)
    finder, orders = found
    # Each stem's first occurrence (as str.find gives it); the earliest acceptable one wins, ties to
    # the longer (earlier listed) stem.
    best = None
    seen = set()
    for pattern, pos, stop in finder.find_matches_as_indexes(rest, overlapping=True):
        if pattern in seen:
            continue
        seen.add(pattern)
        order = orders[pattern]
        if best is None or (pos, order) < best:
            # A stem followed by 镇/路/... or a house number (西街115号) names a road or a town, not the village.
            if rest[stop:stop + 1] not in ("镇", "乡", "街", "路", "巷", "道") and not _HOUSE_NUMBER.match(rest, stop):
                best = (pos, order)
    return stems[best[1]][1] if best is not None else ""


def village_in_township(idx: RegionIndex, township_code: str, text: str, *, stems_too: bool = True
                        ) -> tuple[str, str]:
    """The village (村/社区) of one township that a normalised text names.

    Used when the township is already known from other evidence (a 乡镇 column, the address) and the
    village must be read from another text (the address, the facility name 五里村农村幸福院).

    Parameters
    ----------
    idx : RegionIndex
        From :func:`region_index`.
    township_code : str
        The 9-digit township the village must belong to.
    text : str
        Normalised text (:func:`normalise`).
    stems_too : bool, default True
        Also accept a bare village stem (五里 for 五里村). Off for facility names, where a stem such as
        中心 (中心村) appears in words like 服务中心.

    Returns
    -------
    tuple of str
        ``(village_code, village_name)``, or ``("", "")`` when the text names no village of the township.
    """
    if not text or township_code not in idx.town_name:
        return "", ""
    code = _village_token(idx, township_code, text)
    if not code and stems_too:  # no token named one village of the town: the stems, as _find_village reads them
        code = _village_code(idx, township_code, text, [])
    return code, idx.village_name[code] if code else ""


def _village_token(idx: RegionIndex, town: str, text: str) -> str:
    """The first full village form in ``text`` naming exactly one village of ``town`` (no stems), or ""."""
    keys = idx.keys
    for kid, _, stop in scan(idx, text):
        if keys[kid].villages and text[stop:stop + 1] not in ("镇", "乡"):
            mine = [c for c in keys[kid].villages if c.startswith(town)]
            if len(mine) == 1:
                return mine[0]
    return ""


def _stem_finder(stems: list[tuple[str, str]]) -> tuple[ahocorasick_rs.AhoCorasick, list[int]]:
    """An automaton over one township's distinct village stems (all overlapping matches), and each
    pattern's position in ``stems``."""
    first: dict[str, int] = {}
    for order, (stem, _) in enumerate(stems):
        first.setdefault(stem, order)
    finder = ahocorasick_rs.AhoCorasick(list(first), matchkind=ahocorasick_rs.MatchKind.Standard)
    return finder, list(first.values())


def _unknown_town(text: str, gaps: list[tuple[int, int]], admin_end: int) -> str:
    """A 镇/乡/街道 name right after the county (or at the start) that is not a current township."""
    for start, stop in gaps:
        if start == admin_end and stop > start:
            m = _TOWN_TOKEN.match(text[start:stop])
            return m.group(1) if m else ""
    return ""


def parse_address(text: str, region: str | Region, *, name: str | None = None,
                  county_hint: tuple[str, ...] = ()) -> AddressMatch:
    """Place one address (and optionally a facility name) on a township and village of ``region``.

    Parameters
    ----------
    text : str
        The address in any style: full (省市县镇村组), county + town, town only, village only,
        街道办事处, traditional characters, full-width characters, stray spaces.
    region : str or Region
        Division code or name, or a :class:`~geo.gazetteer.Region`.
    name : str, optional
        The facility name, read only when the address decides nothing (安岳县石羊敬老院).
    county_hint : tuple of str, optional
        County codes to restrict to when the text names none.

    Returns
    -------
    AddressMatch
        ``method`` is "address" (or "name" when the facility name decided), "" when nothing did.

    Examples
    --------
    >>> parse_address("四川省资阳市安岳县石羊镇", "512021").township_code
    '512021110'
    """
    code = region.code if isinstance(region, Region) else load_gazetteer().region(region).code
    return parse_normalised(region_index(code), normalise(text), normalise(name) if name else "", county_hint)


def parse_normalised(idx: RegionIndex, text: str, name: str = "",
                     county_hint: tuple[str, ...] = ()) -> AddressMatch:
    """:func:`parse_address` on texts already folded by :func:`normalise` (the geocoder's one-row path).

    Parameters
    ----------
    idx : RegionIndex
        From :func:`region_index`.
    text, name : str
        Normalised address and facility name ("" when none).
    county_hint : tuple of str, optional
        County codes to restrict to when the text names none.

    Returns
    -------
    AddressMatch
    """
    m = _match_text(idx, text, county_hint)
    found = m.status != "unmatched" or bool(m.unknown_town)
    m.method = "address" if found else ""
    if m.status == "matched" and not m.village_code and name and _NAMES_A_VILLAGE.search(name):
        # The address gave the township only; the name may give the village (五里村农村幸福院).
        code = _village_token(idx, m.township_code, name)
        if code:
            m.village_code, m.village_name = code, idx.village_name[code]
    if not found and name:
        hint = (m.county_code,) if m.county_code else county_hint
        n = _match_text(idx, name, hint)
        if n.status != "unmatched" or n.unknown_town:
            n.method = "name"
            m = n
    return _finish(m, idx)


@dataclass(frozen=True)
class _KeyTable:
    """The keys of an index as arrays, for :func:`quick_answers`. A key's township codes are
    ``town_code[town_start[k]:town_start[k + 1]]``; likewise the townships it names by their short
    form, its counties and its villages (codes as integers)."""

    cat: np.ndarray  # int8, _C_*
    check: np.ndarray  # int8, see _Key
    shadowed: np.ndarray  # bool: a township's short name equals this village form
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


def _key_table(idx: RegionIndex) -> _KeyTable:
    if idx.table is None:
        keys = idx.keys

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
        town_codes, village_codes = sorted(idx.town_name), sorted(idx.village_name)
        position = {c: i for i, c in enumerate(town_codes)}
        stem_starts = np.unique(np.array(
            [(position[t] << 42) | (ord(stem[0]) << 21) | ord(stem[1])
             for t, stems in idx.village_stems.items() if t in position for stem, _ in stems], dtype=np.int64))
        (town_start, town_code), (short_start, short_code), (county_start, county_code), (village_start, village_code) = (
            flat("towns"), flat("shorts"), flat("counties"), flat("villages"))
        short_names = [_short_of(idx, c) for c in town_codes]
        foreign = np.empty(len(keys), dtype=object)
        foreign[:] = [k.foreign for k in keys]
        idx.table = _KeyTable(
            cat=np.fromiter((k.cat for k in keys), dtype=np.int8, count=len(keys)),
            check=np.fromiter((k.check for k in keys), dtype=np.int8, count=len(keys)),
            shadowed=np.fromiter((bool(k.shadow) for k in keys), dtype=bool, count=len(keys)),
            foreign=foreign,
            town_start=town_start, town_code=town_code, short_start=short_start, short_code=short_code,
            county_start=county_start, county_code=county_code, village_start=village_start, village_code=village_code,
            towns=np.array(town_codes, dtype=np.int64), stem_starts=stem_starts,
            town_text=columns(town_codes, [c[:6] for c in town_codes], [idx.town_name[c] for c in town_codes],
                              [idx.town_key[c] for c in town_codes], normalise_many(short_names), short_names),
            villages=np.array(village_codes, dtype=np.int64),
            village_text=columns(village_codes, [idx.village_name[c] for c in village_codes]),
        )
    return idx.table


_NOT_AFTER_ONE = "".join(w for w in _NOT_AFTER if len(w) == 1)
_NOT_AFTER_PAIRS = np.sort(np.array([(ord(w[0]) << 21) | ord(w[1]) for w in _NOT_AFTER if len(w) == 2], dtype=np.int64))
_TOWN_ENDS = "镇乡"
_TOWN_TOKEN_ENDS = "镇乡街"  # where a _TOWN_TOKEN can end: 镇, 乡, 街道(办事处)
_HOUSE_UNITS = "号弄栋幢"  # _HOUSE_NUMBER: digits, then 号 (号楼), 弄, 栋 or 幢
# How an answer was found (BatchAnswers.method): nothing decisive, the address, the facility name.
_METHODS = np.array(["", "address", "name"], dtype=object)
_NONE, _BY_ADDRESS, _BY_NAME = 0, 1, 2
_EMPTY_NOTE = "地址为空 / empty address"


@cache
def _char_set(chars: str) -> np.ndarray:
    """Per BMP code point, and one entry for all above: whether it is one of ``chars`` (all in the BMP)."""
    table = np.zeros(0x10001, dtype=bool)
    table[[ord(c) for c in chars]] = True
    return table


def _one_of(codes: np.ndarray, chars: str) -> np.ndarray:
    """``np.isin(codes, [ord(c) for c in chars])`` as one table look-up."""
    return _char_set(chars)[np.minimum(codes, 0x10000)]


@lru_cache(maxsize=1)
def _is_decimal() -> np.ndarray:
    """Per code point: a decimal digit as the regex ``\\d`` reads it (Unicode Nd)."""
    table = np.zeros(0x110000, dtype=bool)
    every = "".join(map(chr, range(0x110000)))  # the regex engine finds them in C (one pass, not 10^6 calls)
    table[[m.start() for m in re.finditer(r"\d", every)]] = True
    return table


@dataclass
class BatchAnswers:
    """What :func:`quick_answers` found: per row, answered or not, and the answer as codes.

    Attributes
    ----------
    answered : numpy.ndarray
        Bool per row: decided here (placed, or reported as ambiguous, out of region or unmatched).
    township, village : numpy.ndarray
        Codes as integers (-1 where none).
    method : numpy.ndarray
        Int8 per row: 0 nothing decisive found, 1 the address decided, 2 the facility name did.
    notes : dict
        Row → note (Chinese / English) where there is one.
    others : dict
        Rows answered but not placed: row → (match_status, county code or "", candidate townships).
    """

    answered: np.ndarray
    township: np.ndarray
    village: np.ndarray
    method: np.ndarray
    notes: dict[int, str]
    others: dict[int, tuple[str, str, list[str]]]

    def columns(self, idx: RegionIndex) -> dict[str, np.ndarray]:
        """The geocoder's answer fields as object arrays ("" on rows not answered).

        Keys: match_status, county_code, township_code, township_name, village_code, village_name,
        match_method, match_note, candidates.
        """
        table = _key_table(idx)
        n = len(self.answered)
        cols = {k: np.full(n, "", dtype=object) for k in ANSWER_FIELDS}
        cols["match_method"][self.answered] = _METHODS[self.method[self.answered]]
        if self.notes:
            cols["match_note"][_row_array(self.notes)] = _object_array(list(self.notes.values()))
        placed = self.answered.copy()
        if self.others:
            where = _row_array(self.others)
            status, county, candidates = zip(*self.others.values(), strict=True)
            cols["match_status"][where] = _object_array(status)
            cols["county_code"][where] = _object_array(county)
            cols["candidates"][where] = _object_array([";".join(c) for c in candidates])
            placed[where] = False
        rows = np.flatnonzero(placed)
        town = table.town_text[np.searchsorted(table.towns, self.township[rows])]
        cols["match_status"][rows] = "matched"
        cols["county_code"][rows], cols["township_code"][rows], cols["township_name"][rows] = (
            town[:, 1], town[:, 0], town[:, 2])
        has = rows[self.village[rows] >= 0]
        village = table.village_text[np.searchsorted(table.villages, self.village[has])]
        cols["village_code"][has], cols["village_name"][has] = village[:, 0], village[:, 1]
        return cols

    def row(self, idx: RegionIndex, i: int) -> tuple[str, ...] | None:
        """Row ``i``'s answer as the geocoder's tuple (the fields of :data:`ANSWER_FIELDS`), or None."""
        if not self.answered[i]:
            return None
        one = BatchAnswers(self.answered[i:i + 1], self.township[i:i + 1], self.village[i:i + 1],
                           self.method[i:i + 1], {0: self.notes[i]} if i in self.notes else {},
                           {0: self.others[i]} if i in self.others else {})
        return tuple(col[0] for col in one.columns(idx).values())


def _row_array(rows: dict[int, Any]) -> np.ndarray:
    """The keys of a row → value dict as an index array."""
    return np.fromiter(rows, dtype=np.int64, count=len(rows))


ANSWER_FIELDS = ("match_status", "county_code", "township_code", "township_name", "village_code", "village_name",
                 "match_method", "match_note", "candidates")


def quick_answers(idx: RegionIndex, texts: list[str], names: list[str],
                  fold: Callable[[list[str]], list[str]] | None = None) -> BatchAnswers:
    """:func:`parse_normalised` over many rows at once, for the common cases, with array operations.

    Answers a row when its text (the address, else the facility name) names one township in full or
    by a short name that counts (several of that name are told apart by the county named; else a
    tie), or one village whose name is unique in the scope (shared: a tie), or leads with a division
    outside the region (out_of_region), or names an old township right after the county (unmatched,
    reported), or nothing at all (then the facility name decides, within the county named). Rows
    needing the one-row rules (a second short name, a two-character county, 区域, a bare village
    stem, ...) are left unanswered for :func:`parse_normalised`. ``tests/test_address.py`` checks
    the answers equal the one-row path's row by row.

    Parameters
    ----------
    idx : RegionIndex
        A county-or-larger region's index.
    texts, names : list of str
        Normalised addresses and facility names, one pair per row.
    fold : callable, optional
        When given, ``names`` are as written and this folds a list of them (:func:`normalise_many`):
        only the names the answers read are folded (those of rows whose address is empty or names
        nothing, and those that may give a village).

    Returns
    -------
    BatchAnswers
    """
    fold = fold or _as_they_are
    n = len(texts)
    empty = [i for i, t in enumerate(texts) if not t]
    primary = list(texts)
    for i, name in zip(empty, fold([names[i] for i in empty]), strict=True):
        primary[i] = name
    secondary = [m if t else "" for t, m in zip(texts, names, strict=True)]
    # The names of rows whose address looks like a division's name alone (安岳县) are read in the same
    # pass, in case the address names nothing else (each as _answer_batch row n + j, scoped by its row).
    guess = [i for i, t in enumerate(texts) if t and len(t) <= 12 and t.endswith(_DIVISION_ENDS)]
    named = dict(zip(guess, fold([names[i] for i in guess]), strict=True))
    guess = [i for i in guess if named[i]]
    both = _answer_batch(idx, primary + [named[i] for i in guess], secondary + [""] * len(guess), fold=fold,
                         hint_from=np.asarray(guess, dtype=np.int64))
    first, read = both.split(n)
    answered, town, village, notes, others = first.done, first.town, first.village, first.notes, first.others
    method = np.where(np.fromiter(map(bool, texts), dtype=bool, count=n), _BY_ADDRESS, _BY_NAME).astype(np.int8)

    def unmatched(i: int, note: str, county: int) -> None:  # nothing found: the address's own note
        answered[i], method[i] = True, _NONE
        others[i] = ("unmatched", str(county) if county else "", [])
        notes[i] = note

    def by_name(rows: list[int], got: _Found) -> None:  # got: the names of these rows
        at = np.asarray(rows, dtype=np.int64)
        answered[at], town[at], village[at] = got.done, got.town, got.village
        method[at] = _BY_NAME
        notes.update({rows[j]: note for j, note in got.notes.items()})
        others.update({rows[j]: other for j, other in got.others.items()})
        for j in got.nothing:  # the name finds nothing either
            i = rows[j]
            if first.nothing[i] is not None:
                unmatched(i, first.nothing[i], int(first.county[i]))

    # Where the address finds nothing decisive, the facility name decides within the county named.
    said = [i for i in first.nothing if texts[i] and i not in named]
    named.update(zip(said, fold([names[i] for i in said]), strict=True))
    for i, note in first.nothing.items():
        if not texts[i]:  # the address is empty: the row reads the name already
            unmatched(i, _EMPTY_NOTE, 0)
        elif note is not None and not named[i]:
            unmatched(i, note, int(first.county[i]))
    position = {i: j for j, i in enumerate(guess)}
    asked = [i for i in first.nothing if texts[i] and named[i]]
    read_rows = [i for i in asked if i in position]
    if read_rows:
        by_name(read_rows, read.pick([position[i] for i in read_rows]))
    ask = [i for i in asked if i not in position]
    if ask:
        by_name(ask, _answer_batch(idx, [named[i] for i in ask], [""] * len(ask),
                                   hint=first.county[np.asarray(ask, dtype=np.int64)]))
    return BatchAnswers(answered, town, village, method, notes, others)


def _as_they_are(texts: list[str]) -> list[str]:
    return texts


def prepare_batch(idx: RegionIndex) -> None:
    """Build what :func:`quick_answers` needs of an index (once; before forking workers that share it)."""
    _key_table(idx)
    _is_decimal()
    for chars in (_NOT_AFTER_ONE, _TOWN_ENDS, _TOWN_TOKEN_ENDS, _HOUSE_UNITS):
        _char_set(chars)


_DIVISION_ENDS = ("省", "市", "县", "区", "旗", "州", "盟")  # how a division's own name ends (see quick_answers)


@dataclass
class _Found:
    """What :func:`_answer_batch` found in one text per row."""

    done: np.ndarray  # bool: decided (placed, tied, out of region, an old township name)
    town: np.ndarray  # int64 township code, -1
    village: np.ndarray  # int64 village code, -1
    notes: dict[int, str]
    others: dict[int, tuple[str, str, list[str]]]  # decided, not placed: row → (status, county, candidates)
    # Rows in which nothing decisive was found → their note when that is the answer (None: a bare village
    # stem is noted, which the one-row path words).
    nothing: dict[int, str | None]
    county: np.ndarray  # int64: the one county in the row's scope, 0 when none or several

    def split(self, n: int) -> tuple[_Found, _Found]:
        """Rows before ``n`` and rows from ``n`` on, each numbered from 0."""
        def part(lo: int, hi: int) -> _Found:
            return _Found(self.done[lo:hi], self.town[lo:hi], self.village[lo:hi],
                          {i - lo: v for i, v in self.notes.items() if lo <= i < hi},
                          {i - lo: v for i, v in self.others.items() if lo <= i < hi},
                          {i - lo: v for i, v in self.nothing.items() if lo <= i < hi}, self.county[lo:hi])

        return part(0, n), part(n, len(self.done))

    def pick(self, rows: list[int]) -> _Found:
        """These rows, numbered from 0 in this order."""
        at = np.asarray(rows, dtype=np.int64)
        new = {i: j for j, i in enumerate(rows)}
        return _Found(self.done[at], self.town[at], self.village[at],
                      {new[i]: v for i, v in self.notes.items() if i in new},
                      {new[i]: v for i, v in self.others.items() if i in new},
                      {new[i]: v for i, v in self.nothing.items() if i in new}, self.county[at])


def _answer_batch(idx: RegionIndex, primary: list[str], secondary: list[str], hint: np.ndarray | None = None,
                  fold: Callable[[list[str]], list[str]] | None = None, hint_from: np.ndarray | None = None
                  ) -> _Found:
    """The work of :func:`quick_answers` on one text per row (``secondary``: a facility name that may
    give the village, folded by ``fold`` when given; ``hint``: per row, a county code to scope a text that
    names none, 0 for none; ``hint_from``: for the last rows, the row whose one named county scopes each)."""
    n = len(primary)
    town = np.full(n, -1, dtype=np.int64)
    found = _Found(np.zeros(n, dtype=bool), town, town.copy(), {}, {}, {}, np.zeros(n, dtype=np.int64))
    if not n:
        return found
    joined = _SEP.join(primary)
    try:
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:  # lone surrogates kept by the reader: row by row
        return found
    table = _key_table(idx)
    lengths = np.fromiter(map(len, primary), dtype=np.int64, count=n)
    begin = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=begin[1:])
    hits = _hit_array(idx.automaton.find_matches_as_indexes(joined))
    kid, start, stop = hits[:, 0], hits[:, 1], hits[:, 2]
    row = np.searchsorted(begin, start, side="right") - 1
    padded = np.concatenate([codes, np.zeros(3, dtype=np.uint32)])  # the text's end reads as NUL
    a1, a2, a3 = padded[stop], padded[stop + 1], padded[stop + 2]
    cat, check = table.cat[kid], table.check[kid]
    defer = np.zeros(n, dtype=bool)
    if "区域" in joined:
        region = (codes[:-1] == ord("区")) & (codes[1:] == ord("域"))
        defer[np.searchsorted(begin, np.flatnonzero(region), side="right") - 1] = True
    defer[row[check == 3]] = True  # two-character county names: the one-row check

    # Skipped hits (see _passed_over). Village forms before 镇/乡:
    village_skip = (check == 2) & _one_of(a1, _TOWN_ENDS)
    # Short names count when first in the text or right after a kept hit, unless a road, a house
    # number or another township name follows.
    short = check == 1
    counted = np.zeros(len(row), dtype=bool)
    s = np.flatnonzero(short)
    if len(s):
        r, b1, b2, b3 = row[s], a1[s], a2[s], a3[s]
        p = np.maximum(s - 1, 0)  # the hit before (the first hit has none: start == begin then)
        adjacent = (start[s] == begin[r]) | ((s > 0) & (row[p] == r) & (stop[p] == start[s]) & ~village_skip[p]
                                             & (check[p] != 1))
        not_after = _one_of(b1, _NOT_AFTER_ONE) | _sorted_contains(_NOT_AFTER_PAIRS, (b1.astype(np.int64) << 21) | b2)
        house = np.zeros(len(s), dtype=bool)
        numbered = _is_decimal()[b1]
        if numbered.any():
            digit = _is_decimal()[padded]
            non_digits = np.flatnonzero(~digit)
            after_digits = non_digits[np.searchsorted(non_digits, stop[s[numbered]])]
            house[numbered] = _one_of(padded[after_digits], _HOUSE_UNITS)
        cjk1 = (b1 >= 0x4E00) & (b1 <= 0x9FFF)
        cjk2 = (b2 >= 0x4E00) & (b2 <= 0x9FFF)
        town_after = cjk1 & (_one_of(b2, _TOWN_ENDS) | ((b2 == ord("街")) & (b3 == ord("道")))
                             | (cjk2 & _one_of(b3, _TOWN_ENDS)))
        town_after &= ~((b1 == ord("场")) & (b2 == ord("镇")))
        counted[s] = adjacent & ~not_after & ~house & ~town_after
        # Adjacency above takes short names as passed over: with two, the second may follow a counted first.
        several = np.bincount(r, minlength=n) > 1
        defer[row[counted & ((cat != _C_PLACE) | several[row])]] = True

    # Another region named first (before any name of the region): out_of_region, whatever follows.
    matters = ~village_skip & ((cat != _C_ANCESTOR) | (check != 0))
    lead = np.flatnonzero(matters)
    lead = lead[_run_starts(row[lead])]
    lead_rows = row[lead]
    outside = (cat[lead] == _C_FOREIGN) & (check[lead] == 0) & ~defer[lead_rows]
    worded: dict[str, str] = {}
    for i, code in zip(lead_rows[outside].tolist(), table.foreign[kid[lead[outside]]].tolist(), strict=True):
        found.others[i] = ("out_of_region", "", [])
        if code not in worded:
            worded[code] = (f"地址属于区域外的“{_full_name(code)}”({code}),不在{idx.region.full_name} / "
                            f"address names {code} ({_full_name(code)}), outside the region {idx.region.code}")
        found.notes[i] = worded[code]
    short_town = counted & (cat == _C_PLACE)
    kept = (~village_skip & ~short & (check != 3)) | short_town
    defer[row[kept & (cat == _C_FOREIGN)]] = True  # (the rows out of region are answered above)

    place = kept & (cat == _C_PLACE)
    full_town = place & (table.town_start[kid + 1] > table.town_start[kid])
    town_hit = full_town | short_town
    has_villages = table.village_start[kid + 1] > table.village_start[kid]
    village_hit = place & ~town_hit & has_villages
    defer[row[town_hit & has_villages]] = True
    n_town = np.bincount(row[town_hit], minlength=n)
    by_short = np.zeros(n, dtype=bool)
    by_short[row[short_town]] = True
    defer |= (n_town > 1) | (by_short & (np.bincount(row[full_town], minlength=n) > 0))
    n_kept = np.bincount(row[kept], minlength=n)
    n_village = np.bincount(row[village_hit], minlength=n)

    # The county scope: every county the text names (else the hint; else the whole region).
    county_hit = kept & (cat == _C_COUNTY)
    c_rows, c_codes = _expand(table.county_start, table.county_code, kid[county_hit], row[county_hit])
    named_county = np.zeros(n, dtype=bool)
    named_county[c_rows] = True
    scope = np.unique(c_rows * 1_000_000 + c_codes)  # (row, county) pairs
    if hint_from is not None and len(hint_from):
        own_county = np.zeros(n, dtype=np.int64)
        own_county[scope // 1_000_000] = scope % 1_000_000
        own_county[np.bincount(scope // 1_000_000, minlength=n) != 1] = 0
        hint = np.zeros(n, dtype=np.int64)
        hint[n - len(hint_from):] = own_county[hint_from]
    if hint is not None:
        hinted = np.flatnonzero((hint > 0) & ~named_county)  # rows naming no county: theirs are new pairs
        c_rows, c_codes = np.concatenate([c_rows, hinted]), np.concatenate([c_codes, hint[hinted]])
        scope = np.sort(np.concatenate([scope, hinted * 1_000_000 + hint[hinted]]))
    scoped = np.zeros(n, dtype=bool)
    scoped[c_rows] = True
    # The county of a row with exactly one in scope (every answer but a placed one keeps it).
    one_county = np.bincount(scope // 1_000_000, minlength=n) == 1
    found.county[scope // 1_000_000] = scope % 1_000_000
    found.county[~one_county] = 0

    def in_scope(rows: np.ndarray, county: np.ndarray) -> np.ndarray:
        return ~scoped[rows] | _sorted_contains(scope, rows * 1_000_000 + county)

    def county_of(i: int) -> str:
        return str(found.county[i]) if found.county[i] else ""

    # Township named (in full, or by a short name that counts): its one code in the scope; several, and
    # no village to settle them: a tie.
    t_rows, t_codes = _expand(table.town_start, table.town_code, kid[full_town], row[full_town])
    s_rows, s_codes = _expand(table.short_start, table.short_code, kid[short_town], row[short_town])
    t_rows, t_codes = np.concatenate([t_rows, s_rows]), np.concatenate([t_codes, s_codes])
    ok = in_scope(t_rows, t_codes // 1000)
    n_in = np.bincount(t_rows[ok], minlength=n)
    town[t_rows[ok]] = t_codes[ok]
    tie = (n_town == 1) & (n_in > 1) & (n_village == 0) & ~defer
    defer[(n_town == 1) & (n_in != 1) & ~tie] = True
    notes, others = found.notes, found.others
    if tie.any():
        pairs = np.unique(t_rows[ok & tie[t_rows]] * 1_000_000_000 + t_codes[ok & tie[t_rows]])
        for i, codes_ in _grouped(pairs // 1_000_000_000, pairs % 1_000_000_000):
            kept_ = [str(c) for c in codes_]
            others[i] = ("ambiguous", county_of(i), kept_)
            notes[i] = (f"乡镇名在 {len(kept_)} 处重复或相互矛盾:{_listing(idx.town_name, kept_)};请给出县或村 / "
                        f"township name matches {len(kept_)} townships: {', '.join(kept_)}; give the county or village")
        defer |= tie  # answered as ties, not as townships

    # Village (see _village_code): the first village form naming exactly one village of the township,
    vh = village_hit & ~defer[row] & (n_town[row] == 1)
    village = _single_village(table, kid[vh], row[vh], town, n)

    # No township named: an old township name right after the county (or first) is reported,
    bare = (n_town == 0) & ~defer
    admin = kept & ((cat == _C_COUNTY) | (cat == _C_ANCESTOR))
    admin_end = np.zeros(n, dtype=np.int64)
    last = np.flatnonzero(admin)
    last = last[_run_ends(row[last])]  # a row's hits are in order: its last admin hit ends last
    admin_end[row[last]] = stop[last] - begin[row[last]]
    if bare.any():
        after = kept & (start - begin[row] >= admin_end[row])
        gap_end = lengths.copy()
        first = np.flatnonzero(after)
        first = first[_run_starts(row[first])]
        gap_end[row[first]] = start[first] - begin[row[first]]
        # A _TOWN_TOKEN is 2–5 characters, then 镇, 乡 or 街道: rows without such an end in reach are passed by.
        rows_ = np.flatnonzero(bare)
        at = (begin[rows_] + admin_end[rows_])[:, None] + np.arange(2, 6)
        ends = _one_of(padded[np.minimum(at, len(codes))], _TOWN_TOKEN_ENDS) & (at < (begin[rows_] + gap_end[rows_])[:, None])
        maybe = np.zeros(n, dtype=bool)
        maybe[rows_] = ends.any(axis=1)
        first_village = np.full(n, len(row), dtype=np.int64)
        first = np.flatnonzero(village_hit)
        first = first[_run_starts(row[first])]
        first_village[row[first]] = first
        cand = np.flatnonzero(maybe)
        reported = []
        for i, lo, hi, h, county in zip(cand.tolist(), admin_end[cand].tolist(), gap_end[cand].tolist(),
                                        first_village[cand].tolist(), found.county[cand].tolist(), strict=True):
            old = _TOWN_TOKEN.match(primary[i][lo:hi])
            if old is None:
                continue
            unknown = old.group(1)
            note_zh = f"乡镇名“{unknown}”不在 2023 年区划中(可能已撤并)"
            note_en = f"township name '{unknown}' is not in the 2023 divisions (possibly merged away)"
            if h < len(row):  # the first village named: whose it is, to check by hand
                form = primary[i][int(start[h] - begin[i]):int(stop[h] - begin[i])]
                k = int(kid[h])
                v_codes = table.village_code[table.village_start[k]:table.village_start[k + 1]]
                v_codes = v_codes[in_scope(np.full(len(v_codes), i), v_codes // 1_000_000)]
                towns = [str(c) for c in np.unique(v_codes // 1000)]
                if towns:
                    note_zh += f";村名“{form}”属于 {_listing(idx.town_name, towns)},请核实"
                    note_en += f"; village '{form}' belongs to {', '.join(towns)}: please check"
            others[i] = ("unmatched", str(county) if county else "", [])
            notes[i] = f"{note_zh} / {note_en}"
            reported.append(i)
        bare[reported] = False
        defer[reported] = True  # answered as reported, not as a township

    # or nothing at all but the county (or nothing): the facility name may decide,
    quiet = np.flatnonzero(bare & (n_village == 0) & (n_kept == np.bincount(row[admin], minlength=n)))
    asked = np.zeros(n, dtype=bool)
    asked[quiet] = True
    asked &= named_county
    counties_named = dict(_grouped(c_rows[asked[c_rows]], c_codes[asked[c_rows]]))
    worded: dict[tuple[int, ...], str] = {}
    for i, lo, size, in_county, scoped_ in zip(quiet.tolist(), admin_end[quiet].tolist(), lengths[quiet].tolist(),
                                              named_county[quiet].tolist(), scoped[quiet].tolist(), strict=True):
        _, stem_codes = _leading_stem(idx, primary[i][lo:]) if size - lo >= 2 else ("", ())
        if stem_codes and scoped_:
            pairs = np.array([i * 1_000_000 + int(c[:6]) for c in stem_codes], dtype=np.int64)
            stem_codes = tuple(c for c, ok in zip(stem_codes, _sorted_contains(scope, pairs).tolist(), strict=True)
                               if ok)  # (a binary search: scope holds every row's counties)
        if len({c[:9] for c in stem_codes}) > 1:
            continue  # ambiguous between the stem's villages: the one-row path words it
        if stem_codes:
            found.nothing[i] = None
        elif in_county:
            named = tuple(dict.fromkeys(counties_named[i]))
            if named not in worded:
                worded[named] = (f"只识别到县级“{'、'.join(idx.county_name[str(c)] for c in named)}”,未找到乡镇或村名 / "
                                 "only the county was recognised; no township or village name found")
            found.nothing[i] = worded[named]
        else:
            found.nothing[i] = ("地址中未找到本区域的乡镇或村名 / no township or village name of the region found"
                                if size else _EMPTY_NOTE)
    defer[quiet] = True
    # or, with villages named, the first village form with villages in the scope, when they all lie in
    # one township (no township short name alike); when they lie in several and no other village form
    # narrows them: a tie.
    bare &= ~defer
    alone = np.flatnonzero(bare)
    if len(alone):
        vh = village_hit & bare[row]
        v_hit, v_code = _expand(table.village_start, table.village_code, kid[vh], np.flatnonzero(vh))
        ok = in_scope(row[v_hit], v_code // 1_000_000)
        v_hit, v_code = v_hit[ok], v_code[ok]
        first_hit = np.full(n, len(row), dtype=np.int64)
        first = v_hit[_run_starts(row[v_hit])]  # (hits in order, each with its codes)
        first_hit[row[first]] = first
        mine = v_hit == first_hit[row[v_hit]]
        f_rows, f_code = row[v_hit[mine]], v_code[mine]
        n_codes = np.bincount(f_rows, minlength=n)
        towns_seen = np.unique(f_rows * 1_000_000_000 + f_code // 1000)
        n_towns = np.bincount(towns_seen // 1_000_000_000, minlength=n)
        n_sets = np.bincount(row[v_hit[_run_starts(v_hit)]], minlength=n)
        plain = (n_codes >= 1) & ~table.shadowed[kid[np.minimum(first_hit, len(row) - 1)]]
        unique = plain & (n_towns == 1)
        shared = plain & (n_towns > 1) & (n_sets == 1)
        defer[alone[~(unique | shared)[alone]]] = True
        towns_seen = towns_seen[shared[towns_seen // 1_000_000_000]]
        shared_towns = dict(_grouped(towns_seen // 1_000_000_000, towns_seen % 1_000_000_000))
        town[f_rows] = f_code // 1000
        village[f_rows[n_codes[f_rows] == 1]] = f_code[n_codes[f_rows] == 1]
        placed = alone[(unique | shared)[alone]]
        h = first_hit[placed]
        for i, lo, hi, alone_, county in zip(placed.tolist(), (start[h] - begin[placed]).tolist(),
                                             (stop[h] - begin[placed]).tolist(), unique[placed].tolist(),
                                             found.county[placed].tolist(), strict=True):
            form = primary[i][lo:hi]
            if alone_:
                notes[i] = (f"未给出乡镇,由唯一的村名“{form}”确定 / "
                            f"no township given; placed by the unique village name '{form}'")
                continue
            towns_ = [str(c) for c in shared_towns[i]]
            others[i] = ("ambiguous", str(county) if county else "", towns_)
            notes[i] = (f"村名“{form}”在 {len(towns_)} 个乡镇重复:{_listing(idx.town_name, towns_)};未给出乡镇 / "
                        f"village name '{form}' shared by {len(towns_)} townships: {', '.join(towns_)}; "
                        "no township given")
        defer[placed[~unique[placed]]] = True  # answered as ties, not as townships
    answered = np.flatnonzero(~defer)

    # A township named by its short name says so.
    short_rows = answered[by_short[answered]]
    labels = table.town_text[np.searchsorted(table.towns, town[short_rows]), 5]
    for i, code, label in zip(short_rows.tolist(), town[short_rows].tolist(), labels.tolist(), strict=True):
        notes[i] = f"按乡镇简称“{label}”匹配 / matched on the township's short name ({code})"
    # else (a township named) a village stem after the township's name, else its short name, else
    # anywhere (rows in which no stem of the township can start are left out at once),
    need = answered[(village[answered] < 0) & (n_town[answered] == 1)]
    if len(need):
        at_town = np.searchsorted(table.towns, town[need])
        texts = table.town_text[at_town]
        cuts = []
        for i, key, short_key in zip(need.tolist(), texts[:, 3].tolist(), texts[:, 4].tolist(), strict=True):
            cut = primary[i].find(key)
            if cut < 0 and (cut := primary[i].find(short_key)) >= 0:
                cuts.append(cut + len(short_key))
            else:
                cuts.append(cut + len(key) if cut >= 0 else 0)
        rest = np.array(cuts, dtype=np.int64)
        span = np.maximum(lengths[need] - rest - 1, 0)  # bigram starts after the cut
        owner = np.repeat(np.arange(len(need)), span)
        pos = begin[need[owner]] + rest[owner] + (np.arange(int(span.sum())) - np.repeat(np.cumsum(span) - span, span))
        where = at_town.astype(np.int64)[owner]
        pair = (where << 42) | (codes[pos].astype(np.int64) << 21) | codes[pos + 1].astype(np.int64)
        candidate = np.zeros(len(need), dtype=bool)
        candidate[owner[_sorted_contains(table.stem_starts, pair)]] = True
        for i, town_code in zip(need[candidate].tolist(), texts[candidate, 0].tolist(), strict=True):
            code = _village_code(idx, town_code, primary[i], [])
            if code:
                village[i] = int(code)
    # else a village form in the facility name (五里村农村幸福院).
    ask = np.flatnonzero(~defer & (village < 0)) if any(secondary) else np.zeros(0, dtype=np.int64)
    ask_names = (fold or _as_they_are)([secondary[i] for i in ask.tolist()])
    words = _names_a_village(ask_names)
    asked = [name for name, word in zip(ask_names, words.tolist(), strict=True) if word]
    ask = ask[words].tolist()
    if ask:
        joined_names = _SEP.join(asked)
        name_hits = _hit_array(idx.automaton.find_matches_as_indexes(joined_names))
        name_codes = np.concatenate([np.frombuffer(joined_names.encode("utf-32-le"), dtype=np.uint32),
                                     np.zeros(1, dtype=np.uint32)])
        name_begin = np.zeros(len(ask) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, asked), dtype=np.int64, count=len(ask)) + 1, out=name_begin[1:])
        which = np.asarray(ask, dtype=np.int64)[np.searchsorted(name_begin, name_hits[:, 1], side="right") - 1]
        k = name_hits[:, 0]
        ok = (table.village_start[k + 1] > table.village_start[k]) & ~_one_of(name_codes[name_hits[:, 2]], _TOWN_ENDS)
        from_name = _single_village(table, k[ok], which[ok], town, n)
        village = np.where(village < 0, from_name, village)

    found.village = village
    found.done[answered] = True
    found.done[list(others)] = True
    return found


def _grouped(keys: np.ndarray, values: np.ndarray) -> list[tuple[int, list[int]]]:
    """(key, values) per distinct key of a key-sorted pair of arrays."""
    out: dict[int, list[int]] = {}
    for k, v in zip(keys.tolist(), values.tolist(), strict=True):
        out.setdefault(k, []).append(v)
    return list(out.items())


def _run_starts(values: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values starts, in a sorted array (first of each)."""
    edge = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=edge[1:])
    return np.flatnonzero(edge)


def _run_ends(values: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values ends, in a sorted array (last of each)."""
    edge = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=edge[:-1])
    return np.flatnonzero(edge)


def _sorted_contains(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``np.isin(x, values)`` for sorted ``values`` (a binary search, no sort of ``x``)."""
    at = np.minimum(np.searchsorted(values, x), max(len(values) - 1, 0))
    return values[at] == x if len(values) else np.zeros(len(x), dtype=bool)


def _names_a_village(texts: list[str]) -> np.ndarray:
    """Per text, ``_NAMES_A_VILLAGE.search(text) is not None`` (村, 社区, 居委, 嘎查 or 委员会 in it)."""
    if not texts:
        return np.zeros(0, dtype=bool)
    joined = _SEP.join(texts)
    found = np.zeros(len(texts), dtype=bool)
    try:
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:
        return np.array([_NAMES_A_VILLAGE.search(t) is not None for t in texts], dtype=bool)
    nxt = np.append(codes[1:], 0)
    nxt2 = np.append(nxt[1:], 0)
    hit = ((codes == ord("村")) | ((codes == ord("社")) & (nxt == ord("区"))) | ((codes == ord("居")) & (nxt == ord("委")))
           | ((codes == ord("嘎")) & (nxt == ord("查"))) | ((codes == ord("委")) & (nxt == ord("员")) & (nxt2 == ord("会"))))
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    begin = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    found[np.searchsorted(begin, np.flatnonzero(hit), side="right") - 1] = True
    return found


def _hit_array(found: list[tuple[int, int, int]]) -> np.ndarray:
    """Hits (key, start, stop) as an (n, 3) int64 array."""
    return np.fromiter(itertools.chain.from_iterable(found), dtype=np.int64, count=3 * len(found)).reshape(-1, 3)


def _expand(starts: np.ndarray, values: np.ndarray, kid: np.ndarray, tag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each key's codes (``values[starts[k]:starts[k + 1]]``) with the tag of the hit, flattened."""
    if not len(kid):
        return tag[:0], values[:0]
    first = starts[kid]
    size = starts[kid + 1] - first
    owner = np.repeat(np.arange(len(kid)), size)
    offset = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
    return tag[owner], values[first[owner] + offset]


def _single_village(table: _KeyTable, kid: np.ndarray, row: np.ndarray, town: np.ndarray, n: int) -> np.ndarray:
    """Per row, the village of the first hit (in order) that names exactly one village of the row's township; -1."""
    village = np.full(n, -1, dtype=np.int64)
    hit, code = _expand(table.village_start, table.village_code, kid, np.arange(len(kid)))
    mine = code // 1000 == town[row[hit]]
    good = np.flatnonzero(np.bincount(hit[mine], minlength=len(kid)) == 1)
    pick = np.zeros(len(kid), dtype=np.int64)
    pick[hit[mine]] = code[mine]
    at = _run_starts(row[good])
    rows = row[good][at]
    village[rows] = pick[good[at]]
    return village


def _finish(m: AddressMatch, idx: RegionIndex) -> AddressMatch:
    """Township-level regions: a township of the same county but outside the region is out_of_region."""
    region = idx.region.code
    if len(region) <= 6:
        return m
    if m.status == "matched" and not m.township_code.startswith(region):
        code = m.township_code
        m.status = "out_of_region"
        m.note_zh = f"属于{m.township_name}({code}),不在区域{idx.region.name}({region})内"
        m.note_en = f"belongs to township {code}, outside the region {region}"
    elif m.status == "ambiguous" and not any(c.startswith(region) for c in m.candidates):
        m.status = "out_of_region"
    return m
