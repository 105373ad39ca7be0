"""Plan target files: loading, validation, quotes against the seeds, look-up and round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from facilities.categories import CATEGORIES
from facilities.targets import LEVELS, Plan, list_plans, load_plan, plan_for_region, save_plan
from towncover import settings
from towncover.errors import TowncoverError

SEEDS_DIR = settings.TARGETS_DIR / "seeds"  # the five plans' texts, kept in the repo

# Targets per plan (all of them, evaluable or not) and how many a facility list can evaluate.
EXPECTED = {
    "3609": ("宜春市", "000_19affc4786a265ef.txt", 31, 9),
    "512021": ("安岳县", "001_c6213d94f539be14.txt", 54, 10),
    "321202": ("海陵区", "002_07c9bef621dccd00.txt", 54, 11),
    "4312": ("怀化市", "003_1d4cc66293008ec4.txt", 61, 12),
    "532301": ("楚雄市", "004_9f789042dec61e38.txt", 75, 12),
}


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {p.region_code: p for p in list_plans()}


def test_every_plan_file_loads(plans):
    assert sorted(plans) == sorted(EXPECTED)
    for code, (name, seed, n_targets, n_evaluable) in EXPECTED.items():
        plan = plans[code]
        assert plan.region_name == name
        assert plan.seed_file == seed
        assert plan.id == f"{code}_{name}"
        assert (plan.year_from, plan.year_to) == (2021, 2025)
        assert len(plan.targets) == n_targets, code
        assert len(plan.evaluable_targets) == n_evaluable, code


def test_target_fields_are_consistent(plans):
    for plan in plans.values():
        ids = [t.id for t in plan.targets]
        assert len(ids) == len(set(ids))
        for t in plan.targets:
            assert t.category is None or t.category in CATEGORIES
            assert t.level is None or t.level in LEVELS
            if t.evaluable:
                assert t.value is not None and t.metric != "other"
                assert t.not_evaluable_reason_zh is None
            else:
                assert t.not_evaluable_reason_zh and t.not_evaluable_reason_en
                assert " / " in t.not_evaluable_reason


def test_quotes_are_exact_substrings_of_the_seeds(plans):
    missing = []
    for plan in plans.values():
        seed = (SEEDS_DIR / plan.seed_file).read_text(encoding="utf-8")
        for t in plan.targets:
            if t.quote not in seed:
                missing.append((plan.id, t.id, t.quote))
    assert missing == []


def test_huaihua_quotes_are_traditional_with_simplified_twins(plans):
    huaihua = plans["4312"]
    for t in huaihua.targets:
        assert t.quote_simplified is not None, t.id
        assert len(t.quote_simplified) == len(t.quote)
        assert t.quote_simplified != t.quote
    row3 = huaihua.target("community_elderly_facility_coverage")
    assert row3.quote == "社區養老服務設施覆蓋率"
    assert row3.quote_simplified == "社区养老服务设施覆盖率"
    others = [
        t.id for p in plans.values() if p.region_code != "4312" for t in p.targets if t.quote_simplified
    ]
    assert others == []


def test_key_targets(plans):
    t = plans["3609"].target("regional_elderly_centre_township_coverage")
    assert (t.category, t.level, t.metric, t.value, t.comparator, t.year) == (
        "elderly_regional_centre",
        "township_and_street",
        "coverage_rate",
        80.0,
        ">=",
        2025,
    )
    assert t.quote == "到2025年底,区域养老服务中心在乡镇(街道)的覆盖率达到80%以上"
    assert t.include_special is False

    beds = plans["512021"].target("elderly_beds_per_thousand_elderly")
    assert (beds.metric, beds.numerator, beds.population_column, beds.value, beds.binding) == (
        "per_thousand",
        "beds",
        "elderly_population",
        10.0,
        "binding",
    )
    share = plans["321202"].target("nursing_bed_share")
    assert (share.metric, share.numerator, share.denominator, share.value) == (
        "ratio",
        "nursing_beds",
        "beds",
        70.0,
    )
    mutual = plans["532301"].target("village_mutual_aid_elderly_coverage")
    assert (mutual.category, mutual.level, mutual.value, mutual.rural_only) == (
        "elderly_mutual_aid",
        "village",
        50.0,
        True,
    )
    assert plans["3609"].target("nursing_bed_share_citywide_2022").year == 2022


def test_binding_labels_come_from_the_plans(plans):
    def binding(code):
        return sorted(t.id for t in plans[code].targets if t.binding == "binding")

    # 宜春 (interpretation), 楚雄: the texts label nothing 约束性/预期性.
    assert binding("3609") == [] and all(t.binding is None for t in plans["3609"].targets)
    assert all(t.binding is None for t in plans["532301"].targets)
    # 怀化's indicator table has two binding rows: nursing-bed share and the city mental-health institution.
    assert binding("4312") == ["city_mental_health_welfare_institution", "nursing_bed_share"]


def test_conflicting_targets_name_each_other(plans):
    pairs = set()
    for plan in plans.values():
        for t in plan.targets:
            if t.conflicts_with:
                other = plan.target(t.conflicts_with)
                assert other.conflicts_with == t.id
                assert t.note
                pairs.add((plan.region_code, *sorted((t.id, other.id))))
    assert pairs == {
        (
            "512021",
            "township_minors_protection_station_full_layout",
            "township_minors_protection_workstation_coverage",
        ),
        ("532301", "medical_elderly_integration_rate_box2", "medical_elderly_integration_rate_main_text"),
        ("532301", "township_elderly_home_upgrade_box2", "township_elderly_home_upgrade_ch5"),
        ("532301", "elderly_canteens_box2", "elderly_canteens_ch5"),
    }
    a = plans["512021"].target("township_minors_protection_workstation_coverage")
    b = plans["512021"].target("township_minors_protection_station_full_layout")
    assert (a.value, a.year, b.value, b.year) == (50.0, 2025, 100.0, None)


def test_service_circle_targets(plans):
    circles = {
        (p.region_code, t.id): (t.service_circle_min, t.radius_km, t.level)
        for p in plans.values()
        for t in p.targets
        if t.service_circle_min is not None
    }
    assert circles == {
        ("512021", "elderly_15_minute_service_circle"): (15, 1.0, "community"),
        ("321202", "ten_minute_service_circle"): (10, 0.5, "community"),
        ("4312", "urban_15min_elderly_service_circle"): (15, 1.0, "community"),
        ("532301", "fifteen_minute_elderly_service_circle"): (15, 1.0, "community"),
    }
    radius = [(p.region_code, t.id) for p in plans.values() for t in p.targets if t.radius_km is not None]
    assert len(radius) == 4


def test_plan_for_region():
    assert plan_for_region("512021").region_name == "安岳县"
    assert plan_for_region(4312).region_name == "怀化市"
    assert plan_for_region("360902") is None  # 袁州区, inside 宜春市
    assert plan_for_region("360902", include_parents=True).region_code == "3609"
    assert plan_for_region("431202001", include_parents=True).region_code == "4312"
    assert plan_for_region("110101", include_parents=True) is None
    assert plan_for_region("51") is None


def test_save_and_load_round_trip(plans, tmp_path):
    for plan in plans.values():
        out = save_plan(plan, tmp_path / f"{plan.id}.yaml")
        assert load_plan(out) == plan
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{p.id}.yaml" for p in plans.values())


def test_to_frame(plans):
    frame = plans["532301"].to_frame()
    assert len(frame) == 75
    assert list(frame.columns[:4]) == ["plan_id", "region_code", "id", "label_zh"]
    assert frame["evaluable"].sum() == 12
    assert set(frame["region_code"]) == {"532301"}
    assert frame.loc[frame["id"] == "minors_protection_station_coverage", "value"].item() == 100.0


def test_describe(plans):
    t = plans["512021"].target("township_minors_protection_workstation_coverage")
    assert t.describe() == "乡镇(街道)未成年人保护工作站覆盖率 ≥ 50%(2025年)"
    assert t.describe("en") == "Minors-protection workstation coverage of townships and streets ≥ 50 % (2025)"


# ---------------------------------------------------------------- invalid files

HEAD = """region_code: '512021'
region_name: 安岳县
title: t
year_from: 2021
year_to: 2025
seed_file: s.txt
targets:
"""
GOOD = """  - id: a
    label_zh: 甲
    label_en: A
    metric: coverage_rate
    category: social_work_station
    level: township_and_street
    value: 100
    quote: q
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "512021_x.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def test_good_minimal_file(tmp_path):
    plan = load_plan(_write(tmp_path, GOOD))
    assert [t.id for t in plan.targets] == ["a"]
    assert plan.targets[0].value == 100.0 and plan.targets[0].comparator == ">="


@pytest.mark.parametrize(
    ("body", "column", "row", "fragment"),
    [
        (GOOD.replace("social_work_station", "swimming_pool"), "category", 8, "swimming_pool"),
        (GOOD.replace("township_and_street", "hamlet"), "level", 8, "hamlet"),
        (GOOD.replace("coverage_rate", "happiness"), "metric", 8, "happiness"),
        (GOOD.replace("    value: 100\n", ""), "value", 8, "value"),
        (GOOD.replace("value: 100", "value: 120"), "value", 8, "0-100"),
        (GOOD.replace("value: 100", "value: lots"), "value", 8, "lots"),
        (GOOD + "    colour: red\n", "colour", 8, "colour"),
        (GOOD + "    conflicts_with: b\n", "conflicts_with", 8, "b"),
        (GOOD.replace("    quote: q\n", ""), "quote", 8, "quote"),
        (
            GOOD
            + GOOD.replace("id: a", "id: b")
            .replace("metric: coverage_rate", "metric: other")
            .replace("    value: 100\n", "    evaluable: false\n"),
            "not_evaluable_reason_zh",
            16,
            "reason",
        ),
        (GOOD + GOOD, "id", 16, "duplicate"),
    ],
)
def test_bad_target_raises_towncover_error(tmp_path, body, column, row, fragment):
    path = _write(tmp_path, body)
    with pytest.raises(TowncoverError) as err:
        load_plan(path)
    assert err.value.column == column
    assert err.value.row == row  # the file line where the target's list item starts
    assert fragment in err.value.message
    assert "512021_x.yaml" in err.value.message_zh and "512021_x.yaml" in err.value.message_en


def test_bad_plan_level_errors(tmp_path):
    with pytest.raises(TowncoverError) as err:
        load_plan(tmp_path / "missing.yaml")
    assert "找不到" in err.value.message_zh and "not found" in err.value.message_en

    broken = tmp_path / "broken.yaml"
    broken.write_text(HEAD + "  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(TowncoverError) as err:
        load_plan(broken)
    assert "YAML" in err.value.message_en and err.value.row == 9

    bad_code = tmp_path / "bad_code.yaml"
    bad_code.write_text(HEAD.replace("'512021'", "'5120'x'") + GOOD, encoding="utf-8")
    with pytest.raises(TowncoverError):
        load_plan(bad_code)

    five = tmp_path / "five.yaml"
    five.write_text(HEAD.replace("'512021'", "'51202'") + GOOD, encoding="utf-8")
    with pytest.raises(TowncoverError) as err:
        load_plan(five)
    assert err.value.column == "region_code"

    no_targets = tmp_path / "empty.yaml"
    no_targets.write_text(HEAD + "  []\n", encoding="utf-8")
    with pytest.raises(TowncoverError) as err:
        load_plan(no_targets)
    assert err.value.column == "targets"


def test_list_plans_reports_the_bad_file(tmp_path):
    _write(tmp_path, GOOD.replace("township_and_street", "hamlet"))
    with pytest.raises(TowncoverError) as err:
        list_plans(tmp_path)
    assert "512021_x.yaml" in err.value.message_zh
