"""Hostile and broken input, end to end (issue 6): boundaries, archives, sheets through every export.

Cases already covered elsewhere are not repeated here: zip archives alone (test_archive), sheet
encodings/title rows/merged cells/duplicates/swaps (test_sheets), single export formats
(test_export, test_webmap), corrections files (test_corrections).
"""

from __future__ import annotations

import csv
import io
import stat
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from geo.boundaries import load_boundaries
from towncover import settings
from towncover.errors import TowncoverError

CODES = ["321202001", "321202002", "321202100", "321202101"]
NAMES = ["城东街道", "城西街道", "九龙镇", "罡杨镇"]
X0, Y0, D = 119.90, 32.50, 0.02  # 海陵区


def _box(i: int, shift: float = 0.0) -> shapely.Polygon:
    return shapely.box(X0 + i * D + shift, Y0, X0 + (i + 1) * D + shift, Y0 + D)


# -- boundaries ----------------------------------------------------------------------------------
def test_boundaries_overlap_mixed_types_and_duplicate_codes_reported(tmp_path):
    frame = gpd.GeoDataFrame(
        {"代码": [CODES[0], CODES[1], CODES[1], CODES[2], CODES[3], "321202102"],
         "名称": ["a", "b1", "b2", "c", "d", "e"]},
        geometry=[
            _box(0),
            _box(1, shift=-D / 2),          # overlaps feature 1 by half its area
            _box(5),                        # a second part of 321202002: duplicate code, kept
            shapely.Point(X0 + 2.5 * D, Y0 + D / 2),  # a point among the polygons
            shapely.GeometryCollection([_box(3), shapely.LineString([(X0, Y0), (X0 + D, Y0 + D)])]),
            shapely.LineString([(X0 + 6 * D, Y0), (X0 + 7 * D, Y0 + D)]),
        ], crs=4326)
    frame.to_file(tmp_path / "towns.gpkg", driver="GPKG")
    got = load_boundaries(tmp_path / "towns.gpkg")
    assert got["code"].tolist() == [CODES[0], CODES[1], CODES[1], CODES[2], CODES[3], "321202102"]
    assert len(got) == 6  # one row per feature, none lost
    assert got.geometry.is_empty.tolist() == [False, False, False, True, False, True]
    assert got.geometry.iloc[4].equals(_box(3))  # the polygon of the collection, the line dropped
    assert shapely.is_valid(got.geometry.to_numpy()).all()
    assert got.attrs["notes"] == [
        "乡镇代码取自字段“代码” / township codes from field '代码'",
        "1 个要素是混合几何(第 5 个),只保留其中的面 / "
        "1 feature(s) are geometry collections (feature 5); only their polygons are kept",
        "2 个要素不是面(第 4, 6 个,点, 线),保留但没有形状,不参与归属 / "
        "2 feature(s) are not polygons (feature 4, 6: point, line); kept without a shape, not used to assign points",
        "1 个乡镇代码出现在多个要素中(321202002: 2, 3),各部分都归该乡镇 / "
        "1 township code(s) appear on several features (321202002: 2, 3); every part counts for that township",
        "1 对要素相互重叠(第 1&2 (50.0%),占较小者面积);重叠处的点归代码较小的乡镇 / "
        "1 pair(s) of features overlap (feature 1&2 (50.0%) of the smaller one); "
        "points in an overlap go to the lower township code",
    ]
    from geo.assign import assign_points

    # In the overlap the lower code wins; the duplicate's second part assigns to its code; no shape, no hit.
    xs = [X0 + 0.75 * D, X0 + 5.5 * D, X0 + 2.5 * D, X0 + 1.25 * D]
    assert assign_points(xs, [Y0 + D / 2] * 4, got).tolist() == [CODES[0], CODES[1], pd.NA, CODES[1]]


def test_boundaries_touching_neighbours_are_not_overlaps(tmp_path):
    frame = gpd.GeoDataFrame({"代码": CODES}, geometry=[_box(i) for i in range(4)], crs=4326)
    frame.to_file(tmp_path / "towns.geojson", driver="GeoJSON")
    got = load_boundaries(tmp_path / "towns.geojson")
    assert got.attrs["notes"] == ["乡镇代码取自字段“代码” / township codes from field '代码'"]


def test_shapefile_without_prj_and_cpg_gbk_text_and_numeric_codes(tmp_path):
    frame = gpd.GeoDataFrame({"XZQDM": [int(c) for c in CODES], "XZQMC": NAMES},
                             geometry=[_box(i) for i in range(4)], crs=4326)
    frame.to_file(tmp_path / "t.shp", encoding="GBK")
    (tmp_path / "t.cpg").unlink()
    (tmp_path / "t.prj").unlink()
    zpath = tmp_path / "t.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(tmp_path.glob("t.*")):
            if f.suffix != ".zip":
                zf.write(f, f.name)
    got = load_boundaries(zpath)
    assert got["code"].tolist() == CODES and got["name"].tolist() == NAMES
    notes = " ".join(got.attrs["notes"])
    assert "attributes read as GBK" in notes and "taken as CGCS2000 (EPSG:4490)" in notes


def test_boundaries_invalid_polygon_without_codes_for_all_rows(tmp_path):
    # Found by fuzz/fuzz_loaders.py: a self-crossing ring (one corner at 210.4°E) with one code unknown
    # made the county lookup union invalid polygons (GEOSException: side location conflict).
    text = (
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"代码": "512021110", "名称": "石羊镇"}, "geometry": {"type": "Polygon",'
        ' "coordinates": [[[105.4, 29.9], [105.4, 30.0], [105.3, 30.0], [105.3, 29.9], [105.4, 29.9]]]}},'
        '{"type": "Feature", "properties": {"代码": "256010550", "名称": "岳阳镇"}, "geometry": {"type": "Polygon",'
        ' "coordinates": [[[105.5, 29.9], [105.5, 30.0], [105.4, 30.0], [210.4, 29.9], [105.5, 29.9]]]}}]}'
    )
    (tmp_path / "t.geojson").write_text(text, encoding="utf-8")
    got = load_boundaries(tmp_path / "t.geojson")
    assert got["code"].tolist() == ["512021110", "512021100"]  # the unknown code, placed by its name
    assert shapely.is_valid(got.geometry.to_numpy()).all()
    assert any("repaired 1 invalid polygon(s) with make_valid (feature 2)" in n for n in got.attrs["notes"])


def _shp_zip(tmp_path: Path, extra: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    frame = gpd.GeoDataFrame({"代码": CODES}, geometry=[_box(i) for i in range(4)], crs=4326)
    frame.to_file(tmp_path / "t.shp", encoding="UTF-8")
    zpath = tmp_path / "upload.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(tmp_path.glob("t.*")):
            zf.write(f, f"towns/{f.name}")
        for info, data in extra:
            zf.writestr(info, data)
    return zpath


def _link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(("entry", "fragment"), [
    ("../../evil.shp", "contains '..'"),
    ("towns/../../evil.txt", "contains '..'"),
    ("/tmp/evil.shp", "absolute path"),
    (_link("towns/t.prj"), "symbolic link"),
])
def test_zipped_shapefile_with_path_tricks_is_refused(tmp_path, entry, fragment):
    zpath = _shp_zip(tmp_path, [(entry, b"x")])
    with pytest.raises(TowncoverError) as err:
        load_boundaries(zpath)
    assert fragment in err.value.message_en and err.value.message_zh
    assert not (tmp_path / "evil.shp").exists() and not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/evil.shp").exists()


def test_zipped_shapefile_bomb_and_oversized_upload_refused(tmp_path, monkeypatch):
    bomb = _shp_zip(tmp_path, [("towns/padding.dbf", b"\0" * (8 * 2**20))])
    with pytest.raises(TowncoverError) as err:
        load_boundaries(bomb)
    assert "possible zip bomb" in err.value.message_en
    monkeypatch.setattr(settings, "MAX_UPLOAD_MB", 0.001)
    with pytest.raises(TowncoverError) as err:
        load_boundaries(bomb)
    assert "too large" in err.value.message_en and "太大" in err.value.message_zh


# -- a hostile sheet through the whole pipeline --------------------------------------------------
IMG = "<img src=x onerror=alert(1)>"
LINK = '=HYPERLINK("http://evil.example","点我")'
TEMPLATE = "`${alert(document.cookie)}`\\"


def _hostile_xlsx(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["安岳县民政设施名录(恶意测试)"])
    ws.merge_cells("A1:E1")
    ws.append(["机构名称", "地址", "类型", "床位数", "备注"])
    rows = [
        [IMG, "四川省资阳市安岳县石羊镇", "区域养老服务中心", 50, TEMPLATE],
        [LINK, "安岳县岳阳镇", "区域养老服务中心", "=10+20", "+86 12345"],
        ["@SUM(1)", "安岳县龙台镇", "区域养老服务中心", 20, "-1"],
        [None, None, None, None, None],
        ["+SUM(A1)", "火星大道99号", "区域养老服务中心", 10, IMG],
        ["合计", None, None, "=SUM(D3:D7)", None],
    ]
    for r in rows:
        ws.append(r)
    # Text that looks like a formula stays text in the file (as a planner's sheet would hold it).
    for ref in ("A4", "A5", "A8", "E4", "E5"):
        ws[ref].data_type = "s"
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from facilities.pipeline import analyse

    path = _hostile_xlsx(tmp_path_factory.mktemp("hostile") / "恶意名录.xlsx")
    return path, analyse(path, "512021")


def test_hostile_sheet_rows_accounted_and_formulas_named(hostile):
    _, analysis = hostile
    assert analysis.summary() == {"rows_read": 6, "blank": 1, "matched": 3, "ambiguous": 0, "unmatched": 1,
                                  "out_of_region": 0, "rejected": 1}
    placed = analysis.placed
    assert placed["row"].tolist() == [3, 4, 5, 7, 8]
    assert placed["机构名称"].tolist() == [IMG, LINK, "@SUM(1)", "+SUM(A1)", "合计"]
    assert placed["township_code"].tolist()[:3] == ["512021110", "512021100", "512021104"]
    assert placed["beds"].tolist()[:2] == [50.0, pytest.approx(float("nan"), nan_ok=True)]
    problems = analysis.sheet.problems
    assert problems[["row", "column"]].values.tolist() == [[4, "床位数"]]
    assert "=10+20" in problems["message_zh"].iloc[0] and "no saved result" in problems["message_en"].iloc[0]


def test_hostile_sheet_escaped_and_neutralised_in_every_export(hostile, tmp_path):
    from facilities.coverage import measure_for_target
    from facilities.layers import build_layers
    from geo.export import export_layers

    _, analysis = hostile
    layers = build_layers(analysis, measure_for_target(analysis, "elderly_regional_centre", "township_and_street"))
    assert sorted(layers["facilities"]["row"]) == [3, 4, 5]

    kml = export_layers(layers, tmp_path / "m.kml", "kml", schematic=analysis.schematic).read_text("utf-8")
    assert IMG not in kml and "onerror=alert(1)>" not in kml
    # Parsed, the KML holds the escaped text, so a viewer rendering it as HTML shows it literally.
    names = [e.text for e in ET.fromstring(kml).iter() if e.tag.endswith("}name")]
    assert "&lt;img src=x onerror=alert(1)&gt;" in names and LINK in names
    data = [e.text for e in ET.fromstring(kml).iter() if e.tag.endswith("}SimpleData")]
    assert not [t for t in data if t and "<" in t]

    html = export_layers(layers, tmp_path / "m.html", "html", schematic=analysis.schematic).read_text("utf-8")
    assert IMG not in html and "onerror=alert(1)>" not in html
    # The facility rows are a JSON array in a script: "<" is \u003c there, an escaped "&lt;" is \u0026lt;.
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html and "\\u003cimg" not in html

    out = export_layers({"facilities": layers["facilities"]}, tmp_path / "f.csv", "csv",
                        schematic=analysis.schematic)
    table = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [r["name"] for r in table] == [IMG, "'" + LINK, "'@SUM(1)"]

    book = openpyxl.load_workbook(export_layers(layers, tmp_path / "m.xlsx", "xlsx", schematic=analysis.schematic))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    values = {c.value for c in cells}
    assert {"'" + LINK, "'@SUM(1)", IMG} <= values and LINK not in values


def test_hostile_sheet_report_neutralised(hostile, tmp_path):
    from facilities.evaluation import evaluate
    from facilities.report import write_report

    _, analysis = hostile
    evaluation = evaluate(analysis)
    path = write_report(evaluation, tmp_path / "report.xlsx")
    book = openpyxl.load_workbook(path)
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [f"{c.parent.title}!{c.coordinate}" for c in cells if c.data_type == "f"]
    unplaced = [[c.value for c in row] for row in book["unplaced"].iter_rows()]
    header = unplaced[0]
    col = header.index("机构名称")
    assert [r[col] for r in unplaced[1:]] == ["'+SUM(A1)", "合计"]
    note = header.index("备注")
    assert unplaced[1][note] == IMG  # not a formula start: left as written

    csv_path = write_report(evaluation, tmp_path / "report.csv")
    for f in (csv_path, csv_path.with_name("report_units.csv")):
        for row in csv.reader(io.StringIO(f.read_text("utf-8-sig"))):
            assert not any(v.startswith(("=", "+", "-", "@")) for v in row), row


def test_cli_on_hostile_sheet_exits_zero_with_summary(hostile, tmp_path, capsys):
    from towncover.cli import main

    path, _ = hostile
    out = tmp_path / "placed.csv"
    assert main(["geocode", str(path), "-r", "512021", "-o", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == ("四川省资阳市安岳县(512021): 读取 6 行 / rows read, matched 3, ambiguous 0, unmatched 1, "
                      "out_of_region 0, rejected 1, blank 1")
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [r["机构名称"] for r in rows] == [IMG, "'" + LINK, "'@SUM(1)", "'+SUM(A1)", "合计"]


def test_cli_on_hostile_boundaries_exits_2_with_one_line(hostile, tmp_path, capsys):
    from towncover.cli import main

    path, _ = hostile
    zpath = _shp_zip(tmp_path, [("../../evil.shp", b"x")])
    code = main(["export", str(path), "-r", "512021", "--boundaries", str(zpath), "--format", "kml",
                 "-o", str(tmp_path / "x.kml")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("错误 / error: 压缩包条目含“..”") and "zip entry contains '..'" in err
    assert not (tmp_path / "x.kml").exists()


def test_cli_on_unreadable_boundaries_one_line(hostile, tmp_path, capsys):
    from towncover.cli import main

    path, _ = hostile
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Polygon",'
                   ' "coordinates": [[[1, 2], [3]]]}}]}\n\n\n{oops', encoding="utf-8")
    code = main(["geocode", str(path), "-r", "512021", "--boundaries", str(bad), "-o", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "bad.geojson" in err


# -- corrections and workspaces ------------------------------------------------------------------
HOSTILE_CORRECTIONS = pd.DataFrame({
    "row": [3, 4, 12, 7],
    "township_code": ["512021110", "512021100", "512021104", "512021001"],
    "village_code": ["512021110200", "", "", "512021001001"],
    "note": ["=cmd|' /C calc'!A0", "第一行\n第二行, \"引号\"", IMG, "  前后空格  "],
})


def test_corrections_round_trip_hostile_text(tmp_path):
    from facilities.corrections import load_corrections, save_corrections

    path = save_corrections(HOSTILE_CORRECTIONS, tmp_path / "c.csv")
    back = load_corrections(path)
    pd.testing.assert_frame_equal(back, HOSTILE_CORRECTIONS, check_dtype=False)
    assert back["row"].dtype == "int64"


def test_workspace_round_trip_hostile_corrections(tmp_path, hostile):
    from facilities.coverage import measure_for_target
    from facilities.layers import build_layers
    from facilities.review import load_workspace_corrections, save_workspace

    _, analysis = hostile
    layers = build_layers(analysis, measure_for_target(analysis, "elderly_regional_centre", "township_and_street"))
    path = save_workspace(tmp_path / "ws.gpkg", layers, HOSTILE_CORRECTIONS, placed=analysis.placed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws.gpkg"]
    back = load_workspace_corrections(path)
    pd.testing.assert_frame_equal(back, HOSTILE_CORRECTIONS, check_dtype=False)
    assert load_workspace_corrections(path.read_bytes()).equals(back)


# -- template syntax in user text (issue 19, item 1) ---------------------------------------------
# branca compiles each rendered macro's output as a Jinja template again: user text must reach the
# page with no template syntax left in it, or it runs on the server.
PROBE = "/tmp/towncover-template-probe"
TEMPLATES = [
    "{{7*7}}敬老院",
    "{# 注释未闭合",
    "{% for x in range(3) %}循环{% endfor %}",
    "{{ lipsum.__globals__.os.popen('touch " + PROBE + "').read() }}",
]


def _template_sheet(tmp_path: Path) -> Path:
    path = tmp_path / "模板.csv"
    rows = ["机构名称,地址,类型"] + [f'"{name}",四川省资阳市安岳县石羊镇,区域养老服务中心' for name in TEMPLATES]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _boundaries_with_template_name(tmp_path: Path) -> Path:
    frame = gpd.GeoDataFrame({"code": ["512021110"], "name": ["{{7*7}}石羊镇"]},
                             geometry=[shapely.box(105.3, 29.9, 105.4, 30.0)], crs=4326)
    path = tmp_path / "towns.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


def test_cli_html_export_does_not_run_template_syntax(tmp_path, capsys):
    from towncover.cli import main

    Path(PROBE).unlink(missing_ok=True)
    out = tmp_path / "map.html"
    code = main(["export", str(_template_sheet(tmp_path)), "-r", "512021", "--boundaries",
                 str(_boundaries_with_template_name(tmp_path)), "--format", "html", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    page = out.read_text("utf-8")
    assert not Path(PROBE).exists()
    assert "49敬老院" not in page and "49石羊镇" not in page and "循环循环" not in page
    # Every name is on the page, its braces as character references (the browser shows "{").
    for text in ("&#123;&#123;7*7&#125;&#125;敬老院", "&#123;# 注释未闭合"):
        assert text.replace("&", "\\u0026") in page


def test_standalone_and_gap_maps_keep_template_syntax_as_text(tmp_path):
    from geo.boundaries import load_boundaries
    from geo.webmap import add_proposals, coverage_map, standalone_html

    units = load_boundaries(_boundaries_with_template_name(tmp_path))
    fmap = coverage_map(units, None, schematic=False, title="{% raw %}{{7*7}}")
    gap = pd.DataFrame({"rank": [1], "code": ["512021110"], "name": ["{{7*7}}石羊镇"]})
    page = standalone_html(add_proposals(fmap, units, gap))
    assert "49石羊镇" not in page and "{{7*7}}" not in page and "{% raw %}" not in page
    assert "&#123;% raw %&#125;&#123;&#123;7*7&#125;&#125;" in page
    assert "&#123;&#123;7*7&#125;&#125;石羊镇 (512021110)" in page


# -- writing files (issue 19, items 10 and 11) ---------------------------------------------------------


def test_control_character_in_a_cell_report_xlsx_written(tmp_path, capsys):
    from towncover.cli import main

    sheet = tmp_path / "控制字符.csv"
    # The unplaced row goes to the report's "unplaced" sheet with its cells as written.
    pd.DataFrame({"机构名称": ["城东街道综合\x01养老服务中心", "火星\x0b敬老院\x01"], "类型": ["区域养老服务中心", "敬老院"],
                  "地址": ["海陵区城东街道", "火星大道99号"]}).to_csv(sheet, index=False)
    out = tmp_path / "report.xlsx"
    assert main(["coverage", str(sheet), "-r", "321202", "-o", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    text = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [t for t in text if "\x01" in t or "\x0b" in t]
    assert "火星敬老院" in text  # the control characters removed, the rest kept
    assert out.stat().st_mode & 0o077 == 0o044  # readable by others like any new file, not 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx", sheet.name]


def test_corrections_csv_neutralised_full_width_too(tmp_path):
    from facilities.corrections import corrections_csv, load_corrections, save_corrections

    frame = HOSTILE_CORRECTIONS.assign(note=["=cmd|' /C calc'!A0", "＝HYPERLINK(\"x\")", "＠SUM(1)", "－1"])
    path = save_corrections(frame, tmp_path / "c.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))
    assert [r["note"] for r in rows] == ["'=cmd|' /C calc'!A0", "'＝HYPERLINK(\"x\")", "'＠SUM(1)", "'－1"]
    assert path.read_bytes() == corrections_csv(frame)  # the app's download is the same file
    pd.testing.assert_frame_equal(load_corrections(path), frame, check_dtype=False)  # read back as written


def test_full_width_formula_start_neutralised_in_exports(tmp_path):
    from facilities.coverage import measure_for_target
    from facilities.layers import build_layers, write_layers
    from facilities.pipeline import analyse

    sheet = tmp_path / "全角.csv"
    pd.DataFrame({"机构名称": ["＝HYPERLINK(\"http://evil.example\")", "九龙镇敬老院"], "类型": ["敬老院", "敬老院"],
                  "地址": ["海陵区城东街道", "海陵区九龙镇"], "备注": ["＋86", "＠x"]}).to_csv(sheet, index=False)
    analysis = analyse(sheet, "321202")
    layers = build_layers(analysis, measure_for_target(analysis, "nursing_home", "township_and_street"))
    out = write_layers({"facilities": layers["facilities"]}, tmp_path / "f.csv", "csv", schematic=True)
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [r["机构名称"] for r in rows] == ["'＝HYPERLINK(\"http://evil.example\")", "九龙镇敬老院"]
    assert [r["备注"] for r in rows] == ["'＋86", "'＠x"]


def test_sheet_columns_named_like_the_tools_are_kept(tmp_path):
    from facilities.pipeline import analyse

    sheet = tmp_path / "列名.csv"
    pd.DataFrame({"机构名称": ["城东街道综合养老服务中心", "无名点"], "地址": ["海陵区城东街道", ""],
                  "row": ["A-1", "A-2"], "match_status": ["已核", "待核"]}).to_csv(sheet, index=False)
    analysis = analyse(sheet, "321202")
    placed = analysis.placed
    assert placed["row"].tolist() == [2, 3] and placed["match_status"].tolist() == ["matched", "unmatched"]
    assert placed["row(原表)"].tolist() == ["A-1", "A-2"]
    assert placed["match_status(原表)"].tolist() == ["已核", "待核"]


def test_a_writer_killed_with_9_leaves_nothing_after_the_next_write(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    ready = tmp_path / "ready"
    script = (
        "import sys, time, pathlib\n"
        "from towncover.files import atomic_write\n"
        "def slow(tmp):\n"
        "    tmp.write_text('half')\n"
        f"    pathlib.Path({str(ready)!r}).write_text('1')\n"
        "    time.sleep(60)\n"
        f"atomic_write(pathlib.Path({str(tmp_path / 'out.csv')!r}), slow)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1])
    try:
        for _ in range(600):
            if ready.exists():
                break
            time.sleep(0.05)
        assert ready.exists()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".towncover-tmp-")]
    assert len(left) == 1 and not (tmp_path / "out.csv").exists()
    from towncover.files import atomic_write

    atomic_write(tmp_path / "out.csv", lambda tmp: tmp.write_text("whole"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "ready"]
    assert (tmp_path / "out.csv").read_text() == "whole"


# -- what an archive may unpack to, and readers' failures (issue 19, items 3 and 5) ---------------
def _workbook(rows) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rewrite(data: bytes, member: str, edit) -> bytes:
    """The .xlsx ``data`` with one member's bytes passed through ``edit``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            content = src.read(item.filename)
            out.writestr(item.filename, edit(content) if item.filename == member else content,
                         compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


def _tamper(data: bytes, member: str, *, crc: int | None = None, size: int | None = None) -> bytes:
    """``data`` with a member's CRC or declared (uncompressed) size changed in both zip headers."""
    import struct

    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    out = bytearray(data)
    local = info.header_offset
    central = [i for i in range(len(out)) if out[i:i + 4] == b"PK\x01\x02"
               and out[i + 46:i + 46 + len(member)] == member.encode()][0]
    if crc is not None:
        out[local + 14:local + 18] = struct.pack("<I", crc)
        out[central + 16:central + 20] = struct.pack("<I", crc)
    if size is not None:
        out[local + 22:local + 26] = struct.pack("<I", size)
        out[central + 24:central + 28] = struct.pack("<I", size)
    return bytes(out)


def _refused_before_reading(monkeypatch, data: bytes, fragment: str) -> str:
    """Read ``data`` as an .xlsx; it must be refused before openpyxl reads anything."""
    from facilities.sheets import read_sheet

    def never(*args, **kwargs):
        raise AssertionError("openpyxl was asked to read a file that should have been refused")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(TowncoverError) as err:
        read_sheet(data, filename="名录.xlsx")
    assert fragment in err.value.message_en and "\n" not in err.value.message
    return err.value.message


SMALL = [["机构名称", "地址"], ["石羊镇敬老院", "安岳县石羊镇"]]


def test_xlsx_with_a_huge_shared_string_is_refused_before_expansion(monkeypatch):
    # The audit's file: 1.0 MB holding a 1 GB shared string. Here 64 MB of one letter, the same ratio.
    src = zipfile.ZipFile(io.BytesIO(_workbook(SMALL)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            out.writestr(item.filename, src.read(item.filename))
        with out.open("xl/sharedStrings.xml", "w") as member:
            member.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>')
            for _ in range(64):
                member.write(b"a" * 2**20)
            member.write(b"</t></si></sst>")
    data = buf.getvalue()
    assert len(data) < 2**20
    _refused_before_reading(monkeypatch, data, "possible zip bomb")


def test_xlsx_with_a_run_of_whitespace_in_the_sheet_xml_is_refused_before_expansion(monkeypatch):
    data = _rewrite(_workbook(SMALL), "xl/worksheets/sheet1.xml",
                    lambda x: x.replace(b"<sheetData>", b"<sheetData>" + b" " * (64 * 2**20)))
    assert len(data) < 2**20
    _refused_before_reading(monkeypatch, data, "possible zip bomb")


def test_xlsx_over_the_unpacked_limit_is_refused_by_its_declared_sizes(monkeypatch):
    from facilities import workbook

    monkeypatch.setattr(workbook, "XLSX_MAX_UNPACKED_MB", 0)
    _refused_before_reading(monkeypatch, _workbook(SMALL), "unpacks to too much data")


def test_xlsx_with_a_lying_size_header_or_a_bad_crc_is_one_line(monkeypatch):
    data = _workbook(SMALL)
    part = "xl/worksheets/sheet1.xml"
    # zipfile stops at the declared size, then finds the CRC wrong.
    _refused_before_reading(monkeypatch, _tamper(data, part, size=100), "is damaged (BadZipFile)")
    _refused_before_reading(monkeypatch, _tamper(data, part, crc=12345), "is damaged (BadZipFile)")


def test_styled_cell_at_column_xfd_does_not_widen_the_table(monkeypatch):
    # The audit's file: a styled empty cell at XFD in each of 200k rows (over 6 GB). Here 300 rows:
    # the reader turns into text only the used range (2 columns), never 16,384 columns per row.
    from facilities import sheets, workbook

    styled = b"".join(b'<row r="%d"><c r="XFD%d" s="0"/></row>' % (r, r) for r in range(3, 303))
    data = _rewrite(_workbook(SMALL), "xl/worksheets/sheet1.xml",
                    lambda x: x.replace(b"</sheetData>", styled + b"</sheetData>"))
    cleaned = []
    real_clean = workbook._clean
    monkeypatch.setattr(workbook, "_clean", lambda v: cleaned.append(1) or real_clean(v))
    s = sheets.read_sheet(data, filename="xfd.xlsx")
    assert list(s.frame.columns) == ["机构名称", "地址"]
    assert s.frame.values.tolist() == [["石羊镇敬老院", "安岳县石羊镇"]]
    assert len(cleaned) == 4


def test_a_merge_over_the_whole_sheet_is_clipped_to_the_used_range():
    # The audit's file: <mergeCell ref="A1:XFD1048576"/> over 1,000 rows gave 16,397 columns.
    from facilities.sheets import read_sheet

    rows = [["机构名称", "地址"]] + [[f"第{i}敬老院", f"安岳县石羊镇{i}号"] for i in range(1000)]
    data = _rewrite(_workbook(rows), "xl/worksheets/sheet1.xml", lambda x: x.replace(
        b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="A1:XFD1048576"/></mergeCells>'))
    s = read_sheet(data, filename="merge.xlsx")
    assert list(s.frame.columns) == ["机构名称", "地址"]
    assert len(s.frame) == 1000 and s.frame["地址"].iloc[-1] == "安岳县石羊镇999号"


def _xls_bytes() -> bytes:
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("名录")
    for c, h in enumerate(["机构名称", "地址", "床位数"]):
        ws.write(0, c, h)
    for r in range(1, 30):
        ws.write(r, 0, f"第{r}敬老院")
        ws.write(r, 1, "安岳县石羊镇")
        ws.write(r, 2, r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_corrupted_xls_files_end_in_one_line():
    # The audit: 186 of 600 random corruptions raised IndexError, struct.error, AssertionError,
    # OverflowError or XLRDError. Here 80 seeded corruptions of a small .xls.
    import random

    from facilities.sheets import read_sheet

    good = _xls_bytes()
    rng = random.Random(19)
    damaged = 0  # failures inside xlrd's reading of the cells: a traceback before the fix
    for _ in range(80):
        data = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(512, len(data))
            data[i] = rng.randrange(256)
        try:
            read_sheet(bytes(data), filename="坏.xls")
        except TowncoverError as exc:
            assert "\n" not in exc.message and "/tmp" not in exc.message
            damaged += "has corrupt content" in exc.message_en
    assert damaged > 0


def test_boundary_zip_with_a_bad_crc_is_one_line(tmp_path):
    from geo.archive import safe_extract

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("towns.geojson", b'{"type": "FeatureCollection", "features": []}' * 50)
    with pytest.raises(TowncoverError) as err:
        safe_extract(_tamper(buf.getvalue(), "towns.geojson", crc=1), tmp_path)
    assert "is damaged (BadZipFile)" in err.value.message_en


def test_truncated_or_tampered_workspace_is_one_line(tmp_path):
    from facilities.review import load_workspace_corrections

    frame = gpd.GeoDataFrame({"code": ["512021110"]}, geometry=[shapely.box(105.3, 29.9, 105.4, 30.0)], crs=4326)
    path = tmp_path / "ws.gpkg"
    frame.to_file(path, layer="corrections", driver="GPKG")
    data = path.read_bytes()
    for broken in (data[: len(data) // 3], data[:100] + b"\0" * (len(data) - 100)):
        with pytest.raises(TowncoverError) as err:
            load_workspace_corrections(broken)
        assert "\n" not in err.value.message and str(tmp_path) not in err.value.message
        assert "/tmp" not in err.value.message


@pytest.mark.parametrize(("row", "fragment"), [("abc", "not a whole number"), ("1" + "0" * 22, "not a row")])
def test_workspace_corrections_with_a_bad_row_are_one_line(tmp_path, row, fragment):
    from facilities.review import load_workspace_corrections

    layer = pd.DataFrame({"row": [row], "township_code": ["512021110"], "village_code": [""], "note": [""]})
    path = tmp_path / "ws.gpkg"
    import pyogrio

    pyogrio.write_dataframe(layer, path, layer="corrections", driver="GPKG")
    with pytest.raises(TowncoverError) as err:
        load_workspace_corrections(path)
    assert fragment in err.value.message_en and err.value.column == "row"


def test_corrections_csv_with_a_row_of_ten_to_the_22_is_one_line():
    from facilities.corrections import load_corrections

    with pytest.raises(TowncoverError) as err:
        load_corrections(io.BytesIO(("row,township_code\n1" + "0" * 22 + ",512021110\n").encode()))
    assert "not a row" in err.value.message_en and err.value.row == 2


def test_a_csv_named_xlsx_is_one_line_for_every_table_reader(tmp_path):
    from facilities.inputs import read_population
    from facilities.sheets import read_table

    text = "乡镇代码,人口\n512021110,30000\n".encode()
    with pytest.raises(TowncoverError) as err:
        read_table(text, filename="人口表.xlsx")
    assert "not an Excel file" in err.value.message_en
    path = tmp_path / "人口表.xlsx"
    path.write_bytes(text)
    with pytest.raises(TowncoverError) as err:
        read_population(path)
    assert "not an Excel file" in err.value.message_en and str(tmp_path) not in err.value.message


def test_truncated_shapefile_says_which_features_lost_their_shape(tmp_path):
    # Issue 19.11: a truncated .shp lost 29 of 46 polygons without a note.
    frame = gpd.GeoDataFrame({"code": [CODES[i % 4] for i in range(46)]},
                             geometry=[_box(i % 4).buffer(-0.001 * (i // 4 + 1) / 20, quad_segs=40) for i in range(46)],
                             crs=4326)
    frame.to_file(tmp_path / "towns.shp")
    shp = tmp_path / "towns.shp"
    data = shp.read_bytes()
    shp.write_bytes(data[: int(len(data) * 0.4)])
    out = load_boundaries(shp)
    assert len(out) == 46
    lost = int(out.geometry.isna().sum() + out.geometry.is_empty.sum())
    assert lost > 0
    notes = [n for n in out.attrs["notes"] if "have no shape" in n]
    assert len(notes) == 1 and notes[0].startswith(f"{lost} 个要素没有形状")
    assert "may be truncated" in notes[0]
