"""The committed schematic township cells (data/cells) and outlines (data/outlines)."""

from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
import pytest
import shapely

from geo.gazetteer import load_gazetteer
from towncover import settings

CELL_FILES = sorted(settings.CELLS_DIR.glob("[0-9]*.geojson"))
COUNTIES = [p.stem for p in CELL_FILES]


def _load(path) -> tuple[list[dict], np.ndarray]:
    data = json.loads(path.read_text(encoding="utf-8"))
    props = [f["properties"] for f in data["features"]]
    geoms = np.array([shapely.from_geojson(json.dumps(f["geometry"])) for f in data["features"]], dtype=object)
    return props, geoms


def _outline(code: str) -> shapely.Geometry:
    data = json.loads((settings.OUTLINES_DIR / f"{code}.geojson").read_text(encoding="utf-8"))
    return shapely.from_geojson(json.dumps(data["features"][0]["geometry"]))


def test_one_file_per_county_level_unit():
    gaz = load_gazetteer()
    expected = sorted(c for r in ("3609", "4312", "512021", "321202", "532301") for c in gaz.counties_in(r)["code"])
    assert COUNTIES == expected
    assert len(COUNTIES) == 26  # 10 + 13 (incl. 431271) + 1 + 1 + 1
    assert sorted(p.stem for p in settings.OUTLINES_DIR.glob("[0-9]*.geojson")) == expected


@pytest.mark.parametrize("path", CELL_FILES, ids=COUNTIES)
def test_cells_match_gazetteer_and_tile(path):
    code = path.stem
    props, geoms = _load(path)
    towns = load_gazetteer().townships_in(code, include_special=False)
    assert sorted(p["code"] for p in props) == sorted(towns["code"])
    by_code = towns.set_index("code")
    for p in props:
        assert p["name"] == by_code.loc[p["code"], "name"]
        assert p["kind"] == by_code.loc[p["code"], "kind"]
        assert p["county_code"] == code and p["schematic"] is True and p["boundary"] == "示意边界/schematic"
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    assert set(shapely.get_type_id(geoms)) <= {3, 6}
    union = shapely.union_all(geoms)
    area = shapely.area(geoms)
    assert area.sum() - union.area < 1e-9 * union.area  # no overlaps
    outline = _outline(code)
    if code == "431281":  # 洪江市's townships fill its outline minus the carved 洪江管理区
        outline = shapely.set_precision(outline.difference(_outline("431271")), 1e-6)
    assert shapely.symmetric_difference(union, outline).area < 1e-5 * outline.area
    assert shapely.hausdorff_distance(union, outline) < 2e-6
    assert area.max() / area.min() < 3.5  # similar sizes


def test_hongjiang_enclave_and_host_cover_host_outline():
    _, host = _load(settings.CELLS_DIR / "431281.geojson")
    _, enclave = _load(settings.CELLS_DIR / "431271.geojson")
    union = shapely.union_all(np.concatenate([host, enclave]))
    outline = _outline("431281")
    assert shapely.symmetric_difference(union, outline).area < 1e-5 * outline.area
    # the two meet along the carved arc; rounding cell vertices there to 1e-6° leaves slivers (~30 m²)
    assert shapely.union_all(host).intersection(shapely.union_all(enclave)).area < 1e-7 * outline.area
    meta = json.loads((settings.OUTLINES_DIR / "431271.geojson").read_text(encoding="utf-8"))
    props = meta["features"][0]["properties"]
    assert props["schematic"] is True and props["carved_from"] == "431281"


def test_streets_nearest_the_centre():
    for code in ("512021", "360902", "431202", "321202"):
        props, geoms = _load(settings.CELLS_DIR / f"{code}.geojson")
        label = json.loads((settings.OUTLINES_DIR / f"{code}.geojson").read_text(encoding="utf-8"))
        p = label["features"][0]["properties"]
        centre = shapely.Point(p["label_lon"], p["label_lat"])
        dist = {k: [] for k in ("street", "town", "township")}
        for prop, geom in zip(props, geoms, strict=True):
            dist[prop["kind"]].append(geom.distance(centre))
        rank = [np.mean(d) for d in dist.values() if d]
        assert rank == sorted(rank), code
        assert min(dist["street"]) == 0.0  # a street cell holds the urban centre


def test_coordinates_rounded_and_size_modest():
    total = 0
    for path in CELL_FILES + sorted(settings.OUTLINES_DIR.glob("*.geojson")):
        text = path.read_text(encoding="utf-8")
        total += len(text.encode())
        assert not re.search(r"\d\.\d{7,}", text.split('"features"')[1]), path.name
    assert total < 2_000_000


def test_build_is_deterministic():
    spec = importlib.util.spec_from_file_location("build_cells", settings.ROOT / "data" / "build_cells.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    outline, props = build.read_outline("321202")
    towns = load_gazetteer().townships_in("321202", include_special=False)
    feats = build.build_county("321202", outline, (props["label_lon"], props["label_lat"]), towns)
    committed = json.loads((settings.CELLS_DIR / "321202.geojson").read_text(encoding="utf-8"))["features"]
    assert json.dumps(feats, ensure_ascii=False) == json.dumps(committed, ensure_ascii=False)


def test_national_outlines_file():
    from geo import boundaries

    path = settings.OUTLINES_DIR / "counties.npz"
    assert path.stat().st_size < 2_000_000
    frame = boundaries._national()
    gaz = load_gazetteer()
    assert len(frame) == 2849 and frame["code"].is_unique and set(frame["code"]) <= set(gaz.counties["code"])
    geoms = frame.geometry.to_numpy()
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    jiangxi = geoms[frame["code"].str.startswith("36").to_numpy()]
    assert shapely.coverage_is_valid(jiangxi)  # simplified with shared edges kept: no gaps or overlaps
    assert not re.search(r"\.\d{5,}", shapely.to_wkt(geoms[0], rounding_precision=-1))  # 1e-4° grid
    # the label point (the edition's) lies inside each outline
    inside = shapely.contains_xy(geoms, frame["label_lon"].to_numpy(), frame["label_lat"].to_numpy())
    assert inside.mean() > 0.99
