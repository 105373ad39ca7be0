"""geo.webmap's standalone page in headless Chromium, opened from a file with every network request blocked.

Two pages: a small synthetic one (markers clustered per category, popups from escaped text: hostile names
must show as text and never run) and the demo region's map exactly as ``towncover export --format html``
writes it (``facilities.mapview.analysis_page``): the offline background, the cells and the chosen
category's markers all drawn, the title and layer control clear of the county, the legend clear of the
scale bar.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

from geo import webmap
from geo.webmap import coverage_map
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

HOSTILE = "敬老院<img src=x onerror=alert(1)>`${alert(2)}`"
ADDRESS = "石桥</script><script>alert(3)</script>"

#: Per marker-cluster layer of the map: its markers' count (every category layer is one cluster group).
CLUSTERS = """() => {
    const map = Object.values(window).find(v => v && window.L && v instanceof L.Map);
    const out = [];
    map.eachLayer(l => { if (L.MarkerClusterGroup && l instanceof L.MarkerClusterGroup) out.push(l.getLayers().length); });
    return out;
}"""
#: Page coordinates of the first marker at [lat, lng].
WHERE = """([lat, lng]) => {
    const map = Object.values(window).find(v => v && window.L && v instanceof L.Map);
    const p = map.latLngToContainerPoint([lat, lng]);
    const r = map.getContainer().getBoundingClientRect();
    return [r.left + p.x, r.top + p.y];
}"""


@pytest.fixture(scope="module")
def page_file(tmp_path_factory) -> Path:
    units = gpd.GeoDataFrame(
        {"code": ["512021100", "512021101"], "name": ["岳阳镇", "石羊镇"], "covered": [True, False]},
        geometry=[Polygon([(105.0, 30.0), (105.5, 30.0), (105.5, 30.5), (105.0, 30.5)]),
                  Polygon([(105.5, 30.0), (106.0, 30.0), (106.0, 30.5), (105.5, 30.5)])],
        crs=4326,
    )
    rows = [(HOSTILE, "nursing_home", ADDRESS, "ambiguous", "石羊镇", Point(105.2, 30.25)),
            ("通贤镇殡仪服务站", "funeral_home", "", "matched", "岳阳镇", Point(105.8, 30.25))]
    # thirty facilities on one township centre (as drawn on schematic cells): one cluster
    rows += [(f"互助点{i}", "nursing_home", "", "matched", "岳阳镇", Point(105.5, 30.1)) for i in range(30)]
    facilities = gpd.GeoDataFrame(
        [r[:5] for r in rows], columns=["name", "category", "address", "match_status", "township_name"],
        geometry=[r[5] for r in rows], crs=4326,
    )
    threshold, webmap.CLUSTER_MIN = webmap.CLUSTER_MIN, 20  # cluster the 31-marker layer
    try:
        fmap = coverage_map(units, facilities, schematic=True, title="安岳县", lang="zh",
                            categories={"nursing_home": "养老院", "funeral_home": "殡仪服务站"})
    finally:
        webmap.CLUSTER_MIN = threshold
    path = tmp_path_factory.mktemp("map") / "map.html"
    path.write_text(webmap.standalone_html(fmap), encoding="utf-8")
    return path


@pytest.fixture()
def map_page(browser, page_file):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("chromium missing: run `make browser`")
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda route: route.abort() if route.request.url.startswith("http") else route.continue_())
    page.goto(page_file.as_uri())
    # clustering runs after the first paint, in chunks: wait until both layers hold their markers
    page.wait_for_function(f"JSON.stringify(({CLUSTERS})()) === '[31]'", timeout=30_000)
    page.dialogs, page.errors = dialogs, errors
    yield page
    assert errors == []
    context.close()


def test_markers_clustered_per_category_layer(map_page):
    assert map_page.evaluate(CLUSTERS) == [31]  # 养老院: 31 markers clustered; 殡仪服务站: 1, not clustered
    cluster = map_page.locator(".tc-cluster")
    assert cluster.count() == 1 and cluster.inner_text() == "30"
    labels = map_page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [t.strip() for t in labels] == ["乡镇（街道）（示意）", "● 养老院", "● 殡仪服务站"]
    assert "养老院 (31)" in map_page.locator("#tc-legend").inner_text()


def _hover(page, latlng: list[float]):
    """Hover the marker at ``latlng`` until its own tooltip opens: on a cold, busy machine the marker can be
    drawn, or the view settle, after the markers are in their layers; each try re-reads its position and
    nudges the pointer by a pixel so that the page sees a fresh move."""
    tooltip = page.locator(".leaflet-tooltip").filter(has_text="敬老院")
    for attempt in range(20):
        x, y = page.evaluate(WHERE, latlng)
        page.mouse.move(x, y + attempt % 2)
        try:
            tooltip.wait_for(timeout=1_500)
            break
        except Exception:  # noqa: BLE001 - not drawn yet: try again
            continue
    tooltip.wait_for(timeout=1_000)  # fails with Playwright's own message if it never opened
    return x, y, tooltip


def test_popup_and_tooltip_show_hostile_text_as_text(map_page):
    x, y, tooltip = _hover(map_page, [30.25, 105.2])
    assert tooltip.inner_text() == HOSTILE
    map_page.mouse.click(x, y)
    popup = map_page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.inner_text().splitlines() == [HOSTILE, "类别: 养老院", f"地址: {ADDRESS}", "所在乡镇: 石羊镇",
                                               "匹配: 有歧义"]
    assert popup.locator("img, script").count() == 0
    assert map_page.locator("b", has_text="敬老院").count() == 1  # the name is the popup's bold heading
    map_page.wait_for_timeout(300)
    assert map_page.dialogs == []


def test_cluster_spiderfies_to_markers_with_popups(map_page):
    cluster = map_page.locator(".tc-cluster")
    for _ in range(25):  # click (zoom in) until the thirty same-place markers spread out around it
        if not cluster.count() or "spiderfied" in map_page.evaluate(SPIDER):
            break
        cluster.first.click()
        map_page.wait_for_timeout(500)
    map_page.wait_for_timeout(500)  # the legs' animation
    shown = map_page.evaluate(SPIDER)
    assert shown["spiderfied"] and len(shown["markers"]) == 30
    x, y, row, _ = shown["markers"][0]
    map_page.mouse.click(x, y)
    popup = map_page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.inner_text().splitlines() == [f"互助点{row - 1}", "类别: 养老院", "地址:", "所在乡镇: 岳阳镇",
                                               "匹配: 已匹配"]
    map_page.wait_for_timeout(300)
    assert popup.count() == 1  # the map's own click did not close it


#: The markers spread around a spiderfied cluster: page position and table row, farthest from its centre first.
SPIDER = """() => {
    const map = Object.values(window).find(v => v && window.L && v instanceof L.Map);
    const r = map.getContainer().getBoundingClientRect();
    let centre = null; const markers = [];
    map.eachLayer(l => {
        if (L.MarkerClusterGroup && l instanceof L.MarkerClusterGroup && l._spiderfied) {
            centre = map.latLngToContainerPoint(l._spiderfied.getLatLng());
        }
    });
    map.eachLayer(l => {
        if (centre && l instanceof L.CircleMarker && l.tcRow !== undefined && l._preSpiderfyLatlng) {
            const p = map.latLngToContainerPoint(l.getLatLng());
            markers.push([r.left + p.x, r.top + p.y, l.tcRow, -p.distanceTo(centre)]);
        }
    });
    markers.sort((a, b) => a[3] - b[3]);
    return centre ? {spiderfied: true, markers} : {markers};
}"""


ZOOM = "() => { const m = Object.values(window).find(v => v && window.L && v instanceof L.Map); return m ? m.getZoom() : null; }"


def test_map_drawn_hidden_fits_its_bounds_when_shown(map_page, browser, page_file, tmp_path):
    # as in a Streamlit tab not yet opened: the map's frame is drawn inside a hidden container
    visible_zoom = map_page.evaluate(ZOOM)
    wrapper = tmp_path / "tab.html"
    wrapper.write_text(f'<div id="tab" style="display:none"><iframe src="{page_file.as_uri()}" '
                       'style="width:1200px;height:800px;border:0"></iframe></div>', encoding="utf-8")
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.route("**/*", lambda route: route.abort() if route.request.url.startswith("http") else route.continue_())
    page.goto(wrapper.as_uri())
    frame = page.frames[1]
    frame.wait_for_function(f"({ZOOM})() !== null")
    assert frame.evaluate(ZOOM) != visible_zoom  # fitted while of size 0
    page.evaluate("document.getElementById('tab').style.display = 'block'")
    frame.wait_for_function(f"({ZOOM})() === {visible_zoom}", timeout=10_000)
    context.close()


# -- the demo region's map as the CLI exports it, offline ------------------------------------------------

#: What the page drew: background layers and labels, painted cell pixels, markers per shown layer, boxes.
DRAWN = """([south, west, north, east]) => {
    const map = Object.values(window).find(v => v && window.L && v instanceof L.Map);
    const box = map.getContainer().getBoundingClientRect();
    let background = 0, markers = 0;
    map.eachLayer(l => {
        if (l.options && l.options.pane === "tcBackground" && l.feature) background++;
        if (l instanceof L.CircleMarker && l.tcRow !== undefined) markers++;
    });
    let painted = 0;
    document.querySelectorAll(".leaflet-overlay-pane canvas").forEach(c => {
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 16) if (d[i] > 0) painted++;
    });
    const rect = sel => { const e = document.querySelector(sel); if (!e) return null;
        const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    const nw = map.latLngToContainerPoint([north, west]), ne = map.latLngToContainerPoint([north, east]);
    return {background, markers, painted, labels: [...document.querySelectorAll(".tc-bg-label")].map(e => e.textContent),
            north: box.top + nw.y, east: box.left + ne.x, west: box.left + nw.x,
            title: rect("#tc-title"), legend: rect("#tc-legend"), scale: rect(".leaflet-control-scale"),
            control: rect(".leaflet-control-layers")};
}"""


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory) -> tuple[Path, list[float], int]:
    from facilities.mapview import analysis_page
    from facilities.pipeline import analyse
    from towncover import settings

    analysis = analyse(settings.DEMO_DIR / "512021_安岳县_synthetic.xlsx", "512021")
    path = tmp_path_factory.mktemp("export") / "安岳县.html"
    path.write_text(analysis_page(analysis, "elderly_regional_centre", "township_and_street"), encoding="utf-8")
    west, south, east, north = analysis.units.total_bounds
    shown = int((analysis.placed["category"] == "elderly_regional_centre").sum())
    return path, [float(v) for v in (south, west, north, east)], shown


def test_exported_map_offline_shows_background_cells_and_markers(browser, demo_export):
    path, bounds, n_centres = demo_export
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda route: (requests.append(route.request.url), route.abort())
               if route.request.url.startswith("http") else route.continue_())
    page.goto(path.as_uri())
    page.wait_for_function(f"(({DRAWN})({bounds})).markers > 0", timeout=30_000)
    page.wait_for_timeout(500)  # the fit after the controls exist
    drawn = page.evaluate(DRAWN, bounds)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "export_offline.png"))
    assert errors == [] and requests == []  # nothing asked of the network: no tiles, no CDN
    assert drawn["background"] >= 1 and "安岳县" in drawn["labels"]  # where it is: outlines and names
    assert drawn["painted"] > 10_000  # the cells are on the canvas
    assert drawn["markers"] == n_centres > 0  # the chosen category only: 区域养老服务中心
    # the county's north edge below the title bar; its north-east corner clear of the layer control
    assert drawn["north"] > drawn["title"][3]
    assert drawn["east"] < drawn["control"][0] or drawn["north"] > drawn["control"][3]
    # the legend sits above the scale bar, not over it
    assert drawn["legend"][3] <= drawn["scale"][1]
    legend = page.locator("#tc-legend").inner_text()
    assert "离线行政区划轮廓" in legend and "示意边界" in legend and f"({n_centres})" in legend
    context.close()


def test_a_county_outside_the_plan_regions_offline_has_its_outline_cells_and_background(browser, tmp_path):
    """岳池县 (511621): no plan, no shipped cells — its outline, cells built on first open, names (issue 16)."""
    import pandas as pd

    from facilities.mapview import analysis_page
    from facilities.pipeline import analyse
    from geo.gazetteer import load_gazetteer

    rows = pd.DataFrame({"机构名称": ["顾县镇区域养老服务中心", "九龙街道区域养老服务中心"],
                         "地址": ["岳池县顾县镇", "岳池县九龙街道"], "类型": ["区域养老服务中心"] * 2})
    analysis = analyse(rows.to_csv(index=False).encode("utf-8"), "511621", filename="岳池县.csv")
    towns = load_gazetteer().townships
    expected = set(towns.loc[(towns["county_code"] == "511621") & (towns["code"].str[6:].astype(int) < 400), "code"])
    assert set(analysis.units["code"]) == expected and analysis.schematic
    path = tmp_path / "岳池县.html"
    path.write_text(analysis_page(analysis, "elderly_regional_centre", "township_and_street"), encoding="utf-8")
    west, south, east, north = analysis.units.total_bounds
    bounds = [float(v) for v in (south, west, north, east)]
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    page = context.new_page()
    requests: list[str] = []
    page.route("**/*", lambda route: (requests.append(route.request.url), route.abort())
               if route.request.url.startswith("http") else route.continue_())
    page.goto(path.as_uri())
    page.wait_for_function(f"(({DRAWN})({bounds})).markers > 0", timeout=30_000)
    drawn = page.evaluate(DRAWN, bounds)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "export_offline_511621.png"))
    assert requests == []
    assert drawn["background"] >= 1 and "岳池县" in drawn["labels"]
    assert drawn["painted"] > 10_000 and drawn["markers"] == 2
    context.close()
