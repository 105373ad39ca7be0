"""Schematic township cells (示意边界): real codes and names, invented shapes inside a real county outline.

One cell per current township (code digits 7–9 below 400, NBS 2023), built deterministically:

1. points are sampled on a fixed grid inside the outline (about 4,000, jittered with a seed derived from
   the county code) in a locally isotropic frame (longitude scaled by cos(latitude));
2. k-means (Lloyd) relaxation moves n seeds to the centres of equal-ish shares of those points;
3. ``shapely.voronoi_polygons`` of the seeds is clipped to the outline, so cells have similar areas;
   detached slivers are merged into the neighbour they share most boundary with;
4. cells are ordered by distance from the county's urban centre (the outline's label point) and given to
   街道 first, then 镇, then 乡 (each kind in code order).

``data/build_cells.py`` writes the cells of the five plan regions with this construction;
``geo.boundaries`` builds any other county's on first use and caches them (:func:`cache_path`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

BOUNDARY = "示意边界/schematic"
N_SAMPLES = 4000
LLOYD_STEPS = 60
KIND_ORDER = {"street": 0, "town": 1, "township": 2}
# Part of the disk cache's key: change it whenever the construction above changes.
CONSTRUCTION = "voronoi-lloyd-1"


def sample_points(area: BaseGeometry, k: float, rng: np.random.Generator) -> np.ndarray:
    """About N_SAMPLES jittered grid points inside ``area`` (in the scaled frame x*k, y)."""
    xmin, ymin, xmax, ymax = area.bounds
    xmin, xmax = xmin * k, xmax * k
    step = np.sqrt(shapely.transform(area, lambda c: c * np.array([k, 1.0])).area / N_SAMPLES)
    xs = np.arange(xmin + step / 2, xmax, step)
    ys = np.arange(ymin + step / 2, ymax, step)
    gx, gy = np.meshgrid(xs, ys)
    pts: np.ndarray = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-0.3, 0.3, (gx.size, 2)) * step
    shapely.prepare(area)
    keep = np.asarray(shapely.contains_xy(area, pts[:, 0] / k, pts[:, 1]), dtype=bool)
    return np.asarray(pts[keep])


def lloyd(points: np.ndarray, n: int, centre: np.ndarray) -> np.ndarray:
    """k-means on ``points``: deterministic farthest-point start from the point nearest ``centre``."""
    first = int(np.argmin(((points - centre) ** 2).sum(axis=1)))
    picked = [points[first]]
    dist = ((points - points[first]) ** 2).sum(axis=1)
    for _ in range(1, n):
        nxt = int(np.argmax(dist))
        picked.append(points[nxt])
        dist = np.minimum(dist, ((points - points[nxt]) ** 2).sum(axis=1))
    seeds = np.array(picked)
    for _ in range(LLOYD_STEPS):
        # The nearest seed of each point by a k-d tree: the same answer as the full distance matrix's
        # argmin (exact Euclidean distances), in N log n rather than N·n.
        label = cKDTree(seeds).query(points)[1]
        counts = np.bincount(label, minlength=n)
        sums = np.stack([np.bincount(label, weights=points[:, j], minlength=n) for j in (0, 1)], axis=1)
        moved = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], seeds)
        if np.allclose(moved, seeds, atol=1e-12):
            break
        seeds = moved
    return seeds


def _merge_slivers(cells: list[BaseGeometry], seeds: list[shapely.Point]) -> list[BaseGeometry]:
    """Give every part of a multi-part cell that does not hold its seed to its longest-border neighbour."""
    cells = list(cells)
    for i in range(len(cells)):
        cell = cells[i]
        if not isinstance(cell, shapely.MultiPolygon):
            continue
        parts = list(cell.geoms)
        keep = max(range(len(parts)), key=lambda m: (parts[m].buffer(1e-9).contains(seeds[i]), parts[m].area))
        main: BaseGeometry = parts[keep]
        for m, part in enumerate(parts):
            if m == keep:
                continue
            shared = [(cells[j].intersection(part.boundary).length, j) for j in range(len(cells)) if j != i]
            length, j = max(shared)
            if length > 0:
                cells[j] = shapely.union(cells[j], part)
            else:
                main = shapely.union(main, part)
        cells[i] = main
    return [shapely.make_valid(c) for c in cells]


def make_cells(area: BaseGeometry, n: int, centre: tuple[float, float], seed: int) -> list[BaseGeometry]:
    """n cells covering ``area``, ordered by distance of their seed from ``centre``."""
    k = float(np.cos(np.radians(area.centroid.y)))
    rng = np.random.default_rng(seed)
    if n == 1:
        return [area]
    pts = sample_points(area, k, rng)
    seeds = lloyd(pts, n, np.array([centre[0] * k, centre[1]]))
    box = shapely.box(*area.bounds).buffer(0.5)
    box_scaled = shapely.transform(box, lambda c: c * np.array([k, 1.0]))
    vor = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=box_scaled, ordered=True)
    regions = [shapely.transform(g, lambda c: c / np.array([k, 1.0])) for g in vor.geoms]
    seed_pts = [shapely.Point(x / k, y) for x, y in seeds]
    clipped = [shapely.make_valid(area.intersection(r)) for r in regions]
    # A collection's parts, else the geometry itself (getattr: only collections have ``geoms``).
    polygonal = [shapely.unary_union([g for g in getattr(c, "geoms", [c]) if g.geom_type in ("Polygon", "MultiPolygon")])
                 for c in clipped]
    cells = _merge_slivers(polygonal, seed_pts)
    order = np.argsort([np.hypot((p.x - centre[0]) * k, p.y - centre[1]) for p in seed_pts], kind="stable")
    return [cells[i] for i in order]


def urban_centre(area: BaseGeometry, label: tuple[float, float] | None) -> tuple[float, float]:
    """The outline's label point, moved onto the outline when it lies outside (or a point inside it)."""
    if label is None:
        p = area.representative_point()
        return (p.x, p.y)
    if area.contains(shapely.Point(label)):
        return label
    p = nearest_points(area, shapely.Point(label))[0]
    return (p.x, p.y)


def build_county(code: str, area: BaseGeometry, centre: tuple[float, float], towns: pd.DataFrame) -> list[dict[str, Any]]:
    """GeoJSON features of a county's cells: one per row of ``towns`` (code, name, kind).

    Raises
    ------
    ValueError
        When a cell comes out empty or not polygonal (an outline too small for its townships).
    """
    if towns.empty:
        return []
    towns = towns.assign(_order=towns["kind"].map(KIND_ORDER)).sort_values(["_order", "code"])
    cells = make_cells(area, len(towns), centre, seed=int(code))
    # One snapping pass over the whole coverage keeps shared edges shared after rounding.
    rounded = shapely.set_precision(np.array(cells, dtype=object), 1e-6)
    feats = []
    for (_, t), cell in zip(towns.iterrows(), rounded, strict=True):
        cell = shapely.make_valid(cell)
        if cell.is_empty or cell.geom_type not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"{t['code']}: empty or degenerate cell")
        feats.append({"type": "Feature", "properties": {
            "code": t["code"], "name": t["name"], "county_code": code, "kind": t["kind"],
            "schematic": True, "boundary": BOUNDARY}, "geometry": json.loads(shapely.to_geojson(cell))})
    return feats


def collection_text(code: str, feats: list[dict[str, Any]]) -> str:
    """The cells file's text (the shipped ``data/cells/<code>.geojson`` and the cache use the same)."""
    return json.dumps({"type": "FeatureCollection", "name": f"{code}_cells_schematic", "boundary": BOUNDARY,
                       "features": feats}, ensure_ascii=False, separators=(",", ":")) + "\n"


# -- disk cache ----------------------------------------------------------------------------------------
def cache_root() -> Path:
    """$TOWNCOVER_CACHE, else $XDG_CACHE_HOME/towncover, else ~/.cache/towncover (read when used)."""
    given = os.environ.get("TOWNCOVER_CACHE")
    if given:
        return Path(given)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "towncover"


def cache_path(code: str, outlines: Path) -> Path:
    """Where a county's built cells are kept: keyed by the outlines file's content and the construction."""
    return cache_root() / "cells" / _digest(str(outlines)) / f"{code}.geojson"


@lru_cache(maxsize=4)
def _digest(outlines: str) -> str:
    return hashlib.sha256(Path(outlines).read_bytes() + CONSTRUCTION.encode()).hexdigest()[:16]


def write_atomic(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` through a temporary file in the same folder; False when not writable.

    Readers never see a half-written file: the temporary file is renamed over the target in one step,
    so two processes building the same county both leave a whole file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        return False
    return True
