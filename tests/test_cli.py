"""The towncover command end to end on a sheet the test writes (海陵区, 11 current townships)."""

import json
import zipfile

import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook

from towncover import settings
from towncover.cli import main

ROWS = [
    # name, type, address
    ("城东街道综合养老服务中心", "区域养老服务中心", "江苏省泰州市海陵区城东街道东进路1号"),
    ("城西街道综合养老服务中心", "区域养老服务中心", "海陵区城西街道办事处"),
    ("九龙镇区域养老服务中心", "区域养老服务中心", "泰州市海陵区九龙镇"),
    ("罡杨镇区域养老服务中心", "区域养老服务中心", "罡杨镇"),
    ("苏陈镇殡仪服务站", "殡仪服务站", "海陵区苏陈镇"),
    ("姜堰区某养老中心", "区域养老服务中心", "江苏省泰州市姜堰区三水街道"),
    ("无名服务点", "区域养老服务中心", "火星大道99号"),
    ("海陵工业园区养老服务中心", "区域养老服务中心", "海陵区海陵工业园区"),
]


@pytest.fixture()
def sheet(tmp_path):
    frame = pd.DataFrame(ROWS, columns=["机构名称", "类型", "地址"])
    path = tmp_path / "海陵区设施.csv"
    frame.to_csv(path, index=False, encoding="gbk")
    return path


def test_geocode_writes_every_row_with_status(sheet, tmp_path, capsys):
    out = tmp_path / "placed.csv"
    assert main(["geocode", str(sheet), "-r", "海陵区", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    placed = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(placed["机构名称"]) == [r[0] for r in ROWS]
    assert list(placed["township_code"][:5]) == ["321202001", "321202002", "321202100", "321202101", "321202102"]
    assert list(placed["match_status"]) == ["matched"] * 5 + ["out_of_region", "unmatched", "matched"]
    assert placed["township_code"][7] == "321202406"
    err = capsys.readouterr().err
    assert "读取 8 行" in err and "matched 6" in err and "out_of_region 1" in err and "unmatched 1" in err


def test_coverage_json_contract(sheet, capsys):
    code = main(["coverage", str(sheet), "-r", "321202", "--category", "elderly_regional_centre",
                 "--level", "township_and_street", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"category", "level", "covered", "total", "rate", "uncovered", "unplaced_rows",
                           "target", "met"}
    assert (result["covered"], result["total"]) == (4, 11)
    assert result["rate"] == pytest.approx(100 * 4 / 11)
    assert result["uncovered"] == ["321202003", "321202004", "321202005", "321202007", "321202050",
                                   "321202102", "321202103"]
    assert result["unplaced_rows"] == 2  # out of region + unmatched; the 400+ park's centre is placed but not counted


def test_coverage_report_xlsx(sheet, tmp_path):
    out = tmp_path / "report.xlsx"
    assert main(["coverage", str(sheet), "-r", "海陵区", "-o", str(out)]) == 0
    book = load_workbook(out, read_only=True)
    assert len(book.sheetnames) >= 3
    first = book[book.sheetnames[0]]
    header = [c.value for c in next(first.iter_rows(max_row=1))]
    assert "id" in header or "目标编号" in header


def test_coverage_report_evaluates_the_plan_once(sheet, tmp_path, monkeypatch, capsys):
    """The CLI evaluates once and the report only formats (it used to evaluate the plan a second time)."""
    import facilities.evaluation as evaluation_module

    calls = []
    real = evaluation_module.evaluate_plan_details
    monkeypatch.setattr(evaluation_module, "evaluate_plan_details", lambda *a, **k: calls.append(1) or real(*a, **k))
    out = tmp_path / "report.json"
    assert main(["coverage", str(sheet), "-r", "321202", "-o", str(out)]) == 0
    assert len(calls) == 1
    printed = capsys.readouterr().out
    targets = json.loads(out.read_text(encoding="utf-8"))["targets"]
    assert [line.split("]")[0][1:] for line in printed.splitlines() if line.startswith("[")] == [
        t["id"] for t in targets]


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "shp", "kml", "csv", "xlsx", "html"])
def test_export_every_format(sheet, tmp_path, fmt):
    # Two layers: GeoJSON and CSV (one layer per file) and Shapefile (several files) go in a zip.
    out = tmp_path / f"layers.{'zip' if fmt in ('geojson', 'shp', 'csv') else fmt}"
    assert main(["export", str(sheet), "-r", "321202", "--format", fmt, "-o", str(out),
                 "--encoding", "GBK"]) == 0
    written = [p for p in tmp_path.iterdir() if p.name.startswith("layers")]
    assert written == [out]
    path = written[0]
    if fmt == "gpkg":
        layers = {name for name, _ in pyogrio.list_layers(path)}
        towns = pyogrio.read_dataframe(path, layer=next(n for n in layers if n.startswith("townships")))
        assert len(towns) == 11  # schematic cells exist for current townships only (no 400+ units)
        status = towns.set_index("代码")["覆盖状态"]
        assert status["321202001"] == "已覆盖" and status["321202003"] == "未覆盖"
        assert (status == "已覆盖").sum() == 4
        assert set(towns["边界"]) == {"示意边界/schematic"}
    elif fmt == "shp":
        names = zipfile.ZipFile(path).namelist()
        assert any(n.endswith(".cpg") for n in names) and any(n.endswith("fields.csv") for n in names)
    elif fmt == "html":
        text = path.read_text(encoding="utf-8")
        assert "示意边界" in text
    else:
        assert path.stat().st_size > 0


def test_unusable_input_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    assert main(["geocode", str(bad), "-r", "321202", "-o", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("错误 / error:")
    assert main(["coverage", str(bad), "-r", "不存在县"]) == 2
    assert "不存在县" in capsys.readouterr().err
    assert main(["geocode", str(tmp_path / "missing.xlsx"), "-r", "321202", "-o", "x.csv"]) == 2


def test_regions_lists_the_plan_regions(capsys):
    assert main(["regions"]) == 0
    out = capsys.readouterr().out
    for code in ("3609", "4312", "512021", "321202", "532301"):
        assert code in out


def test_cell_problems_reach_the_planner(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("机构名称,地址,经度,纬度\nA,海陵区九龙镇,abc,32.5\nB,海陵区罡杨镇,119.9,32.5\n", encoding="utf-8")
    out = tmp_path / "placed.csv"
    assert main(["geocode", str(path), "-r", "321202", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "表格问题 1 处 / 1 problems in the sheet" in err
    assert '第 2 行“经度”不是数字 / row 2: "经度" is not a number' in err
    placed = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert placed["match_status"].tolist() == ["matched", "matched"]  # the row is still used
    assert placed["match_note"].tolist() == ['第 2 行“经度”不是数字 / row 2: "经度" is not a number', ""]


def test_unusable_options_fail_before_any_work(sheet, tmp_path, capsys):
    assert main(["coverage", str(sheet), "-r", "321202", "-o", str(tmp_path / "r.txt")]) == 2
    assert capsys.readouterr().err.startswith("错误 / error: 报告应以 .xlsx、.csv、.json、.docx、.pdf 结尾")
    assert not (tmp_path / "r.txt").exists()
    assert main(["coverage", str(sheet), "-r", "321202", "--category", "nursing_home"]) == 2
    assert "--category and --level go together" in capsys.readouterr().err


def test_json_names_a_second_target_for_the_same_category_and_level(capsys):
    # 安岳县's plan: minors stations at 50 % (专栏1) and in every township (专栏4), a contradiction kept as two targets.
    sheet = next(settings.DEMO_DIR.glob("512021_*_synthetic.csv"))
    assert main(["coverage", str(sheet), "-r", "512021", "--category", "minors_protection_station",
                 "--level", "township_and_street", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["target"] == 50.0
    assert "township_minors_protection_station_full_layout" in err and "see the full report" in err


# -- -o: exactly the path given, or one line (issues 14.6, 19.5, 19.8) ---------------------------------


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("错误 / error:"), err
    return err


def test_export_writes_exactly_the_path_given(sheet, tmp_path, capsys):
    base = ["export", str(sheet), "-r", "321202"]
    for fmt, name in (("csv", "x.csv"), ("geojson", "x.geojson"), ("shp", "x.shp"), ("gpkg", "x")):
        assert main([*base, "--format", fmt, "-o", str(tmp_path / name)]) == 2
        _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == [sheet.name]
    assert main([*base, "--format", "csv", "--layer", "facilities", "-o", str(tmp_path / "x.csv")]) == 0
    assert main([*base, "--format", "geojson", "-o", str(tmp_path / "x.zip")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv", "x.zip", sheet.name]
    table = pd.read_csv(tmp_path / "x.csv", dtype=str, encoding="utf-8-sig")
    assert list(table.columns[:4]) == ["行号", "机构名称", "类型", "地址"] and "匹配状态" in table.columns


@pytest.mark.parametrize("command", [["geocode"], ["coverage"], ["export", "--format", "gpkg"]])
def test_o_onto_a_folder_nothing_or_an_unwritable_path_is_one_line(sheet, tmp_path, capsys, command):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    suffix = ".gpkg" if "export" in command else ".csv"
    for target in (str(tmp_path), "", str(blocker / f"x{suffix}")):
        assert main([command[0], str(sheet), "-r", "321202", *command[1:], "-o", target]) == 2
        _one_line_error(capsys)
    assert blocker.read_text() == "x"


def test_o_onto_an_input_is_refused_for_every_command(sheet, tmp_path, capsys):
    xlsx = tmp_path / "设施.xlsx"
    pd.read_csv(sheet, encoding="gbk").to_excel(xlsx, index=False)
    pop = tmp_path / "pop.csv"
    pop.write_text("乡镇代码,常住人口,60岁以上老年人口\n321202001,1000,200\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in (sheet, xlsx, pop)}
    runs = [
        ["geocode", str(sheet), "-r", "321202", "-o", str(sheet)],
        ["geocode", str(xlsx), "-r", "321202", "-o", str(tmp_path / "." / "设施.xlsx")],
        ["export", str(xlsx), "-r", "321202", "--format", "xlsx", "-o", str(xlsx)],
        ["coverage", str(sheet), "-r", "321202", "--population", str(pop), "-o", str(pop)],
    ]
    for argv in runs:
        assert main(argv) == 2
        assert "输入文件" in _one_line_error(capsys)
    assert {p: p.read_bytes() for p in before} == before


def test_the_app_server_preloads_what_app_py_imports():
    """towncover.serve reads app.py's imports (never a second list): the library and the map stack."""
    from towncover import settings
    from towncover.serve import script_imports

    names = script_imports(settings.APP_PATH)
    assert {"facilities.pipeline", "geo.webmap", "geopandas", "streamlit", "streamlit_folium"} <= set(names)
    assert "__future__" not in names and len(names) == len(set(names))
