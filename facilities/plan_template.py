"""A plan for any region: the targets the shipped plans share, labelled as a template (模板).

A region without a plan of its own (``data/targets``) gets the facility-coverage targets that at least
:data:`MIN_PLANS` of the shipped plans set on the same category and level, each at the median of their
values. The template is not any bureau's plan: its title, id and every target's note say so, and a
planner edits and saves it as the region's plan (``facilities.targets.save_plan``).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import defaultdict

from facilities.targets import Plan, Target, list_plans, plan_for_region
from geo.gazetteer import load_gazetteer

MIN_PLANS = 3  # a majority of the five shipped plans
TEMPLATE_PREFIX = "template_"


def _signature(t: Target) -> tuple[str, str, str, str] | None:
    """What makes two plans' targets the same target: metric, category, level, comparator."""
    if not (t.evaluable and t.category and t.level and t.metric == "coverage_rate"):
        return None
    return (t.metric, t.category, t.level, t.comparator)


def shared_targets(plans: list[Plan] | None = None) -> list[Target]:
    """The coverage targets at least MIN_PLANS plans share, at the median of their values.

    Each plan counts once per target (its lowest value when it states two, e.g. 50 % by 2025 and
    "every township" with no year). Ordered by how many plans share them, then by id.
    """
    plans = list_plans() if plans is None else plans
    found: dict[tuple[str, str, str, str], dict[str, Target]] = defaultdict(dict)
    for plan in plans:
        for t in plan.targets:
            sig = _signature(t)
            if sig is None or t.value is None:
                continue
            kept = found[sig].get(plan.region_code)
            if kept is None or kept.value is None or t.value < kept.value:
                found[sig][plan.region_code] = t
    out = []
    for by_plan in found.values():
        if len(by_plan) < MIN_PLANS:
            continue
        first = by_plan[min(by_plan)]
        value = float(statistics.median(t.value for t in by_plan.values() if t.value is not None))
        regions = "、".join(sorted(by_plan))
        out.append((len(by_plan), dataclasses.replace(
            first, value=value, year=None, baseline=None, baseline_year=None, binding=None, conflicts_with=None,
            quote_simplified=None, not_evaluable_reason_zh=None, not_evaluable_reason_en=None,
            note=(f"模板:{len(by_plan)} 个内置规划({regions})共有此指标,取其数值中位数 {value:g};"
                  f"引文出自 {min(by_plan)} 的规划 / template: shared by {len(by_plan)} shipped plans "
                  f"({regions.replace('、', ', ')}), median value {value:g}; quote from {min(by_plan)}'s plan"))))
    return [t for _, t in sorted(out, key=lambda pair: (-pair[0], pair[1].id))]


def template_plan(region_code: str) -> Plan:
    """The template plan (模板) for a region, whatever plans it has.

    Parameters
    ----------
    region_code : str
        Province, prefecture, county or township code.

    Returns
    -------
    facilities.targets.Plan
        ``id`` ``template_<code>``, title and note saying 模板 / template, the :func:`shared_targets`.
    """
    plans = list_plans()
    name = load_gazetteer().name_of(str(region_code))
    years = (min(p.year_from for p in plans), max(p.year_to for p in plans)) if plans else (2021, 2025)
    return Plan(id=f"{TEMPLATE_PREFIX}{region_code}", region_code=str(region_code), region_name=name,
                title=f"{name}民政设施覆盖指标模板(非正式规划) / template of targets, not an adopted plan",
                year_from=years[0], year_to=years[1], seed_file="template", targets=shared_targets(plans),
                note=f"模板:取自 {len(plans)} 个内置规划的共同指标,请按本地规划修改后保存 / template: the targets "
                     f"{len(plans)} shipped plans share; edit to the local plan and save it")


def is_template(plan: Plan) -> bool:
    """Whether a plan is a template made here rather than a bureau's plan."""
    return plan.id.startswith(TEMPLATE_PREFIX)


def plan_or_template(region_code: str) -> Plan:
    """The region's own plan, else :func:`template_plan` (never None)."""
    return plan_for_region(region_code) or template_plan(region_code)
