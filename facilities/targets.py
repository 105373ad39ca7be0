"""Plan targets: what each 民政"十四五" plan says must be covered, counted or reached by 2025.

One YAML file per plan in ``data/targets/`` (see ``data/targets/README.md`` for the schema). Each
target carries the exact sentence of the plan it comes from (``quote``) so a planner can check it.

Metrics
-------
coverage_rate
    Percent (0-100) of units at ``level`` (乡镇/街道/村/社区…) with at least one facility of
    ``category`` (optionally within ``radius_km``).
count
    Number of facilities of ``category`` in the plan's region (``level`` says where they sit).
ratio
    Percent: sum of sheet role ``numerator`` over sum of role ``denominator`` (护理型床位占比 =
    nursing_beds / beds), over facilities of ``category`` (all facilities if None).
per_thousand
    Sum of role ``numerator`` per 1,000 people of ``population_column`` (每千名老年人养老床位).
other
    Anything a facility list cannot answer; always ``evaluable: false`` with a reason.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from facilities.categories import CATEGORIES
from towncover import settings
from towncover.errors import TowncoverError
from towncover.files import YAML_LOADER, atomic_write
from towncover.vocabulary import COMPARATORS, LEVELS, METRICS, UNITS

# libyaml's safe loader when PyYAML was built with it (about 10× faster), else the pure-Python one.

BINDINGS: dict[str, tuple[str, str]] = {"binding": ("约束性", "binding"), "expected": ("预期性", "expected")}
# Sheet roles (facilities.sheets) a ratio or per-thousand target may sum; "facilities" counts rows.
SUM_ROLES = ("beds", "nursing_beds", "facilities")
PLAN_LEVELS = ("province", "city", "county")


@dataclass
class Target:
    """One target of a plan.

    Attributes
    ----------
    id : str
        Unique within the plan (snake_case).
    label_zh, label_en : str
        Short name of the indicator.
    category : str or None
        Facility category id (``facilities.categories``), None when no facility kind applies.
    level : str or None
        Unit the target is measured over: county | township_and_street | township | street | village |
        community | village_and_community, or None for the whole region.
    metric : str
        coverage_rate | count | ratio | per_thousand | other.
    value : float or None
        Target value (percent for rates and ratios).
    unit : str
        A key of ``UNITS``.
    comparator : str
        ">=" (default), "<=" or "==".
    year : int or None
        Target year (2025 for "十四五"末).
    baseline, baseline_year : float or None, int or None
        The plan's stated starting value and its year.
    binding : str or None
        "binding" (约束性) or "expected" (预期性), as the plan's indicator table says.
    quote : str
        Exact text of the plan (a substring of the seed file).
    quote_simplified : str or None
        The quote in simplified characters where the plan is in traditional ones.
    include_special : bool
        Whether special units (开发区, 园区…, township codes ≥ 400) count as townships.
    radius_km : float or None
        Service radius: a unit is covered only by a facility within this distance.
    service_circle_min : int or None
        Minutes of an "N分钟服务圈" the target rests on (15 for 15-minute circles).
    rural_only : bool
        Only rural units (乡/镇, 村) count.
    numerator, denominator : str or None
        Sheet roles summed for ratio / per_thousand targets (``SUM_ROLES``).
    population_column : str or None
        Column of the population table per_thousand divides by (``elderly_population``).
    evaluable : bool
        Whether a facility list (with the population table for per_thousand) can answer it.
    not_evaluable_reason_zh, not_evaluable_reason_en : str or None
        Why not, when ``evaluable`` is False.
    conflicts_with : str or None
        Id of another target of the same plan that contradicts this one.
    note : str or None
        Anything a reader should know (how the value or radius was chosen).
    """

    id: str
    label_zh: str
    label_en: str
    metric: str
    quote: str
    category: str | None = None
    level: str | None = None
    value: float | None = None
    unit: str = "percent"
    comparator: str = ">="
    year: int | None = None
    baseline: float | None = None
    baseline_year: int | None = None
    binding: str | None = None
    quote_simplified: str | None = None
    include_special: bool = False
    radius_km: float | None = None
    service_circle_min: int | None = None
    rural_only: bool = False
    numerator: str | None = None
    denominator: str | None = None
    population_column: str | None = None
    evaluable: bool = True
    not_evaluable_reason_zh: str | None = None
    not_evaluable_reason_en: str | None = None
    conflicts_with: str | None = None
    note: str | None = None

    @property
    def not_evaluable_reason(self) -> str | None:
        """Chinese and English reason in one line, or None."""
        if self.not_evaluable_reason_zh is None:
            return None
        return f"{self.not_evaluable_reason_zh} / {self.not_evaluable_reason_en}"

    @property
    def binding_zh(self) -> str | None:
        """约束性 / 预期性, or None."""
        return BINDINGS[self.binding][0] if self.binding else None

    def describe(self, lang: str = "zh") -> str:
        """One-line statement of the target, e.g. ``乡镇(街道)区域养老服务中心覆盖率 ≥ 60%(2025年)``."""
        value = "—" if self.value is None else f"{self.value:g}"
        unit = UNITS[self.unit][0 if lang == "zh" else 1]
        if lang == "zh":
            year = f"({self.year}年)" if self.year else ""
            return f"{self.label_zh} {self.comparator} {value}{unit}{year}".replace(">=", "≥").replace(
                "<=", "≤"
            )
        year = f" ({self.year})" if self.year else ""
        return f"{self.label_en} {self.comparator} {value} {unit}{year}".replace(">=", "≥").replace("<=", "≤")


@dataclass
class Plan:
    """A 民政"十四五" plan and its targets.

    Attributes
    ----------
    id : str
        File stem (``512021_安岳县``).
    region_code, region_name : str
        The plan's jurisdiction (code of natural length: 4 for a prefecture city, 6 for a county).
    title : str
        Plan title as printed.
    year_from, year_to : int
        Plan period (2021, 2025).
    seed_file : str
        Name of the source text the quotes come from.
    source_url : str or None
    issuer : str or None
    published : str or None
        Publication date as printed (ISO where known).
    note : str or None
    targets : list of Target
    """

    id: str
    region_code: str
    region_name: str
    title: str
    year_from: int
    year_to: int
    seed_file: str
    targets: list[Target] = field(default_factory=list)
    source_url: str | None = None
    issuer: str | None = None
    published: str | None = None
    note: str | None = None

    def target(self, target_id: str) -> Target:
        """The target with this id.

        Raises
        ------
        TowncoverError
            If the plan has no such target.
        """
        for t in self.targets:
            if t.id == target_id:
                return t
        raise TowncoverError(
            f"规划 {self.id} 中没有指标 {target_id}", f"Plan {self.id} has no target {target_id}"
        )

    @property
    def evaluable_targets(self) -> list[Target]:
        """Targets a facility list can answer."""
        return [t for t in self.targets if t.evaluable]

    def to_frame(self) -> pd.DataFrame:
        """One row per target, columns = the Target fields plus ``plan_id`` and ``region_code``."""
        names = [f.name for f in dataclasses.fields(Target)]
        rows = [dataclasses.asdict(t) for t in self.targets]
        frame = pd.DataFrame(rows, columns=names)
        frame.insert(0, "region_code", self.region_code)
        frame.insert(0, "plan_id", self.id)
        return frame


_TARGET_FIELDS = {f.name: f for f in dataclasses.fields(Target)}
_PLAN_FIELDS = {f.name for f in dataclasses.fields(Plan)} - {"id", "targets"}
_REQUIRED_TARGET = ("id", "label_zh", "label_en", "metric", "quote")
_REQUIRED_PLAN = ("region_code", "region_name", "title", "year_from", "year_to", "seed_file")


def _fail(path: Path, line: int | None, zh: str, en: str, column: str | None = None) -> TowncoverError:
    where_zh = f"{path.name}" + (f" 第 {line} 行" if line else "")
    where_en = f"{path.name}" + (f" line {line}" if line else "")
    return TowncoverError(f"{where_zh}:{zh}", f"{where_en}: {en}", row=line, column=column)


def _target_lines(text: str) -> list[int]:
    """1-based line of each item of the ``targets`` list (for error messages)."""
    try:
        root = yaml.compose(text, Loader=YAML_LOADER)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "targets" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _as_number(value: Any, path: Path, line: int | None, tid: str, name: str, kind: type) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(
            path,
            line,
            f"指标 {tid} 的 {name} 应为数字,实为 {value!r}",
            f"target {tid}: {name} must be a number, got {value!r}",
            name,
        )
    if kind is int:
        if float(value) != int(value):
            raise _fail(
                path, line, f"指标 {tid} 的 {name} 应为整数", f"target {tid}: {name} must be an integer", name
            )
        return int(value)
    return float(value)


def _check_choice(value: Any, choices: Collection[str], path: Path, line: int | None, tid: str, name: str) -> None:
    if value is not None and value not in choices:
        raise _fail(
            path,
            line,
            f"指标 {tid} 的 {name} 未知:{value!r}(可选:{', '.join(choices)})",
            f"target {tid}: unknown {name} {value!r} (allowed: {', '.join(choices)})",
            name,
        )


def _build_target(raw: Any, path: Path, line: int | None, index: int) -> Target:
    if not isinstance(raw, dict):
        raise _fail(path, line, f"第 {index} 个指标不是键值表", f"target #{index} is not a mapping")
    tid = str(raw.get("id") or f"#{index}")
    unknown = sorted(set(raw) - set(_TARGET_FIELDS))
    if unknown:
        raise _fail(
            path,
            line,
            f"指标 {tid} 有未知字段:{', '.join(unknown)}",
            f"target {tid}: unknown field(s): {', '.join(unknown)}",
            unknown[0],
        )
    for name in _REQUIRED_TARGET:
        if raw.get(name) in (None, ""):
            raise _fail(
                path, line, f"指标 {tid} 缺少字段 {name}", f"target {tid}: missing field {name}", name
            )
    kw: dict[str, Any] = dict(raw)
    kw["id"] = str(raw["id"])
    for name in ("value", "baseline", "radius_km"):
        kw[name] = _as_number(raw.get(name), path, line, tid, name, float)
    for name in ("year", "baseline_year", "service_circle_min"):
        kw[name] = _as_number(raw.get(name), path, line, tid, name, int)
    for name in ("include_special", "rural_only", "evaluable"):
        if name in raw and not isinstance(raw[name], bool):
            raise _fail(
                path,
                line,
                f"指标 {tid} 的 {name} 应为 true/false",
                f"target {tid}: {name} must be true or false",
                name,
            )
    for name in ("label_zh", "label_en", "quote", "quote_simplified", "note"):
        if raw.get(name) is not None:
            kw[name] = str(raw[name])
    _check_choice(raw.get("category"), list(CATEGORIES), path, line, tid, "category")
    _check_choice(raw.get("level"), list(LEVELS), path, line, tid, "level")
    _check_choice(raw.get("metric"), list(METRICS), path, line, tid, "metric")
    _check_choice(raw.get("unit", "percent"), list(UNITS), path, line, tid, "unit")
    _check_choice(raw.get("comparator", ">="), COMPARATORS, path, line, tid, "comparator")
    _check_choice(raw.get("binding"), list(BINDINGS), path, line, tid, "binding")
    _check_choice(raw.get("numerator"), SUM_ROLES, path, line, tid, "numerator")
    _check_choice(raw.get("denominator"), SUM_ROLES, path, line, tid, "denominator")
    target = Target(**kw)
    _check_consistency(target, path, line)
    return target


def target_from_dict(raw: dict[str, Any], index: int = 1) -> Target:
    """One target from a mapping as a plan file holds it, checked exactly as :func:`load_plan` checks it.

    Parameters
    ----------
    raw : dict
        Target fields (unknown ones refused); numbers as Python numbers, flags as bools.
    index : int
        Its position, for the message.

    Returns
    -------
    Target

    Raises
    ------
    TowncoverError
        The same one-line message a plan file with this target would get; ``column`` names the field.
    """
    return _build_target(raw, Path("targets"), None, index)


def _check_consistency(t: Target, path: Path, line: int | None) -> None:
    def need(cond: bool, field_name: str, zh: str, en: str) -> None:
        if not cond:
            raise _fail(path, line, f"指标 {t.id}:{zh}", f"target {t.id}: {en}", field_name)

    if t.evaluable:
        need(
            t.metric != "other",
            "evaluable",
            "metric 为 other 的指标不能评估",
            "metric 'other' cannot be evaluable",
        )
        need(
            t.value is not None, "value", "可评估的指标缺少目标值 value", "an evaluable target needs a value"
        )
        if t.metric == "coverage_rate":
            need(
                t.category is not None,
                "category",
                "覆盖率指标需要设施类别",
                "a coverage rate needs a category",
            )
            need(t.level is not None, "level", "覆盖率指标需要层级 level", "a coverage rate needs a level")
        if t.metric == "count":
            need(t.category is not None, "category", "数量指标需要设施类别", "a count needs a category")
        if t.metric == "ratio":
            need(
                t.numerator is not None and t.denominator is not None,
                "numerator",
                "比例指标需要 numerator 和 denominator",
                "a ratio needs numerator and denominator",
            )
        if t.metric == "per_thousand":
            need(
                t.numerator is not None,
                "numerator",
                "每千人指标需要 numerator",
                "per_thousand needs a numerator",
            )
            need(
                t.population_column is not None,
                "population_column",
                "每千人指标需要 population_column",
                "per_thousand needs a population_column",
            )
    else:
        need(
            bool(t.not_evaluable_reason_zh) and bool(t.not_evaluable_reason_en),
            "not_evaluable_reason_zh",
            "不可评估的指标须写明原因(中英文)",
            "a non-evaluable target needs a reason in Chinese and English",
        )
    if t.metric in ("coverage_rate", "ratio") and t.value is not None:
        need(0 <= t.value <= 100, "value", "百分比须在 0–100 之间", "a percentage must be within 0-100")
    if t.radius_km is not None:
        need(t.radius_km > 0, "radius_km", "服务半径须大于 0", "radius_km must be positive")


def _parse_plan(raw: Any, path: Path, text: str) -> Plan:
    if not isinstance(raw, dict):
        raise _fail(path, None, "文件顶层应为键值表", "the file's top level must be a mapping")
    unknown = sorted(set(raw) - _PLAN_FIELDS - {"targets", "id"})
    if unknown:
        raise _fail(
            path,
            None,
            f"规划有未知字段:{', '.join(unknown)}",
            f"unknown plan field(s): {', '.join(unknown)}",
            unknown[0],
        )
    for name in _REQUIRED_PLAN:
        if raw.get(name) in (None, ""):
            raise _fail(path, None, f"规划缺少字段 {name}", f"plan is missing field {name}", name)
    code = str(raw["region_code"])
    if not code.isdigit() or len(code) not in (2, 4, 6):
        raise _fail(
            path,
            None,
            f"region_code 应为 2、4 或 6 位数字:{code}",
            f"region_code must have 2, 4 or 6 digits: {code}",
            "region_code",
        )
    items = raw.get("targets")
    if not isinstance(items, list) or not items:
        raise _fail(path, None, "规划没有 targets 列表", "plan has no 'targets' list", "targets")
    lines = _target_lines(text)
    targets = [
        _build_target(item, path, lines[i] if i < len(lines) else None, i + 1) for i, item in enumerate(items)
    ]
    ids = [t.id for t in targets]
    seen: set[str] = set()
    line_of: list[int | None] = list(lines) if lines else [None] * len(targets)
    for t, line in zip(targets, line_of, strict=False):
        if t.id in seen:
            raise _fail(path, line, f"指标 id 重复:{t.id}", f"duplicate target id: {t.id}", "id")
        seen.add(t.id)
    by_id = dict(zip(ids, targets, strict=True))
    for t, line in zip(targets, line_of, strict=False):
        if t.conflicts_with is None:
            continue
        other = by_id.get(t.conflicts_with)
        if other is None or other.id == t.id:
            raise _fail(
                path,
                line,
                f"指标 {t.id} 的 conflicts_with 指向不存在的指标 {t.conflicts_with}",
                f"target {t.id}: conflicts_with names no other target ({t.conflicts_with})",
                "conflicts_with",
            )
        if other.conflicts_with != t.id:
            raise _fail(
                path,
                line,
                f"指标 {t.id} 与 {other.id} 的 conflicts_with 须互相指向",
                f"targets {t.id} and {other.id} must name each other in conflicts_with",
                "conflicts_with",
            )
    kw: dict[str, Any] = {k: raw.get(k) for k in _PLAN_FIELDS if k in raw}
    kw["region_code"] = code
    for name in ("region_name", "title", "seed_file"):
        kw[name] = str(raw[name])
    for name in ("year_from", "year_to"):
        if isinstance(raw[name], bool) or not isinstance(raw[name], int):
            raise _fail(path, None, f"{name} 应为年份整数", f"{name} must be an integer year", name)
    if raw.get("published") is not None:
        kw["published"] = str(raw["published"])
    return Plan(id=str(raw.get("id") or path.stem), targets=targets, **kw)


def load_plan(path: str | Path) -> Plan:
    """Read and validate one plan file.

    Parameters
    ----------
    path : str or Path
        A YAML file in the schema of ``data/targets/README.md``.

    Returns
    -------
    Plan

    Raises
    ------
    TowncoverError
        If the file is missing or not YAML, or a target has an unknown category, level, metric, unit,
        comparator or binding, lacks a value while evaluable, or is otherwise inconsistent. The
        message names the file, the line of the target and the field.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TowncoverError(f"找不到规划指标文件:{path}", f"Plan target file not found: {path}") from exc
    except UnicodeDecodeError as exc:
        raise TowncoverError(
            f"规划指标文件不是 UTF-8 编码:{path}", f"Plan target file is not UTF-8: {path}"
        ) from exc
    try:
        raw = yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 - a safe loader (libyaml's when present)
    except yaml.YAMLError as exc:
        mark = exc.problem_mark if isinstance(exc, yaml.MarkedYAMLError) else None
        line = mark.line + 1 if mark is not None else None
        raise _fail(path, line, f"不是有效的 YAML:{exc}", f"not valid YAML: {exc}") from exc
    return _parse_plan(raw, path, text)


def list_plans(directory: str | Path | None = None) -> list[Plan]:
    """All plans in ``settings.TARGETS_DIR`` (or ``directory``), sorted by file name.

    Raises
    ------
    TowncoverError
        If any file there is invalid.
    """
    directory = Path(directory) if directory is not None else settings.TARGETS_DIR
    plans = []
    for path in sorted(directory.glob("*.yaml")):
        stat = path.stat()
        # Parsed once per file version; callers get their own copy (the app edits targets).
        plans.append(copy.deepcopy(_load_plan_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)))
    return plans


@functools.lru_cache(maxsize=64)
def _load_plan_cached(path: str, mtime_ns: int, size: int) -> Plan:
    return load_plan(path)


def plan_for_region(
    code: str | int, *, include_parents: bool = False, directory: str | Path | None = None
) -> Plan | None:
    """The plan of a region.

    Parameters
    ----------
    code : str or int
        Division code (4-digit city, 6-digit county...).
    include_parents : bool
        If no plan has exactly this code, return the plan of the nearest enclosing region
        (a county inside 宜春市 gets 宜春市's plan). Off by default: a city plan's targets are
        not a county's.
    directory : str or Path, optional
        Where the plan files are; ``settings.TARGETS_DIR`` by default.

    Returns
    -------
    Plan or None
    """
    code = str(code).strip()
    plans = {p.region_code: p for p in list_plans(directory)}
    if code in plans:
        return plans[code]
    if include_parents:
        for n in (9, 6, 4, 2):
            if n < len(code) and code[:n] in plans:
                return plans[code[:n]]
    return None


def _plan_to_dict(plan: Plan) -> dict[str, Any]:
    out: dict[str, Any] = {"id": plan.id}
    for f in dataclasses.fields(Plan):
        if f.name in ("id", "targets"):
            continue
        value = getattr(plan, f.name)  # every field but two, by name: the field list is the dynamic part
        if value is not None:
            out[f.name] = value
    targets = []
    for t in plan.targets:
        d: dict[str, Any] = {}
        for name, f in _TARGET_FIELDS.items():
            value = getattr(t, name)  # each field by name, to drop those left at their default
            if name in _REQUIRED_TARGET or value != f.default:
                d[name] = value
        targets.append(d)
    out["targets"] = targets
    return out


def save_plan(plan: Plan, path: str | Path) -> Path:
    """Write a plan to YAML atomically (temporary file, then rename).

    Parameters
    ----------
    plan : Plan
    path : str or Path

    Returns
    -------
    Path
        The written file; ``load_plan`` on it gives back an equal plan.
    """
    path = Path(path)
    text = yaml.safe_dump(_plan_to_dict(plan), allow_unicode=True, sort_keys=False, width=1000)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
