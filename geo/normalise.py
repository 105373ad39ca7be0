"""Folding text for matching: NFKC, no whitespace or punctuation, traditional → simplified characters.

The same folding is applied to gazetteer names and to the sheet's cells, so a character the table maps
(乾 → 干) matches consistently on both sides; output names always come from the gazetteer unchanged.
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import lru_cache

import numpy as np

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


SEP = "\x00"  # a starter character NFKC leaves alone and the translation table keeps
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
    folded: str = mapped.tobytes().decode("utf-32-le")
    return folded


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
    joined = SEP.join([v if quick("NFKC", v) else nfkc("NFKC", v) for v in values])
    if joined.count(SEP) != len(values) - 1:  # a value holds the separator itself: one by one
        out = [normalise(v) for v in values]
        return [_DIGIT_RUN.sub("0", v) for v in out] if fold_digits else out
    out = _translate_joined(joined, fold_digits).split(SEP)
    if len(out) != len(values):
        out = [normalise(v) for v in values]
        return [_DIGIT_RUN.sub("0", v) for v in out] if fold_digits else out
    if not _MISSING.isdisjoint(values):  # ("" folds to "" by itself)
        for i, v in enumerate(values):
            if v in _MISSING:
                out[i] = ""
    return out

