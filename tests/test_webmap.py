"""geo.webmap.coverage_map: colours, escaping, compact clustered markers, radius circles, legend, simplification."""

from __future__ import annotations

import json
import re

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, Polygon

from geo.mapelements import FacilityLayer as _FacilityCluster
from geo.mapelements import FacilityTables as _FacilityTables
from geo.mapelements import FitView
from geo.mapelements import RadiusCircles as _Circles
from geo.mapelements import script_json as _script_json
from geo.webmap import (
    COVERED_COLOUR,
    NEUTRAL_COLOUR,
    SCHEMATIC_LABEL,
    UNCOVERED_COLOUR,
    _simplify_units,
    coverage_map,
    escape_text,
)
from towncover.errors import TowncoverError
from towncover.vocabulary import CATEGORY_COLOURS, UNCLASSIFIED_COLOUR, category_colour

SCRIPT = "<script>alert(1)</script>"


def _walk(element):
    for child in element._children.values():
        yield child
        yield from _walk(child)


def _of(m: folium.Map, kind: type) -> list:
    return [e for e in _walk(m) if type(e) is kind]


@pytest.fixture()
def units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": ["512021100", "512021101", "512021102"],
            "name": ["岳阳镇", SCRIPT, "石羊镇"],
            "covered": [True, False, True],
            "n_facilities": [2, 0, 5],
            "kind": ["town", "town", "town"],
        },
        geometry=[
            Polygon([(105.3, 30.0), (105.4, 30.0), (105.4, 30.1), (105.3, 30.1)]),
            Polygon([(105.4, 30.0), (105.5, 30.0), (105.5, 30.1), (105.4, 30.1)]),
            Polygon([(105.5, 30.0), (105.6, 30.0), (105.6, 30.1), (105.5, 30.123456789)]),
        ],
        crs=4326,
    )


@pytest.fixture()
def facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["岳阳镇敬老院", "安岳县殡仪馆", "石羊镇敬老院`${alert(2)}`", "未定位的站点"],
            "category": ["nursing_home", "funeral_home", "nursing_home", "nursing_home"],
            "category_label": ["养老机构", "殡仪馆", "养老机构", "养老机构"],
            "address": ["外南街12号 & 附1号", "<b>石桥</b>", "石羊镇", ""],
            "match_status": ["matched", "ambiguous", "matched", "unmatched"],
            "township_name": ["岳阳镇", "", "石羊镇", ""],
        },
        geometry=[Point(105.35, 30.05), Point(105.45, 30.05), Point(105.55, 30.05), None],
        crs=4326,
    )


def test_escape_text():
    assert escape_text(SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape_text("a`${b}`\\c\"'&") == "a&#96;&#36;&#123;b&#125;&#96;&#92;c&quot;&#x27;&amp;"
    assert escape_text(None) == "" and escape_text(float("nan")) == "" and escape_text(3) == "3"


def test_covered_choropleth_properties_and_rounding(units):
    m = coverage_map(units, None, schematic=False, title="安岳县")
    (layer,) = _of(m, folium.GeoJson)
    feats = layer.data["features"]
    assert [f["properties"] for f in feats] == [
        {"name": "岳阳镇", "code": "512021100", "status": "已覆盖", "n": "2", "f": COVERED_COLOUR},
        {"name": "&lt;script&gt;alert(1)&lt;/script&gt;", "code": "512021101", "status": "未覆盖", "n": "0",
         "f": UNCOVERED_COLOUR},
        {"name": "石羊镇", "code": "512021102", "status": "已覆盖", "n": "5", "f": COVERED_COLOUR},
    ]  # fmt: skip
    coords = np.array(feats[2]["geometry"]["coordinates"][0])
    assert [105.5, 30.12346] in coords.tolist()  # rounded to 5 decimals
    assert np.array_equal(coords, np.round(coords, 5))
    html = m.get_root().render()
    assert SCRIPT not in html
    assert "示意" not in html
    assert "已覆盖" in html and "未覆盖" in html


def test_count_ramp_and_english(units):
    m = coverage_map(units, None, value_column="n_facilities", schematic=True, title="Anyue", lang="en")
    (layer,) = _of(m, folium.GeoJson)
    fills = [f["properties"]["f"] for f in layer.data["features"]]
    assert fills[1] == UNCOVERED_COLOUR  # zero facilities
    assert fills[0] not in (COVERED_COLOUR, UNCOVERED_COLOUR, NEUTRAL_COLOUR)
    assert fills[0] != fills[2]  # 2 and 5 facilities differ on the ramp
    assert [f["properties"]["status"] for f in layer.data["features"]] == [
        "covered",
        "not covered",
        "covered",
    ]
    html = m.get_root().render()
    assert "Facility count" in html and "1 – 5" in html
    assert html.count(SCHEMATIC_LABEL) == 2  # title bar and legend


def test_missing_value_column_is_grey(units):
    m = coverage_map(
        units.drop(columns=["covered"]), None, value_column="covered", schematic=False, title="t"
    )
    (layer,) = _of(m, folium.GeoJson)
    assert {f["properties"]["f"] for f in layer.data["features"]} == {NEUTRAL_COLOUR}
    assert {f["properties"]["status"] for f in layer.data["features"]} == {"未知"}


def _page_json(html: str, element) -> dict:
    """The JSON object a facility element wrote into the page (found by its variable name)."""
    name = element.get_name()
    if isinstance(element, _FacilityTables):
        match = re.search(rf"var {name} = (\{{.*?\}});\n", html)
    else:
        match = re.search(rf"var {name} = \(function \(\) {{\s*var t = \w+, d = (\{{.*?\}});\n", html)
    assert match, name
    return json.loads(match.group(1))


def test_facilities_grouped_clustered_escaped(units, facilities):
    m = coverage_map(
        units,
        facilities,
        schematic=True,
        title="安岳县 <i>养老</i>",
        categories={"funeral_home": {"label": "殡葬设施", "color": "#123456"}, "nursing_home": "养老机构"},
        radius_km=2.5,
    )
    groups = [g.layer_name for g in _of(m, folium.FeatureGroup)]
    assert groups == [  # colours fixed per category, whatever the caller says
        '<span style="color:#000000">●</span> 殡葬设施',
        '<span style="color:#006d2c">●</span> 养老机构',
    ]
    (tables,) = _of(m, _FacilityTables)
    assert tables.fields == {"category": "类别", "address": "地址", "township": "所在乡镇", "match": "匹配",
                             "approx": "仅知所在乡镇：图上位置为近似"}
    assert tables.towns == ["岳阳镇", "", "石羊镇"]
    assert tables.statuses == ["已匹配", "有歧义"]
    clusters = _of(m, _FacilityCluster)
    assert [(c.colour, c.label, c.tables is tables) for c in clusters] == [
        ("#000000", "殡葬设施", True),
        ("#006d2c", "养老机构", True),
    ]
    assert [type(c._parent) for c in clusters] == [folium.FeatureGroup, folium.FeatureGroup]
    funeral, elderly = (c.data for c in clusters)  # the row without a point is not drawn
    assert funeral == {
        "xy": [30.05, 105.45],
        "name": ["安岳县殡仪馆"],
        "address": ["&lt;b&gt;石桥&lt;/b&gt;"],
        "town": [1],
        "status": [1],
        "approx": [0],
    }
    assert elderly == {
        "xy": [30.05, 105.35, 30.05, 105.55],
        "name": ["岳阳镇敬老院", "石羊镇敬老院&#96;&#36;&#123;alert(2)&#125;&#96;"],
        "address": ["外南街12号 &amp; 附1号", "石羊镇"],
        "town": [0, 2],
        "status": [0, 0],
        "approx": [0, 0],
    }
    funeral_circles, elderly_circles = _of(m, _Circles)  # in each category's layer
    assert funeral_circles.radius == elderly_circles.radius == 2500.0
    assert funeral_circles.rows == [[30.05, 105.45, "#000000"]]
    assert elderly_circles.rows == [[30.05, 105.35, "#006d2c"], [30.05, 105.55, "#006d2c"]]
    html = m.get_root().render()
    # What the page holds is exactly that data: UTF-8 text as is, HTML-escaped, and < > & ' never literal.
    assert _page_json(html, tables) == {"field": tables.fields, "town": tables.towns, "status": tables.statuses}
    assert _page_json(html, clusters[0]) == {"colour": "#000000", "label": "殡葬设施", "cluster": False, **funeral}
    assert _page_json(html, clusters[1]) == {"colour": "#006d2c", "label": "养老机构", "cluster": False, **elderly}
    assert '"address":["\\u0026lt;b\\u0026gt;石桥\\u0026lt;/b\\u0026gt;"]' in html
    assert "<b>石桥</b>" not in html and "\\u003cb\\u003e石桥" not in html and "&lt;b&gt;石桥" not in html
    assert "${alert(2)}" not in html
    assert "安岳县 &lt;i&gt;养老&lt;/i&gt;" in html
    assert "殡葬设施 (1)" in html and "养老机构 (2)" in html
    assert html.count(SCHEMATIC_LABEL) == 2
    # Leaflet.markercluster from the vendored copy, never a CDN
    assert "/app/static/vendor/leaflet.markercluster-1.1.0/leaflet.markercluster.js" in html
    assert "cdn.jsdelivr" not in html


def test_marker_count_per_category_equals_placed_facilities():
    rng = np.random.default_rng(5)
    n = 240
    cats = np.array(["nursing_home", "funeral_home", "elderly_day_care", None], dtype=object)[rng.integers(0, 4, n)]
    lng = 104.0 + rng.random(n)
    lat = 29.0 + rng.random(n)
    geometry = [None if i % 7 == 0 else Point(x, y) for i, (x, y) in enumerate(zip(lng, lat, strict=True))]
    frame = gpd.GeoDataFrame(
        {
            "name": [f"设施{i}<x>" for i in range(n)],
            "category": cats,
            "address": [f"路{i}号" for i in range(n)],
            "match_status": np.where(np.arange(n) % 3 == 0, "ambiguous", "matched"),
            "township_name": [f"镇{i % 5}" for i in range(n)],
        },
        geometry=geometry,
        crs=4326,
    )
    no_units = gpd.GeoDataFrame({"code": [], "name": []}, geometry=gpd.GeoSeries([], crs=4326))
    m = coverage_map(no_units, frame, schematic=False, title="t")
    placed = frame[frame.geometry.notna()]
    expected = placed["category"].fillna("unclassified").value_counts().to_dict()
    clusters = _of(m, _FacilityCluster)
    assert len(clusters) == 4
    for c in clusters:
        assert len(c.data["xy"]) == 2 * len(c.data["name"])
        assert len(c.data["address"]) == len(c.data["town"]) == len(c.data["status"]) == len(c.data["name"])
        assert c.data["approx"] == [0] * len(c.data["name"])  # no position column: every point is its own
    assert sum(len(c.data["name"]) for c in clusters) == len(placed) == 205
    by_label = {c.label: len(c.data["name"]) for c in clusters}
    assert by_label == {
        "nursing_home": expected["nursing_home"],
        "funeral_home": expected["funeral_home"],
        "elderly_day_care": expected["elderly_day_care"],
        "unclassified": expected["unclassified"],
    }
    # every placed facility is in its category's table, in input order, its name escaped
    for c in clusters:
        rows = placed[placed["category"].fillna("unclassified") == c.label]
        assert c.data["name"] == [name.replace("<x>", "&lt;x&gt;") for name in rows["name"]]
        assert c.data["address"] == rows["address"].tolist()
        (tables,) = _of(m, _FacilityTables)
        assert [tables.towns[i] for i in c.data["town"]] == rows["township_name"].tolist()
        want = rows["match_status"].map({"ambiguous": "有歧义", "matched": "已匹配"}).tolist()
        assert [tables.statuses[i] for i in c.data["status"]] == want
        xy = np.round(np.column_stack([rows.geometry.y, rows.geometry.x]), 6).ravel().tolist()
        assert c.data["xy"] == xy
    html = m.get_root().render()
    assert "<x>" not in html
    for label, count in by_label.items():
        assert f"{label} ({count})" in html  # legend count = markers drawn


def test_marker_coordinates_rounded_to_six_decimals(facilities):
    pts = facilities.iloc[:1].copy()
    pts.loc[pts.index[0], "geometry"] = Point(105.123456789, 30.987654321)
    m = coverage_map(pts.iloc[:0], pts, schematic=False, title="t")
    (cluster,) = _of(m, _FacilityCluster)
    assert cluster.data["xy"] == [30.987654, 105.123457]


def test_script_json_cannot_leave_the_script():
    text = "</script><!--<script>alert(1)</script>&amp;'\u2028\u2029\"中文"
    out = _script_json({"a": [text]})
    assert not set("<>&'\u2028\u2029") & set(out)
    assert "中文" in out  # UTF-8 text kept as is: a third the size of \\uXXXX
    assert json.loads(out) == {"a": [text]}


def test_category_colours_are_fixed(facilities):
    m = coverage_map(
        gpd.GeoDataFrame({"code": [], "name": []}, geometry=gpd.GeoSeries([], crs=4326)),
        facilities,
        schematic=False,
        title="t",
        categories={"nursing_home": {"label": "养老", "color": "red;background:url(x)"}},
    )
    (elderly, funeral) = _of(m, _FacilityCluster)
    assert "url(x)" not in m.get_root().render()
    assert (elderly.colour, funeral.colour) == (CATEGORY_COLOURS["nursing_home"], CATEGORY_COLOURS["funeral_home"])
    assert len(set(CATEGORY_COLOURS.values())) == len(CATEGORY_COLOURS)
    assert category_colour("a_plan_category") == UNCLASSIFIED_COLOUR
    (fit,) = _of(m, FitView)  # no units: zoom to the facilities
    assert fit.bounds == [[30.05, 105.35], [30.05, 105.55]]


def test_bounds_and_osm_tiles(units):
    m = coverage_map(units, None, schematic=False, title="t", basemap="osm")
    (fit,) = _of(m, FitView)
    assert fit.bounds == [[30.0, 105.3], [30.12346, 105.6]] and fit._parent is m
    html = m.get_root().render()
    assert f"}})({m.get_name()}, [[30.0, 105.3], [30.12346, 105.6]]);" in html
    (tiles,) = _of(m, folium.TileLayer)
    assert "openstreetmap" in tiles.tiles
    assert _of(coverage_map(units, None, schematic=False, title="t", basemap="none"), folium.TileLayer) == []


def test_amap_shifts_to_gcj02(units, facilities):
    crs = pytest.importorskip("geo.crs")
    m = coverage_map(units, facilities, schematic=False, title="t", basemap="amap")
    (tiles,) = _of(m, folium.TileLayer)
    assert tiles.tiles.startswith("https://webrd0{s}.is.autonavi.com/")
    assert "高德" in tiles.options.get("attribution", "") or "高德" in m.get_root().render()
    (layer,) = _of(m, folium.GeoJson)
    ring = {tuple(xy) for xy in layer.data["features"][0]["geometry"]["coordinates"][0]}
    lng, lat = crs.wgs84_to_gcj02(np.array([105.3, 105.4, 105.4, 105.3]), np.array([30.0, 30.0, 30.1, 30.1]))
    assert ring == set(zip(np.round(lng, 5).tolist(), np.round(lat, 5).tolist(), strict=True))
    assert not ring & {(105.3, 30.0), (105.4, 30.0)}  # shifted, by some 300-600 m here
    elderly = _of(m, _FacilityCluster)[1]  # categories in id order: funeral_home, nursing_home
    lng, lat = crs.wgs84_to_gcj02(np.array([105.35, 105.55]), np.array([30.05, 30.05]))
    assert elderly.data["xy"] == np.round(np.column_stack([lat, lng]), 6).ravel().tolist()
    with pytest.raises(TowncoverError):
        coverage_map(units, None, schematic=False, title="t", basemap="baidu")


def test_simplify_keeps_shared_edges():
    # two cells sharing a 400-vertex border with jitter finer than the display tolerance (1/1500)
    t = np.linspace(0.0, 1.0, 400)
    jitter = np.random.default_rng(7).uniform(-5e-5, 5e-5, t.size)
    border = np.column_stack([0.5 + jitter, t])
    left = Polygon([(0, 0), *border.tolist(), (0, 1)])
    right = Polygon([(1, 0), (1, 1), *border[::-1].tolist()])
    geoms = np.array([left, right], dtype=object)
    out = _simplify_units(geoms)
    assert shapely.get_num_coordinates(out).sum() < shapely.get_num_coordinates(geoms).sum() / 4
    assert shapely.intersection(out[0], out[1]).area == pytest.approx(0.0, abs=1e-12)  # no overlap
    assert shapely.union(out[0], out[1]).area == pytest.approx(1.0, abs=1e-9)  # no gap
    shared = shapely.intersection(shapely.boundary(out[0]), shapely.boundary(out[1]))
    assert shared.length >= 1.0  # the whole border is still one shared line


def test_simplify_overlapping_user_polygons_each_on_its_own():
    # overlapping polygons are not a coverage: each is simplified alone and stays valid
    t = np.linspace(0.0, 1.0, 200)
    wiggle = np.random.default_rng(3).uniform(-5e-5, 5e-5, t.size)
    a = Polygon([(0, 0), *np.column_stack([0.6 + wiggle, t]).tolist(), (0, 1)])
    b = Polygon([(0.4, 0), (1, 0), (1, 1), (0.4, 1)])
    out = _simplify_units(np.array([a, b, None], dtype=object))
    assert out[2] is None
    assert shapely.is_valid(out[:2]).all()
    assert shapely.get_num_coordinates(out[0]) < 20
    assert shapely.intersection(out[0], out[1]).area == pytest.approx(0.2, abs=1e-3)


def test_unknown_counts_and_missing_geometries(units, facilities):
    frame = units.assign(n_facilities=[np.nan, np.nan, np.nan])
    frame.loc[2, "geometry"] = None
    m = coverage_map(frame, facilities.iloc[3:], value_column="n_facilities", schematic=False, title="t")
    (layer,) = _of(m, folium.GeoJson)
    assert [f["properties"]["code"] for f in layer.data["features"]] == ["512021100", "512021101"]
    assert [f["properties"]["f"] for f in layer.data["features"]] == [NEUTRAL_COLOUR, NEUTRAL_COLOUR]
    assert [f["properties"]["n"] for f in layer.data["features"]] == ["", ""]
    assert _of(m, _FacilityCluster) == [] and _of(m, _FacilityTables) == []  # the only facility has no point


# -- one category on, places, background, tiles, assets (issues 13.5, 14.5, 16.3) ----------------------


def _positioned(units) -> gpd.GeoDataFrame:
    """Five facilities: two with coordinates, three known only by township (two in one cell)."""
    return gpd.GeoDataFrame(
        {
            "name": ["有坐标", "只知乡镇1", "只知乡镇2", "只知乡镇3", "殡仪站"],
            "category": ["nursing_home", "nursing_home", "nursing_home", "nursing_home", "funeral_home"],
            "township_code": ["512021100", "512021101", "512021101", "512021102", "512021100"],
            "position": ["coordinates", "township_centre", "township_centre", "township_centre", "coordinates"],
        },
        geometry=[Point(105.31, 30.01), Point(105.45, 30.05), Point(105.45, 30.05), Point(105.55, 30.05),
                  Point(105.32, 30.02)],
        crs=4326,
    )


def test_chosen_category_on_others_off_and_township_only_rows_spread(units):
    m = coverage_map(units, _positioned(units), schematic=True, title="t", category="nursing_home")
    shown = {g.layer_name.split("</span> ")[1]: g.show for g in _of(m, folium.FeatureGroup)}
    assert shown == {"nursing_home": True, "funeral_home": False}
    nursing = next(c for c in _of(m, _FacilityCluster) if c.label == "nursing_home")
    assert nursing.data["approx"] == [0, 1, 1, 1]
    xy = np.array(nursing.data["xy"]).reshape(-1, 2)  # lat, lng
    assert xy[0].tolist() == [30.01, 105.31]  # its own coordinates
    cells = units.set_index("code").geometry
    for (lat, lng), code in zip(xy[1:], ["512021101", "512021101", "512021102"], strict=True):
        assert cells[code].contains(Point(lng, lat))
    assert len({tuple(p) for p in xy[1:3]}) == 2  # two rows of one cell: two places, neither the centre
    assert not any(np.allclose(p, [30.05, 105.45]) for p in xy[1:3])
    again = next(c for c in _of(coverage_map(units, _positioned(units), schematic=True, title="t",
                                             category="nursing_home"), _FacilityCluster) if c.label == "nursing_home")
    assert again.data["xy"] == nursing.data["xy"]  # deterministic
    html = m.get_root().render()
    assert "仅知乡镇（近似位置）" in html and "其他类别在图层控件中（默认关闭）" in html
    assert "nursing_home (4)" in html and "funeral_home (1)" not in html  # the legend lists what is shown


def test_spread_in_units_many_rows_stay_inside_and_apart(units):
    from geo.webmap import spread_in_units

    codes = pd.Series(["512021100"] * 60 + ["512021102"] * 3 + ["999999999"])
    points = spread_in_units(codes, units)
    assert points[-1] is None  # no polygon for that code
    inside = shapely.contains(units.geometry.iloc[0], points[:60])
    assert inside.all() and len({(p.x, p.y) for p in points[:60]}) == 60


def test_offline_background_of_a_prefecture_region():
    from geo.basemap import background_outlines

    frame = background_outlines("3609")
    # The whole province is drawn around the region: 江西's 100 counties with outlines, 11 prefectures, itself.
    assert frame["level"].value_counts().to_dict() == {2: 100, 1: 11, 0: 1}
    prefecture = frame[(frame["level"] == 1) & (frame["code"] == "3609")].iloc[0]
    assert prefecture["name"] == "宜春市"
    counties = frame[(frame["level"] == 2) & frame["code"].str.startswith("3609")]
    assert shapely.union_all(counties.geometry.to_numpy()).symmetric_difference(prefecture.geometry).area < 1e-6
    m = coverage_map(gpd.GeoDataFrame({"code": [], "name": []}, geometry=gpd.GeoSeries([], crs=4326)), None,
                     schematic=False, title="t", region="360902")
    html = m.get_root().render()
    assert "tcBackground" in html and '"宜春市"' in html and '"袁州区"' in html
    assert _of(m, folium.TileLayer) == []  # no tile server needed


def test_resolve_basemap_choices(tmp_path, monkeypatch):
    from geo import basemap
    from towncover import settings

    assert basemap.resolve_basemap("none").kind == "none"
    assert basemap.resolve_basemap("amap").datum == "gcj02"
    monkeypatch.setattr(settings, "TILES", "https://t0.tianditu.internal/vec_w/{z}/{x}/{y}.png")
    monkeypatch.setattr(settings, "TILES_ATTRIBUTION", "天地图<政务版>")
    chosen = basemap.resolve_basemap()
    assert (chosen.kind, chosen.datum, chosen.attribution) == ("url", "wgs84", "天地图&lt;政务版&gt;")
    for bad in ("javascript:alert(1)/{z}/{x}/{y}", "https://x/{z}/{x}/{y}.png' onerror='x", "baidu",
                str(tmp_path / "missing.mbtiles")):
        with pytest.raises(TowncoverError):
            basemap.resolve_basemap(bad)
    with pytest.raises(TowncoverError):
        basemap.resolve_basemap("osm", datum="bd09")


def _mbtiles(path, zooms=(8, 9, 10)):
    import sqlite3

    from geo.basemap import _tile_range

    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name text, value text)")
        db.execute("CREATE TABLE tiles (zoom_level int, tile_column int, tile_row int, tile_data blob)")
        db.execute("INSERT INTO metadata VALUES ('format', 'png')")
        for z in zooms:
            x0, x1, y0, y1 = _tile_range((105.3, 30.0, 105.6, 30.12), z)
            for x in range(x0 - 1, x1 + 2):
                for y in range(y0 - 1, y1 + 2):
                    db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, b"\x89PNG" + bytes(600)))
    return path


def test_mbtiles_embedded_for_the_map_extent_within_a_budget(tmp_path, units):
    from geo.basemap import _tile_range, mbtiles_tiles
    from geo.mapelements import TileTable

    box = (105.3, 30.0, 105.6, 30.12)
    path = _mbtiles(tmp_path / "local.mbtiles")
    tiles, zmin, zmax = mbtiles_tiles(path, box)
    assert (zmin, zmax) == (8, 10)
    per_zoom = {z: (r[1] - r[0] + 1) * (r[3] - r[2] + 1) for z in (8, 9, 10) for r in [_tile_range(box, z)]}
    # only the tiles over the extent, not the ring around it, at their XYZ address
    assert len(tiles) == sum(per_zoom.values())
    x0, _, y0, _ = _tile_range(box, 10)
    assert f"10/{x0}/{y0}" in tiles
    assert next(iter(tiles.values())).startswith("data:image/png;base64,iVBORw")
    tile_mb = 604 * 4 / 3 / 1e6
    small = mbtiles_tiles(path, box, budget_mb=(per_zoom[8] + per_zoom[9] + 0.5) * tile_mb)
    assert (small[1], small[2]) == (8, 9)  # stops before the zoom that passes the budget
    m = coverage_map(units, None, schematic=False, title="t", basemap=str(path))
    (table,) = _of(m, TileTable)
    assert table.data["tiles"] == tiles


def test_offline_assets_and_standalone_html():
    from geo.webmap import localise_assets, standalone_html

    m = folium.Map(location=[30, 105])
    folium.plugins.MarkerCluster().add_to(m)
    localise_assets(m)
    assert m.default_js == [("leaflet", "/app/static/vendor/leaflet-1.9.3/leaflet.js")]
    m2 = folium.Map(location=[30, 105])
    folium.plugins.MarkerCluster().add_to(m2)
    page = standalone_html(m2)
    assert "<script src=" not in page and "cdn.jsdelivr" not in page
    assert "L.markerClusterGroup" in page and "Leaflet 1.9.3" in page


def test_proposals_outlined_and_the_layer_control_last(units):
    from geo.webmap import add_proposals, proposed_layer

    gap = pd.DataFrame({"rank": [2, 1, 3], "code": ["512021102", "512021100", "999"], "name": ["b", "a", "x"]})
    layer = proposed_layer(units, gap)
    assert layer["rank"].tolist() == [1, 2] and layer["code"].tolist() == ["512021100", "512021102"]
    fmap = coverage_map(units, None, schematic=True, title="t")
    add_proposals(fmap, units, gap, "zh")
    children = list(fmap._children.values())
    (group,) = [c for c in children if isinstance(c, folium.FeatureGroup)]
    (control,) = [c for c in children if isinstance(c, folium.LayerControl)]
    assert group.layer_name == "建议新增覆盖"
    assert children.index(control) > children.index(group)
    html = fmap.get_root().render()
    # the control names the group only after the group's variable is set
    assert html.index(f"var {group.get_name()} = L.featureGroup(") < html.index("L.control.layers(")
    same = coverage_map(units, None, schematic=True, title="t", proposals=gap).get_root().render()
    assert same.count("建议新增覆盖 #") == html.count("建议新增覆盖 #") == 4  # two units: outline + marker each


def test_province_sized_map_payload_under_5_mb():
    # 1,521 cells (39 × 39 over ~4° × 4° in 宜春's province) and 27,000 facilities, 20,000 of them known
    # only by township (spread in their cell), as a province's sheet would be: issue 16 asks < 5 MB.
    rng = np.random.default_rng(16)
    side, step = 39, 0.1
    x0, y0 = 113.5, 26.5
    cells = [shapely.box(x0 + i * step, y0 + j * step, x0 + (i + 1) * step, y0 + (j + 1) * step)
             for j in range(side) for i in range(side)]
    codes = [f"36{i:07d}" for i in range(len(cells))]
    units = gpd.GeoDataFrame({"code": codes, "name": [f"某某镇{i}" for i in range(len(cells))],
                              "covered": rng.random(len(cells)) < 0.7,
                              "n_facilities": rng.integers(0, 30, len(cells))}, geometry=cells, crs=4326)
    n = 27_000
    cell = rng.integers(0, len(cells), n)
    cats = np.array(sorted(CATEGORY_COLOURS))[rng.integers(0, len(CATEGORY_COLOURS), n)]
    own = np.arange(n) < 7_000
    points = shapely.points(x0 + (cell % side + rng.random(n)) * step, y0 + (cell // side + rng.random(n)) * step)
    facilities = gpd.GeoDataFrame({
        "name": [f"第{i}号养老服务设施" for i in range(n)], "category": cats,
        "address": [f"某某镇某某村{i % 50}组{i % 97}号" for i in range(n)], "match_status": "matched",
        "township_code": np.array(codes)[cell], "township_name": [f"某某镇{c}" for c in cell],
        "position": np.where(own, "coordinates", "township_centre"),
    }, geometry=points, crs=4326)
    page = standalone_html_of(coverage_map(units, facilities, schematic=True, title="省", category="nursing_home",
                                           region="360902"))
    size_mb = len(page.encode("utf-8")) / 1e6
    assert size_mb < 5.0, size_mb
    assert page.count('"cluster":true') == len(CATEGORY_COLOURS)  # ~2,500 markers a layer: clustered


def standalone_html_of(fmap):
    from geo.webmap import standalone_html

    return standalone_html(fmap)


def test_background_of_a_province_dissolves_prefectures_and_province(monkeypatch):
    # as the county outlines for every county will give it: a province's counties (here squares
    # standing in for 江西省's first nine counties), dissolved into prefectures and the province
    from geo import basemap
    from geo.gazetteer import load_gazetteer

    counties = load_gazetteer().counties_in("36")[["code", "name"]].head(9).reset_index(drop=True)
    boxes = [shapely.box(115 + i % 3, 27 + i // 3, 116 + i % 3, 28 + i // 3) for i in range(9)]
    frame = gpd.GeoDataFrame(counties.assign(source="test"), geometry=boxes, crs=4326)
    asked = []

    def outlines(code):
        asked.append(code)
        return frame
    monkeypatch.setattr(basemap, "county_outlines", outlines)
    basemap.background_outlines.cache_clear()
    try:
        out = basemap.background_outlines(str(counties["code"].iloc[4]))
    finally:
        basemap.background_outlines.cache_clear()
    assert asked == ["36"]
    province = out[out["level"] == 0]
    assert province["name"].tolist() == ["江西省"]
    assert province.geometry.iloc[0].area == pytest.approx(9.0)
    prefectures = out[out["level"] == 1]
    assert sorted(prefectures["code"]) == sorted(counties["code"].str[:4].unique())
    assert shapely.area(prefectures.geometry.to_numpy()).sum() == pytest.approx(9.0)
    assert (out["level"] == 2).sum() == 9
