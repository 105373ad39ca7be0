"""What it takes to close a coverage gap: the fewest units (or sites) that bring a rate to its target.

Two cases:

* **Placement rule** (a unit is covered by a facility in it): every new facility covers exactly one
  uncovered unit, so the minimum is exact arithmetic, ``ceil(target × total) − covered``. Which units
  is a matter of priority, stated in the result: the most populous first when a population table is
  given, otherwise the unit farthest from any existing facility first (distance from the unit's
  representative point to the nearest facility), otherwise code order.
* **Service-radius rule** (a unit is covered by a facility within D km of it): one new site can cover
  several units. Candidate sites are the units' representative points; the fewest sites that bring
  enough units within D km is a partial set-cover problem, solved exactly as an integer programme with
  ``scipy.optimize.milp`` (HiGHS). Among minimum solutions the one covering the most people (or units)
  is preferred. A greedy alternative (``method="greedy"``) is available; its number of sites is at most
  H(n) ≈ ln n + 1 times the minimum, n the number of units it must cover.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from facilities.coverage import CoverageResult, units_needed
from facilities.inputs import population_column
from facilities.radius import facility_lnglat, metric_crs, unit_shapes
from towncover.errors import TowncoverError

GAP_COLUMNS = ["rank", "code", "name", "kind", "criterion", "criterion_value", "covered_after", "rate_after"]
SITE_COLUMNS = ["rank", "code", "name", "kind", "new_units", "n_new", "covered_after", "rate_after"]


def close_gap(
    result: CoverageResult,
    target_rate: float,
    *,
    population: pd.DataFrame | None = None,
    facility_points: Any = None,
    units: Any = None,
    population_column: str | None = None,
    method: str = "ilp",
    time_limit: float = 20.0,
) -> pd.DataFrame:
    """The smallest set of uncovered units (or, under a radius rule, of sites) that meets a target.

    Parameters
    ----------
    result : CoverageResult
        From :func:`facilities.coverage.measure`.
    target_rate : float
        Target coverage in percent (0–100).
    population : pandas.DataFrame, optional
        From :func:`facilities.inputs.read_population`: ranks units by population (placement rule)
        and prefers the most people among minimum site sets (radius rule).
    facility_points : GeoDataFrame or DataFrame, optional
        Existing facilities for the distance ranking; default the placed facilities of ``result``.
    units : geopandas.GeoDataFrame, optional
        Unit polygons (``code``, ``geometry``); default those ``result`` was measured with.
    population_column : str, optional
        Column of ``population`` to use (default ``population``, or the only numeric column).
    method : {"ilp", "greedy"}
        Radius rule only: exact integer programme (default) or greedy.
    time_limit : float
        Seconds the integer programme may run (radius rule). If it stops before proving optimality,
        the better of its solution and the greedy one is returned, with the solver's lower bound.

    Returns
    -------
    pandas.DataFrame
        Placement rule: one row per unit to cover, columns :data:`GAP_COLUMNS`, in priority order.
        Radius rule: one row per new site, columns :data:`SITE_COLUMNS` (``new_units`` the
        semicolon-joined codes it brings within reach). ``attrs`` hold ``needed`` (units still to
        cover), ``required`` (units or sites chosen), ``criterion`` and ``method`` (Chinese /
        English sentences), ``feasible`` and ``target_rate``; under a radius rule also ``optimal``
        (True when proven minimal, False when the solver's time ran out, None for greedy) and
        ``lower_bound`` (no solution can use fewer sites).

    Raises
    ------
    TowncoverError
        For a target outside 0–100 or an unknown method.
    """
    target_rate = float(target_rate)
    if not 0 <= target_rate <= 100:
        raise TowncoverError(f"目标覆盖率应在 0–100 之间,而不是 {target_rate:g}",
                             f"target rate must be within 0-100, not {target_rate:g}")
    if method not in ("ilp", "greedy"):
        raise TowncoverError(f"未知的求解方法 {method}", f"unknown method {method}; use ilp or greedy")
    weights = _unit_population(result.units["code"], population, population_column)
    shapes = units if units is not None else result.unit_shapes
    if result.radius_km is not None:
        if shapes is None:
            raise TowncoverError("按服务半径补缺需要单元边界", "closing a radius-rule gap needs unit polygons")
        return _close_with_radius(result, target_rate, shapes, weights, method, time_limit)
    return _close_by_placement(result, target_rate, shapes, weights, facility_points)


def _unit_population(codes: pd.Series, population: pd.DataFrame | None, column: str | None) -> pd.Series | None:
    if population is None:
        return None
    col = population_column(population, column)
    if col is None:
        return None
    values = pd.Series(pd.to_numeric(population[col], errors="coerce").to_numpy(),
                       index=population["code"].astype(str).to_numpy())
    values = values[~values.index.duplicated()]
    out = values.reindex(codes.astype(str).to_numpy())
    return None if out.isna().all() else pd.Series(out.to_numpy(), index=codes.astype(str).to_numpy())


def _attrs(frame: pd.DataFrame, **kw: Any) -> pd.DataFrame:
    frame.attrs.update(kw)
    return frame


def _close_by_placement(
    result: CoverageResult, target_rate: float, shapes: Any, weights: pd.Series | None, facility_points: Any
) -> pd.DataFrame:
    need = units_needed(result.covered, result.total, target_rate)
    cand = result.units.loc[~result.units["covered"].to_numpy(bool), ["code", "name", "kind"]].copy()
    cand["code"] = cand["code"].astype(str)
    criterion = ("按代码顺序(没有人口数据,也没有单元位置)", "in code order (no population, no unit locations)")
    cand["criterion"] = "code"
    cand["criterion_value"] = np.nan
    order: list[str] = ["code"]
    ascending = [True]
    if weights is not None and weights.reindex(cand["code"]).notna().any():
        cand["criterion"] = "population"
        cand["criterion_value"] = weights.reindex(cand["code"]).to_numpy(float)
        order, ascending = ["criterion_value", "code"], [False, True]
        criterion = ("人口多者优先", "most populous first")
    else:
        dist = _distance_to_facilities(result, cand["code"], shapes, facility_points)
        if dist is not None:
            cand["criterion"] = "distance_km"
            cand["criterion_value"] = dist
            order, ascending = ["criterion_value", "code"], [False, True]
            criterion = ("距最近现有设施最远者优先(单元代表点到设施的直线距离,km)",
                         "farthest from the nearest existing facility first (straight line from the unit's "
                         "representative point, km)")
    cand = cand.sort_values(order, ascending=ascending, na_position="last", kind="mergesort")
    chosen = cand.head(need).reset_index(drop=True)
    chosen.insert(0, "rank", np.arange(1, len(chosen) + 1))
    chosen["covered_after"] = result.covered + chosen["rank"].to_numpy()
    chosen["rate_after"] = 100.0 * chosen["covered_after"] / result.total if result.total else np.nan
    feasible = need <= len(cand)
    method = (f"精确:ceil({target_rate:g}% × {result.total}) − {result.covered} = {need}",
              f"exact: ceil({target_rate:g}% × {result.total}) − {result.covered} = {need}")
    return _attrs(chosen[GAP_COLUMNS], needed=need, required=len(chosen), target_rate=target_rate,
                  criterion=" / ".join(criterion), method=" / ".join(method), feasible=feasible)


def _distance_to_facilities(result: CoverageResult, codes: pd.Series, shapes: Any,
                            facility_points: Any) -> np.ndarray | None:
    """km from each unit's representative point to the nearest facility, or None without locations."""
    import geopandas as gpd
    import shapely

    if shapes is None:
        return None
    lng, lat = facility_lnglat(result.facilities, facility_points)
    if len(lng) == 0:
        return None
    polys = unit_shapes(result.units["code"].astype("string"), shapes)
    if polys.empty:
        return None
    centre = polys.geometry.union_all().centroid
    crs = metric_crs(np.array([centre.x]), np.array([centre.y]))
    reps = polys.set_index(polys["code"].astype(str)).to_crs(crs).geometry.representative_point()
    pts = gpd.GeoSeries(gpd.points_from_xy(lng, lat), crs=4326).to_crs(crs).to_numpy()
    tree = shapely.STRtree(pts)
    idx_rep, idx_pt = tree.query_nearest(reps.to_numpy(), all_matches=False)
    dist = np.full(len(reps), np.nan)
    dist[idx_rep] = shapely.distance(reps.to_numpy()[idx_rep], pts[idx_pt]) / 1000.0
    return pd.Series(dist, index=reps.index).reindex(codes.astype(str).to_numpy()).to_numpy(float)


def _reach_matrix(result: CoverageResult, shapes: Any) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Sites (units with polygons), and which uncovered units each site's point reaches within D km."""
    import shapely

    polys = unit_shapes(result.units["code"].astype("string"), shapes)
    polys["code"] = polys["code"].astype(str)
    centre = polys.geometry.union_all().centroid
    crs = metric_crs(np.array([centre.x]), np.array([centre.y]))
    metric = polys.to_crs(crs)
    sites = metric.geometry.representative_point().to_numpy()
    uncovered = [c for c in result.uncovered if c in set(polys["code"])]
    unc_geoms = metric.set_index("code").geometry.reindex(uncovered).to_numpy()
    reach = np.zeros((len(uncovered), len(sites)), dtype=bool)
    if len(uncovered):
        if result.radius_km is None:  # only a result measured with a radius has sites to reach
            raise ValueError("a reach matrix needs the result's service radius")
        tree = shapely.STRtree(sites)
        i_unc, j_site = tree.query(unc_geoms, predicate="dwithin", distance=result.radius_km * 1000.0)
        reach[i_unc, j_site] = True
    site_table = result.units.set_index(result.units["code"].astype(str)).loc[polys["code"], ["name", "kind"]]
    site_table = site_table.reset_index().rename(columns={"index": "code"})
    site_table.columns = ["code", "name", "kind"]
    return site_table, reach, uncovered


def _close_with_radius(
    result: CoverageResult, target_rate: float, shapes: Any, weights: pd.Series | None, method: str,
    time_limit: float = 20.0,
) -> pd.DataFrame:
    need = units_needed(result.covered, result.total, target_rate)
    sites, reach, uncovered = _reach_matrix(result, shapes)
    reachable = len(uncovered)
    feasible = need <= reachable
    goal = min(need, reachable)
    w = np.ones(len(uncovered))
    if weights is not None:
        w = weights.reindex(uncovered).fillna(0).to_numpy(float) + 1.0
    optimal: bool | None = True
    bound = 0.0
    if goal == 0:
        chosen: list[int] = []
        how = ("无需新增", "nothing to add")
    elif method == "ilp":
        chosen, optimal, bound = _solve_ilp(reach, goal, w if weights is not None else None, time_limit)
        if optimal:
            how = ("精确整数规划(scipy.optimize.milp / HiGHS),已证明最优" +
                   (";同等站点数下覆盖人口最多" if weights is not None else ""),
                   "exact integer programme (scipy.optimize.milp / HiGHS), proven optimal" +
                   ("; among minimum sets the one reaching the most people" if weights is not None else ""))
        else:
            greedy = _solve_greedy(reach, goal)
            if not chosen or len(greedy) < len(chosen):
                chosen = greedy
            how = (f"整数规划在时限内未证明最优:得到 {len(chosen)} 处,最少不低于 {bound:.0f} 处"
                   "(scipy.optimize.milp / HiGHS,与贪心结果取优)",
                   f"integer programme did not prove optimality in the time limit: {len(chosen)} sites, the "
                   f"minimum is at least {bound:.0f} (scipy.optimize.milp / HiGHS, best of it and greedy)")
    else:
        chosen = _solve_greedy(reach, goal)
        optimal, bound = None, 0.0
        harmonic = sum(1.0 / k for k in range(1, goal + 1))
        how = (f"贪心算法:站点数不超过最少站点数的 H({goal}) = {harmonic:.2f} 倍",
               f"greedy: at most H({goal}) = {harmonic:.2f} times the minimum number of sites")
    # Report sites in the order a greedy pass over the chosen ones would add them (most new units first).
    rows = []
    done = np.zeros(len(uncovered), dtype=bool)
    remaining = list(chosen)
    covered_after = result.covered
    while remaining:
        gains = [int((reach[:, j] & ~done).sum()) for j in remaining]
        best = max(range(len(remaining)), key=lambda k: (gains[k], -remaining[k]))
        j = remaining.pop(best)
        new = reach[:, j] & ~done
        done |= new
        covered_after += int(new.sum())
        rows.append({"code": sites["code"].iloc[j], "name": sites["name"].iloc[j], "kind": sites["kind"].iloc[j],
                     "new_units": ";".join(np.asarray(uncovered)[new]), "n_new": int(new.sum()),
                     "covered_after": covered_after,
                     "rate_after": 100.0 * covered_after / result.total if result.total else np.nan})
    frame = pd.DataFrame(rows, columns=SITE_COLUMNS[1:])
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    criterion = (f"新站点设在单元代表点,{result.radius_km:g} km 内的未覆盖单元计为覆盖",
                 f"new sites at unit representative points; uncovered units within {result.radius_km:g} km count")
    lower = float(len(frame)) if optimal else bound
    return _attrs(frame, needed=need, required=len(frame), target_rate=target_rate,
                  criterion=" / ".join(criterion), method=" / ".join(how), feasible=feasible,
                  optimal=optimal, lower_bound=lower)


def _solve_ilp(reach: np.ndarray, goal: int, weights: np.ndarray | None,
               time_limit: float = 20.0) -> tuple[list[int], bool, float]:
    """Fewest sites so that at least ``goal`` uncovered units are reached.

    Returns the chosen sites, whether optimality was proven, and the solver's lower bound on the
    number of sites (equal to the count when proven). With ``weights``, ties between minimum
    solutions are broken towards more people reached (a term worth less than one site in total).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_matrix, hstack, identity

    n_unc, n_sites = reach.shape
    tie = np.zeros(n_unc) if weights is None else weights / (weights.sum() + 1.0)
    c = np.concatenate([np.ones(n_sites), -tie])
    link = hstack([-csr_matrix(reach.astype(float)), identity(n_unc, format="csr")])  # y_i <= sum_j A_ij x_j
    count = csr_matrix(np.concatenate([np.zeros(n_sites), np.ones(n_unc)])[None, :])  # sum_i y_i >= goal
    res = milp(c, constraints=[LinearConstraint(link, -np.inf, 0.0), LinearConstraint(count, goal, np.inf)],
               integrality=np.ones(n_sites + n_unc), bounds=Bounds(0, 1), options={"time_limit": time_limit})
    if res.x is None:
        return [], False, 0.0
    chosen = [int(j) for j in np.flatnonzero(res.x[:n_sites] > 0.5)]
    bound = res.get("mip_dual_bound")  # an OptimizeResult is a dict; HiGHS leaves the bound out on some stops
    bound = float(len(chosen)) if res.status == 0 else float(np.ceil((bound or 0.0) - 1e-6))
    return chosen, res.status == 0, max(bound, 0.0)


def _solve_greedy(reach: np.ndarray, goal: int) -> list[int]:
    done = np.zeros(reach.shape[0], dtype=bool)
    chosen: list[int] = []
    while done.sum() < goal:
        gains = (reach & ~done[:, None]).sum(axis=0)
        j = int(np.argmax(gains))
        if gains[j] == 0:
            break
        chosen.append(j)
        done |= reach[:, j]
    return chosen


def gap_summary(frame: pd.DataFrame) -> str:
    """One line describing a :func:`close_gap` result, Chinese / English."""
    need = frame.attrs.get("needed", 0)
    required = frame.attrs.get("required", len(frame))
    if not need:
        return "已达标,无需新增 / target already met"
    return (f"还需覆盖 {need} 个单元,最少 {required} 处({frame.attrs.get('method', '')}) / "
            f"{need} more units to cover with at least {required} additions")


__all__ = ["close_gap", "gap_summary", "GAP_COLUMNS", "SITE_COLUMNS"]
