"""Matching one address (and a facility name) to a township and village of a region: the one-row path.

Names are found in normalised text by the region's automaton (:mod:`geo.region_index`) and resolved
hierarchically: county → township → village. Ambiguity is reported, never guessed. The array path
(:mod:`geo.batch`) answers the common rows of a sheet the same way with array operations; both read
the rule words of :mod:`geo.names` and the notes of :mod:`geo.notes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ahocorasick_rs

from geo import notes, old_towns
from geo.gazetteer import Region, load_gazetteer
from geo.names import (
    AFTER_BARE_STEM,
    HOUSE_NUMBER,
    INSTITUTION_WORDS,
    NAMES_A_VILLAGE,
    NOT_AFTER_SHORT,
    NUMBERED_COMMITTEE,
    REGIONAL,
    STEM_NOT_BEFORE,
    TOWN_TOKEN,
    UNKNOWN_TOWN,
    UNKNOWN_TOWN_EXCEPT,
    VILLAGE_NOT_BEFORE,
)
from geo.normalise import normalise
from geo.region_index import Category, Check, RegionIndex, region_index

# A name hit: (index into RegionIndex.keys, start, stop), character offsets, stop exclusive.
Hit = tuple[int, int, int]
# A village form found: (the form as written, its village codes, township short names equal to it).
VillageHit = tuple[str, tuple[str, ...], tuple[str, ...]]
_OTHER = "\x01"  # stands in for a character that must not complete a name (区域, see _match_text)
# The categories as plain locals of the hit loop (an enum member's attribute look-up costs more).
_COUNTY, _FOREIGN, _ANCESTOR = Category.COUNTY, Category.FOREIGN, Category.ANCESTOR


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
    by_history : bool
        The answer comes from the division history (:mod:`geo.old_towns`).
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
    by_history: bool = False

    @property
    def note(self) -> str:
        """Chinese and English note in one string."""
        return notes.joined(self.note_zh, self.note_en)

    @property
    def found_something(self) -> bool:
        """Whether the text said anything decisive (a township, a tie, another region, an old name)."""
        return self.status != "unmatched" or bool(self.unknown_town)

    def say(self, note: notes.Note) -> AddressMatch:
        """Set the note; returns the match."""
        self.note_zh, self.note_en = note
        return self


def scan(idx: RegionIndex, text: str) -> list[Hit]:
    """The leftmost-longest name hits in one normalised text.

    Parameters
    ----------
    idx : RegionIndex
    text : str
        Normalised (:func:`geo.normalise.normalise`).

    Returns
    -------
    list of (int, int, int)
        Key index, start and stop (exclusive) of each hit, left to right, not overlapping. (One call
        per text costs about what one call over the texts joined does, without splitting the hits.)
    """
    return idx.automaton.find_matches_as_indexes(text) if text else []


@dataclass
class _Evidence:
    """What the name hits of one text say, in reading order (see :func:`_read_hits`)."""

    counties: list[str] = field(default_factory=list)
    first_admin: str = ""  # "in" | "out": whether the first division named is the region's
    foreign: str = ""  # the first division outside the region that counts
    towns_full: list[tuple[str, ...]] = field(default_factory=list)
    towns_short: list[tuple[str, ...]] = field(default_factory=list)
    villages: list[VillageHit] = field(default_factory=list)
    # Township aliases: (the form as written, ethnic townships it leads, townships it names with 乡/镇 swapped,
    # where it starts).
    aliases: list[tuple[str, tuple[str, ...], tuple[str, ...], int]] = field(default_factory=list)
    admin_end: int = 0  # where the last province/city/county name ends
    gaps: list[tuple[int, int]] = field(default_factory=list)  # the text between the hits that count


def _read_hits(idx: RegionIndex, text: str) -> _Evidence:
    """The hits of ``text`` that count (:func:`passed_over`), sorted by what they name."""
    ev = _Evidence()
    infos = idx.keys
    prev = -1
    last = 0
    for kid, start, stop in scan(idx, text):
        info = infos[kid]
        end, length = stop - 1, stop - start
        if info.check and passed_over(info.check, text, end, length, last):
            continue
        ev.gaps.append((last, start))
        last = end + 1
        cat = info.cat
        if cat == _COUNTY:
            for c in info.counties:
                if c not in ev.counties:
                    ev.counties.append(c)
            ev.first_admin = ev.first_admin or "in"
            ev.admin_end = end + 1
        elif cat == _FOREIGN:
            # A foreign name counts when it leads the address or follows a province/city name.
            if not ev.first_admin or prev in (_ANCESTOR, _FOREIGN):
                if not ev.foreign:
                    ev.foreign = info.foreign
                ev.first_admin = ev.first_admin or "out"
                ev.admin_end = end + 1
        elif cat == _ANCESTOR:
            ev.admin_end = end + 1
        else:
            if info.towns:
                ev.towns_full.append(info.towns)
            elif info.shorts:
                ev.towns_short.append(info.shorts)
            elif info.ethnic or info.swapped:
                ev.aliases.append((text[start:stop], info.ethnic, info.swapped, start))
            if info.villages:
                ev.villages.append((text[start:end + 1], info.villages, info.shadow))
            ev.first_admin = ev.first_admin or "in"
        prev = cat
    ev.gaps.append((last, len(text)))
    return ev


def passed_over(check: int, text: str, end: int, length: int, last: int) -> bool:
    """Whether a name hit ending at ``end`` is not that name in this text (``last``: end of the previous hit).

    Check.SHORT_NAME: it stands first or right after another name (安岳县石羊敬老院); inside a word it
    is not one (日间照料中心 is not 中心镇); before 路/街/镇... or a house number it is a road (人民路12号).
    Check.VILLAGE_FORM: not before 镇/乡. Check.TWO_CHARACTER_COUNTY (城区, 新县 elsewhere): only before
    a township-like name.
    """
    if check == Check.SHORT_NAME:
        after = text[end + 1:end + 4]
        return (end - length + 1 != last
                or after.startswith(NOT_AFTER_SHORT)
                or HOUSE_NUMBER.match(text, end + 1) is not None
                or (UNKNOWN_TOWN.match(after) is not None and not after.startswith(UNKNOWN_TOWN_EXCEPT)))
    if check == Check.VILLAGE_FORM:
        return text[end + 1:end + 2] in VILLAGE_NOT_BEFORE
    return not TOWN_TOKEN.match(text[end + 1:end + 7])


def _match_text(idx: RegionIndex, text: str, county_hint: tuple[str, ...] = ()) -> AddressMatch:
    """Resolve one normalised text against the index."""
    if REGIONAL in text:
        text = text.replace(REGIONAL, _OTHER + REGIONAL[1:])
    ev = _read_hits(idx, text)
    m = AddressMatch()
    if ev.first_admin == "out":
        m.status = "out_of_region"
        return m.say(notes.out_of_region(ev.foreign, idx.region.full_name, idx.region.code))
    scope = ev.counties or list(county_hint)
    if len(scope) == 1:
        m.county_code = scope[0]
    if ev.towns_full or ev.towns_short:
        return _by_township(m, idx, text, ev, scope)
    if ev.aliases and _by_alias(m, idx, text, ev, scope):
        return m
    unknown, gap = _unknown_town(text, ev.gaps, ev.admin_end)
    if unknown:
        old = old_towns.resolve(idx, _counties(idx, scope), text[gap[0]:], gap[1] - gap[0],
                                *_first_village(ev.villages, scope))
        if old is not None:
            return _from_history(m, idx, old)
        return _old_township(m, idx, unknown, ev.villages, scope)
    sets = [(form, _in_scope(codes, scope), _in_scope(shadow, scope)) for form, codes, shadow in ev.villages]
    sets = [s for s in sets if s[1]]
    if sets:
        return _by_village(m, idx, sets)
    return _nothing_placed(m, idx, text, ev, scope)


def _counties(idx: RegionIndex, scope: list[str]) -> list[str]:
    """The counties a text is about: those of its scope, else every county of the region."""
    return scope or list(idx.county_name)


def _first_village(villages: list[VillageHit], scope: list[str]) -> tuple[str, list[str]]:
    """The first village form named and its codes in scope (the evidence beside an old township name)."""
    return (villages[0][0], _in_scope(villages[0][1], scope)) if villages else ("", [])


def _from_history(m: AddressMatch, idx: RegionIndex, old: old_towns.OldTown) -> AddressMatch:
    """An old township name the division history answers (:func:`geo.old_towns.resolve`)."""
    m.unknown_town, m.by_history = old.name, True
    if old.status == "matched":
        _set_town(m, idx, old.township_code)
        if old.village_code:
            m.village_code, m.village_name = old.village_code, idx.village_name[old.village_code]
    else:
        m.status, m.candidates = "ambiguous", list(old.candidates)
    return m.say(old.note)


def _in_scope(codes: tuple[str, ...], scope: list[str]) -> list[str]:
    """The codes inside the counties of ``scope`` (all when it is empty)."""
    if not scope:
        return list(codes)
    return [c for c in codes if c[:6] in scope]


def _by_township(m: AddressMatch, idx: RegionIndex, text: str, ev: _Evidence, scope: list[str]) -> AddressMatch:
    """A township named: full names first, then short names; several in scope and no village to settle: a tie."""
    for group, short in ((ev.towns_full, False), (ev.towns_short, True)):
        if not group:
            continue
        if len(group) == 1 and len(group[0]) == 1 and (not scope or group[0][0][:6] in scope):
            kept = list(group[0])  # the common case
        else:
            kept = sorted({c for codes in group for c in _in_scope(codes, scope)})
        if not kept:
            named = sorted({c for codes in group for c in codes})
            m.candidates = named
            counties = "、".join(idx.county_name[c] for c in scope if c in idx.county_name)
            return m.say(notes.township_not_in_county(idx.town_name, named, counties))
        if len(kept) > 1:
            settled = {v[:9] for _, vs, _ in ev.villages for v in vs} & set(kept)
            if len(settled) != 1:
                m.status = "ambiguous"
                m.candidates = kept
                return m.say(notes.township_tie(idx.town_name, kept))
            kept = sorted(settled)
        _set_town(m, idx, kept[0])
        code = village_code(idx, m.township_code, text, ev.villages)
        if code:
            m.village_code, m.village_name = code, idx.village_name[code]
        if short:
            m.say(notes.by_short_name(idx.short_name[kept[0]], kept[0]))
        return m
    return m


def _by_alias(m: AddressMatch, idx: RegionIndex, text: str, ev: _Evidence, scope: list[str]) -> bool:
    """A township written as a county writes it (the first alias with townships in scope): an ethnic
    township's leading name places it; a 乡/镇 swap the division history knows as an old name is answered
    by it (:func:`geo.old_towns.resolve`); one it does not, only with a village of it named, else the one
    candidate is reported. Several in scope: a tie. Returns whether the alias decided."""
    for form, ethnic, swapped, start in ev.aliases:
        ethnic_in, swapped_in = _in_scope(ethnic, scope), _in_scope(swapped, scope)
        codes = ethnic_in or swapped_in
        if not codes:
            continue
        if len(codes) > 1:
            m.status, m.candidates = "ambiguous", sorted(codes)
            m.say(notes.township_tie(idx.town_name, m.candidates))
            return True
        if not ethnic_in:
            old = old_towns.resolve(idx, _counties(idx, scope), text[start:], len(form),
                                    *_first_village(ev.villages, scope))
            if old is not None:
                _from_history(m, idx, old)
                return True
        code = codes[0]
        if ethnic_in:
            _set_town(m, idx, code)
            found = village_code(idx, code, text, ev.villages)
            if found:
                m.village_code, m.village_name = found, idx.village_name[found]
            m.say(notes.by_ethnic_short_name(form, idx.town_name[code], code))
            return True
        mine = [(f, c) for f, vs, _ in ev.villages for c in vs if c[:9] == code]
        if not mine:
            m.status, m.candidates = "ambiguous", [code]
            m.say(notes.swapped_unconfirmed(form, idx.town_name[code], code))
            return True
        _set_town(m, idx, code)
        if len({c for _, c in mine}) == 1:
            m.village_code, m.village_name = mine[0][1], idx.village_name[mine[0][1]]
        m.say(notes.swapped_confirmed(form, idx.town_name[code], code, mine[0][0]))
        return True
    return False


def _old_township(m: AddressMatch, idx: RegionIndex, unknown: str, villages: list[VillageHit],
                  scope: list[str]) -> AddressMatch:
    """No township: an unknown township-like name right after the county (or at the start) is reported."""
    m.unknown_town = unknown
    note = notes.old_township(unknown)
    if villages:
        towns = sorted({c[:9] for c in _in_scope(villages[0][1], scope)})
        if towns:
            note = note.then(notes.village_belongs(idx.town_name, villages[0][0], towns))
    return m.say(note)


def _by_village(m: AddressMatch, idx: RegionIndex, sets: list[tuple[str, list[str], list[str]]]) -> AddressMatch:
    """Village only: placed when the first village name lies in one township (others may narrow it)."""
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
        return m.say(notes.unique_village(form))
    m.status = "ambiguous"
    m.candidates = towns
    if shadow:
        return m.say(notes.village_or_short_name(idx.town_name, form, towns))
    return m.say(notes.shared_village(idx.town_name, form, towns))


def _nothing_placed(m: AddressMatch, idx: RegionIndex, text: str, ev: _Evidence, scope: list[str]) -> AddressMatch:
    """No township or village form: a bare village stem leading what is left is named, never placed."""
    stem, stem_codes = leading_stem(idx, text[ev.admin_end:])
    codes = _in_scope(stem_codes, scope)
    if codes:
        towns = sorted({c[:9] for c in codes})
        listed = notes.listing(idx.village_name, codes)
        if len(towns) > 1:
            m.status = "ambiguous"
            m.candidates = towns
            return m.say(notes.bare_stem_shared(stem, towns, listed))
        return m.say(notes.bare_stem(stem, notes.listing(idx.town_name, towns), listed, codes))
    if ev.counties:
        return m.say(notes.county_only("、".join(idx.county_name[c] for c in ev.counties)))
    return m.say(notes.NOTHING_FOUND if text else notes.EMPTY)


def leading_stem(idx: RegionIndex, text: str) -> tuple[str, tuple[str, ...]]:
    """The longest village stem (2–6 characters) that ``text`` starts with, and its village codes.

    Only where the stem stands alone, before a village group (3组) or a village facility's own words
    (青龙互助养老服务点): 人民医院 or 光明路 are not villages.
    """
    if len(text) < 2:
        return "", ()
    for n in range(min(6, len(text)), 1, -1):
        codes = idx.stem_codes.get(text[:n])
        if codes:
            return (text[:n], codes) if AFTER_BARE_STEM.match(text, n) else ("", ())
    return "", ()


def _set_town(m: AddressMatch, idx: RegionIndex, code: str) -> None:
    m.status = "matched"
    m.township_code = code
    m.township_name = idx.town_name[code]
    m.county_code = code[:6]


def village_code(idx: RegionIndex, town: str, text: str, villages: list[VillageHit], stems_too: bool = True) -> str:
    """The village of township ``town`` in a text: the first village form naming one of its villages,
    else (``stems_too``) the earliest of its village stems after the township's name ("" when none)."""
    for _, codes, _ in villages:
        mine = [c for c in codes if c[:9] == town]
        if len(mine) == 1:
            return mine[0]
    stems = idx.village_stems.get(town) if stems_too else None
    if not stems:
        return ""
    # Stems are read after the township's name (full, else short: 中山 must not find 中山村 in itself).
    town_key = idx.town_key[town]
    cut = text.find(town_key)
    if cut >= 0:
        rest = text[cut + len(town_key):]
    else:
        short = idx.short_key[town]
        cut = text.find(short)
        rest = text[cut + len(short):] if cut >= 0 else text
    return _first_stem(idx, town, stems, _without_institutions(rest))


def _without_institutions(text: str) -> str:
    """``text`` with the institution words (中心小学, 服务中心...) blanked out, character for character."""
    for word in INSTITUTION_WORDS:
        if word in text:
            text = text.replace(word, _OTHER * len(word))
    return text


def _first_stem(idx: RegionIndex, town: str, stems: list[tuple[str, str]], rest: str) -> str:
    """The village of the stem occurring first in ``rest`` (ties to the longer, earlier listed, stem)."""
    found = idx.stem_finders.get(town)
    if found is None:
        found = idx.stem_finders[town] = _stem_finder(stems)
    finder, orders = found
    # Each stem's first occurrence (as str.find gives it); the earliest acceptable one wins.
    best = None
    seen = set()
    for pattern, pos, stop in finder.find_matches_as_indexes(rest, overlapping=True):
        if pattern in seen:
            continue
        seen.add(pattern)
        order = orders[pattern]
        if best is None or (pos, order) < best:
            # A stem followed by 镇/路/... or a house number (西街115号) names a road or a town, and one
            # followed by 二社区 another committee, not the village.
            if (rest[stop:stop + 1] not in STEM_NOT_BEFORE and not HOUSE_NUMBER.match(rest, stop)
                    and not NUMBERED_COMMITTEE.match(rest, stop)):
                best = (pos, order)
    return stems[best[1]][1] if best is not None else ""


def _stem_finder(stems: list[tuple[str, str]]) -> tuple[ahocorasick_rs.AhoCorasick, list[int]]:
    """An automaton over one township's distinct village stems (all overlapping matches), and each
    pattern's position in ``stems``."""
    first: dict[str, int] = {}
    for order, (stem, _) in enumerate(stems):
        first.setdefault(stem, order)
    finder = ahocorasick_rs.AhoCorasick(list(first), matchkind=ahocorasick_rs.MatchKind.Standard)
    return finder, list(first.values())


def village_in_township(idx: RegionIndex, township_code: str, text: str, *, stems_too: bool = True
                        ) -> tuple[str, str]:
    """The village (村/社区) of one township that a normalised text names.

    Used when the township is already known from other evidence (a 乡镇 column, the address) and the
    village must be read from another text (the address, the facility name 五里村农村幸福院).

    Parameters
    ----------
    idx : RegionIndex
        From :func:`geo.region_index.region_index`.
    township_code : str
        The 9-digit township the village must belong to.
    text : str
        Normalised text (:func:`geo.normalise.normalise`).
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
    if not code and stems_too:  # no token named one village of the town: the stems, as village_code reads them
        code = village_code(idx, township_code, text, [])
    return code, idx.village_name[code] if code else ""


def _village_token(idx: RegionIndex, town: str, text: str) -> str:
    """The first full village form in ``text`` naming exactly one village of ``town`` (no stems), or ""."""
    keys = idx.keys
    for kid, _, stop in scan(idx, text):
        if keys[kid].villages and text[stop:stop + 1] not in VILLAGE_NOT_BEFORE:
            mine = [c for c in keys[kid].villages if c.startswith(town)]
            if len(mine) == 1:
                return mine[0]
    return ""


def _unknown_town(text: str, gaps: list[tuple[int, int]], admin_end: int) -> tuple[str, tuple[int, int]]:
    """A 镇/乡/街道 name right after the county (or at the start) that is not a current township, and the gap
    (start, stop) it stands in ("" and (0, 0) when none)."""
    for start, stop in gaps:
        if start == admin_end and stop > start:
            m = TOWN_TOKEN.match(text[start:stop])
            return (m.group(1), (start, stop)) if m else ("", (0, 0))
    return "", (0, 0)


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
    """:func:`parse_address` on texts already folded by :func:`geo.normalise.normalise` (the geocoder's
    one-row path).

    Parameters
    ----------
    idx : RegionIndex
        From :func:`geo.region_index.region_index`.
    text, name : str
        Normalised address and facility name ("" when none).
    county_hint : tuple of str, optional
        County codes to restrict to when the text names none.

    Returns
    -------
    AddressMatch
    """
    m = _match_text(idx, text, county_hint)
    found = m.found_something
    m.method = "address" if found else ""
    if m.status == "ambiguous" and name:
        # The address leaves candidates: the name's own candidates may settle them (上高县新界埠...站 + 湾溪村5组).
        n = _match_text(idx, name, (m.county_code,) if m.county_code else county_hint)
        both = combine(idx, m, n, [(text, True), (name, False)], notes.ADDRESS_AND_NAME)
        if both is not None:
            return both
    if m.status == "matched" and not m.village_code and name and NAMES_A_VILLAGE.search(name):
        # The address gave the township only; the name may give the village (五里村农村幸福院).
        code = _village_token(idx, m.township_code, name)
        if code:
            m.village_code, m.village_name = code, idx.village_name[code]
    if not found and name:
        hint = (m.county_code,) if m.county_code else county_hint
        n = _match_text(idx, name, hint)
        if n.found_something:
            n.method = "name"
            m = n
    return _finish(m, idx)


def candidate_towns(m: AddressMatch) -> set[str] | None:
    """The townships a match leaves possible (None: it says nothing)."""
    if m.status == "matched" and m.township_code:
        return {m.township_code}
    if m.status == "ambiguous":
        return set(m.candidates)
    return None


def combine(idx: RegionIndex, first: AddressMatch, other: AddressMatch, texts: list[tuple[str, bool]],
            sources: notes.Note) -> AddressMatch | None:
    """Evidence across texts: an ambiguous ``first`` and the ``other`` text's answer, their candidate
    townships intersected (a county alone: its townships). One township: placed (its village read from
    ``texts``, each (normalised text, stems too)); several: ambiguous with them; none, all of ``first``'s,
    or ``other`` says nothing: None (``first`` stands, with its note).
    """
    theirs = candidate_towns(other)
    if theirs is None and other.county_code:  # only a county (上高县敬老院): its townships
        theirs = {c for c in first.candidates if c.startswith(other.county_code)}
    if first.status != "ambiguous" or theirs is None:
        return None
    common = sorted(set(first.candidates) & theirs)
    if not common or len(common) == len(first.candidates):  # disagreeing, or narrowing nothing
        return None
    sources = notes.evidence_sources(sources, first.by_history or other.by_history)
    county = common[0][:6] if len({c[:6] for c in common}) == 1 else first.county_code
    m = AddressMatch(method=first.method, county_code=county)
    if len(common) > 1:
        m.status, m.candidates = "ambiguous", common
        return _finish(m.say(notes.evidence_narrowed(sources, idx.town_name, common)), idx)
    _set_town(m, idx, common[0])
    for text, stems_too in texts:
        code, name = village_in_township(idx, common[0], text, stems_too=stems_too)
        if code:
            m.village_code, m.village_name = code, name
            break
    return _finish(m.say(notes.evidence_agrees(sources, m.township_name, common[0])), idx)


def _finish(m: AddressMatch, idx: RegionIndex) -> AddressMatch:
    """Township-level regions: a township of the same county but outside the region is out_of_region."""
    region = idx.region.code
    if len(region) <= 6:
        return m
    if m.status == "matched" and not m.township_code.startswith(region):
        m.status = "out_of_region"
        m.say(notes.township_outside_region(m.township_name, m.township_code, idx.region.name, region))
    elif m.status == "ambiguous" and not any(c.startswith(region) for c in m.candidates):
        m.status = "out_of_region"
    return m
