"""Array helpers of the index and the array matcher: runs, sorted look-ups, ragged expansion, code points."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache

import numpy as np


def object_array(values: Sequence[str] | np.ndarray) -> np.ndarray:
    """``values`` as a NumPy object array (as they are when they are one)."""
    if isinstance(values, np.ndarray):
        return values
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def row_array(rows: Iterable[int]) -> np.ndarray:
    """Row numbers (the keys of a row → value dict) as an index array."""
    rows = list(rows)
    return np.fromiter(rows, dtype=np.int64, count=len(rows))


def grouped(keys: np.ndarray, values: np.ndarray) -> list[tuple[int, list[int]]]:
    """(key, values) per distinct key of a key-sorted pair of arrays."""
    out: dict[int, list[int]] = {}
    for k, v in zip(keys.tolist(), values.tolist(), strict=True):
        out.setdefault(k, []).append(v)
    return list(out.items())


def run_starts(values: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values starts, in a sorted array (first of each)."""
    edge = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=edge[1:])
    return np.flatnonzero(edge)


def run_ends(values: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values ends, in a sorted array (last of each)."""
    edge = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=edge[:-1])
    return np.flatnonzero(edge)


def sorted_contains(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``np.isin(x, values)`` for sorted ``values`` (a binary search, no sort of ``x``)."""
    at = np.minimum(np.searchsorted(values, x), max(len(values) - 1, 0))
    return values[at] == x if len(values) else np.zeros(len(x), dtype=bool)


def hit_array(found: list[tuple[int, int, int]]) -> np.ndarray:
    """Automaton hits (key, start, stop) as an (n, 3) int64 array."""
    return np.fromiter(itertools.chain.from_iterable(found), dtype=np.int64, count=3 * len(found)).reshape(-1, 3)


def expand(starts: np.ndarray, values: np.ndarray, kid: np.ndarray, tag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each key's codes (``values[starts[k]:starts[k + 1]]``) with the tag of the hit, flattened."""
    if not len(kid):
        return tag[:0], values[:0]
    first = starts[kid]
    size = starts[kid + 1] - first
    owner = np.repeat(np.arange(len(kid)), size)
    offset = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
    return tag[owner], values[first[owner] + offset]


@cache
def _char_set(chars: str) -> np.ndarray:
    """Per BMP code point, and one entry for all above: whether it is one of ``chars`` (all in the BMP)."""
    table = np.zeros(0x10001, dtype=bool)
    table[[ord(c) for c in chars]] = True
    return table


def one_of(codes: np.ndarray, chars: str) -> np.ndarray:
    """``np.isin(codes, [ord(c) for c in chars])`` as one table look-up."""
    return np.asarray(_char_set(chars)[np.minimum(codes, 0x10000)])


def code_pairs(words: Iterable[str]) -> np.ndarray:
    """The two-character words as sorted ``(first << 21) | second`` code-point pairs."""
    return np.sort(np.array([(ord(w[0]) << 21) | ord(w[1]) for w in words if len(w) == 2], dtype=np.int64))


_PLANES_WITH_DIGITS = 0x20000


@lru_cache(maxsize=1)
def is_decimal() -> np.ndarray:
    """Per code point: a decimal digit as the regex ``\\d`` reads it (Unicode Nd)."""
    table = np.zeros(0x110000, dtype=bool)
    # Every Nd digit is in planes 0 and 1 (the last, U+1FBF9, since Unicode 13); planes 2 to 16 hold
    # ideographs and private use. The regex engine finds them in C (one pass, not 10^5 calls).
    every = "".join(map(chr, range(_PLANES_WITH_DIGITS)))
    table[[m.start() for m in re.finditer(r"\d", every)]] = True
    return table


def prepare(*char_sets: str) -> None:
    """Build the look-up tables once (before forking workers that share them)."""
    is_decimal()
    for chars in char_sets:
        _char_set(chars)
