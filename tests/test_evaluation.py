"""The Evaluation made once from an analysis; what the overview opens on; the plan's own units; the vocabulary."""

from types import SimpleNamespace

import pandas as pd
import pytest

from facilities import coverage, layers, levels, targets
from facilities.evaluation import (
    default_view,
    evaluate,
    evaluate_plan,
    not_evaluable_groups,
    order_targets,
    shortfall_phrase,
)
from facilities.targets import Plan, plan_for_region
from tests.test_coverage import ERC, HL, _geocoded, _plan, _population, _target
from towncover import vocabulary

MINORS = "minors_protection_station"


def _analysis(plan: Plan | None = None, placed: pd.DataFrame | None = None):
    return SimpleNamespace(placed=_geocoded() if placed is None else placed, region=SimpleNamespace(code=HL),
                           plan=_plan() if plan is None else plan, units=None, boundaries=None)


def _plan_with(*extra) -> Plan:
    plan = _plan()
    plan.targets = [*extra, *plan.targets]
    return plan


def test_evaluation_is_the_plan_evaluated_once_with_its_unmet_targets():
    judged = evaluate(_analysis(), population=_population())
    pd.testing.assert_frame_equal(judged.table, evaluate_plan(_geocoded(), _plan(), HL, population=_population()))
    assert list(judged.details) == ["cov"]
    assert list(judged.unmet()) == ["cov"] and judged.unmet()["cov"] is judged.details["cov"]
    assert judged.gap("cov") is judged.gap("cov")        # closed once, then kept
    assert judged.gaps()["cov"]["code"].tolist()[:2] == ["321202102", "321202101"]   # most populous first
    assert judged.text().splitlines()[0].startswith("[cov] cov: 27.3% >= 60% — 未达标")


def test_a_target_at_most_is_never_unmet_for_gap_closing():
    at_most = _target(id="at_most", metric="coverage_rate", category=ERC, level="township_and_street", value=10,
                      comparator="<=")
    judged = evaluate(_analysis(_plan_with(at_most)))
    assert judged.details["at_most"].met is False and "at_most" not in judged.unmet()


def test_no_plan_gives_an_empty_evaluation():
    judged = evaluate(SimpleNamespace(placed=_geocoded(), region=SimpleNamespace(code=HL), plan=None, units=None, boundaries=None))
    assert judged.table.empty and list(judged.table.columns)[:3] == ["id", "label_zh", "label_en"]
    assert judged.unmet() == {} and judged.gaps() == {}


def test_a_category_the_sheet_does_not_list_is_not_evaluable_never_not_met():
    """Issue 14.7: an elderly-care-only sheet says nothing about minors' stations (was "未达标:需新增覆盖 11 个")."""
    minors = _target(id="minors", metric="coverage_rate", category=MINORS, level="township_and_street", value=100)
    count = _target(id="minors_count", metric="count", category=MINORS, value=5, unit="units")
    table = evaluate(_analysis(_plan_with(minors, count))).table.set_index("id")
    for tid in ("minors", "minors_count"):
        row = table.loc[tid]
        assert row["evaluable"] is False and row["met"] is None and row["status"] == "无法评估 / not evaluable"
        assert row["reason"].startswith("清单中没有“未成年人保护工作站”类设施")
        assert "the sheet lists no Minors-protection workstation facilities" in row["reason"]
        assert "未达标" not in row["status"]
    # A category the sheet lists but never places is measured: 0 of 11 is "not met".
    placed = _geocoded()
    placed.loc[placed["category"] == "nursing_home", "match_status"] = "unmatched"
    homes = _target(id="homes", metric="coverage_rate", category="nursing_home", level="township_and_street",
                    value=50)
    row = evaluate(_analysis(_plan_with(homes), placed)).table.set_index("id").loc["homes"]
    assert (row["measured"], row["met"], row["shortfall_units"]) == (0.0, False, 6)


def test_default_view_opens_on_what_the_sheet_lists():
    """Issue 14.7: not 未成年人保护工作站 at 0 / 46 on an elderly-care-only sheet."""
    minors = _target(id="minors", metric="coverage_rate", category=MINORS, level="township_and_street", value=100)
    homes = _target(id="homes", metric="coverage_rate", category="nursing_home", level="township", value=50)
    view = default_view(_geocoded(), _plan_with(minors, homes))
    assert (view.category, view.level, view.target_id) == ("nursing_home", "township", "homes")
    assert evaluate(_analysis(_plan_with(minors))).default_view().category == ERC
    # No plan: the category with most rows, at townships and streets.
    view = default_view(_geocoded(), None)
    assert (view.category, view.level, view.target_id) == (ERC, "township_and_street", None)


def test_evaluable_targets_first_and_the_rest_grouped_by_reason():
    minors = _target(id="minors", metric="coverage_rate", category=MINORS, level="township_and_street", value=100)
    minors2 = _target(id="minors2", metric="coverage_rate", category=MINORS, level="village", value=100)
    table = evaluate(_analysis(_plan_with(minors, minors2)), population=_population()).table
    ordered = order_targets(table)["id"].tolist()
    assert ordered == ["cov", "rural_count", "all_count", "nursing_share", "nursing_share_homes", "beds_per_k",
                       "minors", "minors2", "village_radius", "training"]
    groups = not_evaluable_groups(table)
    assert [ids for _, ids in groups] == [["minors", "minors2"], ["village_radius"], ["training"]]
    assert groups[0][0].startswith("清单中没有“未成年人保护工作站”")


def test_shortfall_in_the_plans_unit():
    """Issue 14.8: nursing-bed share short in 张 (was "还差 6 个个单元"), coverage in units of its level."""
    table = evaluate(_analysis(), population=_population()).table.set_index("id")
    rec = {**table.loc["nursing_share"].to_dict(), "id": "nursing_share"}
    assert shortfall_phrase(rec, "nursing_beds") == "还差 6 张护理型床位"
    assert shortfall_phrase(rec, "nursing_beds", "en") == "short by 6 nursing beds"
    assert shortfall_phrase(table.loc["cov"].to_dict()) == "还差 4 个乡镇(街道)"
    assert shortfall_phrase(table.loc["all_count"].to_dict(), lang="en") == "short by 1 facilities"
    assert shortfall_phrase(table.loc["rural_count"].to_dict()) == ""          # met
    assert shortfall_phrase(table.loc["training"].to_dict()) == ""             # not evaluable


def test_social_workers_per_community_are_people_per_community():
    """Issue 14.8: 安岳县 asks for 2 social workers per urban community, not "≥ 2%"."""
    plan = plan_for_region("512021")
    for tid, value in (("social_workers_per_urban_community", "2"), ("social_workers_per_rural_community", "1")):
        target = plan.target(tid)
        assert target.unit == "persons_per_community"
        assert target.describe("zh").endswith(f"≥ {value}人/社区(2025年)")
    table = evaluate_plan(_geocoded(), plan, "512021").set_index("id")
    assert table.loc["social_workers_per_urban_community", "unit_label"] == "人/社区"


def test_one_vocabulary_read_by_every_module():
    assert "county" not in vocabulary.TOWNSHIP_LEVELS
    assert levels.TOWNSHIP_LEVELS is vocabulary.TOWNSHIP_LEVELS
    assert layers.VILLAGE_LEVELS is vocabulary.VILLAGE_LEVELS
    assert targets.LEVELS is vocabulary.LEVELS and targets.UNITS is vocabulary.UNITS
    assert not hasattr(coverage, "LEVEL_NOUNS")  # the vocabulary has one home: towncover.vocabulary
    assert vocabulary.label(vocabulary.LEVELS, "township", "en") == "townships"
    assert vocabulary.label(vocabulary.MATCH_STATUSES, "out_of_region") == "区域外"
    assert vocabulary.label(vocabulary.LEVELS, "nowhere") == "nowhere"
    assert len(set(vocabulary.CATEGORY_COLOURS.values())) == len(vocabulary.CATEGORY_COLOURS)
    assert vocabulary.category_colour("nope") == vocabulary.UNCLASSIFIED_COLOUR


def test_table_values_and_the_sheet_suffix_are_written_once_in_the_vocabulary():
    from facilities import i18n, sheets

    assert i18n.VALUE_LABELS is vocabulary.VALUE_LABELS
    assert vocabulary.VALUE_LABELS["street"] == vocabulary.TOWNSHIP_KINDS["street"] == ("街道", "street")
    assert vocabulary.sheet_column("row") == "row(原表)"
    sheet = sheets.read_sheet("row,机构名称,match_status\nA-1,石羊镇敬老院,已核\n".encode(), filename="r.csv")
    assert list(sheet.frame.columns) == ["row(原表)", "机构名称", "match_status(原表)"]
    assert layers._apart(["row", "地址"], {"row"}) == {"row": "row(原表)"}
    assert layers._apart(["row", "row(原表)"], {"row"}) == {"row": "row(原表)2"}


@pytest.mark.parametrize(
    ("raw", "natural"),
    [("321202001000", "321202001"), ("321202000000", "321202"), ("321202001000.0", "321202001"),
     ("360000", "36"), ("512021101201", "512021101201"), ("3609", "3609"), ("abc", None), ("1", None)],
)
def test_natural_code(raw, natural):
    out = vocabulary.natural_code(pd.Series([raw])).iloc[0]
    assert (None if pd.isna(out) else out) == natural


def test_unique_sheet_names():
    used: set[str] = set()
    names = [vocabulary.unique_sheet_name(t, used) for t in ("cov_a/b", "COV_A_B", "x" * 40, "x" * 40, "")]
    assert names == ["cov_a_b", "COV_A_B~2", "x" * 31, "x" * 29 + "~2", "sheet"]


# -- facility status: only operating facilities exist today (issue 14 item 3) --------------------
def _status_sheet(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["安岳县养老机构名录"])
    ws.append(["机构名称", "地址", "类型", "床位数", "护理型床位数", "运营状态"])
    ws.append(["石羊镇区域养老服务中心(在建)", "安岳县石羊镇", "区域养老服务中心", 80, 40, "在建"])
    ws.append(["龙台镇区域养老服务中心", "安岳县龙台镇", "区域养老服务中心", 60, 30, "正常运营"])
    ws.append(["岳阳镇敬老院", "安岳县岳阳镇", "敬老院", 100, 10, "停业整顿"])
    ws.append(["通贤镇敬老院", "安岳县通贤镇", "敬老院", 100, 60, "运营"])
    path = tmp_path / "status.xlsx"
    wb.save(path)
    return path


def test_under_construction_and_closed_facilities_do_not_count_today(tmp_path):
    from facilities.inputs import apply_planned, read_planned
    from facilities.pipeline import analyse

    analysis = analyse(_status_sheet(tmp_path), "512021")
    assert analysis.placed["operating_status"].tolist() == ["under_construction", "operating", "closed", "operating"]
    result = coverage.measure(analysis.placed, "512021", "elderly_regional_centre", "township_and_street")
    assert set(result.units.loc[result.units["covered"], "code"]) == {"512021104"}  # 龙台镇 only, not 石羊镇
    assert any("在建或拟建 1 行" in note for note in result.notes)

    judged = evaluate(analysis)
    share = judged.table.set_index("id").loc["nursing_bed_share"]
    # The closed home's 100 beds and 10 nursing beds are out: (30 + 60) / (60 + 100) = 56.25 %.
    assert share["measured"] == pytest.approx(100 * 90 / 160)
    assert "停业或关闭 1 行" in share["notes"]

    # In the target-year scenario the centre under construction is built and covers 石羊镇.
    planned = read_planned(pd.DataFrame({"项目名称": ["通贤镇区域养老服务中心"], "类型": ["区域养老服务中心"],
                                         "乡镇": ["通贤镇"], "计划年份": [2025]}), "512021")
    scenario = coverage.measure(apply_planned(analysis.placed, planned, until_year=2025), "512021",
                                "elderly_regional_centre", "township_and_street")
    assert set(scenario.units.loc[scenario.units["covered"], "code"]) == {"512021104", "512021110", "512021103"}
