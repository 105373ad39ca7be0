"""facilities.session: the categories and levels the app offers, the target that governs them, plan edits."""

from __future__ import annotations

import dataclasses
from functools import cache

import pytest

from facilities import coverage, session
from facilities.pipeline import analyse
from facilities.targets import Plan, Target, list_plans
from geo.gazetteer import load_gazetteer
from towncover import settings
from towncover.errors import TowncoverError

REGION = "512021"
ELDERLY = ("elderly_regional_centre", "nursing_home", "community_elderly_complex", "elderly_day_care")


@cache
def _demo():
    return analyse(settings.DEMO_DIR / "512021_安岳县_synthetic.xlsx", REGION)


@pytest.mark.parametrize("plan", list_plans(), ids=lambda p: p.region_name)
def test_untouched_apply_is_a_no_op_on_every_shipped_plan(plan):
    frame = session.plan_frame(plan)
    again = session.plan_from_frame(plan, frame, plan.region_code, plan.region_name)
    assert again == plan
    assert all(a is b for a, b in zip(again.targets, plan.targets, strict=True))


def test_plan_edits_change_values_and_add_custom_targets():
    plan = Plan(id="t", region_code=REGION, region_name="安岳县", title="t", year_from=2021, year_to=2025,
                seed_file="", targets=[Target(id="a", label_zh="中心覆盖率", label_en="Centre", metric="coverage_rate",
                                              quote="原文", category="elderly_regional_centre",
                                              level="township_and_street", value=60.0, year=2025)])
    frame = session.plan_frame(plan).astype(object)
    frame.loc[0, "value"] = 80.0
    frame.loc[0, "include_special"] = True
    frame.loc[1] = {"id": None, "label_zh": "自定义", "label_en": None, "metric": "coverage_rate",
                    "category": "nursing_home", "level": "township", "value": 50.0, "unit": None, "year": 2026,
                    "include_special": False, "radius_km": None, "comparator": None, "evaluable": None}
    edited = session.plan_from_frame(plan, frame, REGION, "安岳县")
    a, custom = edited.targets
    assert (a.value, a.include_special, a.quote, a.year) == (80.0, True, "原文", 2025)
    assert (custom.id, custom.category, custom.level, custom.value, custom.year, custom.unit, custom.evaluable) == (
        "custom_2", "nursing_home", "township", 50.0, 2026, "percent", True)
    result = session.measure_choice(_demo(), edited, "nursing_home", "township")
    assert result.target == 50.0


@pytest.mark.parametrize(("column", "value", "zh", "en"), [
    ("value", 150.0, "「目标值」", '"Target value"'),
    ("level", None, "「统计层级」", '"Level"'),
    ("year", 2025.5, "「目标年份」", '"Target year"'),
])
def test_an_invalid_edit_names_the_row_and_the_column_in_both_languages(column, value, zh, en):
    plan = next(p for p in list_plans() if p.region_code == REGION)
    frame = session.plan_frame(plan).astype(object)
    row = next(i for i, t in enumerate(plan.targets) if t.metric == "coverage_rate" and t.evaluable)
    frame.loc[row, column] = value
    with pytest.raises(TowncoverError) as err:
        session.plan_from_frame(plan, frame, REGION, "安岳县")
    assert err.value.row == row + 1
    assert err.value.message_zh.startswith(f"指标表第 {row + 1} 行{zh}")
    assert err.value.message_en.startswith(f"targets table row {row + 1}, {en}")


def test_measure_choice_resolves_the_target_as_the_cli_does():
    a = _demo()
    for t in session.coverage_targets(a.plan):
        app = session.measure_choice(a, a.plan, t.category, t.level)
        cli = coverage.measure_for_target(a, t.category, t.level)
        assert (app.covered, app.total, app.target, app.radius_km, app.notes) == (
            cli.covered, cli.total, cli.target, cli.radius_km, cli.notes)
    not_evaluable = [t for t in a.plan.targets if t.metric == "coverage_rate" and not t.evaluable and t.category]
    for t in not_evaluable:  # a target the plan says cannot be evaluated sets no rate
        assert session.measure_choice(a, a.plan, t.category, t.level).target in {
            x.value for x in session.coverage_targets(a.plan) if (x.category, x.level) == (t.category, t.level)
        } | {None}


def test_other_region_hint_names_the_county_many_rows_name():
    a = _demo()
    assert session.other_region_hint(a, load_gazetteer()) is None
    placed = a.placed.copy()
    moved = placed.index[:30]
    placed.loc[moved, "match_status"] = "out_of_region"
    placed.loc[moved, a.sheet.roles["address"]] = "四川省资阳市乐至县天池街道滨河路1号"
    hint = session.other_region_hint(dataclasses.replace(a, placed=placed), load_gazetteer())
    assert hint == ("四川省资阳市乐至县", int(placed["match_status"].eq("out_of_region").sum()))
    assert hint[1] == 31  # the 30 moved rows and the demo's one row in 乐至县


def test_sheet_lines_say_how_many_rows_a_status_keeps_out():
    a = _demo()
    assert session.sheet_lines(a) == [] or session.sheet_lines(a)[0][0].startswith("读取的工作表")
    placed = a.placed.assign(operating_status="operating")
    placed.loc[placed.index[:3], "operating_status"] = "under_construction"
    placed.loc[placed.index[3:4], "operating_status"] = "closed"
    zh, en = session.sheet_lines(dataclasses.replace(a, placed=placed))[-1]
    assert zh == "不计为现有设施:在建/拟建 3 行、停业/关闭 1 行"
    assert en == "Not counted as existing: 3 rows under construction or planned, 1 rows closed or suspended"


def test_category_options_put_what_the_sheet_lists_first():
    a = _demo()
    elderly = dataclasses.replace(a, placed=a.placed[a.placed["category"].isin(ELDERLY)])
    counts = session.category_counts(elderly)
    assert set(counts.index) <= set(ELDERLY) and counts.is_monotonic_decreasing
    options = session.category_options(elderly, a.plan)
    assert options[: len(counts)] == counts.index.tolist() and len(options) == len(set(options))
    assert session.default_level(a.plan, "elderly_regional_centre") == "community"  # the 15-minute circle target
    assert session.default_level(a.plan, "no_such_category") == session.DEFAULT_LEVEL
