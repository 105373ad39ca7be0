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
    # A placed row without coordinates is drawn in its own cell; one with coordinates where they say,
    # on schematic cells too (issue 14.6: the export carries the real position).
    cell = analysis.units.set_index("code").geometry["321202100"]
    assert points.loc[2, "position"] == "township_centre" and cell.contains(points.loc[2].geometry)
    assert (points.loc[3, "position"], points.loc[3].geometry.x, points.loc[3].geometry.y) == (
        "coordinates", 119.95, 32.50)
    assert (points.loc[3, "lng"], points.loc[3, "lat"]) == (119.95, 32.50)
    # The unmatched row is drawn where its coordinates say.
    assert (points.loc[5, "position"], points.loc[5, "match_status"]) == ("coordinates", "unmatched")
    assert (points.loc[5].geometry.x, points.loc[5].geometry.y) == (119.90, 32.45)


# -- issue 19.4: a township in two features, features without a recognised code ----------------------


def test_multi_part_township_and_unrecognised_codes_are_exported(tmp_path):
    import geopandas as gpd
    import pyogrio

    from geo.boundaries import township_cells

    cells = township_cells("321202").set_index("code")
    parts = [cells.geometry["321202001"].buffer(-0.002), cells.geometry["321202001"].centroid.buffer(0.001),
             cells.geometry["321202100"], cells.geometry["321202101"]]
    boundaries = gpd.GeoDataFrame({"代码": ["321202001", "321202001", "999999001", "999999002"]},
                                  geometry=parts, crs=4326)
    boundaries.to_file(tmp_path / "towns.geojson", driver="GeoJSON")
    rows = [("城东街道综合养老服务中心", "区域养老服务中心", "海陵区城东街道"),
            ("九龙镇敬老院", "敬老院", "海陵区九龙镇")]
    pd.DataFrame(rows, columns=["机构名称", "类型", "地址"]).to_csv(tmp_path / "s.csv", index=False)
    analysis = analyse(tmp_path / "s.csv", "321202", boundaries=tmp_path / "towns.geojson")
    assert analysis.units["code"].isna().sum() == 2 and (analysis.units["code"] == "321202001").sum() == 2
    layers = build_layers(analysis, measure_for_target(analysis, "elderly_regional_centre", "township_and_street"))
    points = layers["facilities"]
    # One point for the multi-part township, inside one of its parts; 九龙镇 has no polygon here: no point.
    assert points["row"].tolist() == [2]
    assert parts[0].union(parts[1]).contains(points.geometry.iloc[0])
    from facilities.layers import write_layers

    path = write_layers(layers, tmp_path / "x.gpkg", "gpkg", schematic=False)
    back = pyogrio.read_dataframe(path, layer="facilities")
    assert back["行号"].tolist() == [2] and back["乡镇代码"].tolist() == ["321202001"]
    assert len(pyogrio.read_dataframe(path, layer="townships")) == 4


# -- issue 14.6: the points keep every column of the sheet, typed, and their own position ---------------


def test_points_keep_every_sheet_column_typed_at_their_coordinates(tmp_path):
    header = ["机构名称", "机构类型", "所属乡镇", "地址", "床位数", "护理型床位数", "联系电话", "运营状态", "经度", "纬度"]
    rows = [
        ("九龙镇敬老院", "敬老院", "九龙镇", "海陵区九龙镇", "60", "20", "0523-86001234", "运营", "119.95", "32.50"),
        ("城东街道综合养老服务中心", "区域养老服务中心", "城东街道", "海陵区城东街道", "35", "", "13800000000",
         "运营", "", ""),
    ]
    pd.DataFrame(rows, columns=header).to_csv(tmp_path / "s.csv", index=False)
    analysis = analyse(tmp_path / "s.csv", "321202", crs="wgs84")
    points = build_layers(analysis, measure_for_target(analysis, "elderly_regional_centre",
                                                       "township_and_street"))["facilities"]
    assert list(points.columns[: len(header) + 1]) == ["row", *header]
    assert points["床位数"].tolist() == [60, 35] and str(points["床位数"].dtype) == "Int64"
    assert points["护理型床位数"].tolist()[0] == 20 and points["护理型床位数"].isna().tolist() == [False, True]
    assert points["联系电话"].tolist() == ["0523-86001234", "13800000000"]  # text stays text
    assert points["运营状态"].tolist() == ["运营", "运营"]
    assert points["position"].tolist() == ["coordinates", "township_centre"]
    assert (points["lng"].iloc[0], points["lat"].iloc[0]) == (119.95, 32.50)
    assert (points.geometry.x.iloc[0], points.geometry.y.iloc[0]) == (119.95, 32.50)


def test_exports_in_the_planners_words_with_typed_numbers(tmp_path):
    import csv
    import io
    import xml.etree.ElementTree as ET

    import openpyxl
    import pyogrio

    from facilities.layers import labelled, rows_table, write_layers
    from geo.export import export_table

    header = ["机构名称", "类型", "地址", "床位数", "运营状态", "经度", "纬度"]
    rows = [("城东街道综合养老服务中心", "区域养老服务中心", "海陵区城东街道", "40", "运营", "119.93", "32.53"),
            ("九龙镇敬老院", "敬老院", "海陵区九龙镇", "25", "运营", "", ""),
            ("火星敬老院", "敬老院", "火星大道99号", "10", "停业", "", "")]
    pd.DataFrame(rows, columns=header).to_csv(tmp_path / "s.csv", index=False)
    analysis = analyse(tmp_path / "s.csv", "321202", crs="wgs84")
    layers = build_layers(analysis, measure_for_target(analysis, "elderly_regional_centre", "township_and_street"))

    gpkg = write_layers(layers, tmp_path / "x.gpkg", "gpkg", schematic=True, gcj02=True)
    points = pyogrio.read_dataframe(gpkg, layer="facilities")
    assert list(points.columns[:8]) == ["行号", *header]
    assert points["床位数"].tolist() == [40, 25] and points["床位数"].dtype.kind in "if"
    assert points["匹配状态"].tolist() == ["已匹配", "已匹配"]
    assert points["点位来源"].tolist() == ["表中坐标", "乡镇内示意位置(无坐标)"]
    assert points["经度(WGS-84)"].iloc[0] == 119.93 and points["经度(GCJ-02)"].iloc[0] > 119.93
    assert "category" not in points.columns and "类别" in points.columns
    towns = pyogrio.read_dataframe(gpkg, layer="townships_schematic").set_index("代码")
    assert towns.loc["321202001", ["覆盖状态", "是否覆盖", "统计层级"]].tolist() == ["已覆盖", "是", "乡镇(街道)"]
    assert set(towns["覆盖状态"]) == {"已覆盖", "未覆盖"} and set(towns["边界"]) == {"示意边界/schematic"}

    book = openpyxl.load_workbook(write_layers(layers, tmp_path / "x.xlsx", "xlsx", schematic=True, lang="en"))
    sheet = book["facilities"]
    head = [c.value for c in sheet[1]]
    column = [row[head.index("床位数")] for row in sheet.iter_rows(min_row=2)]
    assert [(c.value, c.data_type) for c in column] == [(40, "n"), (25, "n")]
    assert {"Match status", "Point position", "Longitude (WGS-84)", "Category"} <= set(head)
    assert [row[head.index("Match status")].value for row in sheet.iter_rows(min_row=2)] == ["matched", "matched"]
    cells = {c.value for ws in book.worksheets for row in ws.iter_rows() for c in row}
    assert not [v for v in cells if isinstance(v, bool)]
    assert not cells & {"True", "False", "not_covered", "township_centre", "elderly_home", "township_and_street"}

    kml = ET.parse(write_layers(layers, tmp_path / "x.kml", "kml", schematic=True)).getroot()
    k = "{http://www.opengis.net/kml/2.2}"
    styled = {p.findtext(f"{k}name"): p.findtext(f"{k}styleUrl") for p in kml.iter(f"{k}Placemark")}
    assert styled["城东街道"] != styled["九龙镇"] and styled["城东街道"].startswith("#townships")
    assert styled["九龙镇敬老院"].startswith("#facilities")

    # The rows table (the app's "all rows" download): every row, numbers as numbers, words not ids.
    table = labelled(rows_table(analysis))
    out = export_table(table, tmp_path / "rows.csv", "csv")
    back = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [r["匹配状态"] for r in back] == ["已匹配", "已匹配", "未匹配"] and [r["床位数"] for r in back] == ["40", "25", "10"]
    ws = openpyxl.load_workbook(export_table(table, tmp_path / "rows.xlsx", "xlsx")).active
    col = [c.value for c in ws[1]].index("床位数")
    assert sum(row[col].value for row in ws.iter_rows(min_row=2)) == 75

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
