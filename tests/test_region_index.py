"""Building the region index in bulk: the same keys as compiling them one by one."""

from __future__ import annotations

import gc
import random

import pandas as pd
import pytest

from geo import region_index as index
from geo.gazetteer import _starting_with, load_gazetteer
from geo.region_index import Category, Check, EntryKind, Key, _compile_key, _compile_keys, _entries


@pytest.mark.parametrize(("kind", "expected"), [
    (EntryKind.COUNTY, Key(Category.COUNTY, counties=("1",))),
    (EntryKind.COUNTY_SHORT, Key(Category.COUNTY, counties=("1",), check=Check.SHORT_NAME)),
    (EntryKind.FOREIGN, Key(Category.FOREIGN, foreign="1")),
    (EntryKind.FOREIGN_SHORT, Key(Category.FOREIGN, foreign="1", check=Check.SHORT_NAME)),
    (EntryKind.FOREIGN_TWO, Key(Category.FOREIGN, foreign="1", check=Check.TWO_CHARACTER_COUNTY)),
    (EntryKind.TOWN, Key(Category.PLACE, towns=("1",))),
    (EntryKind.TOWN_SHORT, Key(Category.PLACE, shorts=("1",), check=Check.SHORT_NAME)),
    (EntryKind.VILLAGE, Key(Category.PLACE, villages=("1",), check=Check.VILLAGE_FORM)),
    (EntryKind.ANCESTOR, Key(Category.ANCESTOR)),
    (EntryKind.SHADOW, Key(Category.ANCESTOR)),
])
def test_key_of_one_entry(kind: EntryKind, expected: Key) -> None:
    assert _compile_key([(kind, "1")]) == expected


def test_keys_compiled_in_bulk_as_one_by_one() -> None:
    rng = random.Random(5)
    words = [f"名{i}" for i in range(300)] + ["x"]  # "x": too short to be indexed
    rows = [(rng.choice(words), rng.choice([EntryKind.VILLAGE] * 6 + list(EntryKind)), str(rng.randrange(40)))
            for _ in range(3000)]
    rows += [(f"村{i % 50}", EntryKind.VILLAGE, str(i)) for i in range(400)]  # villages of the same name
    by_key: dict[str, list[tuple[int, str]]] = {}
    for key, kind, code in rows:
        if len(key) >= 2 and (kind, code) not in by_key.setdefault(key, []):
            by_key[key].append((kind, code))

    patterns, keys = _compile_keys(_entries(*zip(*rows, strict=True)))
    assert patterns == list(by_key)
    assert keys == [_compile_key(by_key[key]) for key in patterns]


def test_scoped_frames_are_the_rows_of_the_region() -> None:
    gaz = load_gazetteer()
    for code in ("51", "5120", "512021", "512021110", "99", ""):
        for frame in (gaz.counties, gaz.townships, gaz.villages):
            expected = frame[frame["code"].str.startswith(code)].reset_index(drop=True)
            pd.testing.assert_frame_equal(_starting_with(frame, code), expected)
    shuffled = gaz.townships.sample(frac=1, random_state=1)  # not one slice
    expected = shuffled[shuffled["code"].str.startswith("5120")].reset_index(drop=True)
    pd.testing.assert_frame_equal(_starting_with(shuffled, "5120"), expected)


def test_collector_as_it_was_after_a_build() -> None:
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            index.region_index.cache_clear()
            index.region_index("512021")
            assert gc.isenabled() is enabled
            assert gc.get_freeze_count() == 0
    finally:
        gc.enable()
