"""facilities.review: the review queue, the choices for a row, corrections (special ones too), the workspace file."""

from __future__ import annotations

from functools import cache

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from facilities import review
from facilities.pipeline import analyse
from geo.gazetteer import load_gazetteer
from tests.test_views import _cells, _placed
from towncover import settings
from towncover.errors import TowncoverError

REGION = "512021"


class _Sheet:
    roles = {"name": "机构名称", "address": "地址"}


@cache
def _demo():
    return analyse(settings.DEMO_DIR / "512021_安岳县_synthetic.xlsx", REGION)


def test_review_queue_lists_exactly_the_unplaced_rows_with_candidate_names():
    queue = review.review_queue(_placed(), _Sheet())
    assert queue["row"].tolist() == [5, 6]
    assert queue["name"].tolist() == ["丁", "戊"]
    assert queue["candidates"].tolist() == ["512021103;512021121", ""]
    assert queue["candidate_names"].tolist() == ["通贤镇 (512021103); 华严镇 (512021121)", ""]


def test_review_queue_hints_a_township_from_a_village_or_old_name_in_the_text():
    placed = _placed()
    placed.loc[4, "地址"] = "安岳县土城门社区旁"  # a community of 岳城街道 (512021001), the row unmatched
    queue = review.review_queue(placed, _Sheet(), REGION)
    row = queue.set_index("row").loc[6]
    assert row["hints"] == "512021001"
    assert row["candidate_names"] == "岳城街道 (512021001)"
    assert queue.set_index("row").loc[5, "hints"] == ""  # a row with candidates keeps them, no hint
    placed.loc[4, "地址"] = "安岳县偏岩乡场镇"  # 偏岩乡, merged into 龙台镇 (512021104) in the 2019 reform
    assert review.review_queue(placed, _Sheet(), REGION).set_index("row").loc[6, "hints"] == "512021104"


def test_township_choices_start_with_candidates_then_the_special_choices_then_every_township_once():
    gaz = load_gazetteer()
    towns = gaz.townships_in(REGION, include_special=True)
    choices = review.township_choices(REGION, "512021121;512021103")
    codes = [c for c, _ in choices]
    assert codes[:4] == ["512021121", "512021103", review.COUNTY_ONLY, review.EXCLUDE]
    assert sorted(codes[4:] + codes[:2]) == sorted(towns["code"].astype(str))
    assert choices[0][1].startswith("★ ") and choices[0][1].endswith("(512021121)")
    assert dict(review.township_choices(REGION, lang="en"))[review.EXCLUDE] == "exclude (not a facility)"


def test_add_correction_replaces_an_earlier_choice_and_round_trips_the_key():
    corr = review.add_correction(None, 5, "512021103")
    corr = review.add_correction(corr, 6, "512021001")
    corr = review.add_correction(corr, 5, "512021121", note="second thoughts")
    assert corr["row"].tolist() == [5, 6]
    assert corr["township_code"].tolist() == ["512021121", "512021001"]
    key = review.corrections_key(corr)
    assert key == ((5, "512021121", ""), (6, "512021001", ""))
    assert review.corrections_from_key(key)[["row", "township_code"]].values.tolist() == [
        [5, "512021121"], [6, "512021001"]]
    assert review.corrections_key(None) == () and review.corrections_from_key(()) is None


def test_county_only_and_exclude_keep_every_row_counted():
    a = _demo()
    queue = review.review_queue(a.placed, a.sheet, REGION)
    first, second = (int(r) for r in queue["row"].iloc[:2])
    corr = review.add_correction(review.add_correction(None, first, review.COUNTY_ONLY), second, review.EXCLUDE)
    fixed = review.apply_review(a, corr).placed.set_index("row")
    assert fixed.loc[first, "match_status"] == "matched" and pd.isna(fixed.loc[first, "township_code"])
    assert fixed.loc[first, "county_code"] == REGION and "县级设施" in fixed.loc[first, "match_note"]
    assert fixed.loc[second, "match_status"] == "rejected" and "不是设施" in fixed.loc[second, "match_note"]
    before, after = a.summary(), review.apply_review(a, corr).summary()
    assert after["matched"] == before["matched"] + 1 and after["rejected"] == before["rejected"] + 1
    assert sum(after.values()) == sum(before.values())
    table = review.corrections_table(corr)
    assert table["township_name"].tolist() == ["仅县级(不归属乡镇)", "排除(不是设施)"]


def test_corrections_table_names_townships_beside_codes():
    table = review.corrections_table(review.add_correction(None, 5, "512021103"), "zh")
    assert table[["row", "township_code", "township_name"]].values.tolist() == [[5, "512021103", "通贤镇"]]


def test_apply_review_refuses_a_row_not_in_the_sheet_in_one_line():
    with pytest.raises(TowncoverError) as err:
        review.apply_review(_demo(), review.add_correction(None, 99999, "512021103"))
    assert err.value.row == 99999 and "\n" not in err.value.message


def test_workspace_round_trip(tmp_path):
    corr = review.add_correction(None, 5, "512021121", note="planner")
    points = gpd.GeoDataFrame({"row": [2, 3], "name": ["甲", "乙"]}, geometry=shapely.points([105.0, 105.1], [30.0, 30.1]),
                              crs=4326)
    layers = {"townships": _cells(["512021001"]), "facilities": points}
    path = review.save_workspace(tmp_path / "w.gpkg", layers, corr, _placed())
    names = {str(n) for n, _ in pyogrio.list_layers(path)}
    assert names == set(review.WORKSPACE_LAYERS)
    assert len(pyogrio.read_dataframe(path, layer="placed", read_geometry=False)) == 5
    back = review.load_workspace_corrections(path)
    assert back[["row", "township_code", "note"]].values.tolist() == [[5, "512021121", "planner"]]
    csv = b"row,township_code,village_code,note\n7,512021103,,x\n"
    assert review.load_workspace_corrections(csv)["row"].tolist() == [7]


def test_a_damaged_workspace_or_a_bad_row_is_one_line(tmp_path):
    path = review.save_workspace(tmp_path / "w.gpkg", {}, review.add_correction(None, 5, "512021121"), None)
    data = path.read_bytes()
    with pytest.raises(TowncoverError) as err:
        review.load_workspace_corrections(data[: len(data) // 3])
    assert "损坏" in err.value.message_zh
    bad = pd.DataFrame({"row": ["abc"], "township_code": ["512021121"], "village_code": [""], "note": [""]})
    pyogrio.write_dataframe(bad, tmp_path / "bad.gpkg", layer="corrections", driver="GPKG")
    with pytest.raises(TowncoverError) as err:
        review.load_workspace_corrections(tmp_path / "bad.gpkg")
    assert err.value.column == "row" and "\n" not in err.value.message
