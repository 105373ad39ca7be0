"""The coverage map of an analysis: the one call the app and ``towncover export --format html`` make.

It picks what the map shows from the analysis (the township layer of one category at one level, the
facility points, the region's background, the title and labels in one language) and hands it to the
renderer, :func:`geo.webmap.coverage_map`; :func:`analysis_page` is the same map as one offline page.
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facilities import categories as _categories
from facilities import coverage as _coverage
from facilities.layers import build_layers, facility_points
from geo.basemap import Basemap
from geo.webmap import coverage_map, standalone_html
from towncover.vocabulary import LEVELS, VILLAGE_LEVELS
from towncover.vocabulary import label as vocabulary_label

__all__ = ["analysis_map", "analysis_page", "map_points"]


def map_points(analysis: Any) -> gpd.GeoDataFrame:
    """Facility points for the map: every row with coordinates at its own place.

    :func:`facilities.layers.facility_points` puts rows on their township's centre on schematic
    cells; the map draws a row with coordinates where it is (``position="coordinates"``) and the
    rest, known only by township, spread inside their cell by the renderer.

    Parameters
    ----------
    analysis : facilities.pipeline.Analysis

    Returns
    -------
    geopandas.GeoDataFrame
        ``facility_points`` columns, WGS-84.
    """
    points = facility_points(analysis)
    placed = analysis.placed.drop_duplicates("row").set_index("row")
    lng = pd.to_numeric(placed["lng_wgs84"], errors="coerce").reindex(points["row"]).to_numpy(dtype=float)
    lat = pd.to_numeric(placed["lat_wgs84"], errors="coerce").reindex(points["row"]).to_numpy(dtype=float)
    own = np.isfinite(lng) & np.isfinite(lat)
    if own.any():
        geoms = np.asarray(points.geometry.array, dtype=object).copy()
        geoms[own] = shapely.points(lng[own], lat[own])
        points = points.set_geometry(gpd.GeoSeries(geoms, index=points.index, crs="EPSG:4326"))
        points["position"] = np.where(own, "coordinates", points["position"].astype(str))
    return points


def analysis_map(
    analysis: Any,
    category: str,
    level: str,
    *,
    result: _coverage.CoverageResult | None = None,
    lang: str = "zh",
    value: str = "covered",
    basemap: str | Basemap | None = None,
    radius_km: float | None = None,
    proposals: pd.DataFrame | None = None,
    title: str | None = None,
) -> folium.Map:
    """The coverage map of one category at one level (for ``st_folium``; scripts at ``/app/static``).

    Parameters
    ----------
    analysis : facilities.pipeline.Analysis
    category, level : str
        Category id and unit level; the category's facilities are on, the others off.
    result : CoverageResult, optional
        Reuse a coverage result already measured for this category and level.
    lang : {"zh", "en"}
    value : {"covered", "n_facilities"}
        Colour units by coverage (village levels: the share of covered villages) or by count.
    basemap : str or Basemap, optional
        See :func:`geo.basemap.resolve_basemap` (default: the administrator's ``TOWNCOVER_TILES``,
        else the offline background).
    radius_km : float, optional
        Service-radius circles (a target's radius rule).
    proposals : pandas.DataFrame, optional
        A gap-closing proposal to outline (``rank, code, name``).
    title : str, optional
        Default ``region · category · level noun``.

    Returns
    -------
    folium.Map
    """
    en = lang == "en"
    if analysis.units is not None:
        if result is None:
            result = _coverage.measure_for_target(analysis, category, level)
        units = build_layers(analysis, result)["townships"]
    else:
        units = gpd.GeoDataFrame({"code": [], "name": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    value_column = "covered_share" if level in VILLAGE_LEVELS and value == "covered" else value
    noun = vocabulary_label(LEVELS, level, "en" if en else "zh")
    if title is None:
        title = f"{analysis.region.name} · {_categories.label(category, lang)} · {noun}"
    labels = {c: _categories.label(c, lang) for c in _categories.CATEGORIES}
    return coverage_map(units, map_points(analysis), value_column=value_column, schematic=analysis.schematic,
                        title=title, lang="en" if en else "zh", categories=labels, category=category,
                        radius_km=radius_km, basemap=basemap, region=analysis.region.code, proposals=proposals)


def analysis_page(analysis: Any, category: str, level: str, **options: Any) -> str:
    """:func:`analysis_map` as one HTML page with Leaflet inlined (opens offline from a file).

    Parameters
    ----------
    analysis, category, level, **options
        As for :func:`analysis_map`.

    Returns
    -------
    str
    """
    return standalone_html(analysis_map(analysis, category, level, **options))
