"""Build schematic township cells (示意边界) inside the real county outlines.

Run ``python data/build_cells.py`` after ``data/build_outlines.py``. For every county-level unit with an
outline in ``data/outlines`` it writes ``data/cells/<county_code>.geojson``: one cell per current township
(code digits 7–9 < 400, NBS 2023) carrying the real code and name. The cells are **not** real boundaries.
The construction is ``geo.cells`` (the app builds any other county's cells the same way on first use).

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

from geo.cells import build_county, collection_text  # noqa: E402, F401 - build_county: tests rebuild a county
from geo.gazetteer import load_gazetteer  # noqa: E402

OUTLINES = ROOT / "data" / "outlines"
OUT = ROOT / "data" / "cells"
ENCLAVE, ENCLAVE_HOST = "431271", "431281"


def read_outline(code: str) -> tuple[shapely.Geometry, dict]:
    data = json.loads((OUTLINES / f"{code}.geojson").read_text(encoding="utf-8"))
    feat = data["features"][0]
    return shapely.from_geojson(json.dumps(feat["geometry"])), feat["properties"]


def _round(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.make_valid(shapely.set_precision(geom, 1e-6))


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
        (OUT / f"{code}.geojson").write_text(collection_text(code, feats), encoding="utf-8")
        print(f"{code} {gaz.name_of(code)}: {len(feats)} cells, {msg}")


if __name__ == "__main__":
    main()
