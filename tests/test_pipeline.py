"""facilities.pipeline: categories and labels on every row, numbers aligned by file row, the plan."""

from __future__ import annotations

import pandas as pd

from facilities import categories, targets
from facilities.pipeline import analyse

SHEET = (
    "机构名称,地址,类型,床位数\n"
    "石羊镇敬老院,安岳县石羊镇,,50\n"
    ",,,\n"
    "合计,,,50\n"
    "龙台镇殡仪服务站,安岳县龙台镇,殡葬设施,\n"
    "某某公司,安岳县岳阳镇,养老机构,12张\n"
)


def test_every_row_once_with_category_label_and_beds():
    a = analyse(SHEET.encode(), "512021", filename="s.csv")
    p = a.placed
    assert p["row"].tolist() == [2, 4, 5, 6]
    assert p["match_status"].tolist()[1] == "rejected"
    assert p["category"].tolist() == ["nursing_home", "unclassified", "funeral_service_station", "unclassified"]
    assert p["category_label"].tolist() == ["养老院(敬老院、福利院)", "未分类", "殡仪服务站", "未分类"]
    assert p["beds"].fillna(-1).tolist() == [50.0, -1, -1, 12.0]
    assert a.summary() == {"rows_read": 5, "blank": 1, "matched": 3, "ambiguous": 0, "unmatched": 0,
                           "out_of_region": 0, "rejected": 1}


def test_labels_follow_the_category_file():
    a = analyse(SHEET.encode(), "512021", filename="s.csv")
    for cat, lab in zip(a.placed["category"], a.placed["category_label"], strict=True):
        assert lab == categories.label(cat, "zh")


def test_analysis_plan_is_the_regions_plan():
    a = analyse(SHEET.encode(), "512021", filename="s.csv")
    assert a.plan == targets.plan_for_region("512021")
    # A region without a plan of its own gets the template of the targets the shipped plans share.
    template = analyse(SHEET.encode(), "5120", filename="s.csv").plan
    assert template.id == "template_5120" and "模板" in template.title and len(template.targets) >= 3
    assert isinstance(a.placed, pd.DataFrame)


def test_cells_are_built_only_when_a_map_or_radius_asks_for_them(monkeypatch):
    from facilities.evaluation import evaluate
    from geo import boundaries

    built: list[str] = []
    real = boundaries.township_cells
    monkeypatch.setattr(boundaries, "township_cells", lambda code: built.append(code) or real(code))
    frame = pd.DataFrame({"机构名称": ["九龙镇敬老院"], "地址": ["泰州市海陵区九龙镇"], "类型": ["敬老院"]})
    analysis = analyse(frame.to_csv(index=False).encode("utf-8"), "321202", filename="x.csv")
    evaluate(analysis)  # 海陵区's plan has no radius rule
    assert built == [] and analysis.schematic
    assert analysis.units is not None and set(analysis.units["code"]) >= {"321202100"} and built == ["321202"]
    assert analysis.units is analysis.units and built == ["321202"]  # built once


def test_a_sheet_whose_every_row_is_rejected_keeps_its_numbers_columns(tmp_path):
    """Every row rejected (a 合计 row only): the loader's numbers and statuses join no row, and nothing fails."""
    from facilities.pipeline import analyse

    path = tmp_path / "only_total.csv"
    path.write_text("机构名称,地址,床位数,运营状态\n,合计,120,\n", encoding="utf-8")
    placed = analyse(path, "360124", with_plan=False).placed
    assert placed["match_status"].tolist() == ["rejected"]
    assert placed["beds"].isna().tolist() == [True]
    assert placed["operating_status"].tolist() == [""]
