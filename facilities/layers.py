"""Map and export layers from an analysis: township units with coverage, facility points.

The same layers feed the app's map, the CLI's ``export`` and the app's downloads, so what a planner
sees is what they export.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facilities.categories import label
from facilities.coverage import CoverageResult
from towncover.vocabulary import COUNTY_LEVEL, VILLAGE_LEVELS

if TYPE_CHECKING:
    from facilities.pipeline import Analysis


def township_view(result: CoverageResult) -> pd.DataFrame:
    """One row per township of the result's region: coverage at the result's level, per township.

    Parameters
    ----------
    result : CoverageResult
        Coverage at any level. Village and community levels are aggregated per township.

    Returns
    -------
    pandas.DataFrame
        ``code, covered (bool or NA when the township is not counted at this level), n_facilities,
        n_units, n_covered_units, covered_share (percent 0-100), status``.
    """
    units = result.units
    if result.level in VILLAGE_LEVELS:
        grouped = units.groupby("township_code", sort=True)
        table = pd.DataFrame({
            "n_units": grouped.size(),
            "n_covered_units": grouped["covered"].sum().astype("int64"),
            "n_facilities": grouped["n_facilities"].sum().astype("int64"),
        })
        table["covered_share"] = 100.0 * table["n_covered_units"] / table["n_units"]
        table["covered"] = table["n_covered_units"] == table["n_units"]
        table.index.name = "code"
        table = table.reset_index()
    elif result.level == COUNTY_LEVEL:
        # A county-level unit covers all its townships on the map.
        by_county = units.set_index("code")[["covered", "n_facilities"]]
        table = pd.DataFrame({"code": pd.Series(dtype="string")})
        table.attrs["by_county"] = by_county
    else:
        table = units[["code", "covered", "n_facilities"]].copy()
        table["n_units"] = 1
        table["n_covered_units"] = table["covered"].astype("int64")
        table["covered_share"] = 100.0 * table["n_covered_units"]
    table["status"] = np.where(table["covered"].astype(bool), "covered", "not_covered")
    return table


def build_layers(
    analysis: Analysis,
    measurement: CoverageResult | str,
    level: str | None = None,
    *,
    result: CoverageResult | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Layers for the map and exports of one measured category and level (formats it; never measures).

    Parameters
    ----------
    analysis : facilities.pipeline.Analysis
        Must have ``units`` (township polygons).
    measurement : CoverageResult
        From :func:`facilities.coverage.measure_for_target` (or an evaluation's ``details``): its
        category and level are the layers'. The older form ``build_layers(analysis, category, level,
        result=result)`` is still accepted.

    Returns
    -------
    dict
        ``"townships"``: polygons with ``code, name, kind, covered, n_facilities, n_units,
        n_covered_units, covered_share, status, category, level`` (``status`` "not_counted" for
        townships outside the level, e.g. 400+ special units);
        ``"facilities"``: one point per placed or coordinate-bearing row, ``position`` saying whether
        the point is the sheet's own coordinates or the township's schematic centre.

    Raises
    ------
    TypeError
        Without a measurement.
    """
    if not isinstance(measurement, CoverageResult):
        if result is None:
            raise TypeError("build_layers takes a measurement (facilities.coverage.measure_for_target)")
        measurement = result
    result = measurement
    category, level = result.category, result.level
    units = analysis.units[["code", "name", "geometry"]].copy()
    view = township_view(result)
    if level == COUNTY_LEVEL:
        by_county = view.attrs["by_county"]
        county = units["code"].str[:6]
        units["covered"] = county.map(by_county["covered"]).astype("boolean")
        units["n_facilities"] = county.map(by_county["n_facilities"]).fillna(0).astype("int64")
        units["n_units"] = 1
        units["n_covered_units"] = units["covered"].fillna(False).astype("int64")
        units["covered_share"] = 100.0 * units["n_covered_units"]
        units["status"] = np.where(units["covered"].fillna(False), "covered", "not_covered")
    else:
        units = units.merge(view, on="code", how="left")
        counted = units["n_units"].notna()
        units["covered"] = units["covered"].astype("boolean").where(counted)
        units["status"] = units["status"].where(counted, "not_counted")
        for column in ("n_facilities", "n_units", "n_covered_units"):
            units[column] = units[column].fillna(0).astype("int64")
    units["kind"] = analysis.units["kind"].to_numpy() if "kind" in analysis.units else ""
    units["category"] = category
    units["category_label"] = label(category, "zh")
    units["level"] = level
    townships = gpd.GeoDataFrame(units, geometry="geometry", crs=analysis.units.crs)
    return {"townships": townships, "facilities": facility_points(analysis)}


def facility_points(analysis: Analysis) -> gpd.GeoDataFrame:
    """Facility rows as points (WGS-84).

    Rows with usable coordinates are drawn there (``position="coordinates"``); placed rows without
    them are drawn at a point inside their township's polygon (``position="township_centre"``: a
    display position, not a location). On schematic cells every placed row is drawn in its own cell,
    since a real coordinate may fall in another township's schematic cell and mislead. Rows with
    neither are left out of the layer (they remain in the tables and the review queue).
    """
    placed = analysis.placed.reset_index(drop=True)
    roles = analysis.sheet.roles
    lng = pd.to_numeric(placed["lng_wgs84"], errors="coerce").to_numpy(dtype="float64")
    lat = pd.to_numeric(placed["lat_wgs84"], errors="coerce").to_numpy(dtype="float64")
    own = np.isfinite(lng) & np.isfinite(lat)
    town = placed["township_code"].fillna("").astype("str")
    if analysis.units is not None:
        centres = analysis.units.set_index("code").geometry.representative_point()
        fallback = centres.reindex(town.to_numpy())
    else:
        fallback = pd.Series([None] * len(placed), dtype=object)
    if analysis.schematic:
        own &= fallback.isna().to_numpy()
    geometry = np.array(fallback.to_numpy(), dtype=object)
    geometry[own] = shapely.points(lng[own], lat[own])
    keep = own | fallback.notna().to_numpy()

    def text(column: str, *, blank: bool = False) -> pd.Series:
        # Columns stay Arrow-backed: no round trip through Python objects.
        values = placed[column]
        return (values.fillna("") if blank else values).astype("str")

    frame = pd.DataFrame({
        "row": placed["row"].to_numpy(),
        "name": text(roles["name"]) if "name" in roles else "",
        "address": text(roles["address"]) if "address" in roles else "",
        "category": text("category"),
        "category_label": text("category_label"),
        "township_code": town,
        "township_name": text("township_name", blank=True),
        "village_code": text("village_code", blank=True),
        "village_name": text("village_name", blank=True),
        "match_status": text("match_status"),
        "match_method": text("match_method"),
        "position": np.where(own, "coordinates", "township_centre"),
    })
    points = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"), crs="EPSG:4326")
    return points[keep].reset_index(drop=True)
