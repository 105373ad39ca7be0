"""facilities.plan_template: a plan for any region from the targets the shipped plans share."""

from __future__ import annotations

from facilities.plan_template import is_template, plan_or_template, shared_targets
from facilities.targets import list_plans, load_plan, save_plan


def test_template_holds_the_targets_a_majority_of_plans_share():
    got = [(t.category, t.level, t.value) for t in shared_targets()]
    assert got == [
        ("minors_protection_station", "township_and_street", 100.0),  # all five plans
        ("elderly_day_care", "community", 100.0),
        ("elderly_mutual_aid", "village", 85.0),
        ("elderly_regional_centre", "street", 100.0),
        ("social_work_station", "township_and_street", 100.0),
    ]
    assert all(t.evaluable and t.metric == "coverage_rate" and t.note.startswith("模板") for t in shared_targets())


def test_region_without_a_plan_gets_the_template_labelled_so(tmp_path):
    plan = plan_or_template("110101")  # 东城区: no plan of its own
    assert is_template(plan) and plan.id == "template_110101" and plan.region_name == "东城区"
    assert "模板" in plan.title and "template" in plan.note
    saved = load_plan(save_plan(plan, tmp_path / "110101_东城区.yaml"))  # savable as the region's plan
    assert [(t.id, t.value) for t in saved.targets] == [(t.id, t.value) for t in plan.targets]


def test_a_region_with_its_own_plan_keeps_it():
    for plan in list_plans():
        assert plan_or_template(plan.region_code) is not None
        assert not is_template(plan_or_template(plan.region_code))
