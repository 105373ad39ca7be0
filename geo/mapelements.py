"""The coverage map's page elements: compact facility layers, radius circles, title, legend, fit, background.

Each element is a branca ``MacroElement`` whose script receives its data as one JSON value
(:func:`script_json`: UTF-8 text kept, ``< > & '`` never literal), so no user text can close the
script element. All user text in that data is HTML-escaped by the caller (``geo.webmap.escape_text``).
"""

from __future__ import annotations

import json

from branca.element import MacroElement
from folium import plugins
from folium.elements import JSCSSMixin
from jinja2 import Template

__all__ = ["Background", "FacilityLayer", "FacilityTables", "FitView", "RadiusCircles", "TileTable", "TitleLegend",
           "script_json"]

# In JSON placed inside a <script>: these never appear literally, so no text can close the script
# element or start an HTML comment; U+2028/2029 are line ends to older JavaScript parsers.
_SCRIPT_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script_json(value: object) -> str:
    """Compact JSON for a ``<script>`` element: UTF-8 text kept as is, ``< > & '`` as ``\\uXXXX``."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).translate(_SCRIPT_SAFE)


class FacilityTables(MacroElement):
    """Text shared by every facility layer of a map: popup field labels, township names, match statuses.

    The facility layers refer to townships and statuses by their index here, so a name shared by
    thousands of markers is sent once.
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
        self.fields, self.towns, self.statuses = fields, towns, statuses

    @property
    def json(self) -> str:
        return script_json({"field": self.fields, "town": self.towns, "status": self.statuses})


class FacilityLayer(JSCSSMixin):
    """One category's facilities as a compact column table, drawn client-side.

    ``data`` holds ``xy`` (flat ``[lat0, lng0, lat1, lng1, ...]``), ``name`` and ``address``
    (HTML-escaped), ``town`` and ``status`` (indexes into the map's :class:`FacilityTables`) and
    ``approx`` (1 where only the township is known: drawn hollow with a dashed ring, and the popup says
    the position is approximate). A layer of more than ``cluster_min`` markers is clustered with small
    translucent cluster icons that stop clustering at zoom 12, so the units' colours stay visible;
    smaller layers are plain circle markers. Popups and tooltips are built when first opened.
    """

    default_js = plugins.MarkerCluster.default_js
    default_css = plugins.MarkerCluster.default_css
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var t = {{ this.tables.get_name() }}, d = {{ this.json }};
            var exact = {radius: 6, color: "#ffffff", weight: 1, fillColor: d.colour, fillOpacity: 0.95};
            var approx = {radius: 5, color: "#333333", weight: 1.2, dashArray: "2 2", fillColor: d.colour,
                fillOpacity: 0.75};
            function popup(layer) {
                var i = layer.tcRow;
                return "<b>" + d.name[i] + "</b><br>" + t.field.category + ": " + d.label
                    + "<br>" + t.field.address + ": " + d.address[i]
                    + "<br>" + t.field.township + ": " + t.town[d.town[i]]
                    + "<br>" + t.field.match + ": " + t.status[d.status[i]]
                    + (d.approx[i] ? "<br><i>" + t.field.approx + "</i>" : "");
            }
            function tooltip(layer) { return d.name[layer.tcRow]; }
            var n = d.name.length, markers = new Array(n);
            for (var i = 0; i < n; i++) {
                markers[i] = L.circleMarker([d.xy[2 * i], d.xy[2 * i + 1]], d.approx[i] ? approx : exact);
                markers[i].tcRow = i;
            }
            var group;
            if (d.cluster) {
                var opts = {{ this.options|tojson }};
                opts.iconCreateFunction = function (c) {
                    return L.divIcon({className: "tc-cluster", iconSize: [26, 26],
                        html: '<div style="background:' + d.colour + '">' + c.getChildCount() + "</div>"});
                };
                group = L.markerClusterGroup(opts);
            } else {
                group = L.featureGroup();
            }
            // Popups and tooltips are bound on first use: nothing is built for markers never opened.
            group.on("click", function (e) {
                var m = e.propagatedFrom || e.layer;
                if (m && m.tcRow !== undefined && !m.getPopup()) {
                    L.DomEvent.stop(e);  // as a bound popup does: the map's click must not close it
                    m.bindPopup(popup, {maxWidth: 320}).openPopup();
                }
            });
            group.on("mouseover", function (e) {
                var m = e.propagatedFrom || e.layer;
                if (m && m.tcRow !== undefined && !m.getTooltip()) { m.bindTooltip(tooltip).openTooltip(); }
            });
            // Markers join once the group is on the map and after the first paint, so the polygons show
            // at once. Not chunkedLoading: in markercluster 1.1.0 it breaks zooming in once loaded.
            function load() {
                if (!group._map) { group.once("add", load); return; }
                if (d.cluster) { group.addLayers(markers); } else { markers.forEach(function (m) { group.addLayer(m); }); }
                markers = null;
            }
            group.once("add", function () { L.Util.requestAnimFrame(function () { setTimeout(load, 0); }); });
            group.addTo({{ this._parent.get_name() }});
            return group;
        })();
        {% endmacro %}
        """
    )

    def __init__(self, tables: FacilityTables, colour: str, label: str, data: dict[str, object],
                 *, cluster: bool) -> None:
        super().__init__()
        self._name = "FacilityLayer"
        self.tables, self.colour, self.label, self.data, self.cluster = tables, colour, label, data, cluster
        self.options = {"maxClusterRadius": 30, "disableClusteringAtZoom": 12, "showCoverageOnHover": False,
                        "spiderfyOnMaxZoom": True}

    @property
    def json(self) -> str:
        return script_json({"colour": self.colour, "label": self.label, "cluster": self.cluster, **self.data})


class RadiusCircles(MacroElement):
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
        self.rows, self.radius = rows, float(radius_m)


class FitView(MacroElement):
    """Fit the map to its bounds clear of the title (top), the layer control (right) and the legend (bottom).

    The padding is measured on the page once the controls exist. A map drawn in a hidden container
    (a Streamlit tab not yet opened) has size 0 and would stay at zoom 0 when shown, so it fits
    again at every resize until the planner first touches it.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, bounds) {
            var box = map.getContainer(), touches = ["pointerdown", "wheel", "keydown", "touchstart"];
            function sized() { var s = map.getSize(); return s.x > 0 && s.y > 0; }
            function fit() {
                if (!sized()) { return; }
                var top = 10, right = 10, bottom = 10, title = document.getElementById("tc-title"),
                    legend = document.getElementById("tc-legend"),
                    control = box.querySelector(".leaflet-control-layers"), r = box.getBoundingClientRect();
                if (title) { top = Math.max(top, title.getBoundingClientRect().bottom - r.top + 8); }
                if (control) { right = Math.max(right, control.offsetWidth + 20); }
                if (legend) { bottom = r.bottom - legend.getBoundingClientRect().top + 8; }
                var s = map.getSize();
                if (s.y - top < 160) { top = 10; }
                if (s.y - top - bottom < 240) { bottom = 10; }
                if (s.x - right < 240) { right = 10; }
                map.fitBounds(bounds, {paddingTopLeft: [10, top], paddingBottomRight: [right, bottom]});
            }
            function stop() {
                map.off("resize", fit);
                touches.forEach(function (t) { box.removeEventListener(t, stop, true); });
            }
            map.fitBounds(bounds);
            setTimeout(fit, 0);
            map.on("resize", fit);
            touches.forEach(function (t) { box.addEventListener(t, stop, true); });
        })({{ this._parent.get_name() }}, {{ this.bounds|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitView"
        self.bounds = bounds


class TitleLegend(MacroElement):
    """The title bar (top centre) and the legend, a Leaflet control stacked above the scale bar."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .tc-title {position: fixed; top: 10px; left: 50%; transform: translateX(-50%); z-index: 9999;
            background: rgba(255,255,255,0.92); padding: 6px 12px; border-radius: 4px; max-width: 60%;
            font: 15px/1.3 sans-serif; box-shadow: 0 1px 4px rgba(0,0,0,0.3); text-align: center;}
          .tc-schematic {color: #b30000; font-weight: bold;}
          .tc-legend {max-width: 280px; background: rgba(255,255,255,0.92); padding: 8px 10px;
            border-radius: 4px; font: 12px/1.4 sans-serif; box-shadow: 0 1px 4px rgba(0,0,0,0.3);}
          .tc-legend i {display: inline-block; width: 14px; height: 14px; margin-right: 6px;
            vertical-align: middle; border: 1px solid #555;}
          .tc-legend i.dot {border-radius: 7px;}
          .tc-legend i.approx {border-radius: 7px; border: 1.5px dashed #333; opacity: 0.7;}
          .tc-legend .tc-note {color: #555; margin-top: 4px;}
          .tc-cluster div {width: 26px; height: 26px; border-radius: 13px; opacity: 0.8; color: #fff;
            font: bold 11px/26px sans-serif; text-align: center; border: 2px solid #fff;}
          .tc-bg-label {white-space: nowrap; color: #333; font: 12px/1 sans-serif; pointer-events: none;
            text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; transform: translate(-50%, -50%);}
          .tc-bg-label.l0 {font-size: 16px; font-weight: bold; color: #222;}
          .tc-bg-label.l1 {font-size: 14px; color: #333;}
          .tc-bg-label.l2 {font-size: 12px; color: #555;}
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div class="tc-title" id="tc-title">{{ this.title_html }}</div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function (map) {
            var legend = L.control({position: "bottomleft"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "tc-legend");
                div.id = "tc-legend";
                div.innerHTML = {{ this.legend_json }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, title_html: str, legend_html: str) -> None:
        super().__init__()
        self._name = "TitleLegend"
        self.title_html = title_html
        self.legend_json = script_json(legend_html)


class Background(MacroElement):
    """The offline background: province, prefecture and county outlines with names, as vector layers.

    ``data`` holds ``shapes`` (a GeoJSON FeatureCollection, property ``l`` = level 0 province,
    1 prefecture, 2 county) and ``labels`` (rows ``[lat, lng, level, escaped name]``). Outlines sit
    in a pane under the tiles (a tile layer that loads covers them; one that cannot be reached leaves
    them visible); names show by zoom: the province up to 8, prefectures 6–10, counties from 8.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var d = {{ this.json }};
            map.createPane("tcBackground").style.zIndex = 150;
            var labels = map.createPane("tcBackgroundLabels");
            labels.style.zIndex = d.labelsOnTop ? 450 : 160;
            labels.style.pointerEvents = "none";
            var styles = [
                {color: "#444444", weight: 2.2, fill: true, fillColor: "#f6f3ea", fillOpacity: 1},
                {color: "#666666", weight: 1.3, dashArray: "6 3", fill: false},
                {color: "#9a9a9a", weight: 0.7, fill: false}];
            L.geoJSON(d.shapes, {pane: "tcBackground", interactive: false,
                style: function (f) { return styles[f.properties.l]; }}).addTo(map);
            var groups = [L.layerGroup(), L.layerGroup(), L.layerGroup()], shown = [[0, 8], [6, 10], [8, 30]];
            d.labels.forEach(function (r) {
                L.marker([r[0], r[1]], {pane: "tcBackgroundLabels", interactive: false, keyboard: false,
                    icon: L.divIcon({className: "tc-bg-label l" + r[2], html: r[3], iconSize: null})})
                    .addTo(groups[r[2]]);
            });
            function byZoom() {
                var z = map.getZoom();
                groups.forEach(function (g, i) {
                    var on = z >= shown[i][0] && z <= shown[i][1];
                    if (on && !map.hasLayer(g)) { g.addTo(map); } else if (!on && map.hasLayer(g)) { map.removeLayer(g); }
                });
            }
            map.on("zoomend", byZoom);
            map.whenReady(byZoom);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, shapes: dict[str, object], labels: list[list[object]], *, labels_on_top: bool) -> None:
        super().__init__()
        self._name = "Background"
        self.data = {"shapes": shapes, "labels": labels, "labelsOnTop": labels_on_top}

    @property
    def json(self) -> str:
        return script_json(self.data)


class TileTable(MacroElement):
    """Raster tiles embedded in the page (from an MBTiles file): ``"z/x/y"`` → data URI."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var d = {{ this.json }};
            var Embedded = L.GridLayer.extend({createTile: function (c) {
                var img = document.createElement("img"), src = d.tiles[c.z + "/" + c.x + "/" + c.y];
                img.alt = "";
                if (src) { img.src = src; }
                return img;
            }});
            new Embedded({minNativeZoom: d.minz, maxNativeZoom: d.maxz, maxZoom: 19,
                attribution: d.attribution}).addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, tiles: dict[str, str], min_zoom: int, max_zoom: int, attribution: str) -> None:
        super().__init__()
        self._name = "TileTable"
        self.data = {"tiles": tiles, "minz": min_zoom, "maxz": max_zoom, "attribution": attribution}

    @property
    def json(self) -> str:
        return script_json(self.data)
