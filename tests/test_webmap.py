"""geo.webmap.coverage_map: colours, escaping, clustering, radius circles, legend, simplification."""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from folium import plugins
from shapely.geometry import Point, Polygon

from geo.webmap import (
    COVERED_COLOUR,
    NEUTRAL_COLOUR,
    SCHEMATIC_LABEL,
    UNCOVERED_COLOUR,
    _Circles,
    _simplify_units,
    coverage_map,
    escape_text,
)

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
            "category": ["elderly_home", "funeral_home", "elderly_home", "elderly_home"],
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
    assert escape_text("a`${b}`\\c\"'&") == "a&#96;&#36;{b}&#96;&#92;c&quot;&#x27;&amp;"
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


def test_facilities_grouped_clustered_escaped(units, facilities):
    m = coverage_map(
        units,
        facilities,
        schematic=True,
        title="安岳县 <i>养老</i>",
        categories={"funeral_home": {"label": "殡葬设施", "color": "#000000"}, "elderly_home": "养老机构"},
        radius_km=2.5,
    )
    groups = [g.layer_name for g in _of(m, folium.FeatureGroup)]
    assert groups == [
        "服务半径 2.5 公里",
        '<span style="color:#000000">●</span> 殡葬设施',
        '<span style="color:#4e79a7">●</span> 养老机构',
    ]
    clusters = _of(m, plugins.FastMarkerCluster)
    assert len(clusters) == 2
    assert ["#000000" in c.callback for c in clusters] == [True, False]
    assert ["#4e79a7" in c.callback for c in clusters] == [False, True]
    funeral, elderly = (c.data for c in clusters)  # the row without a point is not drawn
    assert funeral == [
        [
            30.05,
            105.45,
            "<b>安岳县殡仪馆</b><br>类别: 殡葬设施<br>地址: &lt;b&gt;石桥&lt;/b&gt;<br>所在乡镇: <br>匹配: 有歧义",
            "安岳县殡仪馆",
        ]
    ]
    assert [row[:2] for row in elderly] == [[30.05, 105.35], [30.05, 105.55]]
    assert (
        elderly[0][2]
        == "<b>岳阳镇敬老院</b><br>类别: 养老机构<br>地址: 外南街12号 &amp; 附1号<br>所在乡镇: 岳阳镇<br>匹配: 已匹配"
    )
    assert elderly[1][3] == "石羊镇敬老院&#96;&#36;{alert(2)}&#96;"
    (circles,) = _of(m, _Circles)
    assert circles.radius == 2500.0
    assert circles.rows == [
        [30.05, 105.35, "#4e79a7"],
        [30.05, 105.45, "#000000"],
        [30.05, 105.55, "#4e79a7"],
    ]
    html = m.get_root().render()
    assert "<b>石桥</b>" not in html and "\\u003cb\\u003e石桥" not in html
    assert "${alert(2)}" not in html
    assert "安岳县 &lt;i&gt;养老&lt;/i&gt;" in html
    assert "殡葬设施 (1)" in html and "养老机构 (2)" in html
    assert html.count(SCHEMATIC_LABEL) == 2


def test_category_colour_must_be_hex(facilities):
    m = coverage_map(
        gpd.GeoDataFrame({"code": [], "name": []}, geometry=gpd.GeoSeries([], crs=4326)),
        facilities,
        schematic=False,
        title="t",
        categories={"elderly_home": {"label": "养老", "color": "red;background:url(x)"}},
    )
    (elderly, funeral) = _of(m, plugins.FastMarkerCluster)
    assert "url(x)" not in m.get_root().render()
    assert "#4e79a7" in elderly.callback and "#f28e2b" in funeral.callback
    (fit,) = _of(m, folium.FitBounds)  # no units: zoom to the facilities
    assert fit.bounds == [[30.05, 105.35], [30.05, 105.55]]


def test_bounds_and_osm_tiles(units):
    m = coverage_map(units, None, schematic=False, title="t")
    (fit,) = _of(m, folium.FitBounds)
    assert fit.bounds == [[30.0, 105.3], [30.12346, 105.6]]
    (tiles,) = _of(m, folium.TileLayer)
    assert "openstreetmap" in tiles.tiles


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
    elderly = _of(m, plugins.FastMarkerCluster)[0]
    lng, lat = crs.wgs84_to_gcj02(np.array([105.35]), np.array([30.05]))
    assert elderly.data[0][:2] == [round(float(lat[0]), 5), round(float(lng[0]), 5)]
    with pytest.raises(ValueError):
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
    assert _of(m, plugins.FastMarkerCluster) == []  # the only facility has no point
