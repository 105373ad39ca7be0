"""geo.export: every format written from hand-built layers and read back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point, Polygon

from geo.export import SCHEMATIC_VALUE, export_layers, export_table, neutralise_cells, shapefile_field_names
from towncover.errors import TowncoverError

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("x")'


@pytest.fixture()
def units() -> gpd.GeoDataFrame:
    # Real 安岳县 township codes; names chosen to attack HTML and spreadsheets.
    return gpd.GeoDataFrame(
        {
            "code": ["512021100", "512021101"],
            "name": [SCRIPT, FORMULA],
            "county": ["安岳县", "安岳县"],
            "township_name": ["岳阳镇", "鸳大镇"],
            "township_code": ["512021100", "512021101"],
            "covered": [True, False],
            "n_facilities": [2, 0],
            "kind": ["town", "town"],
            "备注": ["岳阳镇旧址", "+86 电话"],
        },
        geometry=[
            Polygon([(105.30, 30.00), (105.40, 30.00), (105.40, 30.10), (105.30, 30.10)]),
            Polygon([(105.40, 30.00), (105.50, 30.00), (105.50, 30.10), (105.40, 30.10)]),
        ],
        crs=4326,
    )


@pytest.fixture()
def points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["岳阳镇敬老院", "安岳县殡仪馆"],
            "category": ["elderly_home", "funeral_home"],
            "category_label": ["养老机构", "殡仪馆"],
            "address": ["四川省资阳市安岳县岳阳镇外南街12号", "@安岳县石桥街道"],
            "match_status": ["matched", "ambiguous"],
            "township_name": ["岳阳镇", "石桥街道"],
        },
        geometry=[Point(105.335, 30.098), Point(105.45, 30.05)],
        crs=4326,
    )


def _as_js(text: str) -> str:
    """How a facility's text appears inside the map's embedded JSON (HTML-safe, UTF-8 kept as is)."""
    body = json.dumps(text, ensure_ascii=False)[1:-1]
    for ch, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("'", "\\u0027")):
        body = body.replace(ch, code)
    return body


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---- argument checks ----------------------------------------------------------------------


def test_unknown_format_and_encoding_are_bilingual_errors(tmp_path, units):
    with pytest.raises(TowncoverError) as err:
        export_layers({"units": units}, tmp_path / "x", "dxf", schematic=False)
    assert "不支持的导出格式" in err.value.message_zh and "dxf" in err.value.message_en
    with pytest.raises(TowncoverError) as err:
        export_layers({"units": units}, tmp_path / "x", "shp", encoding="Big5", schematic=False)
    assert "GBK" in err.value.message_zh
    with pytest.raises(TowncoverError):
        export_layers({}, tmp_path / "x", "gpkg", schematic=False)
    assert _files(tmp_path) == []


# ---- GeoJSON ------------------------------------------------------------------------------


def test_geojson_single_layer_schematic(tmp_path, units):
    out = export_layers({"units": units}, tmp_path / "cells.json", "geojson", schematic=True)
    assert out == tmp_path / "cells.json"  # the path given, when its suffix fits the format
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["name"] == "units_schematic"
    props = [f["properties"] for f in data["features"]]
    assert [p["name"] for p in props] == [SCRIPT, FORMULA]
    assert [p["code"] for p in props] == ["512021100", "512021101"]
    assert [p["covered"] for p in props] == [True, False]
    assert [p["n_facilities"] for p in props] == [2, 0]
    assert [p["boundary"] for p in props] == [SCHEMATIC_VALUE, SCHEMATIC_VALUE]
    assert props[0]["备注"] == "岳阳镇旧址"
    assert data["features"][0]["geometry"]["type"] == "Polygon"
    assert _files(tmp_path) == ["cells.json"]


def test_geojson_several_layers_zip(tmp_path, units, points):
    out = export_layers({"units": units, "facilities": points}, tmp_path / "all", "geojson", schematic=False)
    assert out.name == "all.zip"
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["units.geojson", "facilities.geojson", "README.txt"]
        units_json = json.loads(zf.read("units.geojson"))
        fac_json = json.loads(zf.read("facilities.geojson"))
        readme = zf.read("README.txt").decode("utf-8-sig")
    assert "boundary" not in units_json["features"][0]["properties"]
    assert [f["properties"]["name"] for f in fac_json["features"]] == ["岳阳镇敬老院", "安岳县殡仪馆"]
    assert fac_json["features"][0]["geometry"] == {"type": "Point", "coordinates": [105.335, 30.098]}
    assert "示意" not in readme


def test_projected_layer_is_written_in_wgs84(tmp_path, points):
    projected = points.to_crs(3857)
    out = export_layers({"facilities": projected}, tmp_path / "p", "geojson", schematic=False)
    coords = json.loads(out.read_text(encoding="utf-8"))["features"][1]["geometry"]["coordinates"]
    assert coords == pytest.approx([105.45, 30.05], abs=1e-7)


# ---- GeoPackage ---------------------------------------------------------------------------


def test_gpkg_layers_ascii_names_and_round_trip(tmp_path, units, points):
    out = export_layers(
        {"乡镇覆盖": units, "facilities": points}, tmp_path / "r.gpkg", "gpkg", schematic=True
    )
    layers = pyogrio.list_layers(out).tolist()
    assert layers == [["layer1_schematic", "Polygon"], ["facilities", "Point"]]
    back = pyogrio.read_dataframe(out, layer="layer1_schematic")
    assert list(back.columns) == [
        "code", "name", "county", "township_name", "township_code", "covered", "n_facilities", "kind", "备注",
        "boundary", "geometry",
    ]  # fmt: skip
    assert back["name"].tolist() == [SCRIPT, FORMULA]
    assert back["county"].tolist() == ["安岳县", "安岳县"]
    assert back["boundary"].tolist() == [SCHEMATIC_VALUE] * 2
    assert back["covered"].tolist() == [True, False]
    fac = pyogrio.read_dataframe(out, layer="facilities")
    assert "boundary" not in fac.columns  # points are real locations, not schematic
    assert fac["address"].tolist() == ["四川省资阳市安岳县岳阳镇外南街12号", "@安岳县石桥街道"]
    assert _files(tmp_path) == ["r.gpkg"]


# ---- Shapefile ----------------------------------------------------------------------------


def test_shapefile_field_names_short_unique_ascii():
    names = shapefile_field_names(
        ["township_name", "township_code", "township_nameX", "机构名称", "机构名称及地址", "1st", "a b"],
        "GBK",
    )
    assert names == {
        "township_name": "township_n",
        "township_code": "township_c",
        "township_nameX": "township_1",
        "机构名称": "机构名称",
        "机构名称及地址": "机构名称及",
        "1st": "f1st",
        "a b": "a_b",
    }
    utf8 = shapefile_field_names(["机构名称", "机构名称及地址"], "UTF-8")
    assert utf8 == {"机构名称": "机构名", "机构名称及地址": "机构_1"}
    assert all(len(v.encode("utf-8")) <= 10 for v in utf8.values())


def test_shp_zip_gbk(tmp_path, units, points):
    out = export_layers(
        {"units": units, "facilities": points}, tmp_path / "shp", "shp", encoding="gbk", schematic=True
    )
    assert out.name == "shp.zip"
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == [
            "units_schematic.shp", "units_schematic.shx", "units_schematic.dbf", "units_schematic.prj",
            "units_schematic.cpg", "facilities.shp", "facilities.shx", "facilities.dbf", "facilities.prj",
            "facilities.cpg", "fields.csv", "README.txt",
        ]  # fmt: skip
        assert zf.read("units_schematic.cpg") == b"GBK"
        assert zf.read("facilities.cpg") == b"GBK"
        dbf = zf.read("units_schematic.dbf")
        fields = zf.read("fields.csv").decode("utf-8-sig")
        readme = zf.read("README.txt").decode("utf-8-sig")
    assert "安岳县".encode("gbk") in dbf and "安岳县".encode() not in dbf
    assert "示意边界".encode("gbk") in dbf
    assert fields.splitlines() == [
        "layer,short_name,full_name",
        "units_schematic,code,code",
        "units_schematic,name,name",
        "units_schematic,county,county",
        "units_schematic,township_n,township_name",
        "units_schematic,township_c,township_code",
        "units_schematic,covered,covered",
        "units_schematic,n_faciliti,n_facilities",
        "units_schematic,kind,kind",
        "units_schematic,备注,备注",
        "units_schematic,boundary,boundary",
        "facilities,name,name",
        "facilities,category,category",
        "facilities,category_l,category_label",
        "facilities,address,address",
        "facilities,match_stat,match_status",
        "facilities,township_n,township_name",
    ]
    assert "示意边界" in readme and "GBK" in readme and "fields.csv" in readme
    back = pyogrio.read_dataframe(f"/vsizip/{out}/units_schematic.shp")
    assert list(back.columns) == [
        "code", "name", "county", "township_n", "township_c", "covered", "n_faciliti", "kind", "备注",
        "boundary", "geometry",
    ]  # fmt: skip
    assert back["name"].tolist() == [SCRIPT, FORMULA]
    assert back["备注"].tolist() == ["岳阳镇旧址", "+86 电话"]
    assert back["boundary"].tolist() == [SCHEMATIC_VALUE] * 2
    assert back["n_faciliti"].tolist() == [2, 0]
    fac = pyogrio.read_dataframe(f"/vsizip/{out}/facilities.shp")
    assert fac["township_n"].tolist() == ["岳阳镇", "石桥街道"]
    assert fac.geometry.iloc[0].equals(Point(105.335, 30.098))
    assert _files(tmp_path) == ["shp.zip"]


def test_shp_utf8_cpg(tmp_path, points):
    out = export_layers({"facilities": points}, tmp_path / "f.zip", "shp", encoding="UTF-8", schematic=False)
    with zipfile.ZipFile(out) as zf:
        assert zf.read("facilities.cpg") == b"UTF-8"
        assert "岳阳镇敬老院".encode() in zf.read("facilities.dbf")
        assert "示意" not in zf.read("README.txt").decode("utf-8-sig")


def test_shp_gbk_refuses_text_it_would_lose(tmp_path, points):
    (tmp_path / "f.zip").write_bytes(b"old export")
    bad = points.copy()
    bad.loc[1, "address"] = "安岳县𠀾路"  # CJK extension B, not in GBK
    with pytest.raises(TowncoverError) as err:
        export_layers({"facilities": bad}, tmp_path / "f.zip", "shp", encoding="GBK", schematic=False)
    assert (err.value.row, err.value.column) == (2, "address")
    assert "UTF-8" in err.value.message_zh
    long = points.copy()
    long.loc[0, "name"] = "敬" * 128  # 256 bytes in GBK
    with pytest.raises(TowncoverError) as err:
        export_layers({"facilities": long}, tmp_path / "f.zip", "shp", encoding="GBK", schematic=False)
    assert (err.value.row, err.value.column) == (1, "name")
    # the failed writes left the earlier file alone and no temporary files behind
    assert (tmp_path / "f.zip").read_bytes() == b"old export"
    assert _files(tmp_path) == ["f.zip"]


def test_shp_refuses_mixed_geometry(tmp_path, units, points):
    mixed = pd.concat([units[["name", "geometry"]], points[["name", "geometry"]]], ignore_index=True)
    with pytest.raises(TowncoverError, match="Shapefile"):
        export_layers({"mixed": gpd.GeoDataFrame(mixed, crs=4326)}, tmp_path / "m", "shp", schematic=False)


# ---- KML ----------------------------------------------------------------------------------


def test_kml_folders_and_escaped_names(tmp_path, units, points):
    out = export_layers({"units": units, "facilities": points}, tmp_path / "k", "kml", schematic=True)
    assert out.name == "k.kml"
    text = out.read_text(encoding="utf-8")
    assert "<name>" + SCRIPT not in text  # the tag is never raw markup in the document
    root = ET.fromstring(text.encode("utf-8"))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    names = [el.text for el in root.iter("{http://www.opengis.net/kml/2.2}name")]
    # HTML-escaped text: KML viewers render names as HTML in balloons (issue 6).
    assert names == ["units_schematic", "&lt;script&gt;alert(1)&lt;/script&gt;", FORMULA, "facilities",
                     "岳阳镇敬老院", "安岳县殡仪馆"]
    boundary = [el.text for el in root.iterfind(".//k:SimpleData[@name='boundary']", ns)]
    assert boundary == [SCHEMATIC_VALUE] * 2
    assert [row[0] for row in pyogrio.list_layers(out)] == ["units_schematic", "facilities"]
    back = pyogrio.read_dataframe(out, layer="units_schematic")
    assert back["Name"].tolist() == ["&lt;script&gt;alert(1)&lt;/script&gt;", FORMULA]


# ---- CSV / Excel --------------------------------------------------------------------------


def test_csv_single_layer_neutralised_with_bom(tmp_path, units):
    out = export_layers({"units": units}, tmp_path / "u.csv", "csv", schematic=True)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(table.columns) == [
        "code", "name", "county", "township_name", "township_code", "covered", "n_facilities", "kind", "备注",
        "boundary", "wkt",
    ]  # fmt: skip
    assert table["name"].tolist() == [SCRIPT, "'" + FORMULA]
    assert table["备注"].tolist() == ["岳阳镇旧址", "'+86 电话"]
    assert table["code"].tolist() == ["512021100", "512021101"]
    assert table["boundary"].tolist() == [SCHEMATIC_VALUE] * 2
    assert table["wkt"].iloc[0] == "POLYGON ((105.3 30, 105.4 30, 105.4 30.1, 105.3 30.1, 105.3 30))"


def test_csv_several_layers_zip_points_get_lon_lat(tmp_path, units, points):
    out = export_layers({"units": units, "facilities": points}, tmp_path / "t", "csv", schematic=False)
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["units.csv", "facilities.csv", "README.txt"]
        raw = zf.read("facilities.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "name,category,category_label,address,match_status,township_name,lon,lat"
    assert (
        lines[1]
        == "岳阳镇敬老院,elderly_home,养老机构,四川省资阳市安岳县岳阳镇外南街12号,matched,岳阳镇,105.335,30.098"
    )
    assert lines[2] == "安岳县殡仪馆,funeral_home,殡仪馆,'@安岳县石桥街道,ambiguous,石桥街道,105.45,30.05"


def test_xlsx_sheet_per_layer_neutralised(tmp_path, units, points):
    out = export_layers({"units": units, "facilities": points}, tmp_path / "book", "xlsx", schematic=True)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["units_schematic", "facilities"]
    ws = book["units_schematic"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == (
        "code", "name", "county", "township_name", "township_code", "covered", "n_facilities", "kind", "备注",
        "boundary", "wkt",
    )  # fmt: skip
    assert rows[1][:9] == (
        "512021100",
        SCRIPT,
        "安岳县",
        "岳阳镇",
        "512021100",
        True,
        2,
        "town",
        "岳阳镇旧址",
    )
    assert rows[2][1] == "'" + FORMULA and rows[2][8] == "'+86 电话"
    assert ws["B3"].data_type == "s"  # text, not a formula
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)
    assert rows[1][9] == SCHEMATIC_VALUE
    fac = list(book["facilities"].iter_rows(values_only=True))
    assert fac[0][-2:] == ("lon", "lat")
    assert fac[2] == (
        "安岳县殡仪馆",
        "funeral_home",
        "殡仪馆",
        "'@安岳县石桥街道",
        "ambiguous",
        "石桥街道",
        105.45,
        30.05,
    )


def test_export_table_csv_and_xlsx(tmp_path):
    frame = pd.DataFrame(
        {
            "指标": ["养老机构乡镇覆盖率", "=1+1", "\tcmd", "-5"],
            "rate": [60.87, -2.5, 0.0, 1.0],
            "note": ["\rx", None, "ok", "@SUM(A1)"],
        }
    )
    csv = export_table(frame, tmp_path / "report", "csv")
    assert csv.name == "report.csv"
    back = pd.read_csv(csv, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert back["指标"].tolist() == ["养老机构乡镇覆盖率", "'=1+1", "'\tcmd", "'-5"]
    assert back["rate"].tolist() == ["60.87", "-2.5", "0.0", "1.0"]  # numbers untouched
    assert back["note"].tolist() == ["'\rx", "", "ok", "'@SUM(A1)"]
    xlsx = export_table(frame, tmp_path / "report.xlsx", "xlsx", sheet_name="覆盖率")
    ws = openpyxl.load_workbook(xlsx)["覆盖率"]
    assert [c.value for c in ws["A"]] == ["指标", "养老机构乡镇覆盖率", "'=1+1", "'\tcmd", "'-5"]
    assert [c.value for c in ws["B"]] == ["rate", 60.87, -2.5, 0, 1]
    # The carriage return is kept (written as &#13;); the guarding quote stays first
    assert [c.value for c in ws["C"]] == ["note", "'\rx", None, "ok", "'@SUM(A1)"]
    assert _files(tmp_path) == ["report.csv", "report.xlsx"]
    with pytest.raises(TowncoverError):
        export_table(frame, tmp_path / "r", "gpkg")


def test_neutralise_cells_leaves_other_values():
    frame = pd.DataFrame(
        {"a": pd.Series(["=x", "x=", None], dtype="string"), "b": [-1, 2, 3], "c": ["+", 5, None]}
    )
    out = neutralise_cells(frame)
    assert out["a"].tolist()[:2] == ["'=x", "x="] and pd.isna(out["a"].iloc[2])
    assert out["b"].tolist() == [-1, 2, 3]
    assert out["c"].tolist()[:2] == ["'+", 5]
    assert frame["a"].iloc[0] == "=x"  # input not modified


# ---- HTML ---------------------------------------------------------------------------------


def test_html_map_escapes_names_and_labels_schematic(tmp_path, units, points):
    pts = points.copy()
    pts.loc[0, "name"] = "敬老院<img src=x onerror=alert(2)>`${alert(3)}`"
    out = export_layers({"units": units, "facilities": pts}, tmp_path / "m", "html", schematic=True)
    assert out.name == "m.html"
    page = out.read_text(encoding="utf-8")
    assert SCRIPT not in page
    # names travel inside JSON in the page script; there, they are HTML-escaped text
    assert _as_js("&lt;script&gt;alert(1)&lt;/script&gt;") in page
    assert "\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;" in page
    assert "<img src=x" not in page and "${alert(3)}" not in page
    assert _as_js("敬老院&lt;img src=x onerror=alert(2)&gt;&#96;&#36;&#123;alert(3)&#125;&#96;") in page
    assert "示意边界 / schematic boundaries" in page
    plain = export_layers({"units": units, "facilities": points}, tmp_path / "p", "html", schematic=False)
    assert "示意" not in plain.read_text(encoding="utf-8")


def test_html_given_page_gets_schematic_label(tmp_path, units):
    page = "<html><body><div id='map'></div></body></html>"
    out = export_layers({"units": units}, tmp_path / "g.html", "html", schematic=True, map_html=page)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<html><body><div id='map'></div><div")
    assert text.endswith("示意边界 / schematic boundaries</div></body></html>")
    same = export_layers({"units": units}, tmp_path / "h.html", "html", schematic=False, map_html=page)
    assert same.read_text(encoding="utf-8") == page
    assert _files(tmp_path) == ["g.html", "h.html"]


def test_atomic_overwrite_leaves_only_the_target(tmp_path, units, points):
    layers = {"units": units, "facilities": points}
    for fmt in ("geojson", "gpkg", "shp", "kml", "csv", "xlsx", "html"):
        export_layers(layers, tmp_path / "x", fmt, schematic=True)
    first = (tmp_path / "x.gpkg").stat().st_size
    export_layers(layers, tmp_path / "x", "gpkg", schematic=True)  # replace, not append
    assert pyogrio.list_layers(tmp_path / "x.gpkg").shape == (2, 2)
    assert (tmp_path / "x.gpkg").stat().st_size == first
    assert _files(tmp_path) == ["x.gpkg", "x.html", "x.kml", "x.xlsx", "x.zip"]


# ---- the path written, KML styles, the shared writers (issues 14.6, 19.10, 19.11) -------------------


def test_the_path_given_is_written_or_refused_in_one_line(tmp_path, units, points):
    both = {"townships": units, "facilities": points}
    for name, fmt in (("x.geojson", "geojson"), ("x.csv", "csv"), ("x.shp", "shp"), ("x.gpkg", "kml")):
        with pytest.raises(TowncoverError) as err:
            export_layers(both, tmp_path / name, fmt, schematic=False)
        assert "\n" not in err.value.message and name in err.value.message
    assert _files(tmp_path) == []
    assert export_layers(both, tmp_path / "x.zip", "csv", schematic=False) == tmp_path / "x.zip"
    one = export_layers({"facilities": points}, tmp_path / "x.csv", "csv", schematic=False)
    assert one == tmp_path / "x.csv"
    assert export_layers({"facilities": points}, tmp_path / "p.geojson", "geojson", schematic=False).exists()
    assert _files(tmp_path) == ["p.geojson", "x.csv", "x.zip"]


def test_kml_placemarks_styled_by_a_column(tmp_path, units, points):
    units = units.assign(status=["covered", "not_covered"])
    path = export_layers({"townships": units, "facilities": points}, tmp_path / "m.kml", "kml", schematic=False,
                         kml_styles={"townships": ("status", {"covered": "#1f78b4", "not_covered": "#e6550d"}),
                                     "facilities": ("category", {"elderly_home": "#4e79a7"})})
    k = "{http://www.opengis.net/kml/2.2}"
    root = ET.parse(path).getroot()
    styles = {s.get("id"): s for s in root.iter(f"{k}Style")}
    assert styles["townships-1"].find(f"{k}PolyStyle/{k}color").text == "99b4781f"  # aabbggrr, fill half see-through
    assert styles["townships-2"].find(f"{k}LineStyle/{k}color").text == "ff0d55e6"
    assert styles["facilities-1"].find(f"{k}IconStyle/{k}color").text == "ffa7794e"
    used = {p.findtext(f"{k}name"): p.findtext(f"{k}styleUrl") for p in root.iter(f"{k}Placemark")}
    assert used == {"&lt;script&gt;alert(1)&lt;/script&gt;": "#townships-1", FORMULA: "#townships-2",
                    "岳阳镇敬老院": "#facilities-1", "安岳县殡仪馆": None}


def test_full_width_formula_starts_and_control_characters(tmp_path):
    from towncover.files import neutralise_cells, restore_cells

    frame = pd.DataFrame({"名称": ["＝1+1", "＋86", "－5", "＠SUM(A1)", "\rx", "正常", "a\x01b"],
                          "床位数": [1, 2, 3, 4, 5, 6, 7]})
    out = neutralise_cells(frame)
    assert out["名称"].tolist() == ["'＝1+1", "'＋86", "'－5", "'＠SUM(A1)", "'\rx", "正常", "a\x01b"]
    assert restore_cells(out)["名称"].tolist() == frame["名称"].tolist()
    # A control character other than tab, newline or CR cannot be held by XLSX: it is removed.
    book = openpyxl.load_workbook(export_table(frame, tmp_path / "t.xlsx", "xlsx"))
    values = [c.value for c in book.active["A"]]
    assert values[1] == "'＝1+1" and values[-1] == "ab"
    assert [c.data_type for c in book.active["B"]][1:] == ["n"] * 7


def test_atomic_write_ordinary_permissions_and_no_leftovers(tmp_path, monkeypatch):
    import os

    from towncover.files import atomic_write

    # What a writer killed with -9 leaves: a private folder of a process that no longer exists.
    dead = tmp_path / ".towncover-tmp-999999999-abc"
    dead.mkdir()
    (dead / "x.csv").write_text("half")
    mine = tmp_path / f".towncover-tmp-{os.getpid()}-busy"  # a write in progress in this process
    mine.mkdir()
    old = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "x.csv", lambda tmp: tmp.write_text("a,b\n"))
    finally:
        os.umask(old)
    assert path.read_text() == "a,b\n"
    assert path.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name, "x.csv"]

    def fail(tmp):
        tmp.write_text("partial")
        raise ValueError("writer failed")

    with pytest.raises(ValueError):
        atomic_write(tmp_path / "x.csv", fail)
    assert path.read_text() == "a,b\n" and sorted(p.name for p in tmp_path.iterdir()) == [mine.name, "x.csv"]
