"""The coverage map: one renderer for the Streamlit app and the standalone HTML export.

:func:`coverage_map` draws township (or village) units as a choropleth — covered / not covered in two
colours, or a facility-count ramp — over the offline background (province, prefecture and county
outlines with names, :mod:`geo.basemap`) or a chosen tile layer, with the facilities of the chosen
category (other categories as layers, off), optional service-radius circles, proposed units, a legend
above the scale bar and a title that the county's north is kept clear of. The app shows the map with
``st_folium`` (its scripts point at ``/app/static``); :func:`standalone_html` makes the export page with
Leaflet inlined. Both open offline.

Facilities with their own coordinates are drawn there; one known only by its township is drawn
inside that township's polygon, spread deterministically (:func:`spread_in_units`) and marked as
approximate. Category colours are fixed (``towncover.vocabulary.category_colour``), the same everywhere.

All user text (names, addresses, categories) is escaped by :func:`escape_text` before it reaches the
page. Facility markers are compact column tables per category (``geo.mapelements.FacilityLayer``):
a province's 27,000 markers take ~2.7 MB.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping
from typing import Any, Literal

import branca
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import mapelements as _el
from geo.basemap import Basemap, background_outlines, mbtiles_tiles, resolve_basemap
from geo.mapassets import localise_assets, standalone_html
from towncover.files import is_missing
from towncover.vocabulary import MATCH_STATUSES, category_colour
from towncover.vocabulary import label as vocabulary_label

__all__ = ["COVERED_COLOUR", "SCHEMATIC_LABEL", "UNCOVERED_COLOUR", "add_proposals", "coverage_map", "escape_text", "localise_assets", "proposed_layer", "spread_in_units",
           "standalone_html"]

COVERED_COLOUR = "#1f78b4"  # blue: covered
UNCOVERED_COLOUR = "#e6550d"  # orange: not covered (blue/orange stays distinct for colour-blind readers)
NEUTRAL_COLOUR = "#9e9e9e"
PROPOSED_COLOUR = "#b30000"
SCHEMATIC_LABEL = "示意边界 / schematic boundaries"
_RAMP = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")
#: Decimals of facility marker coordinates (1e-6 degree ≈ 0.1 m).
MARKER_DECIMALS = 6
#: A category layer with more markers than this is clustered.
CLUSTER_MIN = 200

_TEXT = {
    "zh": {
        "name": "名称", "code": "代码", "status": "覆盖情况", "n": "设施数", "covered": "已覆盖",
        "uncovered": "未覆盖", "unknown": "未知", "category": "类别", "address": "地址", "match": "匹配",
        "township": "所在乡镇", "units": "乡镇（街道）", "radius": "服务半径 {r} 公里", "legend": "图例",
        "count_ramp": "设施数", "approx": "仅知所在乡镇：图上位置为近似", "approx_legend": "仅知乡镇（近似位置）",
        "others": "其他类别在图层控件中（默认关闭）", "background": "行政区划轮廓（离线）",
        "bg_note": "底图：离线行政区划轮廓（省、市、县），无需联网",
        "tiles_note": "底图：{name}；无网络时显示离线行政区划轮廓", "gcj_note": "图上坐标已偏移到 GCJ-02 以对齐底图",
        "osm": "OpenStreetMap", "amap": "高德地图", "url": "自定义瓦片", "mbtiles": "本地 MBTiles",
        "proposed": "建议新增覆盖",
    },
    "en": {
        "name": "Name", "code": "Code", "status": "Status", "n": "Facilities", "covered": "covered",
        "uncovered": "not covered", "unknown": "unknown", "category": "Category", "address": "Address",
        "match": "Match", "township": "Township", "units": "Townships", "radius": "Service radius {r} km",
        "legend": "Legend", "count_ramp": "Facility count",
        "approx": "Only the township is known: position on the map is approximate",
        "approx_legend": "township only (approximate position)",
        "others": "Other categories are in the layer control (off)", "background": "Division outlines (offline)",
        "bg_note": "Background: offline province, prefecture and county outlines; no network needed",
        "tiles_note": "Basemap: {name}; offline, the division outlines show", "gcj_note": "drawing shifted to GCJ-02",
        "osm": "OpenStreetMap", "amap": "Amap", "url": "custom tiles", "mbtiles": "local MBTiles",
        "proposed": "Proposed",
    },
}

class CoverageMap(folium.Map):
    """A folium map that remembers the datum it is drawn in, so proposals added later line up."""

    datum: str = "wgs84"


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
    if is_missing(value):
        return ""
    return html.escape(str(value), quote=True).translate(_HTML_EXTRA)


def _escape_series(values: pd.Series) -> list[str]:
    return [escape_text(v) for v in values.tolist()]


def _to_wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        return frame.to_crs(4326)
    return frame


def _display_geometries(geoms: np.ndarray, datum: str, decimals: int = 5) -> np.ndarray:
    """Shift to GCJ-02 for tiles in that datum (display only) and round (5 decimals ≈ 1 m)."""
    if datum == "gcj02":
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


# -- approximate positions ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _halton_table(size: int, base: int) -> np.ndarray:
    return _van_der_corput(size, base)


def _halton(n: int, base: int) -> np.ndarray:
    """The first ``n`` terms (from the second) of the van der Corput sequence in ``base`` (shared table)."""
    size = 1 << max(10, int(n - 1).bit_length())
    return _halton_table(size, base)[:n]


def _van_der_corput(n: int, base: int) -> np.ndarray:
    i = np.arange(1, n + 1)
    out, f = np.zeros(n), 1.0
    while i.any():
        f /= base
        out += f * (i % base)
        i //= base
    return out


def _points_inside(shape: shapely.Geometry, box: np.ndarray, k: int, fallback: np.ndarray) -> np.ndarray:
    """``k`` well-spread points inside a (prepared) polygon: the first Halton points over its box inside it."""
    xmin, ymin, xmax, ymax = box
    fill = max(shapely.area(shape) / max((xmax - xmin) * (ymax - ymin), 1e-18), 0.02)
    n = int(k / fill * 1.5) + 16
    for _ in range(4):
        x = xmin + _halton(n, 2) * (xmax - xmin)
        y = ymin + _halton(n, 3) * (ymax - ymin)
        inside = shapely.contains_xy(shape, x, y)
        if inside.sum() >= k:
            return np.column_stack([x[inside][:k], y[inside][:k]])
        n *= 4
    found = np.column_stack([x[inside], y[inside]])
    return np.vstack([found, np.repeat(fallback[None, :], k - len(found), axis=0)])


def spread_in_units(codes: pd.Series, units: gpd.GeoDataFrame) -> np.ndarray:
    """Deterministic display points, inside each row's unit polygon, for rows known only by their unit.

    Parameters
    ----------
    codes : pandas.Series
        Each row's unit code (township code), in a stable order (rows of one code are spread in it).
    units : geopandas.GeoDataFrame
        ``code`` and polygons (WGS-84).

    Returns
    -------
    numpy.ndarray of shapely Points (None where the code has no polygon)
        Rows of one unit take the first points of a Halton sequence inside it (inset from its edge
        by 8 % of its size): the same input always gives the same points, and no two rows share one.
    """
    keys = codes.astype("string").fillna("").to_numpy(dtype=object)
    out = np.full(len(keys), None, dtype=object)
    shapes = units.assign(code=units["code"].astype(str)).drop_duplicates("code").set_index("code").geometry
    wanted = pd.Index(pd.unique(keys)).intersection(shapes.index)
    polygons = np.asarray(shapes.loc[wanted].array, dtype=object)
    usable = ~(shapely.is_missing(polygons) | shapely.is_empty(polygons))
    wanted, polygons = wanted[usable], polygons[usable]
    if not len(wanted):
        return out
    inner = shapely.buffer(polygons, -0.08 * np.sqrt(shapely.area(polygons)))
    thin = shapely.is_empty(inner) | (shapely.area(inner) <= 0)
    inner[thin] = polygons[thin]
    shapely.prepare(inner)
    boxes = shapely.bounds(inner)
    centres = shapely.get_coordinates(shapely.point_on_surface(polygons))
    slot = pd.Series(np.arange(len(wanted)), index=wanted).reindex(keys).to_numpy(dtype=float)
    rows = np.flatnonzero(~np.isnan(slot))
    rows = rows[np.argsort(slot[rows], kind="stable")]  # grouped by unit, file order inside each
    starts = np.flatnonzero(np.r_[True, np.diff(slot[rows]) != 0])
    xy = np.empty((len(keys), 2))
    for group in np.split(rows, starts[1:]):
        i = int(slot[group[0]])
        xy[group] = _points_inside(inner[i], boxes[i], len(group), centres[i])
    out[rows] = shapely.points(xy[rows])
    return out


# -- map pieces ---------------------------------------------------------------------------------------
def _unit_features(units: gpd.GeoDataFrame, value_column: str, t: dict[str, str],
                   datum: str) -> tuple[list[dict[str, Any]], str, int]:
    """GeoJSON features of the units, their fill mode (bool | count | none) and the ramp's top."""
    n = len(units)
    geoms = _display_geometries(_simplify_units(np.asarray(units.geometry.array, dtype=object)), datum)
    covered = units["covered"].astype("boolean") if "covered" in units.columns else pd.Series(pd.NA, index=units.index)
    status = np.where(covered.isna(), t["unknown"], np.where(covered.fillna(False), t["covered"], t["uncovered"]))
    mode, vmax = "none", 1
    fills: list[str] = [NEUTRAL_COLOUR] * n
    col = units[value_column] if value_column in units.columns else None
    if col is not None and (pd.api.types.is_bool_dtype(col.dtype) or value_column == "covered"):
        mode, flags = "bool", col.astype("boolean")
        fills = np.where(flags.isna(), NEUTRAL_COLOUR,
                         np.where(flags.fillna(False), COVERED_COLOUR, UNCOVERED_COLOUR)).tolist()
    elif col is not None and pd.api.types.is_numeric_dtype(col.dtype):
        mode, numbers = "count", pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        vmax = int(max(1, np.nanmax(numbers))) if (~np.isnan(numbers)).any() else 1
        ramp = branca.colormap.LinearColormap(list(_RAMP), vmin=1, vmax=max(vmax, 2))
        fills = [NEUTRAL_COLOUR if np.isnan(x) else (UNCOVERED_COLOUR if x <= 0 else ramp(min(float(x), vmax))[:7])
                 for x in numbers]
    names = _escape_series(units["name"]) if "name" in units.columns else [""] * n
    codes = _escape_series(units["code"]) if "code" in units.columns else [""] * n
    counts = pd.to_numeric(units["n_facilities"], errors="coerce") if "n_facilities" in units.columns else None
    nfac = ["" if pd.isna(x) else str(int(x)) for x in counts.tolist()] if counts is not None else [""] * n
    features = [
        {"type": "Feature", "id": i,
         "properties": {"name": names[i], "code": codes[i], "status": str(status[i]), "n": nfac[i], "f": fills[i]},
         "geometry": shapely.geometry.mapping(geom)}
        for i, geom in enumerate(geoms) if geom is not None and not shapely.is_empty(geom)
    ]
    return features, mode, vmax


def _facility_positions(facilities: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Facilities with a point to draw, and whether each is approximate (spread in its township)."""
    fac = _to_wgs84(facilities).reset_index(drop=True)
    geoms = np.asarray(fac.geometry.array, dtype=object)
    approx = np.zeros(len(fac), dtype=bool)
    if "position" in fac.columns and "township_code" in fac.columns and len(units):
        approx = (fac["position"].astype("string") != "coordinates").fillna(True).to_numpy(dtype=bool)
        if approx.any():
            spread = spread_in_units(fac.loc[approx, "township_code"], units)
            found = np.array([g is not None for g in spread], dtype=bool)
            idx = np.flatnonzero(approx)
            geoms[idx[found]] = spread[found]
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    kept = np.where(keep, geoms, np.full(len(geoms), None, dtype=object))
    fac = fac.set_geometry(gpd.GeoSeries(shapely.centroid(kept), crs=4326))
    return fac.loc[keep].reset_index(drop=True), approx[keep]


def _legend_html(t: dict[str, str], *, mode: str, vmax: int, cats: dict[str, tuple[str, str]],
                 counts: dict[str, int], shown: list[str], approx: bool, schematic: bool,
                 radius_km: float | None, basemap: Basemap, proposed: bool) -> str:
    rows = [f"<b>{t['legend']}</b>"]
    if mode == "bool":
        rows.append(f'<div><i style="background:{COVERED_COLOUR}"></i>{t["covered"]}</div>')
        rows.append(f'<div><i style="background:{UNCOVERED_COLOUR}"></i>{t["uncovered"]}</div>')
    elif mode == "count":
        rows.append(f"<div>{t['count_ramp']}</div>")
        rows.append(f'<div><i style="background:{UNCOVERED_COLOUR}"></i>0</div>')
        ramp = "".join(f'<i style="background:{c};margin-right:0"></i>' for c in _RAMP)
        rows.append(f"<div>{ramp} 1 – {vmax}</div>")
    for cat in shown:
        label, colour = cats[cat]
        rows.append(f'<div><i class="dot" style="background:{colour}"></i>{escape_text(label)} ({counts[cat]})</div>')
    if approx:
        rows.append(f'<div><i class="approx" style="background:#ccc"></i>{t["approx_legend"]}</div>')
    if set(counts) - set(shown):
        rows.append(f'<div class="tc-note">{t["others"]}</div>')
    if proposed:
        rows.append(f'<div><i style="border:3px solid {PROPOSED_COLOUR};background:none"></i>{t["proposed"]}</div>')
    if radius_km:
        rows.append(f"<div>○ {t['radius'].format(r=escape_text(f'{radius_km:g}'))}</div>")
    if schematic:
        rows.append(f'<div class="tc-schematic">⚠ {SCHEMATIC_LABEL}</div>')
    notes = [t["bg_note"]] if basemap.kind == "none" else [t["tiles_note"].format(name=t[basemap.kind])]
    if basemap.datum == "gcj02":
        notes.append(t["gcj_note"])
    rows += [f'<div class="tc-note">{note}</div>' for note in notes]
    return "".join(rows)


def _add_tiles(m: folium.Map, basemap: Basemap, bounds: tuple[float, float, float, float], t: dict[str, str]) -> None:
    if basemap.kind in ("osm", "amap", "url"):
        subdomains = "1234" if basemap.kind == "amap" else "abc"
        folium.TileLayer(tiles=basemap.source, attr=basemap.attribution or t[basemap.kind], name=t[basemap.kind],
                         subdomains=subdomains, max_zoom=18).add_to(m)
    elif basemap.kind == "mbtiles":
        tiles, zmin, zmax = mbtiles_tiles(basemap.source, bounds)
        m.add_child(_el.TileTable(tiles, zmin, zmax, basemap.attribution))


def _add_background(m: folium.Map, region: str, basemap: Basemap) -> tuple[float, float, float, float] | None:
    """Draw the offline background around a region; its bounds (display datum), or None when there is none."""
    outlines = background_outlines(region)
    if outlines.empty:
        return None
    geoms = _display_geometries(np.asarray(outlines.geometry.array, dtype=object), basemap.datum, 4)
    shapes: dict[str, object] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"l": int(level)}, "geometry": shapely.geometry.mapping(g)}
        for level, g in zip(outlines["level"], geoms, strict=True)]}
    anchors = shapely.get_coordinates(shapely.point_on_surface(geoms))
    labels = [[round(float(y), 4), round(float(x), 4), int(level), escape_text(name)]
              for (x, y), level, name in zip(anchors, outlines["level"], outlines["name"], strict=True)]
    m.add_child(_el.Background(shapes, labels, labels_on_top=basemap.kind == "none"))
    return _bounds(shapely.total_bounds(geoms))


def _region_of(units: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame | None) -> str | None:
    """The county (6 digits) most units or facilities belong to, for the background."""
    for frame, column in ((units, "code"), (facilities, "township_code")):
        if frame is not None and column in frame.columns and len(frame):
            codes = frame[column].astype("string").str[:6].dropna()
            codes = codes[codes.str.fullmatch(r"\d{6}").fillna(False)]
            if len(codes):
                return str(codes.value_counts().index[0])
    return None


def _facility_layers(m: folium.Map, fac: gpd.GeoDataFrame, approx: np.ndarray, *, lang: str,
                     cats: dict[str, tuple[str, str]], chosen: str | None, datum: str,
                     radius_km: float | None) -> dict[str, int]:
    """One layer per category (the chosen one on, others off); counts per category."""
    t = _TEXT[lang]
    geoms = _display_geometries(np.asarray(fac.geometry.array, dtype=object), datum, MARKER_DECIMALS)
    lat = np.round(shapely.get_y(geoms), MARKER_DECIMALS)
    lng = np.round(shapely.get_x(geoms), MARKER_DECIMALS)
    cat_ids = (fac["category"].astype("string").fillna("unclassified").to_numpy(dtype=object)
               if "category" in fac.columns else np.full(len(fac), "unclassified", dtype=object))

    def col(name: str) -> list[str]:
        return _escape_series(fac[name]) if name in fac.columns else [""] * len(fac)

    names, addresses = col("name"), col("address")
    # Townships and statuses are sent once, in the shared tables; markers carry their index.
    town_idx, towns = pd.factorize(pd.Series(col("township_name"), dtype=object), use_na_sentinel=False)
    status_raw = (fac["match_status"].astype("string").fillna("").to_numpy(dtype=object)
                  if "match_status" in fac.columns else np.full(len(fac), "", dtype=object))
    status_idx, statuses = pd.factorize(status_raw, use_na_sentinel=False)
    tables = _el.FacilityTables({k: t[k] for k in ("category", "address", "township", "match", "approx")},
                                [str(x) for x in towns], [escape_text(vocabulary_label(MATCH_STATUSES, s, lang)) if s else "" for s in statuses])
    m.add_child(tables)
    counts: dict[str, int] = {}
    for cat, (label, colour) in cats.items():
        rows = np.flatnonzero(cat_ids == cat)
        if not len(rows):
            continue
        counts[cat] = len(rows)
        show = chosen is None or cat == chosen
        group = folium.FeatureGroup(name=f'<span style="color:{colour}">●</span> {escape_text(label)}', show=show)
        if radius_km:
            _el.RadiusCircles([[lat[i].item(), lng[i].item(), colour] for i in rows],
                              float(radius_km) * 1000.0).add_to(group)
        _el.FacilityLayer(tables, colour, escape_text(label), {
            "xy": np.column_stack([lat[rows], lng[rows]]).ravel().tolist(),
            "name": [names[i] for i in rows], "address": [addresses[i] for i in rows],
            "town": town_idx[rows].tolist(), "status": status_idx[rows].tolist(),
            "approx": approx[rows].astype(int).tolist(),
        }, cluster=len(rows) > CLUSTER_MIN).add_to(group)
        group.add_to(m)
    return counts


def _category_table(fac: gpd.GeoDataFrame | None, categories: Mapping[str, object] | None,
                    chosen: str | None) -> dict[str, tuple[str, str]]:
    """Category id → (label, fixed colour): the chosen one first, then the given order, then the rest."""
    given = dict(categories or {})
    present: list[str] = []
    labels: dict[str, str] = {}
    if fac is not None and len(fac):
        cats = fac["category"].astype("string").fillna("unclassified") if "category" in fac.columns else \
            pd.Series("unclassified", index=fac.index)
        present = sorted(cats.unique().tolist())
        if "category_label" in fac.columns:
            pairs = pd.DataFrame({"c": cats, "l": fac["category_label"].astype("string")}).dropna()
            labels = dict(zip(pairs["c"], pairs["l"], strict=False))
    order = list(dict.fromkeys(([chosen] if chosen else []) + [c for c in given if c in present] + present))
    out = {}
    for cat in order:
        spec = given.get(cat)
        label = spec.get("label") or spec.get("label_zh") if isinstance(spec, Mapping) else spec
        out[cat] = (str(label or labels.get(cat) or cat), category_colour(cat))
    return out


def coverage_map(
    units: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame | None,
    *,
    value_column: str = "covered",
    schematic: bool,
    title: str,
    lang: Literal["zh", "en"] = "zh",
    categories: Mapping[str, object] | None = None,
    category: str | None = None,
    radius_km: float | None = None,
    basemap: str | Basemap | None = None,
    region: str | None = None,
    proposals: pd.DataFrame | None = None,
) -> folium.Map:
    """Draw units coloured by coverage, with facility markers, over the offline background or tiles.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Columns ``code``, ``name``, ``covered`` (bool), ``n_facilities`` (int), ``geometry``
        (polygons; reprojected to EPSG:4326 if in another CRS). Missing attribute columns are tolerated.
    facilities : geopandas.GeoDataFrame or None
        Columns ``name``, ``category``, ``category_label``, ``address``, ``match_status``,
        ``township_code``, ``township_name``, ``position``, ``geometry`` (WGS-84 points). A row whose
        ``position`` is not ``"coordinates"`` is drawn inside its township's polygon, spread
        (:func:`spread_in_units`) and marked approximate. Rows without a point are not drawn.
    value_column : str, default "covered"
        Column of ``units`` to colour by: boolean → two colours; numeric → a ramp (0 in the "not
        covered" colour); absent → neutral grey.
    schematic : bool
        True when the unit polygons are schematic cells: the legend and title say 示意边界.
    title : str
        Shown in a bar at the top of the map (escaped); the fit keeps the units below it.
    lang : {"zh", "en"}, default "zh"
    categories : mapping, optional
        Category id → label (or ``{"label": ...}``): legend order and labels. Colours are always
        :func:`category_colour`.
    category : str, optional
        The chosen category: its layer is on, every other category's layer is off. None: all on.
    radius_km : float, optional
        Service-radius circles of this many kilometres around each facility (in its category's layer).
    basemap : str or Basemap, optional
        See :func:`geo.basemap.resolve_basemap`; default ``settings.TILES`` ("none": the offline
        background only). Tiles in GCJ-02 (Amap) shift every geometry to GCJ-02 for display.
    region : str, optional
        Division code whose province/prefecture/county outlines form the background (default: the
        county most units belong to).
    proposals : pandas.DataFrame, optional
        A gap-closing proposal (``rank, code, name``): those units outlined in red and numbered.

    Returns
    -------
    folium.Map
        Scripts pointed at ``/app/static`` (for ``st_folium``); :func:`standalone_html` inlines them.
    """
    base = resolve_basemap(basemap)
    lang = "en" if lang == "en" else "zh"
    t = _TEXT[lang]
    units = _to_wgs84(units)
    features, mode, vmax = _unit_features(units, value_column, t, base.datum)
    fac, approx = (None, np.zeros(0, dtype=bool))
    if facilities is not None and len(facilities):
        fac, approx = _facility_positions(facilities, units)

    m = CoverageMap(location=[35.0, 105.0], zoom_start=5, tiles=None, control_scale=True, prefer_canvas=True)
    m.options["max_zoom"] = 19  # with no tile layer the map has no zoom limit, and clustering needs one
    m.options["zoom_snap"] = 0.25  # so the fit can keep the units clear of the title, legend and layer control
    region = region or _region_of(units, fac)
    bg_bounds = _add_background(m, region, base) if region else None
    bounds = _view_bounds(features, fac, base.datum, bg_bounds)
    _add_tiles(m, base, bounds, t)
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=escape_text(t["units"] + (("（示意）" if lang == "zh" else " (schematic)") if schematic else "")),
            style_function=lambda f: {"fillColor": f["properties"]["f"], "color": "#333333", "weight": 1,
                                      "fillOpacity": 0.55, "dashArray": "4 3" if schematic else None},
            highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.75},
            tooltip=folium.GeoJsonTooltip(fields=["name", "code", "status", "n"],
                                          aliases=[t["name"], t["code"], t["status"], t["n"]], sticky=True),
        ).add_to(m)
    cats = _category_table(fac, categories, category)
    counts = _facility_layers(m, fac, approx, lang=lang, cats=cats, chosen=category, datum=base.datum,
                              radius_km=radius_km) if fac is not None and len(fac) else {}
    shown = [c for c in cats if c in counts and (category is None or c == category)]
    approx_shown = fac is not None and bool(approx[np.isin(_cat_ids(fac), shown)].any())
    m.datum = base.datum  # read by add_proposals
    proposed = proposals is not None and not proposals.empty and len(units) > 0
    if proposals is not None and proposed:
        _proposal_group(units, proposals, t, base.datum).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    title_html = f"<b>{escape_text(title)}</b>"
    if schematic:
        title_html += f'<br><span class="tc-schematic">{SCHEMATIC_LABEL}</span>'
    legend = _legend_html(t, mode=mode, vmax=vmax, cats=cats, counts=counts, shown=shown, approx=approx_shown,
                          schematic=schematic, radius_km=radius_km, basemap=base, proposed=proposed)
    m.add_child(_el.TitleLegend(title_html, legend))
    west, south, east, north = bounds
    m.add_child(_el.FitView([[float(south), float(west)], [float(north), float(east)]]))
    return localise_assets(m)


def _cat_ids(fac: gpd.GeoDataFrame) -> np.ndarray:
    if "category" not in fac.columns:
        return np.full(len(fac), "unclassified", dtype=object)
    return fac["category"].astype("string").fillna("unclassified").to_numpy(dtype=object)


def _bounds(values: Any) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` as floats from shapely's total_bounds (an array of four)."""
    west, south, east, north = (float(v) for v in values)
    return (west, south, east, north)


def _view_bounds(features: list[dict[str, Any]], fac: gpd.GeoDataFrame | None, datum: str,
                 background: tuple[float, float, float, float] | None) -> tuple[float, float, float, float]:
    """What the map opens on: the units, else the facilities, else the background, else China."""
    if features:
        geoms = np.array([shapely.geometry.shape(f["geometry"]) for f in features], dtype=object)
        return _bounds(shapely.total_bounds(geoms))
    if fac is not None and len(fac):
        geoms = _display_geometries(np.asarray(fac.geometry.array, dtype=object), datum, MARKER_DECIMALS)
        west, south, east, north = shapely.total_bounds(geoms)
        pad = 0.01 if east - west < 0.01 and north - south < 0.01 else 0.0
        return (float(west - pad), float(south - pad), float(east + pad), float(north + pad))
    if background is not None:
        return _bounds(background)
    return (73.5, 18.0, 135.0, 53.5)  # mainland China


def proposed_layer(units: gpd.GeoDataFrame, gap: pd.DataFrame) -> gpd.GeoDataFrame:
    """The units (or site units) a gap-closing proposal picks, as polygons with their rank.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Township polygons (``code``, ``name``, ``geometry``).
    gap : pandas.DataFrame
        From :func:`facilities.gaps.close_gap` (``rank``, ``code``...).

    Returns
    -------
    geopandas.GeoDataFrame
        ``rank, code, name, geometry`` in rank order; proposals without a polygon are left out.
    """
    shapes = units[["code", "geometry"]].assign(code=units["code"].astype(str)).drop_duplicates("code")
    picks = gap[["rank", "code", "name"]].assign(code=gap["code"].astype(str))
    joined = picks.merge(shapes, on="code", how="inner").sort_values("rank")
    return gpd.GeoDataFrame(joined, geometry="geometry", crs=units.crs).reset_index(drop=True)


def _proposal_group(units: gpd.GeoDataFrame, gap: pd.DataFrame, t: dict[str, str], datum: str) -> folium.FeatureGroup:
    """The proposed units outlined in red, each with its rank in a numbered marker."""
    layer = proposed_layer(units, gap)
    geoms = _display_geometries(np.asarray(layer.geometry.array, dtype=object), datum)
    group = folium.FeatureGroup(name=t["proposed"])
    for rank, code, name, geom in zip(layer["rank"], layer["code"], layer["name"], geoms, strict=True):
        label = escape_text(f"{t['proposed']} #{int(rank)}: {name} ({code})")
        folium.GeoJson(shapely.geometry.mapping(geom), style_function=lambda _f: {
            "color": PROPOSED_COLOUR, "weight": 4, "fill": False}, tooltip=label).add_to(group)
        point = shapely.point_on_surface(geom)
        folium.Marker([point.y, point.x], tooltip=label, icon=folium.DivIcon(
            html=f'<div style="background:{PROPOSED_COLOUR};color:#fff;border-radius:10px;width:20px;height:20px;'
                 f'text-align:center;font:bold 12px/20px sans-serif">{int(rank)}</div>')).add_to(group)
    return group


def add_proposals(fmap: folium.Map, units: gpd.GeoDataFrame | None, gap: pd.DataFrame | None,
                  lang: str = "zh") -> folium.Map:
    """Outline the proposed units on a map already drawn (thick red) with a numbered marker each.

    Prefer ``coverage_map(..., proposals=gap)``; this adds them afterwards, keeping the layer control
    and the fit last so they see every layer.

    Parameters
    ----------
    fmap : folium.Map
        A map from :func:`coverage_map`.
    units : geopandas.GeoDataFrame or None
        Township polygons (``code``, ``geometry``); None leaves the map unchanged.
    gap : pandas.DataFrame or None
        ``rank, code, name`` (from :func:`facilities.gaps.close_gap`).
    lang : {"zh", "en"}

    Returns
    -------
    folium.Map
    """
    if units is None or gap is None or gap.empty:
        return fmap
    t = _TEXT["en" if lang == "en" else "zh"]
    datum = fmap.datum if isinstance(fmap, CoverageMap) else "wgs84"
    _proposal_group(_to_wgs84(units), gap, t, datum).add_to(fmap)
    # The layer control lists every layer of the map, so its script must come after all of them
    # (before the group it would name a variable not yet set, and the page's script would stop there).
    for key, child in list(fmap._children.items()):
        if isinstance(child, folium.LayerControl | _el.TitleLegend | _el.FitView):
            fmap._children.move_to_end(key)
    return fmap
