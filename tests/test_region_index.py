"""Building the region index in bulk: the same keys as compiling them one by one."""

from __future__ import annotations

import gc
import random

import pandas as pd
import pytest

from geo import address
from geo.address import (
    _C_ANCESTOR,
    _C_COUNTY,
    _C_FOREIGN,
    _C_PLACE,
    ANCESTOR,
    COUNTY,
    COUNTY_SHORT,
    FOREIGN,
    FOREIGN_SHORT,
    FOREIGN_TWO,
    SHADOW,
    TOWN,
    TOWN_SHORT,
    VILLAGE,
    _compile_key,
    _compile_keys,
    _entries,
    _Key,
)
from geo.gazetteer import _starting_with, load_gazetteer


@pytest.mark.parametrize(("kind", "expected"), [
    (COUNTY, _Key(_C_COUNTY, counties=("1",))),
    (COUNTY_SHORT, _Key(_C_COUNTY, counties=("1",), check=1)),
    (FOREIGN, _Key(_C_FOREIGN, foreign="1")),
    (FOREIGN_SHORT, _Key(_C_FOREIGN, foreign="1", check=1)),
    (FOREIGN_TWO, _Key(_C_FOREIGN, foreign="1", check=3)),
    (TOWN, _Key(_C_PLACE, towns=("1",))),
    (TOWN_SHORT, _Key(_C_PLACE, shorts=("1",), check=1)),
    (VILLAGE, _Key(_C_PLACE, villages=("1",), check=2)),
    (ANCESTOR, _Key(_C_ANCESTOR)),
    (SHADOW, _Key(_C_ANCESTOR)),
])
def test_key_of_one_entry(kind: int, expected: _Key) -> None:
    assert _compile_key([(kind, "1")]) == expected


def test_keys_compiled_in_bulk_as_one_by_one() -> None:
    rng = random.Random(5)
    words = [f"名{i}" for i in range(300)] + ["x"]  # "x": too short to be indexed
    rows = [(rng.choice(words), rng.choice([VILLAGE] * 6 + list(range(10))), str(rng.randrange(40)))
            for _ in range(3000)]
    rows += [(f"村{i % 50}", VILLAGE, str(i)) for i in range(400)]  # villages of the same name
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
            address.region_index.cache_clear()
            address.region_index("512021")
            assert gc.isenabled() is enabled
            assert gc.get_freeze_count() == 0
    finally:
        gc.enable()
