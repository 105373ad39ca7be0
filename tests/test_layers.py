"""Map/export layers: per-township view at township and village levels, facility points."""

import pandas as pd
import pytest

from facilities.coverage import measure_for_target
from facilities.layers import build_layers
from facilities.pipeline import analyse


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    rows = [
        ("龙江社区综合服务站", "城乡社区综合服务设施", "海陵区九龙镇龙江社区", "", ""),
        ("府前社区综合服务站", "城乡社区综合服务设施", "九龙镇府前居委会", "119.95", "32.50"),
        ("城东街道综合养老服务中心", "区域养老服务中心", "海陵区城东街道", "", ""),
        ("查无此地", "区域养老服务中心", "不知道哪里", "119.90", "32.45"),
    ]
    path = tmp_path_factory.mktemp("layers") / "sheet.csv"
    pd.DataFrame(rows, columns=["机构名称", "类型", "地址", "经度", "纬度"]).to_csv(path, index=False)
    return analyse(path, "321202", crs="wgs84")


def test_community_level_is_aggregated_per_township(analysis):
    towns = build_layers(analysis, measure_for_target(analysis, "community_service", "community"))["townships"].set_index("code")
    jiulong = towns.loc["321202100"]
    # 九龙镇 has 8 committees: 5 社区居委会 (counted at community level) and 3 村委会.
    assert (jiulong["n_units"], jiulong["n_covered_units"], jiulong["n_facilities"]) == (5, 2, 2)
    assert jiulong["covered_share"] == pytest.approx(40.0)
    assert not jiulong["covered"]
    assert towns.loc["321202001", "n_covered_units"] == 0
    assert len(towns) == 11


def test_township_level_status_and_points(analysis):
    layers = build_layers(analysis, measure_for_target(analysis, "elderly_regional_centre", "township_and_street"))
    towns = layers["townships"].set_index("code")
    assert towns.loc["321202001", "status"] == "covered"
    assert (towns["status"] == "covered").sum() == 1
    assert set(towns["boundary"] if "boundary" in towns else ["示意边界/schematic"]) == {"示意边界/schematic"}
    points = layers["facilities"].set_index("row")
    assert sorted(points.index) == [2, 3, 4, 5]
    # On schematic cells a placed row is drawn in its own cell, even when it has coordinates (row 3).
    cell = analysis.units.set_index("code").geometry["321202100"]
    for row in (2, 3):
        assert points.loc[row, "position"] == "township_centre"
        assert cell.contains(points.loc[row].geometry)
    # The unmatched row is drawn where its coordinates say.
    assert (points.loc[5, "position"], points.loc[5, "match_status"]) == ("coordinates", "unmatched")
    assert (points.loc[5].geometry.x, points.loc[5].geometry.y) == (119.90, 32.45)


def test_layers_format_a_measurement_and_never_measure(analysis, monkeypatch):
    import facilities.coverage as coverage_module

    result = measure_for_target(analysis, "elderly_regional_centre", "township_and_street")

    def no_measuring(*args, **kwargs):
        raise AssertionError("build_layers measured")

    monkeypatch.setattr(coverage_module, "measure", no_measuring)
    monkeypatch.setattr(coverage_module, "measure_for_target", no_measuring)
    towns = build_layers(analysis, result)["townships"]
    assert set(towns["category"]) == {"elderly_regional_centre"} and set(towns["level"]) == {"township_and_street"}
    with pytest.raises(TypeError, match="measurement"):
        build_layers(analysis, "elderly_regional_centre", "township_and_street")
