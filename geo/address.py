"""Offline parsing of Chinese addresses and facility names to township and village codes: the public API.

The work is split by concern, one module each:

- :mod:`geo.normalise` folds text (NFKC, no punctuation, traditional → simplified characters);
- :mod:`geo.names` holds the name forms of divisions and the words of every matching rule;
- :mod:`geo.notes` words every note (Chinese and English) once;
- :mod:`geo.region_index` builds a region's name index, complete, once per region;
- :mod:`geo.matching` matches one address (the one-row path, and the rules in their plain form);
- :mod:`geo.batch` matches a sheet's common rows with array operations, answering what
  :mod:`geo.matching` answers (its tests keep the one-row path as the oracle);
- :mod:`geo.old_towns` reads a township name the county no longer has through the division history
  (:mod:`geo.history`), the one rule both paths call (:mod:`geo.batch_history`: the array path's side).

Ambiguity is reported, never guessed.
"""

from __future__ import annotations

from geo.batch import ANSWER_FIELDS, BatchAnswers, prepare_batch, quick_answers
from geo.matching import AddressMatch, parse_address, parse_normalised, scan, village_in_township
from geo.normalise import normalise, normalise_many
from geo.region_index import Category, Check, EntryKind, RegionIndex, region_index

__all__ = [
    "ANSWER_FIELDS", "AddressMatch", "BatchAnswers", "Category", "Check", "EntryKind", "RegionIndex", "normalise",
    "normalise_many", "parse_address", "parse_normalised", "prepare_batch", "quick_answers", "region_index", "scan",
    "village_in_township",
]
