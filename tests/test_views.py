"""facilities.views: review queue, corrections, map units, target cards, plan edits, workspace, offline map."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from facilities import coverage, views
from facilities.targets import Plan, Target
from geo.gazetteer import load_gazetteer
from towncover.errors import TowncoverError

REGION = "512021"


def _placed() -> pd.DataFrame:
    """Five rows of 安岳县: three placed, one ambiguous, one unmatched."""
    return pd.DataFrame({
        "机构名称": ["甲", "乙", "丙", "丁", "戊"],
        "地址": ["a", "b", "c", "d", "e"],
        "row": [2, 3, 4, 5, 6],
        "township_code": ["512021001", "512021103", "512021103", pd.NA, pd.NA],
        "township_name": ["岳城街道", "通贤镇", "通贤镇", "", ""],
        "village_code": ["", "", "", "", ""],
        "match_status": ["matched", "matched", "matched", "ambiguous", "unmatched"],
        "candidates": ["", "", "", "512021103;512021121", ""],
        "match_note": ["", "", "", "两个乡镇都有", "找不到"],
        "category": ["elderly_regional_centre"] * 5,
        "category_label": ["区域养老服务中心"] * 5,
        "lng_wgs84": [105.3, 105.4, float("nan"), 105.5, float("nan")],
        "lat_wgs84": [30.1, 30.2, float("nan"), 30.3, float("nan")],
    })


class _Sheet:
    roles = {"name": "机构名称", "address": "地址"}


def test_review_queue_lists_exactly_the_unplaced_rows():
    queue = views.review_queue(_placed(), _Sheet())
    assert queue["row"].tolist() == [5, 6]
    assert queue["name"].tolist() == ["丁", "戊"]
    assert queue["candidates"].tolist() == ["512021103;512021121", ""]


def test_township_choices_put_candidates_first_and_list_every_township_once():
    gaz = load_gazetteer()
    towns = gaz.townships_in(REGION, include_special=True)
    choices = views.township_choices(REGION, "512021121;512021103")
    codes = [c for c, _ in choices]
    assert codes[:2] == ["512021121", "512021103"]
    assert sorted(codes) == sorted(towns["code"].astype(str))
    assert choices[0][1].startswith("★ ") and choices[0][1].endswith("(512021121)")


def test_add_correction_replaces_an_earlier_choice_and_round_trips_the_key():
    corr = views.add_correction(None, 5, "512021103")
    corr = views.add_correction(corr, 6, "512021001")
    corr = views.add_correction(corr, 5, "512021121", note="second thoughts")
    assert corr["row"].tolist() == [5, 6]
    assert corr["township_code"].tolist() == ["512021121", "512021001"]
    key = views.corrections_key(corr)
    assert key == ((5, "512021121", ""), (6, "512021001", ""))
    assert views.corrections_from_key(key)[["row", "township_code"]].values.tolist() == [
        [5, "512021121"], [6, "512021001"]]
    assert views.corrections_key(None) == () and views.corrections_from_key(()) is None


def _cells(codes: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": codes, "name": codes},
                            geometry=[shapely.box(i, 0, i + 1, 1) for i in range(len(codes))], crs=4326)


def test_unit_table_names_townships():
    result = coverage.measure(_placed(), REGION, "elderly_regional_centre", "township_and_street")
    table = views.unit_table(result)
    assert len(table) == result.total
    assert table.set_index("code").loc["512021103", "township_name"] == "通贤镇"
    assert int(table["covered"].sum()) == 2


def _evaluation() -> pd.DataFrame:
    plan = Plan(id="t", region_code=REGION, region_name="安岳县", title="t", year_from=2021, year_to=2025,
                seed_file="", targets=[
                    Target(id="a", label_zh="中心覆盖率", label_en="Centre coverage", metric="coverage_rate",
                           quote="q", category="elderly_regional_centre", level="township_and_street",
                           value=60.0, year=2025),
                    Target(id="b", label_zh="低目标", label_en="Low", metric="coverage_rate", quote="q",
                           category="elderly_regional_centre", level="township_and_street", value=1.0),
                    Target(id="c", label_zh="定性", label_en="Qualitative", metric="other", quote="q"),
                ])
    return coverage.evaluate_plan(_placed(), plan, REGION)


def test_target_cards_state_measured_target_and_shortfall():
    evaluation = _evaluation()
    total = len(coverage.level_units(REGION, "township_and_street"))
    need = coverage.units_needed(2, total, 60.0)
    cards = {c["id"]: c for c in views.target_cards(evaluation, "zh")}
    rate = 100 * 2 / total
    assert cards["a"]["measured"] == f"{rate:.1f}%"
    assert cards["a"]["target"] == "≥ 60%"
    assert cards["a"]["state"] == "short" and cards["a"]["status"] == f"未达标：还差 {need} 个乡镇(街道)"
    assert cards["a"]["year"] == 2025 and cards["a"]["detail"] == f"已覆盖 2 / {total} 个乡镇(街道)"
    assert cards["b"]["state"] == "met" and cards["b"]["status"] == "达标"
    assert cards["c"]["state"] == "na"
    en = {c["id"]: c for c in views.target_cards(evaluation, "en")}
    assert en["a"]["status"] == f"short by {need} townships and streets"
    chart = views.coverage_chart_frame(evaluation)
    assert chart["label"].tolist() == ["中心覆盖率", "低目标"]
    assert chart["target"].tolist() == [60.0, 1.0] and chart["met"].tolist() == [False, True]


def test_plan_edits_change_values_and_add_custom_targets():
    plan = Plan(id="t", region_code=REGION, region_name="安岳县", title="t", year_from=2021, year_to=2025,
                seed_file="", targets=[Target(id="a", label_zh="中心覆盖率", label_en="Centre", metric="coverage_rate",
                                              quote="原文", category="elderly_regional_centre",
                                              level="township_and_street", value=60.0, year=2025)])
    frame = views.plan_frame(plan)
    frame.loc[0, "value"] = 80.0
    frame.loc[0, "include_special"] = True
    frame.loc[1] = {"id": None, "label_zh": "自定义", "label_en": None, "metric": "coverage_rate",
                    "category": "nursing_home", "level": "township", "value": 50.0, "unit": None, "year": 2026,
                    "include_special": False, "radius_km": None}
    edited = views.plan_from_frame(plan, frame, REGION, "安岳县")
    a, custom = edited.targets
    assert (a.value, a.include_special, a.quote, a.year) == (80.0, True, "原文", 2025)
    assert (custom.id, custom.category, custom.level, custom.value, custom.year, custom.unit) == (
        "custom_2", "nursing_home", "township", 50.0, 2026, "percent")
    frame.loc[1, "value"] = 150.0
    with pytest.raises(TowncoverError) as err:
        views.plan_from_frame(plan, frame, REGION, "安岳县")
    assert err.value.row == 2 and err.value.column == "value"


def test_workspace_round_trip(tmp_path):
    corr = views.add_correction(None, 5, "512021121", note="planner")
    points = gpd.GeoDataFrame({"row": [2, 3], "name": ["甲", "乙"]}, geometry=shapely.points([105.0, 105.1], [30.0, 30.1]),
                              crs=4326)
    layers = {"townships": _cells(["512021001"]), "facilities": points}
    path = views.save_workspace(tmp_path / "w.gpkg", layers, corr, _placed())
    names = {str(n) for n, _ in pyogrio.list_layers(path)}
    assert names == {"townships", "facilities", "corrections", "placed"}
    assert len(pyogrio.read_dataframe(path, layer="placed", read_geometry=False)) == 5
    back = views.load_workspace_corrections(path)
    assert back[["row", "township_code", "note"]].values.tolist() == [[5, "512021121", "planner"]]
    csv = b"row,township_code,village_code,note\n7,512021103,,x\n"
    assert views.load_workspace_corrections(csv)["row"].tolist() == [7]


