"""The folium coverage map shared by the Streamlit app and the standalone HTML export.

One function, :func:`coverage_map`, draws township (or village) units as a choropleth — covered /
not covered in two colours, or a facility-count ramp — with facility markers clustered per category,
optional service-radius circles, a legend and a visible title. All user text (names, addresses,
categories) is HTML-escaped before it reaches the page, including characters that would end a
JavaScript template literal, because folium pastes popup and tooltip text into JavaScript unescaped.

Facility markers are not one folium Marker each: every category is one compact column table
(coordinates to 6 decimals, escaped name and address, township and match status as indexes into one
shared table) in JSON that keeps Chinese text as UTF-8 and never holds a literal ``< > & '``. The page
builds the circle markers, clusters them after the polygons have painted, and builds a popup or
tooltip only when it is first opened. A province's 27,000 markers take ~2.7 MB (~100 bytes each)
instead of ~12.5 MB as folium markers with their popup HTML.

Schematic township cells (示意) are labelled 示意边界 / schematic boundaries in the legend and in the
title bar whenever ``schematic=True``.

Basemaps need a network connection; without one the page still shows the polygons and markers on a
blank background (folium also loads Leaflet from a CDN, so the page itself needs the network once
to be cached by the browser).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Literal

import branca
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium import plugins
from folium.elements import JSCSSMixin
from jinja2 import Template

__all__ = ["coverage_map", "escape_text", "COVERED_COLOUR", "UNCOVERED_COLOUR", "SCHEMATIC_LABEL"]

COVERED_COLOUR = "#1f78b4"  # blue: covered
UNCOVERED_COLOUR = "#e6550d"  # orange: not covered (blue/orange stays distinct for colour-blind readers)
NEUTRAL_COLOUR = "#9e9e9e"
SCHEMATIC_LABEL = "示意边界 / schematic boundaries"
# Tableau 10, then greys for anything beyond.
_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#17becf",
)
_UNCLASSIFIED_COLOUR = "#7f7f7f"
_RAMP = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")

_AMAP_TILES = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
)
_AMAP_ATTR = '&copy; <a href="https://www.amap.com/">高德地图 AutoNavi</a> (GCJ-02)'

_TEXT = {
    "zh": {
        "name": "名称",
        "code": "代码",
        "status": "覆盖情况",
        "n": "设施数",
        "covered": "已覆盖",
        "uncovered": "未覆盖",
        "unknown": "未知",
        "category": "类别",
        "address": "地址",
        "match": "匹配",
        "township": "所在乡镇",
        "units": "乡镇（街道）",
        "radius": "服务半径 {r} 公里",
        "facilities": "设施",
        "legend": "图例",
        "count_ramp": "设施数",
        "offline": "底图需联网；无网络时仅显示边界与设施",
        "amap_note": "底图：高德（GCJ-02），图上坐标已偏移以对齐底图",
        "osm": "OpenStreetMap",
        "amap": "高德地图",
        "matched": "已匹配",
        "ambiguous": "有歧义",
        "unmatched": "未匹配",
        "out_of_region": "区域外",
        "rejected": "无效行",
    },
    "en": {
        "name": "Name",
        "code": "Code",
        "status": "Status",
        "n": "Facilities",
        "covered": "covered",
        "uncovered": "not covered",
        "unknown": "unknown",
        "category": "Category",
        "address": "Address",
        "match": "Match",
        "township": "Township",
        "units": "Townships",
        "radius": "Service radius {r} km",
        "facilities": "Facilities",
        "legend": "Legend",
        "count_ramp": "Facility count",
        "offline": "Basemap needs internet; offline only boundaries and facilities show",
        "amap_note": "Basemap: Amap (GCJ-02); drawing shifted to match it",
        "osm": "OpenStreetMap",
        "amap": "Amap",
        "matched": "matched",
        "ambiguous": "ambiguous",
        "unmatched": "unmatched",
        "out_of_region": "out of region",
        "rejected": "rejected",
    },
}


_HTML_EXTRA = str.maketrans({"\\": "&#92;", "`": "&#96;", "$": "&#36;", "{": "&#123;", "}": "&#125;"})


def escape_text(value: object) -> str:
    """Escape user text for HTML that folium places inside JavaScript template literals.

    Parameters
    ----------
    value : object
        Any value; ``None`` and missing values become an empty string.

    Returns
    -------
    str
        ``html.escape`` of the text, with backtick, dollar sign and backslash also turned into
        character references so the text can neither close a template literal nor interpolate, and
        braces too: branca compiles every rendered macro's output as a Jinja template once more, so a
        name holding ``{{ ... }}`` or ``{#`` would otherwise run (or break) on the server.
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True).translate(_HTML_EXTRA)


def _escape_series(values: pd.Series) -> list[str]:
    return [escape_text(v) for v in values.tolist()]


def _to_wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        return frame.to_crs(4326)
    return frame


def _display_geometries(geoms: np.ndarray, basemap: str, decimals: int = 5) -> np.ndarray:
    """Shift to GCJ-02 for Amap (display only) and round coordinates (5 decimals ≈ 1 m)."""
    if basemap == "amap":
        from geo.crs import wgs84_to_gcj02

        def shift(coords: np.ndarray) -> np.ndarray:
            lng, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
            return np.round(np.column_stack([np.asarray(lng), np.asarray(lat)]), decimals)

        return shapely.transform(geoms, shift)
    return shapely.transform(geoms, lambda c: np.round(c, decimals))


def _simplify_units(geoms: np.ndarray) -> np.ndarray:
    """Simplify polygons for display, keeping edges shared between neighbouring units."""
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return geoms
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms[present])
    # coverage_simplify is Visvalingam-Whyatt: it drops vertices whose triangle is under tolerance².
    tolerance = max(xmax - xmin, ymax - ymin) / 1500.0  # ~70 m for a county, ~200 m for a prefecture
    if tolerance <= 0:
        return geoms
    out = geoms.copy()
    part = geoms[present]
    polygonal = np.isin(shapely.get_type_id(part), (3, 6))
    if polygonal.all() and bool(shapely.coverage_is_valid(part)):
        out[present] = shapely.coverage_simplify(part, tolerance, simplify_boundary=True)
    else:  # overlapping or non-polygonal user data: simplify each shape on its own
        out[present] = shapely.simplify(part, tolerance, preserve_topology=True)
    return out


def _category_colours(
    facilities: gpd.GeoDataFrame | None, categories: Mapping[str, object] | None
) -> dict[str, tuple[str, str]]:
    """Category id -> (label, colour), in the order given, then remaining ids sorted."""
    result: dict[str, tuple[str, str]] = {}
    given = dict(categories or {})
    present: list[str] = []
    labels: dict[str, str] = {}
    if facilities is not None and "category" in facilities.columns and len(facilities):
        cats = facilities["category"].astype("string").fillna("unclassified")
        present = sorted(cats.unique().tolist())
        if "category_label" in facilities.columns:
            pairs = pd.DataFrame({"c": cats, "l": facilities["category_label"].astype("string")}).dropna()
            labels = dict(zip(pairs["c"], pairs["l"], strict=False))
    order = [c for c in given if c in present or not present] + [c for c in present if c not in given]
    i = 0
    for cat in order:
        spec = given.get(cat)
        label, colour = None, None
        if isinstance(spec, Mapping):
            label = spec.get("label") or spec.get("label_zh")
            colour = spec.get("color") or spec.get("colour")
        elif isinstance(spec, str):
            label = spec
        label = str(label or labels.get(cat) or cat)
        if colour is not None and not _COLOUR_RE.match(str(colour)):
            colour = None  # only #rgb/#rrggbb colours reach the page
        if colour is None:
            if cat == "unclassified":
                colour = _UNCLASSIFIED_COLOUR
            else:
                colour = _PALETTE[i] if i < len(_PALETTE) else _UNCLASSIFIED_COLOUR
                i += 1
        result[cat] = (label, str(colour))
    return result


_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{3,8}$")
# In JSON placed inside a <script>: these never appear literally, so no text can close the script
# element or start an HTML comment; U+2028/2029 are line ends to older JavaScript parsers.
_SCRIPT_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
#: Decimals of facility marker coordinates (1e-6 degree ≈ 0.1 m).
MARKER_DECIMALS = 6


def _script_json(value: object) -> str:
    """Compact JSON for a ``<script>`` element: UTF-8 text kept as is, ``< > & '`` as ``\\uXXXX``."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).translate(_SCRIPT_SAFE)


class _FacilityTables(MacroElement):
    """Text shared by every facility layer of a map: popup field labels, township names, match statuses.

    The facility layers refer to townships and statuses by their index here, so a name shared by
    thousands of markers is sent once. All text is HTML-escaped by the caller.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.json }};
        {% endmacro %}
        """
    )

    def __init__(self, fields: dict[str, str], towns: list[str], statuses: list[str]) -> None:
        super().__init__()
        self._name = "FacilityTables"
        self.fields = fields
        self.towns = towns
        self.statuses = statuses

    @property
    def json(self) -> str:
        return _script_json({"field": self.fields, "town": self.towns, "status": self.statuses})


class _FacilityCluster(JSCSSMixin):
    """One category's facilities as a compact column table, drawn client-side in a marker cluster.

    ``data`` holds ``xy`` (flat ``[lat0, lng0, lat1, lng1, ...]``), ``name`` and ``address``
    (HTML-escaped), ``town`` and ``status`` (indexes into the map's :class:`_FacilityTables`). The
    page builds one circle marker per row and its popup (name, category, address, township, match)
    and tooltip (name) only when first opened, from that already-escaped text.
    """

    default_js = plugins.MarkerCluster.default_js
    default_css = plugins.MarkerCluster.default_css
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var t = {{ this.tables.get_name() }}, d = {{ this.json }};
            var style = {radius: 6, color: "#ffffff", weight: 1, fillColor: d.colour, fillOpacity: 0.95};
            function popup(layer) {
                var i = layer.tcRow;
                return "<b>" + d.name[i] + "</b><br>" + t.field.category + ": " + d.label
                    + "<br>" + t.field.address + ": " + d.address[i]
                    + "<br>" + t.field.township + ": " + t.town[d.town[i]]
                    + "<br>" + t.field.match + ": " + t.status[d.status[i]];
            }
            function tooltip(layer) { return d.name[layer.tcRow]; }
            var n = d.name.length, markers = new Array(n);
            for (var i = 0; i < n; i++) {
                markers[i] = L.circleMarker([d.xy[2 * i], d.xy[2 * i + 1]], style);
                markers[i].tcRow = i;
            }
            var cluster = L.markerClusterGroup({{ this.options|tojson }});
            // Popups and tooltips are bound on first use: nothing is built for markers never opened.
            cluster.on("click", function (e) {
                var m = e.layer;
                if (m && m.tcRow !== undefined && !m.getPopup()) {
                    L.DomEvent.stop(e);  // as a bound popup does: the map's click must not close it
                    m.bindPopup(popup, {maxWidth: 320}).openPopup();
                }
            });
            cluster.on("mouseover", function (e) {
                var m = e.layer;
                if (m && m.tcRow !== undefined && !m.getTooltip()) { m.bindTooltip(tooltip).openTooltip(); }
            });
            // Cluster once on the map and after the first paint, one category per task, so the polygons
            // show at once (adding the markers before would check each against a queue). Not
            // chunkedLoading: in markercluster 1.1.0 it breaks zooming in once loaded.
            function load() {
                if (!cluster._map) { cluster.once("add", load); return; }
                cluster.addLayers(markers);
                markers = null;
            }
            cluster.once("add", function () { L.Util.requestAnimFrame(function () { setTimeout(load, 0); }); });
            cluster.addTo({{ this._parent.get_name() }});
            return cluster;
        })();
        {% endmacro %}
        """
    )

    def __init__(self, tables: _FacilityTables, colour: str, label: str, data: dict[str, list]) -> None:
        super().__init__()
        self._name = "FacilityCluster"
        self.tables = tables
        self.colour = colour
        self.label = label
        self.data = data
        self.options = {"maxClusterRadius": 40}

    @property
    def json(self) -> str:
        return _script_json({"colour": self.colour, "label": self.label, **self.data})


class _Circles(MacroElement):
    """Service-radius circles (metres) from one data array: rows of [lat, lng, colour]."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var rows = {{ this.rows|tojson }};
            for (var i = 0; i < rows.length; i++) {
                L.circle([rows[i][0], rows[i][1]], {radius: {{ this.radius }}, color: rows[i][2], weight: 1,
                    fill: true, fillOpacity: 0.06, interactive: false}).addTo({{ this._parent.get_name() }});
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[list[object]], radius_m: float) -> None:
        super().__init__()
        self._name = "ServiceRadius"
        self.rows = rows
        self.radius = float(radius_m)


class _FitWhenShown(MacroElement):
    """Fit the bounds again when a map drawn while hidden gets its size.

    A map drawn in a hidden container (a Streamlit tab not yet opened) has size 0, so its
    ``fitBounds`` lands on zoom 0 (the whole world) and stays there when the tab is opened. Such a
    map fits its bounds again at every resize until the planner first touches it (the frame may
    get its final width in more than one step).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, bounds) {
            function sized() { var s = map.getSize(); return s.x > 0 && s.y > 0; }
            if (sized()) { return; }
            var box = map.getContainer(), touches = ["pointerdown", "wheel", "keydown", "touchstart"];
            function refit() { if (sized()) { map.fitBounds(bounds); } }
            function stop() {
                map.off("resize", refit);
                touches.forEach(function (t) { box.removeEventListener(t, stop, true); });
            }
            map.on("resize", refit);
            touches.forEach(function (t) { box.addEventListener(t, stop, true); });
        })({{ this._parent.get_name() }}, {{ this.bounds|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitWhenShown"
        self.bounds = bounds


class _Overlay(MacroElement):
    """Fixed-position title bar and legend (HTML already escaped by the caller)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .tc-title {position: fixed; top: 10px; left: 50%; transform: translateX(-50%); z-index: 9999;
            background: rgba(255,255,255,0.92); padding: 6px 12px; border-radius: 4px;
            font: 15px/1.3 sans-serif; box-shadow: 0 1px 4px rgba(0,0,0,0.3); text-align: center;}
          .tc-schematic {color: #b30000; font-weight: bold;}
          .tc-legend {position: fixed; bottom: 24px; left: 10px; z-index: 9999; max-width: 280px;
            background: rgba(255,255,255,0.92); padding: 8px 10px; border-radius: 4px;
            font: 12px/1.4 sans-serif; box-shadow: 0 1px 4px rgba(0,0,0,0.3);}
          .tc-legend i {display: inline-block; width: 14px; height: 14px; margin-right: 6px;
            vertical-align: middle; border: 1px solid #555;}
          .tc-legend i.dot {border-radius: 7px;}
          .tc-legend .tc-note {color: #555; margin-top: 4px;}
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div class="tc-title" id="tc-title">{{ this.title_html }}</div>
        <div class="tc-legend" id="tc-legend">{{ this.legend_html }}</div>
        {% endmacro %}
        """
    )

    def __init__(self, title_html: str, legend_html: str) -> None:
        super().__init__()
        self._name = "TowncoverOverlay"
        self.title_html = title_html
        self.legend_html = legend_html


def _legend_html(
    t: dict[str, str],
    *,
    mode: str,
    vmax: int,
    cats: dict[str, tuple[str, str]],
    counts: dict[str, int],
    schematic: bool,
    radius_km: float | None,
    basemap: str,
) -> str:
    rows = [f"<b>{t['legend']}</b>"]
    if mode == "bool":
        rows.append(f'<div><i style="background:{COVERED_COLOUR}"></i>{t["covered"]}</div>')
        rows.append(f'<div><i style="background:{UNCOVERED_COLOUR}"></i>{t["uncovered"]}</div>')
    elif mode == "count":
        rows.append(f"<div>{t['count_ramp']}</div>")
        rows.append(f'<div><i style="background:{UNCOVERED_COLOUR}"></i>0</div>')
        ramp = "".join(f'<i style="background:{c};margin-right:0"></i>' for c in _RAMP)
        rows.append(f"<div>{ramp} 1 – {vmax}</div>")
    for cat, (label, colour) in cats.items():
        if counts.get(cat):
            rows.append(
                f'<div><i class="dot" style="background:{colour}"></i>{escape_text(label)} ({counts[cat]})</div>'
            )
    if radius_km:
        rows.append(f"<div>○ {t['radius'].format(r=escape_text(f'{radius_km:g}'))}</div>")
    if schematic:
        rows.append(f'<div class="tc-schematic">⚠ {SCHEMATIC_LABEL}</div>')
    if basemap == "amap":
        rows.append(f'<div class="tc-note">{t["amap_note"]}</div>')
    rows.append(f'<div class="tc-note">{t["offline"]}</div>')
    return "".join(rows)


def coverage_map(
    units: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame | None,
    *,
    value_column: str = "covered",
    schematic: bool,
    title: str,
    lang: Literal["zh", "en"] = "zh",
    categories: Mapping[str, object] | None = None,
    radius_km: float | None = None,
    basemap: Literal["osm", "amap"] = "osm",
) -> folium.Map:
    """Draw units coloured by coverage, with facility markers, on a folium map.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Columns ``code``, ``name``, ``covered`` (bool), ``n_facilities`` (int), ``kind``, ``geometry``
        (polygons; reprojected to EPSG:4326 if in another CRS). Missing attribute columns are tolerated.
    facilities : geopandas.GeoDataFrame or None
        Columns ``name``, ``category``, ``category_label``, ``address``, ``match_status``,
        ``township_name``, ``geometry`` (WGS-84 points). Rows without a point are not drawn.
    value_column : str, default "covered"
        Column of ``units`` to colour by: boolean → two colours (covered / not covered); numeric →
        a ramp (0 in the "not covered" colour); absent → neutral grey.
    schematic : bool
        True when the unit polygons are schematic cells; the legend and title then say
        示意边界 / schematic boundaries.
    title : str
        Shown in a bar at the top of the map (escaped).
    lang : {"zh", "en"}, default "zh"
        Language of labels, tooltips and legend.
    categories : mapping, optional
        Category id → label, or → ``{"label": ..., "color": ...}``; sets legend order, labels and
        colours. Categories found in the data but not here get labels from ``category_label`` and
        colours from a fixed palette.
    radius_km : float, optional
        Draw a service-radius circle of this many kilometres around each facility.
    basemap : {"osm", "amap"}, default "osm"
        ``"osm"``: OpenStreetMap tiles, data drawn in WGS-84. ``"amap"``: Amap (高德) tiles, and every
        geometry shifted to GCJ-02 for display only.

    Returns
    -------
    folium.Map
        The map, zoomed to the units (or facilities when there are no units).
    """
    if basemap not in ("osm", "amap"):
        raise ValueError(f"basemap must be 'osm' or 'amap', not {basemap!r}")
    t = _TEXT["en" if lang == "en" else "zh"]
    units = _to_wgs84(units)

    # --- units: choropleth -------------------------------------------------------------------
    n = len(units)
    geoms = _display_geometries(_simplify_units(np.asarray(units.geometry.array, dtype=object)), basemap)
    covered = (
        units["covered"].astype("boolean")
        if "covered" in units.columns
        else pd.Series(pd.NA, index=units.index)
    )
    status = np.where(
        covered.isna(), t["unknown"], np.where(covered.fillna(False), t["covered"], t["uncovered"])
    )
    counts_col = (
        pd.to_numeric(units["n_facilities"], errors="coerce") if "n_facilities" in units.columns else None
    )
    mode = "none"
    values = None
    if value_column in units.columns:
        col = units[value_column]
        if pd.api.types.is_bool_dtype(col.dtype) or value_column == "covered":
            mode = "bool"
            values = col.astype("boolean")
        elif pd.api.types.is_numeric_dtype(col.dtype):
            mode = "count"
            values = pd.to_numeric(col, errors="coerce")
    vmax = 1
    if mode == "count" and values.notna().any():
        vmax = int(max(1, values.max()))
    ramp = branca.colormap.LinearColormap(list(_RAMP), vmin=1, vmax=max(vmax, 2))

    fills: list[str]
    if mode == "bool":
        fills = np.where(
            values.isna(), NEUTRAL_COLOUR, np.where(values.fillna(False), COVERED_COLOUR, UNCOVERED_COLOUR)
        ).tolist()
    elif mode == "count":
        v = values.to_numpy(dtype=float, na_value=np.nan)
        fills = [
            NEUTRAL_COLOUR if np.isnan(x) else (UNCOVERED_COLOUR if x <= 0 else ramp(min(x, vmax))[:7])
            for x in v
        ]
    else:
        fills = [NEUTRAL_COLOUR] * n

    names = _escape_series(units["name"]) if "name" in units.columns else [""] * n
    codes = _escape_series(units["code"]) if "code" in units.columns else [""] * n
    nfac = (
        ["" if pd.isna(x) else str(int(x)) for x in counts_col.tolist()]
        if counts_col is not None
        else [""] * n
    )
    features = []
    for i, geom in enumerate(geoms):
        if geom is None or shapely.is_empty(geom):
            continue
        features.append(
            {
                "type": "Feature",
                "id": i,
                "properties": {
                    "name": names[i],
                    "code": codes[i],
                    "status": str(status[i]),
                    "n": nfac[i],
                    "f": fills[i],
                },
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    present = [g for g in geoms if g is not None and not shapely.is_empty(g)]

    # --- facilities -------------------------------------------------------------------------
    fac = None
    if facilities is not None and len(facilities):
        fac = _to_wgs84(facilities)
        fgeoms = np.asarray(fac.geometry.array, dtype=object)
        keep = ~(shapely.is_missing(fgeoms) | shapely.is_empty(fgeoms))
        fac = fac.loc[keep]
        fgeoms = _display_geometries(shapely.centroid(fgeoms[keep]), basemap, MARKER_DECIMALS)
        fx, fy = shapely.get_x(fgeoms), shapely.get_y(fgeoms)

    # --- map --------------------------------------------------------------------------------
    if present:
        xmin, ymin, xmax, ymax = shapely.total_bounds(np.array(present, dtype=object))
    elif fac is not None and len(fac):
        xmin, ymin, xmax, ymax = float(fx.min()), float(fy.min()), float(fx.max()), float(fy.max())
    else:
        xmin, ymin, xmax, ymax = 73.5, 18.0, 135.0, 53.5  # mainland China
    m = folium.Map(
        location=[(ymin + ymax) / 2, (xmin + xmax) / 2],
        zoom_start=9,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
    )
    if basemap == "amap":
        folium.TileLayer(
            tiles=_AMAP_TILES, attr=_AMAP_ATTR, name=t["amap"], subdomains="1234", max_zoom=18
        ).add_to(m)
    else:
        folium.TileLayer("OpenStreetMap", name=t["osm"]).add_to(m)

    if features:
        aliases = [t["name"], t["code"], t["status"], t["n"]]
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=escape_text(
                t["units"]
                + ("（示意）" if schematic and lang == "zh" else " (schematic)" if schematic else "")
            ),
            style_function=lambda f: {
                "fillColor": f["properties"]["f"],
                "color": "#333333",
                "weight": 1,
                "fillOpacity": 0.55,
                "dashArray": "4 3" if schematic else None,
            },
            highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.75},
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "code", "status", "n"], aliases=aliases, sticky=True
            ),
        ).add_to(m)

    cats = _category_colours(fac, categories)
    cat_counts: dict[str, int] = {}
    if fac is not None and len(fac):
        cat_ids = (
            fac["category"].astype("string").fillna("unclassified").tolist()
            if "category" in fac.columns
            else ["unclassified"] * len(fac)
        )
        if "unclassified" in cat_ids and "unclassified" not in cats:
            cats["unclassified"] = ("unclassified", _UNCLASSIFIED_COLOUR)

        def col(name: str) -> list[str]:
            return _escape_series(fac[name]) if name in fac.columns else [""] * len(fac)

        fnames, faddr = col("name"), col("address")
        # Townships and statuses are sent once, in the shared tables; markers carry their index.
        town_idx, towns = pd.factorize(
            pd.Series(col("township_name"), dtype=object), use_na_sentinel=False
        )
        status_raw = (
            fac["match_status"].astype("string").fillna("")
            if "match_status" in fac.columns
            else pd.Series("", index=fac.index, dtype="string")
        )
        status_idx, statuses = pd.factorize(status_raw.to_numpy(dtype=object), use_na_sentinel=False)
        tables = _FacilityTables(
            {k: t[k] for k in ("category", "address", "township", "match")},
            [str(x) for x in towns],
            [escape_text(t.get(s, s)) if s else "" for s in statuses],
        )
        lat = np.round(np.asarray(fy, dtype=float), MARKER_DECIMALS)
        lng = np.round(np.asarray(fx, dtype=float), MARKER_DECIMALS)
        xy = np.column_stack([lat, lng])
        cat_arr = np.asarray(cat_ids, dtype=object)
        if radius_km:
            radius_group = folium.FeatureGroup(name=escape_text(t["radius"].format(r=f"{radius_km:g}")))
            _Circles(
                [
                    [lat[i].item(), lng[i].item(), cats.get(c, ("", _UNCLASSIFIED_COLOUR))[1]]
                    for i, c in enumerate(cat_ids)
                ],
                float(radius_km) * 1000.0,
            ).add_to(radius_group)
            radius_group.add_to(m)
        m.add_child(tables)
        for cat, (label, colour) in cats.items():
            rows = np.flatnonzero(cat_arr == cat)
            if not len(rows):
                continue
            cat_counts[cat] = len(rows)
            group = folium.FeatureGroup(name=f'<span style="color:{colour}">●</span> {escape_text(label)}')
            _FacilityCluster(
                tables,
                colour,
                escape_text(label),
                {
                    "xy": xy[rows].ravel().tolist(),
                    "name": [fnames[i] for i in rows],
                    "address": [faddr[i] for i in rows],
                    "town": town_idx[rows].tolist(),
                    "status": status_idx[rows].tolist(),
                },
            ).add_to(group)
            group.add_to(m)

    folium.LayerControl(collapsed=False).add_to(m)
    title_html = f"<b>{escape_text(title)}</b>"
    if schematic:
        title_html += f'<br><span class="tc-schematic">{SCHEMATIC_LABEL}</span>'
    legend = _legend_html(
        t,
        mode=mode,
        vmax=vmax,
        cats=cats,
        counts=cat_counts,
        schematic=schematic,
        radius_km=radius_km,
        basemap=basemap,
    )
    m.get_root().add_child(_Overlay(title_html, legend))
    if xmax > xmin or ymax > ymin:
        bounds = [[float(ymin), float(xmin)], [float(ymax), float(xmax)]]
        m.fit_bounds(bounds)
        m.add_child(_FitWhenShown(bounds))
    return m
