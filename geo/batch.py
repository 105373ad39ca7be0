"""Matching many addresses at once with array operations: the geocoder's path for a sheet's common rows.

:func:`quick_answers` answers, for the rows whose text is plain enough, exactly what the one-row path
(:func:`geo.matching.parse_normalised`) answers, and leaves the other rows to it. It reads the same
rule words (:mod:`geo.names`, as character sets) and writes the same notes (:mod:`geo.notes`);
``tests/test_address.py`` keeps the one-row path as its oracle, row by row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from geo import batch_history, notes
from geo.arrays import (
    code_pairs,
    expand,
    grouped,
    hit_array,
    is_decimal,
    object_array,
    one_of,
    prepare,
    row_array,
    run_ends,
    run_starts,
    sorted_contains,
)
from geo.matching import leading_stem, village_code, village_in_township
from geo.names import (
    DIVISION_ENDS,
    HOUSE_UNITS,
    NOT_AFTER_SHORT,
    REGIONAL,
    TOWN_TOKEN,
    TOWN_TOKEN_SPAN,
    TOWN_TOKEN_SUFFIXES,
    UNKNOWN_TOWN_ENDS,
    UNKNOWN_TOWN_EXCEPT,
    VILLAGE_NOT_BEFORE,
    VILLAGE_WORDS,
)
from geo.normalise import SEP
from geo.region_index import Category, Check, KeyTable, RegionIndex

# The rule words of geo.names as the character sets the arrays are tested against.
_NOT_AFTER_ONE = "".join(w for w in NOT_AFTER_SHORT if len(w) == 1)
_NOT_AFTER_PAIRS = code_pairs(NOT_AFTER_SHORT)
_VILLAGE_STOP = "".join(VILLAGE_NOT_BEFORE)
_UNKNOWN_ONE = "".join(w for w in UNKNOWN_TOWN_ENDS if len(w) == 1)
_UNKNOWN_TWO = [w for w in UNKNOWN_TOWN_ENDS if len(w) == 2]
_TOWN_TOKEN_ENDS = "".join(dict.fromkeys(w[0] for w in TOWN_TOKEN_SUFFIXES))  # where a TOWN_TOKEN can end
_HOUSE_STARTS = "".join(dict.fromkeys(w[0] for w in HOUSE_UNITS))  # what follows the digits of a house number
# How an answer was found (BatchAnswers.method): nothing decisive, the address, the facility name.
_METHODS = np.array(["", "address", "name"], dtype=object)
_NONE, _BY_ADDRESS, _BY_NAME = 0, 1, 2
_PAIR = 1_000_000  # row * _PAIR + county code: a (row, county) pair as one number
_TOWN_PAIR = 1_000_000_000  # row * _TOWN_PAIR + township code

ANSWER_FIELDS = ("match_status", "county_code", "township_code", "township_name", "village_code", "village_name",
                 "match_method", "match_note", "candidates")
# A row answered but not placed: (match_status, county code or "", candidate townships).
Other = tuple[str, str, list[str]]


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
    others: dict[int, Other]

    def columns(self, idx: RegionIndex) -> dict[str, np.ndarray]:
        """The geocoder's answer fields as object arrays ("" on rows not answered).

        Keys: match_status, county_code, township_code, township_name, village_code, village_name,
        match_method, match_note, candidates.
        """
        table = idx.table
        n = len(self.answered)
        cols = {k: np.full(n, "", dtype=object) for k in ANSWER_FIELDS}
        cols["match_method"][self.answered] = _METHODS[self.method[self.answered]]
        if self.notes:
            cols["match_note"][row_array(self.notes)] = object_array(list(self.notes.values()))
        placed = self.answered.copy()
        if self.others:
            where = row_array(self.others)
            status, county, candidates = zip(*self.others.values(), strict=True)
            cols["match_status"][where] = object_array(status)
            cols["county_code"][where] = object_array(county)
            cols["candidates"][where] = object_array([";".join(c) for c in candidates])
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


def prepare_batch(idx: RegionIndex) -> None:
    """Build what :func:`quick_answers` needs besides the index (once; before forking workers that share it)."""
    prepare(_NOT_AFTER_ONE, _VILLAGE_STOP, _UNKNOWN_ONE, _TOWN_TOKEN_ENDS, _HOUSE_STARTS)


def _as_they_are(texts: list[str]) -> list[str]:
    return texts


def quick_answers(idx: RegionIndex, texts: list[str], names: list[str],
                  fold: Callable[[list[str]], list[str]] | None = None) -> BatchAnswers:
    """:func:`geo.matching.parse_normalised` over many rows at once, for the common cases, with array operations.

    Answers a row when its text (the address, else the facility name) names one township in full or
    by a short name that counts (several of that name are told apart by the county named; else a
    tie), or one village whose name is unique in the scope (shared: a tie), or leads with a division
    outside the region (out_of_region), or names an old township right after the county (unmatched,
    reported), or nothing at all (then the facility name decides, within the county named). Rows
    needing the one-row rules (a second short name, a two-character county, 区域, a bare village
    stem, ...) are left unanswered for the one-row path.

    Parameters
    ----------
    idx : RegionIndex
        A county-or-larger region's index.
    texts, names : list of str
        Normalised addresses and facility names, one pair per row.
    fold : callable, optional
        When given, ``names`` are as written and this folds a list of them (:func:`geo.normalise.normalise_many`):
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
    guess = [i for i, t in enumerate(texts) if t and len(t) <= 12 and t.endswith(DIVISION_ENDS)]
    named = dict(zip(guess, fold([names[i] for i in guess]), strict=True))
    guess = [i for i in guess if named[i]]
    both = _answer_batch(idx, primary + [named[i] for i in guess], secondary + [""] * len(guess), fold=fold,
                         hint_from=np.asarray(guess, dtype=np.int64))
    first, read = both.split(n)
    out = BatchAnswers(first.done, first.town, first.village,
                       np.where(np.fromiter(map(bool, texts), dtype=bool, count=n), _BY_ADDRESS, _BY_NAME
                                ).astype(np.int8), first.notes, first.others)
    # Where the address finds nothing decisive, the facility name decides within the county named.
    said = [i for i in first.nothing if texts[i] and i not in named]
    named.update(zip(said, fold([names[i] for i in said]), strict=True))
    for i, note in first.nothing.items():
        if not texts[i]:  # the address is empty: the row reads the name already
            _unmatched(out, i, notes.EMPTY.text(), 0)
        elif note is not None and not named[i]:
            _unmatched(out, i, note, int(first.county[i]))
    position = {i: j for j, i in enumerate(guess)}
    asked = [i for i in first.nothing if texts[i] and named[i]]
    read_rows = [i for i in asked if i in position]
    if read_rows:
        _by_name(out, first, read_rows, read.pick([position[i] for i in read_rows]))
    ask = [i for i in asked if i not in position]
    if ask:
        _by_name(out, first, ask, _answer_batch(idx, [named[i] for i in ask], [""] * len(ask),
                                                hint=first.county[np.asarray(ask, dtype=np.int64)]))
    return out


def _unmatched(out: BatchAnswers, i: int, note: str, county: int) -> None:
    """Nothing found in address or name: the address's own note."""
    out.answered[i], out.method[i] = True, _NONE
    out.others[i] = ("unmatched", str(county) if county else "", [])
    out.notes[i] = note


def _by_name(out: BatchAnswers, first: _Found, rows: list[int], got: _Found) -> None:
    """The answers the facility names gave (``got``, one per row of ``rows``)."""
    at = np.asarray(rows, dtype=np.int64)
    out.answered[at], out.township[at], out.village[at] = got.done, got.town, got.village
    out.method[at] = _BY_NAME
    out.notes.update({rows[j]: note for j, note in got.notes.items()})
    out.others.update({rows[j]: other for j, other in got.others.items()})
    for j in got.nothing:  # the name finds nothing either
        i = rows[j]
        note = first.nothing[i]
        if note is not None:
            _unmatched(out, i, note, int(first.county[i]))


@dataclass
class _Found:
    """What :func:`_answer_batch` found in one text per row."""

    done: np.ndarray  # bool: decided (placed, tied, out of region, an old township name)
    town: np.ndarray  # int64 township code, -1
    village: np.ndarray  # int64 village code, -1
    notes: dict[int, str]
    others: dict[int, Other]  # decided, not placed
    # Rows in which nothing decisive was found → their note when that is the answer (None: a bare village
    # stem is noted, which the one-row path words).
    nothing: dict[int, str | None]
    county: np.ndarray  # int64: the one county in the row's scope, 0 when none or several
    by_history: set[int] = field(default_factory=set)  # rows the division history answered (geo.old_towns)

    def split(self, n: int) -> tuple[_Found, _Found]:
        """Rows before ``n`` and rows from ``n`` on, each numbered from 0."""
        def part(lo: int, hi: int) -> _Found:
            return _Found(self.done[lo:hi], self.town[lo:hi], self.village[lo:hi],
                          {i - lo: v for i, v in self.notes.items() if lo <= i < hi},
                          {i - lo: v for i, v in self.others.items() if lo <= i < hi},
                          {i - lo: v for i, v in self.nothing.items() if lo <= i < hi}, self.county[lo:hi],
                          {i - lo for i in self.by_history if lo <= i < hi})

        return part(0, n), part(n, len(self.done))

    def pick(self, rows: list[int]) -> _Found:
        """These rows, numbered from 0 in this order."""
        at = np.asarray(rows, dtype=np.int64)
        new = {i: j for j, i in enumerate(rows)}
        return _Found(self.done[at], self.town[at], self.village[at],
                      {new[i]: v for i, v in self.notes.items() if i in new},
                      {new[i]: v for i, v in self.others.items() if i in new},
                      {new[i]: v for i, v in self.nothing.items() if i in new}, self.county[at],
                      {new[i] for i in self.by_history if i in new})


@dataclass
class _Scan:
    """The name hits of one text per row, as arrays: what every stage of :func:`_answer_batch` reads.

    Hit arrays (``kid`` ... ``check``) have one entry per hit, in text order; ``row`` is the hit's row.
    ``a1``-``a3`` are the three characters after each hit (NUL past a text's end). ``defer`` marks the
    rows left to the one-row path.
    """

    idx: RegionIndex
    table: KeyTable
    primary: list[str]
    n: int
    lengths: np.ndarray
    begin: np.ndarray  # where each row's text starts in the joined text
    codes: np.ndarray  # the joined text's code points
    padded: np.ndarray  # the same, with three NULs after
    kid: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    row: np.ndarray
    a1: np.ndarray
    a2: np.ndarray
    a3: np.ndarray
    cat: np.ndarray
    check: np.ndarray
    defer: np.ndarray
    secondary: list[str]  # per row: the facility name beside the address ("" when none), as given
    fold: Callable[[list[str]], list[str]]  # folds those names
    settle: list[int] = field(default_factory=list)  # ties whose facility name may narrow them
    by_history: list[int] = field(default_factory=list)  # rows placed by the division history (geo.old_towns)
    history_ties: list[int] = field(default_factory=list)  # rows it leaves ambiguous

    def names_may_settle(self, rows: np.ndarray) -> np.ndarray:
        """Per row of ``rows`` (ties): whether its facility name may narrow the tie (it names a county,
        a township or a village, or leads with a village stem), so that the one-row rules decide."""
        rows = rows[np.fromiter((bool(self.secondary[i]) for i in rows.tolist()), dtype=bool, count=len(rows))]
        out = np.zeros(self.n, dtype=bool)
        if not len(rows):
            return out
        names = self.fold([self.secondary[i] for i in rows.tolist()])
        joined = SEP.join(names)
        hits = hit_array(self.idx.automaton.find_matches_as_indexes(joined))
        cat = self.table.cat[hits[:, 0]]
        begin = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, names), dtype=np.int64, count=len(names)) + 1, out=begin[1:])
        placed = hits[(cat == Category.COUNTY) | (cat == Category.PLACE), 1]
        out[rows[np.searchsorted(begin, placed, side="right") - 1]] = True
        out[[i for i, name in zip(rows.tolist(), names, strict=True)
             if not out[i] and leading_stem(self.idx, name)[1]]] = True
        return out

    def text_of(self, h: int, i: int) -> str:
        """The text of hit ``h`` (in row ``i``)."""
        return self.primary[i][int(self.start[h] - self.begin[i]):int(self.stop[h] - self.begin[i])]


@dataclass
class _Named:
    """Which hits count, and what they name (per row: how many townships, villages, hits)."""

    village_skip: np.ndarray  # a village form before 镇/乡: passed over
    short: np.ndarray  # a short-name hit
    counted: np.ndarray  # a short name that counts
    kept: np.ndarray  # hits that count
    full_town: np.ndarray
    short_town: np.ndarray
    town_hit: np.ndarray
    village_hit: np.ndarray
    admin: np.ndarray  # county and ancestor hits that count
    n_town: np.ndarray  # per row
    by_short: np.ndarray  # per row: a township named by its short name
    n_kept: np.ndarray
    n_village: np.ndarray
    swap: np.ndarray  # a 乡/镇 swap, the row's only township-like name (see _lone_swaps)
    swap_beside: np.ndarray  # per row: villages are named beside it


@dataclass
class _Scope:
    """The counties each row's answer is sought in: every county the text names, else the hint."""

    rows: np.ndarray  # (row, county) pairs as two arrays
    counties: np.ndarray
    named_county: np.ndarray  # per row: the text names a county
    pairs: np.ndarray  # sorted row * _PAIR + county
    scoped: np.ndarray  # per row: a scope at all (else the whole region)

    def holds(self, rows: np.ndarray, county: np.ndarray) -> np.ndarray:
        """Per (row, county): inside the row's scope (every county when it has none)."""
        inside: np.ndarray = ~self.scoped[rows] | sorted_contains(self.pairs, rows * _PAIR + county)
        return inside


def _answer_batch(idx: RegionIndex, primary: list[str], secondary: list[str], hint: np.ndarray | None = None,
                  fold: Callable[[list[str]], list[str]] | None = None, hint_from: np.ndarray | None = None
                  ) -> _Found:
    """The work of :func:`quick_answers` on one text per row (``secondary``: a facility name that may
    give the village, folded by ``fold`` when given; ``hint``: per row, a county code to scope a text that
    names none, 0 for none; ``hint_from``: for the last rows, the row whose one named county scopes each)."""
    n = len(primary)
    town = np.full(n, -1, dtype=np.int64)
    found = _Found(np.zeros(n, dtype=bool), town, town.copy(), {}, {}, {}, np.zeros(n, dtype=np.int64))
    s = _scan(idx, primary, secondary, fold or _as_they_are) if n else None
    if s is None:  # nothing, or lone surrogates kept by the reader: row by row
        return found
    village_skip = (s.check == Check.VILLAGE_FORM) & one_of(s.a1, _VILLAGE_STOP)
    short = s.check == Check.SHORT_NAME
    counted = _short_names_counted(s, short, village_skip)
    _out_of_region(s, village_skip, found)
    named = _which_count(s, village_skip, short, counted)
    scope = _county_scope(s, named, found, hint, hint_from)
    _townships(s, named, scope, found)
    vh = named.village_hit & ~s.defer[s.row] & (named.n_town[s.row] == 1)
    village = _single_village(s.table, s.kid[vh], s.row[vh], town, n)
    _swaps(s, named, scope, found, village)
    bare = (named.n_town == 0) & ~s.defer
    admin_end = _admin_end(s, named)
    if bare.any():
        _old_names(s, named, scope, found, bare, admin_end, village)
    _nothing_named(s, named, scope, found, bare, admin_end)
    bare &= ~s.defer
    if bare.any():
        _villages_alone(s, named, scope, found, bare, village)
    s.defer[s.by_history] = False  # placed: their village may still come from the facility name
    if s.history_ties:  # ambiguous by the history: the facility name may narrow them (geo.matching.combine)
        s.settle += np.flatnonzero(s.names_may_settle(np.asarray(s.history_ties, dtype=np.int64))).tolist()
    answered = np.flatnonzero(~s.defer)
    _short_name_notes(s, named, found, answered)
    _stems_after_town(s, named, found, answered, village)
    found.village = _village_from_names(s, town, village)
    found.done[answered] = True
    placed = _settle_by_names(s, found)
    found.done[list(found.others)] = True
    found.done[placed] = True
    return found


def _scan(idx: RegionIndex, primary: list[str], secondary: list[str], fold: Callable[[list[str]], list[str]]
          ) -> _Scan | None:
    """The hits of every row's text, found in one pass over the texts joined (None: not encodable)."""
    n = len(primary)
    joined = SEP.join(primary)
    try:
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:
        return None
    table = idx.table
    lengths = np.fromiter(map(len, primary), dtype=np.int64, count=n)
    begin = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=begin[1:])
    hits = hit_array(idx.automaton.find_matches_as_indexes(joined))
    kid, start, stop = hits[:, 0], hits[:, 1], hits[:, 2]
    row = np.searchsorted(begin, start, side="right") - 1
    padded = np.concatenate([codes, np.zeros(3, dtype=np.uint32)])  # the text's end reads as NUL
    check = table.check[kid]
    defer = np.zeros(n, dtype=bool)
    if REGIONAL in joined:
        regional = (codes[:-1] == ord(REGIONAL[0])) & (codes[1:] == ord(REGIONAL[1]))
        defer[np.searchsorted(begin, np.flatnonzero(regional), side="right") - 1] = True
    defer[row[check == Check.TWO_CHARACTER_COUNTY]] = True  # the one-row check
    return _Scan(idx, table, primary, n, lengths, begin, codes, padded, kid, start, stop, row,
                 padded[stop], padded[stop + 1], padded[stop + 2], table.cat[kid], check, defer,
                 secondary, fold)


def _which_count(s: _Scan, village_skip: np.ndarray, short: np.ndarray, counted: np.ndarray) -> _Named:
    """The hits that count (see :func:`geo.matching.passed_over`), and what they name per row."""
    short_town = counted & (s.cat == Category.PLACE)
    kept = (~village_skip & ~short & (s.check != Check.TWO_CHARACTER_COUNTY)) | short_town
    s.defer[s.row[kept & (s.cat == Category.FOREIGN)]] = True  # (rows out of region are answered first)
    place = kept & (s.cat == Category.PLACE)
    swap, swap_beside = _lone_swaps(s, kept & s.table.aliased[s.kid], place & ~s.table.aliased[s.kid])
    full_town = place & (s.table.town_start[s.kid + 1] > s.table.town_start[s.kid])
    town_hit = full_town | short_town
    has_villages = s.table.village_start[s.kid + 1] > s.table.village_start[s.kid]
    village_hit = place & ~town_hit & has_villages
    s.defer[s.row[town_hit & has_villages]] = True
    n_town = np.bincount(s.row[town_hit], minlength=s.n)
    by_short = np.zeros(s.n, dtype=bool)
    by_short[s.row[short_town]] = True
    s.defer |= (n_town > 1) | (by_short & (np.bincount(s.row[full_town], minlength=s.n) > 0))
    admin = kept & ((s.cat == Category.COUNTY) | (s.cat == Category.ANCESTOR))
    return _Named(village_skip, short, counted, kept, full_town, short_town, town_hit, village_hit, admin, n_town,
                  by_short, np.bincount(s.row[kept], minlength=s.n), np.bincount(s.row[village_hit], minlength=s.n),
                  swap, swap_beside)


def _lone_swaps(s: _Scan, alias: np.ndarray, other_place: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hits of a 乡/镇 swap that are their row's only township-like name, alone or beside village forms only (the
    array rules answer those, see :func:`_swaps`), and per row whether villages are beside it; rows with any other
    township alias or township name are left to the one-row rules."""
    table = s.table
    k = s.kid
    plain_swap = alias & (table.swap_start[k + 1] > table.swap_start[k]) & (table.village_start[k + 1] == table.village_start[k])
    village_only = (other_place & (table.village_start[k + 1] > table.village_start[k])
                    & (table.town_start[k + 1] == table.town_start[k]) & (table.short_start[k + 1] == table.short_start[k]))
    n_other = np.bincount(s.row[other_place], minlength=s.n)
    alone = (np.bincount(s.row[alias], minlength=s.n) == 1) & (n_other == np.bincount(s.row[village_only], minlength=s.n))
    lone = plain_swap & alone[s.row]
    s.defer[s.row[alias & ~lone]] = True
    return lone, n_other > 0


def _short_names_counted(s: _Scan, short: np.ndarray, village_skip: np.ndarray) -> np.ndarray:
    """Short names count when first in the text or right after a kept hit, unless a road word, a house
    number or another township name follows (Check.SHORT_NAME)."""
    counted = np.zeros(len(s.row), dtype=bool)
    h = np.flatnonzero(short)
    if not len(h):
        return counted
    r, b1, b2, b3 = s.row[h], s.a1[h], s.a2[h], s.a3[h]
    p = np.maximum(h - 1, 0)  # the hit before (the first hit has none: start == begin then)
    adjacent = (s.start[h] == s.begin[r]) | ((h > 0) & (s.row[p] == r) & (s.stop[p] == s.start[h])
                                            & ~village_skip[p] & (s.check[p] != Check.SHORT_NAME))
    not_after = one_of(b1, _NOT_AFTER_ONE) | sorted_contains(_NOT_AFTER_PAIRS, (b1.astype(np.int64) << 21) | b2)
    house = np.zeros(len(h), dtype=bool)
    numbered = is_decimal()[b1]
    if numbered.any():
        non_digits = np.flatnonzero(~is_decimal()[s.padded])
        after_digits = non_digits[np.searchsorted(non_digits, s.stop[h[numbered]])]
        house[numbered] = one_of(s.padded[after_digits], _HOUSE_STARTS)
    cjk1 = (b1 >= 0x4E00) & (b1 <= 0x9FFF)
    cjk2 = (b2 >= 0x4E00) & (b2 <= 0x9FFF)
    town_end = one_of(b2, _UNKNOWN_ONE) | (cjk2 & one_of(b3, _UNKNOWN_ONE))
    for word in _UNKNOWN_TWO:
        town_end |= (b2 == ord(word[0])) & (b3 == ord(word[1]))
    town_after = cjk1 & town_end & ~((b1 == ord(UNKNOWN_TOWN_EXCEPT[0])) & (b2 == ord(UNKNOWN_TOWN_EXCEPT[1])))
    counted[h] = adjacent & ~not_after & ~house & ~town_after
    # Adjacency above takes short names as passed over: with two, the second may follow a counted first.
    several = np.bincount(r, minlength=s.n) > 1
    s.defer[s.row[counted & ((s.cat != Category.PLACE) | several[s.row])]] = True
    return counted


def _out_of_region(s: _Scan, village_skip: np.ndarray, found: _Found) -> None:
    """Another region named first (before any name of the region): out_of_region, whatever follows."""
    matters = ~village_skip & ((s.cat != Category.ANCESTOR) | (s.check != Check.NONE))
    lead = np.flatnonzero(matters)
    lead = lead[run_starts(s.row[lead])]
    lead_rows = s.row[lead]
    outside = (s.cat[lead] == Category.FOREIGN) & (s.check[lead] == Check.NONE) & ~s.defer[lead_rows]
    worded: dict[str, str] = {}
    region = s.idx.region
    for i, code in zip(lead_rows[outside].tolist(), s.table.foreign[s.kid[lead[outside]]].tolist(), strict=True):
        found.others[i] = ("out_of_region", "", [])
        if code not in worded:
            worded[code] = notes.out_of_region(code, region.full_name, region.code).text()
        found.notes[i] = worded[code]


def _county_scope(s: _Scan, named: _Named, found: _Found, hint: np.ndarray | None,
                  hint_from: np.ndarray | None) -> _Scope:
    """Every county the text names (else the hint; else the whole region); ``found.county`` is the
    row's county when it has exactly one in scope (every answer but a placed one keeps it)."""
    county_hit = named.kept & (s.cat == Category.COUNTY)
    c_rows, c_codes = expand(s.table.county_start, s.table.county_code, s.kid[county_hit], s.row[county_hit])
    named_county = np.zeros(s.n, dtype=bool)
    named_county[c_rows] = True
    pairs = np.unique(c_rows * _PAIR + c_codes)
    if hint_from is not None and len(hint_from):
        own_county = np.zeros(s.n, dtype=np.int64)
        own_county[pairs // _PAIR] = pairs % _PAIR
        own_county[np.bincount(pairs // _PAIR, minlength=s.n) != 1] = 0
        hint = np.zeros(s.n, dtype=np.int64)
        hint[s.n - len(hint_from):] = own_county[hint_from]
    if hint is not None:
        hinted = np.flatnonzero((hint > 0) & ~named_county)  # rows naming no county: theirs are new pairs
        c_rows, c_codes = np.concatenate([c_rows, hinted]), np.concatenate([c_codes, hint[hinted]])
        pairs = np.sort(np.concatenate([pairs, hinted * _PAIR + hint[hinted]]))
    scoped = np.zeros(s.n, dtype=bool)
    scoped[c_rows] = True
    one_county = np.bincount(pairs // _PAIR, minlength=s.n) == 1
    found.county[pairs // _PAIR] = pairs % _PAIR
    found.county[~one_county] = 0
    return _Scope(c_rows, c_codes, named_county, pairs, scoped)


def _county_of(found: _Found, i: int) -> str:
    return str(found.county[i]) if found.county[i] else ""


def _townships(s: _Scan, named: _Named, scope: _Scope, found: _Found) -> None:
    """A township named (in full, or by a short name that counts): its one code in the scope; several,
    and no village to settle them: a tie."""
    table = s.table
    t_rows, t_codes = expand(table.town_start, table.town_code, s.kid[named.full_town], s.row[named.full_town])
    s_rows, s_codes = expand(table.short_start, table.short_code, s.kid[named.short_town], s.row[named.short_town])
    t_rows, t_codes = np.concatenate([t_rows, s_rows]), np.concatenate([t_codes, s_codes])
    ok = scope.holds(t_rows, t_codes // 1000)
    n_in = np.bincount(t_rows[ok], minlength=s.n)
    found.town[t_rows[ok]] = t_codes[ok]
    one = named.n_town == 1
    tie = one & (n_in > 1) & (named.n_village == 0) & ~s.defer
    s.settle += np.flatnonzero(s.names_may_settle(np.flatnonzero(tie))).tolist()
    s.defer[one & (n_in != 1) & ~tie] = True
    if tie.any():
        pairs = np.unique(t_rows[ok & tie[t_rows]] * _TOWN_PAIR + t_codes[ok & tie[t_rows]])
        for i, codes in grouped(pairs // _TOWN_PAIR, pairs % _TOWN_PAIR):
            kept = [str(c) for c in codes]
            found.others[i] = ("ambiguous", _county_of(found, i), kept)
            found.notes[i] = notes.township_tie(s.idx.town_name, kept).text()
        s.defer |= tie  # answered as ties, not as townships


def _swaps(s: _Scan, named: _Named, scope: _Scope, found: _Found, village: np.ndarray) -> None:
    """A township written with 乡/镇 swapped: the division history's answer where it knows the form as an old name
    (:func:`geo.old_towns.resolve`, with the first village named as evidence); else, with no village named, its
    one candidate in scope, reported as ambiguous (several, or villages named: the one-row rules)."""
    rows = s.row[named.swap]
    if not len(rows):
        return
    h_rows, codes = expand(s.table.swap_start, s.table.swap_code, s.kid[named.swap], np.flatnonzero(named.swap))
    ok = scope.holds(s.row[h_rows], codes // 1000)
    n_in = np.bincount(s.row[h_rows[ok]], minlength=s.n)
    one = np.zeros(s.n, dtype=bool)
    one[rows] = True
    one &= (n_in == 1) & ~s.defer  # (a facility name cannot narrow one candidate: see geo.matching.combine)
    s.defer[rows] = True
    code_of = dict(zip(s.row[h_rows[ok]].tolist(), codes[ok].tolist(), strict=True))
    counties = batch_history.row_counties(s, scope, found)
    first_village = batch_history.first_village_hits(s, named.village_hit, np.flatnonzero(one))
    for i, h in zip(s.row[named.swap].tolist(), np.flatnonzero(named.swap).tolist(), strict=True):
        if one[i]:
            if batch_history.ask(s, scope, found, village, i, int(s.start[h] - s.begin[i]), int(s.stop[h] - s.start[h]),
                                 first_village.get(i), counties):
                continue
            if named.swap_beside[i]:  # confirmed or not by a village of it: the one-row rules
                continue
            code = str(code_of[i])
            found.others[i] = ("ambiguous", _county_of(found, i), [code])
            found.notes[i] = notes.swapped_unconfirmed(s.text_of(h, i), s.idx.town_name[code], code).text()


def _admin_end(s: _Scan, named: _Named) -> np.ndarray:
    """Per row, where its last province/city/county name that counts ends (0 when none)."""
    admin_end = np.zeros(s.n, dtype=np.int64)
    last = np.flatnonzero(named.admin)
    last = last[run_ends(s.row[last])]  # a row's hits are in order: its last admin hit ends last
    admin_end[s.row[last]] = s.stop[last] - s.begin[s.row[last]]
    return admin_end


def _old_names(s: _Scan, named: _Named, scope: _Scope, found: _Found, bare: np.ndarray,
               admin_end: np.ndarray, village: np.ndarray) -> None:
    """No township named: an old township name right after the county (or first) is answered by the division
    history (:func:`geo.old_towns.resolve`, memoised per distinct name), else reported."""
    row, begin = s.row, s.begin
    after = named.kept & (s.start - begin[row] >= admin_end[row])
    gap_end = s.lengths.copy()
    first = np.flatnonzero(after)
    first = first[run_starts(row[first])]
    gap_end[row[first]] = s.start[first] - begin[row[first]]
    # A TOWN_TOKEN ends in reach of the county (its suffix starts TOWN_TOKEN_SPAN characters after it):
    # rows without such an end are passed by.
    rows = np.flatnonzero(bare)
    at = (begin[rows] + admin_end[rows])[:, None] + np.arange(TOWN_TOKEN_SPAN[0], TOWN_TOKEN_SPAN[1] + 1)
    ends = (one_of(s.padded[np.minimum(at, len(s.codes))], _TOWN_TOKEN_ENDS)
            & (at < (begin[rows] + gap_end[rows])[:, None]))
    maybe = np.zeros(s.n, dtype=bool)
    maybe[rows] = ends.any(axis=1)
    cand = np.flatnonzero(maybe)
    first_village = batch_history.first_village_hits(s, named.village_hit, cand)
    reported = []
    counties = batch_history.row_counties(s, scope, found)
    for i, lo, hi, county in zip(cand.tolist(), admin_end[cand].tolist(), gap_end[cand].tolist(),
                                 found.county[cand].tolist(), strict=True):
        old = TOWN_TOKEN.match(s.primary[i][lo:hi])
        if old is None:
            continue
        reported.append(i)
        if batch_history.ask(s, scope, found, village, i, lo, hi - lo, first_village.get(i), counties):
            continue
        # The first village named: whose it is, to check by hand.
        form, v_codes = batch_history.village_evidence(s, scope, i, first_village.get(i))
        note = notes.old_township(old.group(1))
        towns = [str(c) for c in np.unique(v_codes // 1000)] if len(v_codes) else []
        if towns:
            note = note.then(notes.village_belongs(s.idx.town_name, form, towns))
        found.others[i] = ("unmatched", str(county) if county else "", [])
        found.notes[i] = note.text()
    bare[reported] = False
    s.defer[reported] = True  # answered as reported, not as a township (those placed by history: see by_history)


def _nothing_named(s: _Scan, named: _Named, scope: _Scope, found: _Found, bare: np.ndarray,
                   admin_end: np.ndarray) -> None:
    """Nothing at all but the county (or nothing): the facility name may decide (``found.nothing``)."""
    quiet = np.flatnonzero(bare & (named.n_village == 0) & (named.n_kept == np.bincount(s.row[named.admin],
                                                                                       minlength=s.n)))
    asked = np.zeros(s.n, dtype=bool)
    asked[quiet] = True
    asked &= scope.named_county
    counties_named = dict(grouped(scope.rows[asked[scope.rows]], scope.counties[asked[scope.rows]]))
    worded: dict[tuple[int, ...], str] = {}
    for i, lo, size, in_county, scoped in zip(quiet.tolist(), admin_end[quiet].tolist(), s.lengths[quiet].tolist(),
                                             scope.named_county[quiet].tolist(), scope.scoped[quiet].tolist(),
                                             strict=True):
        _, stem_codes = leading_stem(s.idx, s.primary[i][lo:]) if size - lo >= 2 else ("", ())
        if stem_codes and scoped:
            pairs = np.array([i * _PAIR + int(c[:6]) for c in stem_codes], dtype=np.int64)
            stem_codes = tuple(c for c, ok in zip(stem_codes, sorted_contains(scope.pairs, pairs).tolist(),
                                                  strict=True) if ok)  # (a binary search: every row's counties)
        if len({c[:9] for c in stem_codes}) > 1:
            continue  # ambiguous between the stem's villages: the one-row path words it
        if stem_codes:
            found.nothing[i] = None
        elif in_county:
            counties = tuple(dict.fromkeys(counties_named[i]))
            if counties not in worded:
                worded[counties] = notes.county_only("、".join(s.idx.county_name[str(c)] for c in counties)).text()
            found.nothing[i] = worded[counties]
        else:
            found.nothing[i] = (notes.NOTHING_FOUND if size else notes.EMPTY).text()
    s.defer[quiet] = True


def _villages_alone(s: _Scan, named: _Named, scope: _Scope, found: _Found, bare: np.ndarray,
                    village: np.ndarray) -> None:
    """Villages named and no township: the first village form with villages in the scope, when they all
    lie in one township (no township short name alike); when they lie in several and no other village
    form narrows them: a tie."""
    row, n = s.row, s.n
    alone = np.flatnonzero(bare)
    vh = named.village_hit & bare[row]
    v_hit, v_code = expand(s.table.village_start, s.table.village_code, s.kid[vh], np.flatnonzero(vh))
    ok = scope.holds(row[v_hit], v_code // 1_000_000)
    v_hit, v_code = v_hit[ok], v_code[ok]
    first_hit = np.full(n, len(row), dtype=np.int64)
    first = v_hit[run_starts(row[v_hit])]  # (hits in order, each with its codes)
    first_hit[row[first]] = first
    mine = v_hit == first_hit[row[v_hit]]
    f_rows, f_code = row[v_hit[mine]], v_code[mine]
    n_codes = np.bincount(f_rows, minlength=n)
    towns_seen = np.unique(f_rows * _TOWN_PAIR + f_code // 1000)
    n_towns = np.bincount(towns_seen // _TOWN_PAIR, minlength=n)
    n_sets = np.bincount(row[v_hit[run_starts(v_hit)]], minlength=n)
    plain = (n_codes >= 1) & ~s.table.shadowed[s.kid[np.minimum(first_hit, len(row) - 1)]]
    unique = plain & (n_towns == 1)
    shared = plain & (n_towns > 1) & (n_sets == 1)
    s.settle += np.flatnonzero(s.names_may_settle(np.flatnonzero(shared))).tolist()
    s.defer[alone[~(unique | shared)[alone]]] = True
    towns_seen = towns_seen[shared[towns_seen // _TOWN_PAIR]]
    shared_towns = dict(grouped(towns_seen // _TOWN_PAIR, towns_seen % _TOWN_PAIR))
    found.town[f_rows] = f_code // 1000
    village[f_rows[n_codes[f_rows] == 1]] = f_code[n_codes[f_rows] == 1]
    placed = alone[(unique | shared)[alone]]
    for i, h, alone_, county in zip(placed.tolist(), first_hit[placed].tolist(), unique[placed].tolist(),
                                    found.county[placed].tolist(), strict=True):
        form = s.text_of(h, i)
        if alone_:
            found.notes[i] = notes.unique_village(form).text()
            continue
        towns = [str(c) for c in shared_towns[i]]
        found.others[i] = ("ambiguous", str(county) if county else "", towns)
        found.notes[i] = notes.shared_village(s.idx.town_name, form, towns).text()
    s.defer[placed[~unique[placed]]] = True  # answered as ties, not as townships


def _settle_by_names(s: _Scan, found: _Found) -> list[int]:
    """Ties whose facility name gives candidates too: their intersection (:func:`geo.matching.combine`).
    Returns the rows it placed; rows whose name needs the one-row rules are left to them."""
    rows = [i for i in s.settle if i in found.others]
    if not rows:
        return []
    names = s.fold([s.secondary[i] for i in rows])
    got = _answer_batch(s.idx, names, [""] * len(rows), hint=found.county[np.asarray(rows, dtype=np.int64)])
    placed = []
    for j, (i, name) in enumerate(zip(rows, names, strict=True)):
        if not got.done[j] and j not in got.nothing:  # the name needs the one-row rules
            del found.others[i], found.notes[i]
            continue
        _, county, candidates = found.others[i]
        common = _common_towns(candidates, got, j)
        if not common or len(common) == len(candidates):  # disagreeing, or narrowing nothing: the tie stands
            continue
        sources = notes.evidence_sources(notes.ADDRESS_AND_NAME, i in found.by_history or j in got.by_history)
        if len(common) > 1:
            one_county = len({c[:6] for c in common}) == 1
            found.others[i] = ("ambiguous", common[0][:6] if one_county else county, common)
            found.notes[i] = notes.evidence_narrowed(sources, s.idx.town_name, common).text()
            continue
        code = common[0]
        del found.others[i]
        village = village_in_township(s.idx, code, s.primary[i])[0] or village_in_township(
            s.idx, code, name, stems_too=False)[0]
        found.town[i], found.village[i] = int(code), int(village) if village else -1
        found.notes[i] = notes.evidence_agrees(sources, s.idx.town_name[code], code).text()
        placed.append(i)
    return placed


def _common_towns(candidates: list[str], got: _Found, j: int) -> list[str] | None:
    """The tie's candidates that name ``j`` of ``got`` leaves possible (as geo.matching.candidate_towns)."""
    other = got.others.get(j)
    if got.done[j] and other is None:
        theirs = {str(got.town[j])}
    elif other is not None and other[0] == "ambiguous":
        theirs = set(other[2])
    else:  # only a county, or nothing: its townships
        county = other[1] if other is not None else (str(got.county[j]) if got.county[j] else "")
        if not county:
            return None
        theirs = {c for c in candidates if c.startswith(county)}
    return sorted(set(candidates) & theirs)


def _short_name_notes(s: _Scan, named: _Named, found: _Found, answered: np.ndarray) -> None:
    """A township named by its short name says so."""
    short_rows = answered[named.by_short[answered]]
    labels = s.table.town_text[np.searchsorted(s.table.towns, found.town[short_rows]), 5]
    for i, code, label in zip(short_rows.tolist(), found.town[short_rows].tolist(), labels.tolist(), strict=True):
        found.notes[i] = notes.by_short_name(label, str(code)).text()


def _stems_after_town(s: _Scan, named: _Named, found: _Found, answered: np.ndarray, village: np.ndarray) -> None:
    """A township named and no village form: a village stem after the township's name, else its short
    name, else anywhere (:func:`geo.matching.village_code`). Rows in which no stem of the township
    can start are left out at once."""
    need = answered[(village[answered] < 0) & (named.n_town[answered] == 1)]
    if not len(need):
        return
    at_town = np.searchsorted(s.table.towns, found.town[need])
    texts = s.table.town_text[at_town]
    cuts = []
    for i, key, short_key in zip(need.tolist(), texts[:, 3].tolist(), texts[:, 4].tolist(), strict=True):
        cut = s.primary[i].find(key)
        if cut < 0 and (cut := s.primary[i].find(short_key)) >= 0:
            cuts.append(cut + len(short_key))
        else:
            cuts.append(cut + len(key) if cut >= 0 else 0)
    rest = np.array(cuts, dtype=np.int64)
    span = np.maximum(s.lengths[need] - rest - 1, 0)  # bigram starts after the cut
    owner = np.repeat(np.arange(len(need)), span)
    pos = s.begin[need[owner]] + rest[owner] + (np.arange(int(span.sum())) - np.repeat(np.cumsum(span) - span, span))
    where = at_town.astype(np.int64)[owner]
    pair = (where << 42) | (s.codes[pos].astype(np.int64) << 21) | s.codes[pos + 1].astype(np.int64)
    candidate = np.zeros(len(need), dtype=bool)
    candidate[owner[sorted_contains(s.table.stem_starts, pair)]] = True
    for i, town_code in zip(need[candidate].tolist(), texts[candidate, 0].tolist(), strict=True):
        code = village_code(s.idx, town_code, s.primary[i], [])
        if code:
            village[i] = int(code)


def _village_from_names(s: _Scan, town: np.ndarray, village: np.ndarray) -> np.ndarray:
    """Rows placed without a village: a village form in the facility name (五里村农村幸福院)."""
    ask = np.flatnonzero(~s.defer & (village < 0)) if any(s.secondary) else np.zeros(0, dtype=np.int64)
    ask_names = s.fold([s.secondary[i] for i in ask.tolist()])
    words = _names_a_village(ask_names)
    asked = [name for name, word in zip(ask_names, words.tolist(), strict=True) if word]
    rows = ask[words].tolist()
    if not rows:
        return village
    joined = SEP.join(asked)
    hits = hit_array(s.idx.automaton.find_matches_as_indexes(joined))
    codes = np.concatenate([np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32), np.zeros(1, dtype=np.uint32)])
    begin = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, asked), dtype=np.int64, count=len(rows)) + 1, out=begin[1:])
    which = np.asarray(rows, dtype=np.int64)[np.searchsorted(begin, hits[:, 1], side="right") - 1]
    k = hits[:, 0]
    ok = (s.table.village_start[k + 1] > s.table.village_start[k]) & ~one_of(codes[hits[:, 2]], _VILLAGE_STOP)
    from_name = _single_village(s.table, k[ok], which[ok], town, s.n)
    return np.where(village < 0, from_name, village)


def _names_a_village(texts: list[str]) -> np.ndarray:
    """Per text, ``NAMES_A_VILLAGE.search(text) is not None`` (one of VILLAGE_WORDS in it)."""
    if not texts:
        return np.zeros(0, dtype=bool)
    joined = SEP.join(texts)
    found = np.zeros(len(texts), dtype=bool)
    try:
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:
        return np.array([any(w in t for w in VILLAGE_WORDS) for t in texts], dtype=bool)
    hit = np.zeros(len(codes), dtype=bool)
    for word in VILLAGE_WORDS:
        at = np.ones(len(codes), dtype=bool)
        for j, ch in enumerate(word):  # the word's j-th character j places on
            shifted = np.zeros(len(codes), dtype=bool)
            shifted[:len(codes) - j] = codes[j:] == ord(ch)
            at &= shifted
        hit |= at
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    begin = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    found[np.searchsorted(begin, np.flatnonzero(hit), side="right") - 1] = True
    return found


def _single_village(table: KeyTable, kid: np.ndarray, row: np.ndarray, town: np.ndarray, n: int) -> np.ndarray:
    """Per row, the village of the first hit (in order) that names exactly one village of the row's township; -1."""
    village = np.full(n, -1, dtype=np.int64)
    hit, code = expand(table.village_start, table.village_code, kid, np.arange(len(kid)))
    mine = code // 1000 == town[row[hit]]
    good = np.flatnonzero(np.bincount(hit[mine], minlength=len(kid)) == 1)
    pick = np.zeros(len(kid), dtype=np.int64)
    pick[hit[mine]] = code[mine]
    at = run_starts(row[good])
    rows = row[good][at]
    village[rows] = pick[good[at]]
    return village
