"""facilities.views: map units, target cards, display tables, offline map."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from facilities import coverage, levels, views
from facilities.evaluation import evaluate_plan
from facilities.targets import Plan, Target

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
    return evaluate_plan(_placed(), plan, REGION)


def test_target_cards_state_measured_target_and_shortfall():
    evaluation = _evaluation()
    total = len(levels.level_units(REGION, "township_and_street"))
    need = coverage.units_needed(2, total, 60.0)
    cards = {c["id"]: c for c in views.target_cards(evaluation, "zh")}
    rate = 100 * 2 / total
    assert cards["a"]["measured"] == f"{rate:.1f}%"
    assert cards["a"]["target"] == "≥ 60%"
    assert cards["a"]["state"] == "short" and cards["a"]["status"] == f"未达标:需新增覆盖 {need} 个乡镇(街道)"
    assert cards["a"]["year"] == 2025 and cards["a"]["detail"] == f"已覆盖 2 / {total} 个乡镇(街道)"
    assert cards["b"]["state"] == "met" and cards["b"]["status"] == "达标"
    assert cards["c"]["state"] == "na"
    en = {c["id"]: c for c in views.target_cards(evaluation, "en")}
    assert en["a"]["status"] == f"not met: {need} more townships and streets to cover"
    chart = views.coverage_chart_frame(evaluation)
    assert chart["label"].tolist() == ["中心覆盖率", "低目标"]
    assert chart["target"].tolist() == [60.0, 1.0] and chart["met"].tolist() == [False, True]


