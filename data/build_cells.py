"""Build schematic township cells (示意边界) inside the real county outlines.

Run ``python data/build_cells.py`` after ``data/build_outlines.py``. For every county-level unit with an
outline in ``data/outlines`` it writes ``data/cells/<county_code>.geojson``: one cell per current township
(code digits 7–9 < 400, NBS 2023) carrying the real code and name. The cells are **not** real boundaries:

1. points are sampled on a fixed grid inside the outline (about 4,000, jittered with a seed derived from
   the county code) in a locally isotropic frame (longitude scaled by cos(latitude));
2. k-means (Lloyd) relaxation moves n seeds to the centres of equal-ish shares of those points;
3. ``shapely.voronoi_polygons`` of the seeds is clipped to the outline, so cells have similar areas;
   detached slivers are merged into the neighbour they share most boundary with;
4. cells are ordered by distance from the county's urban centre (the outline's label point) and given to
   街道 first, then 镇, then 乡 (each kind in code order).

洪江管理区 431271 lies inside 洪江市 431281 (see data/outlines/SOURCE.md): 431281's townships fill its
outline minus the carved part ``431271.geojson``, 431271's fill that part.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import shapely
from shapely.ops import nearest_points

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.gazetteer import load_gazetteer  # noqa: E402

OUTLINES = ROOT / "data" / "outlines"
OUT = ROOT / "data" / "cells"
BOUNDARY = "示意边界/schematic"
N_SAMPLES = 4000
LLOYD_STEPS = 60
KIND_ORDER = {"street": 0, "town": 1, "township": 2}
ENCLAVE, ENCLAVE_HOST = "431271", "431281"


def read_outline(code: str) -> tuple[shapely.Geometry, dict]:
    data = json.loads((OUTLINES / f"{code}.geojson").read_text(encoding="utf-8"))
    feat = data["features"][0]
    return shapely.from_geojson(json.dumps(feat["geometry"])), feat["properties"]


def sample_points(area: shapely.Geometry, k: float, rng: np.random.Generator) -> np.ndarray:
    """About N_SAMPLES jittered grid points inside ``area`` (in the scaled frame x*k, y)."""
    xmin, ymin, xmax, ymax = area.bounds
    xmin, xmax = xmin * k, xmax * k
    step = np.sqrt(shapely.transform(area, lambda c: c * np.array([k, 1.0])).area / N_SAMPLES)
    xs = np.arange(xmin + step / 2, xmax, step)
    ys = np.arange(ymin + step / 2, ymax, step)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-0.3, 0.3, (gx.size, 2)) * step
    shapely.prepare(area)
    keep = shapely.contains_xy(area, pts[:, 0] / k, pts[:, 1])
    return pts[keep]


def lloyd(points: np.ndarray, n: int, centre: np.ndarray) -> np.ndarray:
    """k-means on ``points``: deterministic farthest-point start from the point nearest ``centre``."""
    first = int(np.argmin(((points - centre) ** 2).sum(axis=1)))
    seeds = [points[first]]
    dist = ((points - points[first]) ** 2).sum(axis=1)
    for _ in range(1, n):
        nxt = int(np.argmax(dist))
        seeds.append(points[nxt])
        dist = np.minimum(dist, ((points - points[nxt]) ** 2).sum(axis=1))
    seeds = np.array(seeds)
    for _ in range(LLOYD_STEPS):
        d = ((points[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
        label = d.argmin(axis=1)
        counts = np.bincount(label, minlength=n)
        sums = np.stack([np.bincount(label, weights=points[:, j], minlength=n) for j in (0, 1)], axis=1)
        moved = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], seeds)
        if np.allclose(moved, seeds, atol=1e-12):
            break
        seeds = moved
    return seeds


def _merge_slivers(cells: list[shapely.Geometry], seeds: list[shapely.Point]) -> list[shapely.Geometry]:
    """Give every part of a multi-part cell that does not hold its seed to its longest-border neighbour."""
    cells = list(cells)
    for i in range(len(cells)):
        if cells[i].geom_type != "MultiPolygon":
            continue
        parts = list(cells[i].geoms)
        keep = max(range(len(parts)), key=lambda m: (parts[m].buffer(1e-9).contains(seeds[i]), parts[m].area))
        main = parts[keep]
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


def make_cells(area: shapely.Geometry, n: int, centre: tuple[float, float], seed: int) -> list[shapely.Geometry]:
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
    cells = [shapely.make_valid(area.intersection(r)) for r in regions]
    cells = [shapely.unary_union([g for g in getattr(c, "geoms", [c]) if g.geom_type in ("Polygon", "MultiPolygon")])
             for c in cells]
    cells = _merge_slivers(cells, seed_pts)
    order = np.argsort([np.hypot((p.x - centre[0]) * k, p.y - centre[1]) for p in seed_pts], kind="stable")
    return [cells[i] for i in order]


def _round(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.make_valid(shapely.set_precision(geom, 1e-6))


def build_county(code: str, area: shapely.Geometry, centre: tuple[float, float], towns) -> list[dict]:  # noqa: ANN001
    towns = towns.assign(_order=towns["kind"].map(KIND_ORDER)).sort_values(["_order", "code"])
    cells = make_cells(area, len(towns), centre, seed=int(code))
    # One snapping pass over the whole coverage keeps shared edges shared after rounding.
    rounded = shapely.set_precision(np.array(cells, dtype=object), 1e-6)
    feats = []
    for (_, t), cell in zip(towns.iterrows(), rounded, strict=True):
        cell = shapely.make_valid(cell)
        if cell.is_empty or cell.geom_type not in ("Polygon", "MultiPolygon"):
            raise SystemExit(f"{t['code']}: empty or degenerate cell")
        feats.append({"type": "Feature", "properties": {
            "code": t["code"], "name": t["name"], "county_code": code, "kind": t["kind"],
            "schematic": True, "boundary": BOUNDARY}, "geometry": json.loads(shapely.to_geojson(cell))})
    return feats


def check(feats: list[dict], outline: shapely.Geometry) -> str:
    geoms = np.array([shapely.from_geojson(json.dumps(f["geometry"])) for f in feats], dtype=object)
    assert shapely.is_valid(geoms).all()
    union = shapely.union_all(geoms)
    gap = shapely.symmetric_difference(union, outline).area / outline.area
    overlap = (shapely.area(geoms).sum() - union.area) / outline.area
    areas = shapely.area(geoms)
    # Rounding to 6 decimals moves vertices by < 0.1 m, so gaps along the outline stay below ~1e-5.
    hausdorff = shapely.hausdorff_distance(union, outline)
    if gap > 1e-5 or overlap > 1e-9 or hausdorff > 2e-6:
        raise SystemExit(f"cells do not tile the outline: gap {gap:.2e}, overlap {overlap:.2e}")
    return (f"gap {gap:.1e}, overlap {overlap:.1e}, Hausdorff {hausdorff:.1e}°, "
            f"area max/min {areas.max() / areas.min():.2f}")


def main() -> None:
    gaz = load_gazetteer()
    OUT.mkdir(parents=True, exist_ok=True)
    enclave, _ = read_outline(ENCLAVE)
    for path in sorted(OUTLINES.glob("[0-9]*.geojson")):
        code = path.stem
        outline, props = read_outline(code)
        towns = gaz.townships_in(code, include_special=False)
        if code == ENCLAVE:
            centre = outline.representative_point()
            feats = build_county(code, outline, (centre.x, centre.y), towns)
            target = outline
        else:
            area = _round(outline.difference(enclave)) if code == ENCLAVE_HOST else outline
            centre = (props["label_lon"], props["label_lat"])
            if not area.contains(shapely.Point(centre)):
                p = nearest_points(area, shapely.Point(centre))[0]
                centre = (p.x, p.y)
            feats = build_county(code, area, centre, towns)
            target = area
        msg = check(feats, target)
        text = json.dumps({"type": "FeatureCollection", "name": f"{code}_cells_schematic",
                           "boundary": BOUNDARY, "features": feats}, ensure_ascii=False, separators=(",", ":"))
        (OUT / f"{code}.geojson").write_text(text + "\n", encoding="utf-8")
        print(f"{code} {gaz.name_of(code)}: {len(feats)} cells, {msg}")


if __name__ == "__main__":
    main()
