"""The app in headless Chromium: demo load, map, region and category switch, upload, review queue, exports.

Expected figures are computed here through the library (the same pipeline the app calls), then read
off the page: the test checks that what the planner sees is exactly what the analysis says.
"""

from __future__ import annotations

import json
import zipfile
from functools import cache
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest
from playwright.sync_api import expect

from facilities import categories as _categories
from facilities import coverage, inputs, review, views
from facilities.evaluation import evaluate, evaluate_plan, evaluate_plan_details
from facilities.layers import facility_points
from facilities.pipeline import analyse
from tests.browser.helpers import (
    clerk_workbook,
    download,
    map_layers,
    metric,
    no_traceback,
    select,
    tab,
    wait_idle,
)
from towncover import settings

pytestmark = pytest.mark.browser

DEMO = settings.DEMO_DIR / "512021_安岳县_synthetic.xlsx"
CHUXIONG = settings.DEMO_DIR / "532301_楚雄市_synthetic.xlsx"
CATEGORY = "elderly_regional_centre"
LEVEL = "township_and_street"


@cache
def _demo():
    return analyse(DEMO, "512021")


@cache
def _fix():
    """A review-queue row, its category, an uncovered township to give it, and the covered count before."""
    a = _demo()
    queue = review.review_queue(a.placed, a.sheet)
    cat_rows = a.placed.set_index("row").loc[queue["row"], "category"]
    known = cat_rows[cat_rows.isin(list(_categories.CATEGORIES))]
    row, category = int(known.index[0]), str(known.iloc[0])
    result = coverage.measure(a.placed, "512021", category, LEVEL)
    town = str(result.units.loc[~result.units["covered"], "code"].iloc[0])
    return row, category, town, result.covered, result.total


def test_overview_loads_demo_with_targets(page, screenshots):
    a = _demo()
    s = a.summary()
    expect(page.get_by_role("heading", level=1)).to_contain_text("安岳县")
    expect(metric(page, "读入行数")).to_have_text(f"{s['rows_read']:,}")
    expect(metric(page, "已匹配")).to_have_text(f"{s['matched']:,}")
    expect(page.get_by_test_id("schematic-label")).to_contain_text("示意边界")
    ev = evaluate(a)
    set_aside = {tid for _, ids in ev.not_evaluable_groups() for tid in ids}
    cards = views.target_cards(ev.ordered()[lambda t: ~t["id"].isin(set_aside)], "zh")
    first = cards[0]
    body = page.locator(f".st-key-card_{first['id']}")
    expect(body).to_contain_text(first["status"])
    expect(body).to_contain_text(first["target"])
    expect(page.locator('[data-testid="stVegaLiteChart"]')).to_have_count(1)
    page.screenshot(path=screenshots / "overview.png", full_page=True)


def test_map_draws_cells_markers_and_schematic_label(page, screenshots):
    a = _demo()
    tab(page, "地图")
    # One polygon per township cell, drawn by the locally served Leaflet (no CDN); a cluster layer per category.
    layers = map_layers(page, markers=True)
    assert layers["polygons"] == len(a.units)
    # the chosen category's markers only (the others are layers, off), counted in the legend
    assert 0 < layers["markers"] < len(facility_points(a))
    frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]:visible').first
    expect(frame.locator("#tc-title")).to_contain_text("示意边界")
    expect(frame.locator("#tc-legend")).to_contain_text("已覆盖")
    expect(frame.locator("#tc-legend")).to_contain_text(f"({layers['markers']})")
    page.wait_for_timeout(500)
    page.screenshot(path=screenshots / "map.png", full_page=True)


def test_category_switch_and_review_queue_correction_changes_figures(page, screenshots):
    row, category, town, before, total = _fix()
    select(page, "设施类别", _categories.label(category, "zh"))
    select(page, "统计层级", "乡镇(街道)")
    expect(metric(page, "已覆盖乡镇(街道)")).to_have_text(f"{before} / {total}")
    tab(page, "表格与核对")
    select(page, "选择待核对行", f"{row} ·")
    select(page, "归属乡镇", f"({town})")
    page.screenshot(path=screenshots / "review.png", full_page=True)
    page.get_by_role("button", name="应用更正").click()
    wait_idle(page)
    expect(page.get_by_text(f"已更正第 {row} 行")).to_be_visible()
    tab(page, "概览")
    expect(metric(page, "已覆盖乡镇(街道)")).to_have_text(f"{before + 1} / {total}")
    tab(page, "地图")
    expect(metric(page, "已覆盖乡镇(街道)")).to_have_text(f"{before + 1} / {total}")


@cache
def _ambiguous():
    """The demo's ambiguous review-queue row, the candidate chosen for it, and the figures before and after."""
    from facilities.corrections import apply_corrections
    from geo.gazetteer import load_gazetteer

    a = _demo()
    queue = review.review_queue(a.placed, a.sheet)
    amb = a.placed[a.placed["row"].isin(queue["row"]) & (a.placed["match_status"] == "ambiguous")]
    first = amb.iloc[0]
    row, category = int(first["row"]), str(first["category"])
    town = str(first["candidates"]).split(";")[1]
    fixed = apply_corrections(a.placed, review.add_correction(None, row, town), load_gazetteer())
    before = coverage.measure(a.placed, "512021", category, LEVEL)
    after = coverage.measure(fixed, "512021", category, LEVEL)
    return row, category, town, before, after


def test_ambiguous_row_resolved_from_its_candidates(page):
    row, category, town, before, after = _ambiguous()
    assert after.unplaced_rows == before.unplaced_rows - 1  # the figure the correction must move
    select(page, "设施类别", _categories.label(category, "zh"))
    select(page, "统计层级", "乡镇(街道)")
    tab(page, "地图")
    expect(metric(page, "未定位行")).to_have_text(str(before.unplaced_rows))
    tab(page, "表格与核对")
    select(page, "选择待核对行", f"{row} ·")
    # The geocoder's candidates come first, starred.
    box = page.locator('[data-testid="stSelectbox"]:visible').filter(has_text="归属乡镇").first
    box.get_by_role("combobox").click()
    options = page.get_by_role("option")
    expect(options.nth(0)).to_contain_text("★")
    expect(options.nth(1)).to_contain_text("★")
    page.keyboard.press("Escape")
    select(page, "归属乡镇", f"({town})")
    page.get_by_role("button", name="应用更正").click()
    wait_idle(page)
    expect(page.get_by_text(f"已更正第 {row} 行")).to_be_visible()
    tab(page, "地图")
    expect(metric(page, "未定位行")).to_have_text(str(after.unplaced_rows))
    expect(metric(page, "已覆盖乡镇(街道)")).to_have_text(f"{after.covered} / {after.total}")


def test_planned_projects_and_demo_population_in_the_cards(page, tmp_path):
    a = _demo()
    population = inputs.read_population(next(settings.DEMO_DIR.glob("512021_*_population_synthetic.csv")))
    base = evaluate_plan(a.placed, a.plan, "512021", population=population, units=a.units)
    target = base.set_index("id").loc["township_social_work_service_full_coverage"]
    uncovered = coverage.measure(a.placed, "512021", target["category"], target["level"]).uncovered
    assert len(uncovered) == int(target["shortfall_units"]) == 5
    sheet = tmp_path / "规划项目.csv"
    pd.DataFrame({"项目名称": [f"社工站{i}" for i in range(5)], "类型": "社会工作站", "乡镇代码": uncovered,
                  "计划年份": 2024}).to_csv(sheet, index=False, encoding="utf-8-sig")
    planned = inputs.read_planned(sheet, "512021")
    evaluation = evaluate_plan(a.placed, a.plan, "512021", population=population, planned=planned,
                                        units=a.units)
    cards = {c["id"]: c for c in views.target_cards(evaluation, "zh")}
    social = cards["township_social_work_service_full_coverage"]
    assert social["detail"].endswith("含 5 个规划项目:100%,达标")
    beds = cards["elderly_beds_per_thousand_elderly"]
    assert beds["state"] == "met"  # evaluable only with the (synthetic) population table
    expect(page.get_by_text("人口:合成示例数据(SYNTHETIC)")).to_be_visible()
    expect(page.get_by_text(beds["measured"], exact=True).first).to_be_visible()
    # The gap for the first unmet target is ranked by the population table.
    from facilities.gaps import close_gap

    _, details = evaluate_plan_details(a.placed, a.plan, "512021", population=population, units=a.units)
    first = next(r for r in details.values() if r.met is False and r.comparator != "<=")
    gap = close_gap(first, first.target, population=population)
    assert gap.attrs["criterion"] == "人口多者优先 / most populous first"
    tab(page, "补缺方案")
    expect(page.get_by_text(f"排序依据:{gap.attrs['criterion'].split(' / ')[0]}")).to_be_visible()  # Chinese only
    tab(page, "概览")
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="规划项目表")
    uploader.locator('input[type="file"]').set_input_files(str(sheet))
    wait_idle(page)
    expect(page.get_by_text(social["detail"])).to_be_visible()


def test_region_switch_and_english(page):
    a = analyse(CHUXIONG, "532301")
    select(page, "选择区域", "楚雄市")
    expect(page.get_by_role("heading", level=1)).to_contain_text("楚雄市", timeout=90_000)
    expect(metric(page, "读入行数")).to_have_text(f"{a.summary()['rows_read']:,}")
    page.get_by_text("English").first.click()
    wait_idle(page)
    expect(page.get_by_role("tab", name="Overview")).to_be_visible()
    expect(metric(page, "Rows read")).to_have_text(f"{a.summary()['rows_read']:,}")


def test_upload_sheet(page, tmp_path):
    sheet = tmp_path / "上传清单.csv"
    frame = pd.DataFrame({
        "机构名称": ["岳城街道区域养老服务中心", "通贤镇区域养老服务中心", "无名点"],
        "类型": ["区域养老服务中心", "区域养老服务中心", "区域养老服务中心"],
        "地址": ["安岳县岳城街道新街1号", "安岳县通贤镇建设路2号", "不详"],
    })
    frame.to_csv(sheet, index=False, encoding="utf-8-sig")
    expected = analyse(sheet, "512021")
    result = coverage.measure(expected.placed, "512021", CATEGORY, LEVEL)
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="设施清单")
    uploader.locator('input[type="file"]').set_input_files(str(sheet))
    wait_idle(page)
    expect(metric(page, "读入行数")).to_have_text("3")
    select(page, "设施类别", _categories.label(CATEGORY, "zh"))
    select(page, "统计层级", "乡镇(街道)")
    expect(metric(page, "已覆盖乡镇(街道)")).to_have_text(f"{result.covered} / {result.total}")
    expect(page.get_by_text("合成示例数据")).to_have_count(0)


def test_every_export_downloads_and_reopens(page, screenshots, tmp_path):
    a = _demo()
    select(page, "设施类别", _categories.label(CATEGORY, "zh"))
    select(page, "统计层级", "乡镇(街道)")
    result = coverage.measure(a.placed, "512021", CATEGORY, LEVEL)
    n_points = len(facility_points(a))
    covered_codes = set(result.units.loc[result.units["covered"], "code"].astype(str))
    tab(page, "导出")
    page.screenshot(path=screenshots / "exports.png", full_page=True)

    def check_layers(path: Path, layers: dict[str, int], labelled: bool = True) -> None:
        names = {str(n) for n, _ in pyogrio.list_layers(path)}
        town_layer = next(n for n in names if n.startswith("townships"))
        towns = pyogrio.read_dataframe(path, layer=town_layer)
        assert len(towns) == layers["townships"]
        # Exports speak the planner's words (代码, 是否覆盖 = 是); the workspace keeps the data's own columns.
        covered = towns["是否覆盖"] == "是" if labelled else towns["covered"].astype(bool)
        assert set(towns.loc[covered, "代码" if labelled else "code"].astype(str)) == covered_codes
        fac_layer = next(n for n in names if n.startswith("facilities"))
        assert len(pyogrio.read_dataframe(path, layer=fac_layer)) == layers["facilities"]

    expected = {"townships": len(a.units), "facilities": n_points}
    gpkg = download(page, "GeoPackage", tmp_path)
    check_layers(gpkg, expected)

    geojson = download(page, "GeoJSON", tmp_path)
    with zipfile.ZipFile(geojson) as z:
        members = [n for n in z.namelist() if n.endswith(".geojson")]
        assert len(members) == 2
        town_member = next(n for n in members if "townships" in n)
        data = json.loads(z.read(town_member))
    assert len(data["features"]) == len(a.units)

    shp = download(page, "Shapefile", tmp_path)
    with zipfile.ZipFile(shp) as z:
        names = z.namelist()
    assert any(n.endswith(".cpg") for n in names) and any(n.endswith("fields.csv") for n in names)
    town_shp = next(n for n in names if n.endswith(".shp") and "townships" in n)
    towns = pyogrio.read_dataframe(f"/vsizip/{shp}/{town_shp}")
    assert len(towns) == len(a.units)
    assert set(towns["名称"]) == set(a.units["name"])

    page.get_by_text("GBK", exact=True).click()
    wait_idle(page)
    (tmp_path / "gbk").mkdir()
    gbk = download(page, "Shapefile", tmp_path / "gbk")
    with zipfile.ZipFile(gbk) as z:
        cpg = [z.read(n).decode().strip() for n in z.namelist() if n.endswith(".cpg")]
    assert cpg and all(c.upper() == "GBK" for c in cpg)
    towns = pyogrio.read_dataframe(f"/vsizip/{gbk}/{town_shp}", encoding="GBK")
    assert set(towns["名称"]) == set(a.units["name"])

    kml = download(page, "KML", tmp_path)
    text = kml.read_text(encoding="utf-8")
    assert text.count("<Placemark") == len(a.units) + n_points

    units_xlsx = download(page, "单元表 .xlsx", tmp_path)
    ws = openpyxl.load_workbook(units_xlsx).worksheets[0]
    header = [c.value for c in ws[1]]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == result.total
    assert sum(bool(r[header.index("covered")]) for r in rows) == result.covered

    units_csv = download(page, "单元表 .csv", tmp_path)
    table = pd.read_csv(units_csv, dtype=str, encoding="utf-8-sig")
    assert len(table) == result.total and set(table["code"]) == set(result.units["code"].astype(str))

    rows_xlsx = download(page, "全部行 .xlsx", tmp_path)
    ws = openpyxl.load_workbook(rows_xlsx).worksheets[0]
    assert ws.max_row - 1 == len(a.placed)
    rows_csv = download(page, "全部行 .csv", tmp_path)
    assert pd.read_csv(rows_csv, dtype=str, encoding="utf-8-sig")["行号"].astype(int).tolist() == \
        a.placed["row"].astype(int).tolist()

    html = download(page, "地图 .html", tmp_path).read_text(encoding="utf-8")
    assert "示意边界" in html and "cdn.jsdelivr.net/npm/leaflet" not in html and "L.map(" in html

    report = download(page, "报告 .xlsx", tmp_path)
    book = openpyxl.load_workbook(report)
    first = book.worksheets[0]
    assert first.max_row - 1 == len(a.plan.targets)

    workspace = download(page, "工作空间", tmp_path)
    check_layers(workspace, expected, labelled=False)
    assert len(review.load_workspace_corrections(workspace)) == 0

    # The evaluation document, as Word and as PDF (issue 17): the same targets, Noto CJK embedded.
    import docx
    from pypdf import PdfReader

    word = docx.Document(str(download(page, "评估报告 .docx", tmp_path)))
    assert word.paragraphs[0].text.startswith("《") and len(word.tables[0].rows) == len(a.plan.targets) + 1
    pdf = PdfReader(str(download(page, "评估报告 .pdf", tmp_path)))
    assert "指标完成情况" in "".join(p.extract_text() for p in pdf.pages[:3])


def test_corrections_file_loads_and_applies(page, tmp_path):
    row, category, town, before, total = _fix()
    # A workspace GeoPackage saved elsewhere, holding one correction, loaded through the sidebar.
    review.save_workspace(tmp_path / "w.gpkg", {}, review.add_correction(None, row, town), None)
    select(page, "设施类别", _categories.label(category, "zh"))
    select(page, "统计层级", "乡镇(街道)")
    expect(metric(page, "已覆盖乡镇(街道)")).to_have_text(f"{before} / {total}")
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="载入更正")
    uploader.locator('input[type="file"]').set_input_files(str(tmp_path / "w.gpkg"))
    wait_idle(page)
    expect(metric(page, "已覆盖乡镇(街道)")).to_have_text(f"{before + 1} / {total}")
    tab(page, "表格与核对")
    expect(page.locator('[data-testid="stDataFrame"]:visible')).to_have_count(3)


# ---------------------------------------------------------------------------------------------
# Journeys of issue 14 on a workbook made the way a county clerk makes one
# ---------------------------------------------------------------------------------------------
TAB_NAMES = {"zh": ["概览", "地图", "表格与核对", "规划指标", "补缺方案", "导出"],
             "en": ["Overview", "Map", "Tables & review", "Targets", "Gap closing", "Exports"]}


def _upload(page, label: str, path: Path) -> None:
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text=label)
    uploader.locator('input[type="file"]').set_input_files(str(path))
    wait_idle(page)


def _every_tab_clean(page, lang: str) -> None:
    for name in TAB_NAMES[lang]:
        tab(page, name)
        wait_idle(page)
        no_traceback(page)


def _combo(page, label: str):
    return page.locator('[data-testid="stSelectbox"]:visible').filter(has_text=label).first.get_by_role("combobox")


def _checked_radio(page, label: str):
    group = page.locator('[data-testid="stRadio"]:visible').filter(has_text=label).first
    return group.locator('input[type="radio"]:checked')


def test_language_round_trip_keeps_every_choice_and_every_tab_clean(page, tmp_path, screenshots):
    _upload(page, "设施清单", clerk_workbook(tmp_path / "安岳县养老机构统计表.xlsx"))
    select(page, "设施类别", _categories.label("nursing_home", "zh"))
    select(page, "统计层级", "社区")
    page.locator('[data-testid="stRadio"]').filter(has_text="地图着色").get_by_text("设施数(个)").click()
    wait_idle(page)
    tab(page, "补缺方案")
    _every_tab_clean(page, "zh")
    page.get_by_text("English").first.click()
    wait_idle(page)
    # English: the same choices, in English labels; every radio group shows its choice.
    expect(page.get_by_role("heading", level=1)).to_contain_text("安岳县")
    expect(_combo(page, "Facility category")).to_have_value(_categories.label("nursing_home", "en"))
    expect(_combo(page, "Level")).to_have_value("communities")
    for label in ("Region", "Map colouring", "Basemap"):
        expect(_checked_radio(page, label)).to_have_count(1)
    _every_tab_clean(page, "en")
    expect(_combo(page, "Coordinate system")).to_have_value("GCJ-02 (Amap, Tencent)")
    tab(page, "Overview")
    page.screenshot(path=screenshots / "english.png", full_page=True)
    page.get_by_text("English").first.click()
    wait_idle(page)
    # Back in Chinese: the same region, mode, category and level; nothing lost, nothing broken.
    expect(page.get_by_role("heading", level=1)).to_contain_text("安岳县")
    expect(_checked_radio(page, "区域")).to_have_count(1)
    expect(page.locator('[data-testid="stRadio"]').filter(has_text="区域").first.locator("label").filter(
        has=page.locator("input:checked"))).to_contain_text("有规划的区域")
    expect(_combo(page, "设施类别")).to_have_value(_categories.label("nursing_home", "zh"))
    expect(_combo(page, "统计层级")).to_have_value("社区")
    expect(metric(page, "读入行数")).to_have_text(str(analyse(tmp_path / "安岳县养老机构统计表.xlsx",
                                                               "512021").summary()["rows_read"]))
    _every_tab_clean(page, "zh")


@pytest.mark.parametrize("region", ["321202", "3609", "4312", "512021", "532301"])
def test_untouched_apply_is_a_no_op_on_every_plan(page, region):
    from facilities.targets import plan_for_region

    plan = plan_for_region(region)
    select(page, "选择区域", f"({region})")
    expect(page.get_by_role("heading", level=1)).to_contain_text(plan.region_name, timeout=90_000)
    tab(page, "规划指标")
    grid = page.locator('[data-testid="stDataFrame"]:visible, [data-testid="stDataFrameResizable"]:visible').first
    expect(grid).to_contain_text("指标名称")  # Chinese headers, not label_zh
    expect(grid).not_to_contain_text("label_zh")
    page.get_by_role("button", name="应用指标修改").click()
    wait_idle(page)
    expect(page.get_by_text("指标已更新")).to_be_visible()
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    no_traceback(page)


def test_review_choice_starts_empty_and_exclude_takes_a_row_out(page, tmp_path):
    a = _demo()
    queue = review.review_queue(a.placed, a.sheet, "512021")
    row = int(queue["row"].iloc[0])
    before = a.summary()
    tab(page, "表格与核对")
    select(page, "选择待核对行", f"{row} ·")
    town = _combo(page, "归属乡镇")
    expect(town).to_have_value("")  # no township chosen for the planner
    expect(page.get_by_role("button", name="应用更正")).to_be_disabled()
    select(page, "归属乡镇", "排除(不是设施)")
    page.get_by_role("button", name="应用更正").click()
    wait_idle(page)
    expect(page.get_by_text(f"已更正第 {row} 行 → 排除(不是设施)")).to_be_visible()
    expect(page.locator('[data-testid="stDataFrame"]:visible').last).to_contain_text("排除(不是设施)")
    tab(page, "概览")
    expect(metric(page, "无效行")).to_have_text(str(before["rejected"] + 1))
    no_traceback(page)


def test_a_bad_corrections_file_is_one_line_and_the_session_goes_on(page, tmp_path):
    bad = tmp_path / "更正.csv"
    bad.write_text("row,township_code\n5,999999999\n", encoding="utf-8")
    _upload(page, "载入更正", bad)
    error = page.locator('[data-testid="stAlertContentError"]')
    expect(error).to_have_count(1)
    expect(error).to_contain_text("更正文件未载入")
    expect(page.get_by_role("tab", name="概览")).to_be_visible()
    _every_tab_clean(page, "zh")
    page.locator('[data-testid="stFileUploader"]').filter(has_text="载入更正").locator(
        '[data-testid="stFileChipDeleteBtn"]').first.click()
    wait_idle(page)
    expect(error).to_have_count(0)
    expect(page.get_by_role("tab", name="地图")).to_be_visible()


def test_user_text_is_never_markdown(page, tmp_path):
    sheet = tmp_path / "清单.csv"
    sheet.write_text("![x](http://127.0.0.1:9/pwn.png),[点我](http://127.0.0.1:9/)\n1,2\n", encoding="utf-8")
    _upload(page, "设施清单", sheet)
    expect(page.locator('[data-testid="stAlertContentError"]').first).to_be_visible()
    expect(page.locator('img[src*="127.0.0.1:9"]')).to_have_count(0)
    expect(page.locator('a[href*="127.0.0.1:9"]')).to_have_count(0)
    no_traceback(page)


def test_clerk_workbook_every_tab_without_a_traceback(page, tmp_path, screenshots):
    _upload(page, "设施清单", clerk_workbook(tmp_path / "安岳县养老机构统计表.xlsx"))
    expect(page.get_by_text("合成示例数据")).to_have_count(0)
    _every_tab_clean(page, "zh")
    tab(page, "概览")
    page.screenshot(path=screenshots / "clerk_overview.png", full_page=True)
