"""The array matcher's side of the division history (:mod:`geo.old_towns`): the evidence :mod:`geo.batch` passes
for a row with an old township name, and how the answer is recorded — what :mod:`geo.matching` does for one row
(``_counties``, ``_first_village``, ``_from_history``), on the array matcher's arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from geo import old_towns

if TYPE_CHECKING:  # (geo.batch imports this module)
    from geo.batch import _Found, _Scan, _Scope


def first_village_hits(s: _Scan, village_hit: np.ndarray, rows: np.ndarray) -> dict[int, int]:
    """Row → its first village-form hit, for those of ``rows`` (sorted) that have one."""
    hits = np.flatnonzero(village_hit)
    at = np.searchsorted(s.row[hits], rows)  # hits are in row order: the row's first, if it has one
    ok = at < len(hits)
    ok[ok] = s.row[hits[at[ok]]] == rows[ok]
    return dict(zip(rows[ok].tolist(), hits[at[ok]].tolist(), strict=True))


def village_evidence(s: _Scan, scope: _Scope, i: int, h: int | None) -> tuple[str, np.ndarray]:
    """The village form of hit ``h`` (row ``i``'s first) and its village codes in the row's scope ("", none)."""
    if h is None:
        return "", np.zeros(0, dtype=np.int64)
    k = int(s.kid[h])
    v_codes = s.table.village_code[s.table.village_start[k]:s.table.village_start[k + 1]]
    return s.text_of(h, i), v_codes[scope.holds(np.full(len(v_codes), i), v_codes // 1_000_000)]


def row_counties(s: _Scan, scope: _Scope, found: _Found) -> Callable[[int], list[str]]:
    """Per row, the counties its text is about, as geo.matching reads them (its scope, else every county)."""
    every = list(s.idx.county_name)

    def counties(i: int) -> list[str]:
        if not scope.scoped[i]:
            return every
        if found.county[i]:  # the one county in scope
            return [str(found.county[i])]
        return [str(c) for c in dict.fromkeys(scope.counties[scope.rows == i].tolist())]  # (rare: several)

    return counties


def ask(s: _Scan, scope: _Scope, found: _Found, village: np.ndarray, i: int, at: int, gap: int,
        first_village: int | None, counties: Callable[[int], list[str]]) -> bool:
    """Row ``i``'s old township-like name (from ``at`` in its text, up to ``gap`` characters) through the division
    history (:func:`geo.old_towns.resolve`, with the row's first village form as evidence); the answer, when there
    is one, is recorded in ``found`` (and ``village``, ``s.by_history``, ``s.history_ties``). Returns whether the
    history knew the name."""
    text = s.primary[i]
    if not old_towns.old_name_tokens(text[at:at + gap]):  # (memoised; most such names are not in the history)
        return False
    form, v_codes = village_evidence(s, scope, i, first_village)
    old = old_towns.resolve(s.idx, counties(i), text[at:], gap, form, [str(c) for c in v_codes.tolist()])
    if old is None:
        return False
    found.notes[i] = old.note.text()
    found.by_history.add(i)
    if old.status == "matched":
        found.town[i] = int(old.township_code)
        village[i] = int(old.village_code) if old.village_code else -1
        s.by_history.append(i)
    else:
        found.others[i] = ("ambiguous", str(found.county[i]) if found.county[i] else "", list(old.candidates))
        s.history_ties.append(i)
    return True
