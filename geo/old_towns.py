"""Township names a county no longer has, read through the division history: the one rule both matchers call.

A sheet writes the name a township had before it was renamed (鹤鸣乡 for 鹤鸣镇, 出江镇 for 䢺江镇) or merged away
(原韩场镇, 原洗泽乡石牛庙村). :func:`resolve` looks the name up in the history derived from the NBS editions
(:mod:`geo.history`) and answers as the issue asks — never a silent guess, the note always says history was used:

- renamed (the same unit): that township;
- a village of the old township named right after it ("原X乡Y村"): the township that holds Y now
  (:meth:`geo.history.History.village_now`), with Y's 2023 code when it kept its name;
- merged (one successor took every surviving village): that successor, unless the 2023 village named beside it
  lies elsewhere (then ambiguous);
- split between several townships: ambiguous with them, unless the 2023 village named lies in exactly one.

The one-row matcher (:mod:`geo.matching`) calls it for an unknown township-like name after the county and for a
乡/镇 swap; the array matcher (:mod:`geo.batch`) for the same rows, once per distinct old name and village (the
look-ups are memoised), so both give the same answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal, NamedTuple

from geo import notes
from geo.history import Successor, load_history, town_key
from geo.normalise import normalise_many
from geo.region_index import RegionIndex

# The kinds of name an old township may end in, as the history keys them (街道办事处 is read as 街道).
_OLD_ENDS = ("街道办事处", "街道办", "办事处", "街道", "苏木", "镇", "乡")
_STEM_SPAN = (2, 8)  # characters before the kind, 原 not counted
_END_CHARS = frozenset(end[-1] for end in _OLD_ENDS)
# A village written right after the old township (原韩场镇韩延村8组 → 韩延村).
_VILLAGE_AFTER = re.compile(r"([\u4e00-\u9fff]{1,8}?(?:村|社区|嘎查))")


class OldTown(NamedTuple):
    """What the history says of an old township name in a text.

    Attributes
    ----------
    status : {"matched", "ambiguous"}
    township_code : str
        The 2023 township when ``status`` is "matched", else "".
    village_code : str
        Its village when the text names one that history or the 2023 list places there, else "".
    candidates : tuple of str
        The townships left possible when ``status`` is "ambiguous" (sorted).
    name : str
        The old name as the history spells it (the notes show it so).
    note : notes.Note
    """

    status: Literal["matched", "ambiguous"]
    township_code: str
    village_code: str
    candidates: tuple[str, ...]
    name: str
    note: notes.Note


@lru_cache(maxsize=1)
def _known_names() -> dict[str, tuple[str, ...]]:
    """Every old name the history knows, in any county, by its folded form (texts are folded: 乾龙乡 → 干龙乡)."""
    names = sorted(set(load_history().townships["old_name"].tolist()))
    known: dict[str, tuple[str, ...]] = {}
    for folded, name in zip(normalise_many(names), names, strict=True):
        known[folded] = (*known.get(folded, ()), name)
    return known


@lru_cache(maxsize=1)
def _known_starts() -> frozenset[str]:
    """The first two characters of every known old name (most gaps start with none of them: answered at once)."""
    return frozenset(name[:2] for name in _known_names())


@lru_cache(maxsize=8192)
def old_name_tokens(gap: str) -> tuple[tuple[str, str], ...]:
    """The township-like names a folded ``gap`` starts with that the history knows, longest first (晋原镇街道
    before 晋原镇): each as written and as the history spells it.

    >>> old_name_tokens("原毛公乡东永村"), old_name_tokens("干龙乡")
    ((('原毛公乡', '毛公乡'),), (('干龙乡', '乾龙乡'),))
    """
    lead = 1 if gap.startswith("原") else 0
    if gap[lead:lead + 2] not in _known_starts():
        return ()
    known = _known_names()
    found = []
    for stop in range(lead + _STEM_SPAN[0] + 1, min(len(gap), lead + _STEM_SPAN[1] + 5) + 1):
        if gap[stop - 1] not in _END_CHARS:  # (most positions: no name ends there)
            continue
        token = gap[:stop]
        names = known.get(town_key(token))
        if names and len(_strip_end(token[lead:])) >= _STEM_SPAN[0]:
            found += [(token, name) for name in names]
    return tuple(found[::-1])


def _strip_end(name: str) -> str:
    for end in _OLD_ENDS:
        if name.endswith(end):
            return name[:-len(end)]
    return name


@lru_cache(maxsize=4096)
def _successors(counties: tuple[str, ...], token: str) -> tuple[tuple[str, tuple[Successor, ...]], ...]:
    """Per county of ``counties`` that had the name: its successors."""
    history = load_history()
    found = ((c, tuple(history.successors(c, token))) for c in counties)
    return tuple((c, s) for c, s in found if s)


@lru_cache(maxsize=4096)
def _village_now(county: str, token: str, village: str) -> tuple[tuple[str, str], ...]:
    """:meth:`geo.history.History.village_now`, memoised (one look-up per distinct old township and village)."""
    return tuple((v.township_code, v.village_code) for v in load_history().village_now(county, token, village))


def resolve(idx: RegionIndex, counties: Sequence[str], rest: str, gap: int, village_form: str = "",
            village_codes: Sequence[str] = ()) -> OldTown | None:
    """Read an old township name at the start of ``rest`` through the division history.

    Parameters
    ----------
    idx : RegionIndex
    counties : sequence of str
        The counties the text is about (every county of the region when it names none).
    rest : str
        Normalised text from where the old name starts to the end.
    gap : int
        How far the name may reach (up to the next name the index found).
    village_form, village_codes : str, sequence of str
        The first 2023 village form the text names and its village codes in scope ("", () when none).

    Returns
    -------
    OldTown or None
        None when the history does not know the name in these counties (the caller reports it as old).
    """
    hit = next(((written, token, found) for written, token in old_name_tokens(rest[:gap])
                if (found := _successors(tuple(counties), token))), None)
    if hit is None:
        return None
    written, token, found = hit
    if len(found) > 1:  # the name in several counties of the region, none named
        codes = tuple(sorted({s.township_code for _, succ in found for s in succ} & idx.town_name.keys()))
        return OldTown("ambiguous", "", "", codes, token,
                       notes.township_tie(idx.town_name, codes).then(notes.HISTORY_SOURCE)) if codes else None
    county, succ = found[0]
    succ = tuple(s for s in succ if s.township_code in idx.town_name)
    if not succ:
        return None
    mine = tuple(c for c in village_codes if c[:6] == county)
    if not (len(succ) == 1 and succ[0].kind == "renamed"):
        village = _VILLAGE_AFTER.match(rest, len(written))
        if village is not None:
            answer = _by_old_village(idx, county, token, village.group(1), succ)
            if answer is not None:
                return answer
    return _by_successors(idx, token, succ, village_form, mine)


def _by_old_village(idx: RegionIndex, county: str, token: str, village: str,
                    succ: tuple[Successor, ...]) -> OldTown | None:
    """"原X乡Y村": the township (and village) that holds Y in 2023, by the history of X's villages."""
    now = [(t, v) for t, v in _village_now(county, token, village) if t in idx.town_name]
    towns = sorted({t for t, _ in now})
    if not towns:
        return None
    if len(towns) > 1:
        share = {s.township_code: s.share for s in succ}
        return OldTown("ambiguous", "", "", tuple(towns), token,
                       notes.split_township(token, idx.town_name, towns, [share.get(t, 0.0) for t in towns]))
    code = towns[0]
    villages = {v for _, v in now if v in idx.village_name}
    return OldTown("matched", code, villages.pop() if len(villages) == 1 else "", (), token,
                   notes.old_village_now(token, village, idx.town_name[code], code))


def _by_successors(idx: RegionIndex, token: str, succ: tuple[Successor, ...], village_form: str,
                   village_codes: tuple[str, ...]) -> OldTown:
    """The successors decide: one (renamed or merged) → placed unless the village named lies elsewhere; several →
    the one holding the village named, else ambiguous with them."""
    codes = [s.township_code for s in succ]
    towns = sorted({c[:9] for c in village_codes})
    if len(codes) == 1:
        code = codes[0]
        if towns and code not in towns:
            return OldTown("ambiguous", "", "", tuple(sorted({code, *towns})), token,
                           notes.history_disagrees(token, idx.town_name, codes, village_form, towns))
        note = (notes.renamed_township(token, idx.town_name[code], code) if succ[0].kind == "renamed"
                else notes.merged_township(token, idx.town_name[code], code))
        return OldTown("matched", code, _one_village(village_codes, code), (), token, note)
    common = [c for c in codes if c in towns]
    if len(common) == 1:
        code = common[0]
        return OldTown("matched", code, _one_village(village_codes, code), (), token,
                       notes.split_settled(token, idx.town_name, codes, village_form, code))
    return OldTown("ambiguous", "", "", tuple(sorted(codes)), token,
                   notes.split_township(token, idx.town_name, codes, [s.share for s in succ]))


def _one_village(village_codes: Sequence[str], town: str) -> str:
    """The village of ``town`` among the codes when there is exactly one, else ""."""
    mine = [c for c in village_codes if c[:9] == town]
    return mine[0] if len(mine) == 1 else ""
