"""Map and export layers from an analysis: township units with coverage, facility points.

The same layers feed the app's map, the CLI's ``export`` and the app's downloads, so what a planner
sees is what they export.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, overload

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facilities import i18n as _i18n
from facilities.categories import CATEGORIES, label
from facilities.coverage import CoverageResult
from geo.webmap import COVERED_COLOUR, NEUTRAL_COLOUR, UNCOVERED_COLOUR
from towncover.vocabulary import (
    COUNTY_LEVEL,
    COVERAGE_STATUSES,
    LEVELS,
    MATCH_METHODS,
    MATCH_STATUSES,
    POINT_POSITIONS,
    TOWNSHIP_KINDS,
    VILLAGE_LEVELS,
    category_colour,
    sheet_column,
)

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
    if analysis.units is None:  # callers draw layers only where the region has township polygons
        raise ValueError("build_layers needs township polygons: analysis.units is None")
    polygons = analysis.units
    units = polygons[["code", "name", "geometry"]].copy()
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
    units["kind"] = polygons["kind"].to_numpy() if "kind" in polygons else ""
    units["category"] = category
    units["category_label"] = label(category, "zh")
    units["level"] = level
    townships = gpd.GeoDataFrame(units, geometry="geometry", crs=polygons.crs)
    return {"townships": townships, "facilities": facility_points(analysis)}


def facility_points(analysis: Analysis) -> gpd.GeoDataFrame:
    """Facility rows as points (WGS-84), with every column of the sheet.

    Rows with usable coordinates are drawn there (``position="coordinates"``), on real and schematic
    boundaries alike; placed rows without them are drawn at a point inside their township's polygon
    (``position="township_centre"``: a display position, not a location). Rows with neither are
    left out of the layer (they remain in the tables and the review queue).

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :func:`rows_table` plus ``position``, ``lng`` and ``lat`` (the point's
        WGS-84 position), one row per drawn facility, in file order.
    """
    placed = analysis.placed.reset_index(drop=True)
    lng = pd.to_numeric(placed["lng_wgs84"], errors="coerce").to_numpy(dtype="float64")
    lat = pd.to_numeric(placed["lat_wgs84"], errors="coerce").to_numpy(dtype="float64")
    own = np.isfinite(lng) & np.isfinite(lat)
    town = placed["township_code"].fillna("").astype("str").to_numpy()
    fallback = np.full(len(placed), None, dtype=object)
    if analysis.units is not None:
        centres = _township_centres(analysis.units)
        fallback = np.asarray(centres.reindex(town), dtype=object)
    has_centre = ~pd.isna(fallback)
    geometry = fallback.copy()
    geometry[own] = shapely.points(lng[own], lat[own])
    keep = own | has_centre
    frame = rows_table(analysis)
    frame["position"] = np.where(own, "coordinates", "township_centre")
    present = ~pd.isna(geometry)
    x = np.full(len(placed), np.nan)
    y = np.full(len(placed), np.nan)
    x[present] = shapely.get_x(geometry[present].astype(object))
    y[present] = shapely.get_y(geometry[present].astype(object))
    frame["lng"], frame["lat"] = x, y
    points = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"), crs="EPSG:4326")
    drawn: gpd.GeoDataFrame = points[keep].reset_index(drop=True)
    return drawn


def _township_centres(units: gpd.GeoDataFrame) -> pd.Series:
    """Township code → a point inside its polygon; one per code, whatever the features.

    A township may come in several features (a multi-part township) and features whose code was
    not recognised have none: the parts of a code are merged, features without a code or shape
    are left out, so every code has exactly one point.
    """
    codes = units["code"].astype("string")
    usable = (codes.fillna("") != "").to_numpy() & ~(units.geometry.is_empty | units.geometry.isna()).to_numpy()
    shapes = gpd.GeoDataFrame({"code": codes[usable].to_numpy()}, geometry=units.geometry.array[usable],
                              crs=units.crs)
    if not shapes["code"].is_unique:
        shapes = shapes.dissolve(by="code", as_index=False)
    return pd.Series(shapes.geometry.representative_point().to_numpy(), index=shapes["code"].to_numpy())


#: The tool's columns in facility rows and points, in this order (the sheet's own columns follow ``row``).
ROW_COLUMNS = ("row", "name", "address", "category", "category_label", "township_code", "township_name",
               "village_code", "village_name", "match_status", "match_method", "match_note")
_NUMBER_ROLES = ("beds", "nursing_beds", "lng", "lat")


def rows_table(analysis: Analysis) -> pd.DataFrame:
    """Every row of the sheet with its place: the tool's columns and every column of the sheet.

    Parameters
    ----------
    analysis : facilities.pipeline.Analysis

    Returns
    -------
    pandas.DataFrame
        :data:`ROW_COLUMNS` (``name`` and ``address`` copied from the sheet's recognised columns)
        and the sheet's columns (one named like a tool column is kept as ``name(原表)``). The
        sheet's number columns (beds, nursing beds, coordinates) are numbers — integers when every
        value is whole — when every non-blank cell of the column reads as a number; otherwise
        they stay text, so nothing the planner wrote is lost.
    """
    placed = analysis.placed.reset_index(drop=True)
    roles = analysis.sheet.roles

    def text(column: str | None) -> pd.Series:
        if column is None or column not in placed.columns:
            return pd.Series("", index=placed.index, dtype="string")
        return placed[column].astype("string").fillna("")

    tool = {c: text(c) for c in ROW_COLUMNS}
    tool["row"] = placed["row"]
    tool["name"], tool["address"] = text(roles.get("name")), text(roles.get("address"))
    sheet_columns = [c for c in analysis.sheet.frame.columns if c in placed.columns and c not in ROW_COLUMNS]
    renamed = _apart([str(c) for c in sheet_columns], {*ROW_COLUMNS, "position", "lng", "lat"})
    own = {renamed.get(str(c), str(c)): _typed(analysis, placed, c) for c in sheet_columns}
    return pd.DataFrame({"row": tool.pop("row"), **own, **tool})


def _apart(columns: list[str], reserved: set[str]) -> dict[str, str]:
    """Sheet column → a name apart from the layer's own (``name`` → ``name(原表)``), as the sheet reader
    does for the geocoder's columns."""
    taken = set(columns) | reserved
    out = {}
    for column in (c for c in columns if c in reserved):
        name, k = sheet_column(column), 2
        while name in taken:
            name, k = f"{sheet_column(column)}{k}", k + 1
        taken.add(name)
        out[column] = name
    return out


def _typed(analysis: Analysis, placed: pd.DataFrame, column: str) -> pd.Series:
    """A sheet column as numbers when it is a number role and every non-blank cell reads as one."""
    from facilities.sheets import numeric_column

    values = placed[column]
    role = next((r for r in _NUMBER_ROLES if analysis.sheet.roles.get(r) == column), None)
    if role is None:
        return values
    by_row = pd.Series(numeric_column(analysis.sheet, role).to_numpy(), index=list(analysis.sheet.source_rows))
    numbers = placed["row"].map(by_row).astype("float64")
    blank = values.astype("string").fillna("").str.strip() == ""
    if not (numbers.notna() | blank).all():
        return values
    finite = numbers.dropna()
    if len(finite) and (finite == finite.round()).all() and finite.abs().max() < 2**53:
        return numbers.round().astype("Int64")
    return numbers


# ------------------------------------------------------------------------------------------------
# Exports: the layers in the planner's words
# ------------------------------------------------------------------------------------------------

#: Export headers of the tool's columns (zh, en); the sheet's own columns keep their headers.
HEADERS: dict[str, tuple[str, str]] = {
    **_i18n.COLUMN_LABELS,
    "village_name": ("村(社区)", "Village"),
    "match_method": ("定位依据", "Placed by"),
    "position": ("点位来源", "Point position"),
    "lng": ("经度(WGS-84)", "Longitude (WGS-84)"),
    "lat": ("纬度(WGS-84)", "Latitude (WGS-84)"),
    "lng_gcj02": ("经度(GCJ-02)", "Longitude (GCJ-02)"),
    "lat_gcj02": ("纬度(GCJ-02)", "Latitude (GCJ-02)"),
    "covered": ("是否覆盖", "Covered"),
    "n_units": ("单元数(个)", "Units"),
    "n_covered_units": ("已覆盖单元数(个)", "Covered units"),
    "covered_share": ("覆盖比例(%)", "Covered share (%)"),
    "status": ("覆盖状态", "Coverage"),
    "level": ("统计层级", "Level"),
    "boundary": ("边界", "Boundary"),
}
#: Export words for the tool's values (zh, en), per column.
VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "match_status": MATCH_STATUSES,
    "status": COVERAGE_STATUSES,
    "match_method": MATCH_METHODS,
    "position": POINT_POSITIONS,
    "kind": TOWNSHIP_KINDS,
    "level": LEVELS,
}
_YES_NO = {True: ("是", "yes"), False: ("否", "no")}
_STATUS_COLOURS = {"covered": COVERED_COLOUR, "not_covered": UNCOVERED_COLOUR, "not_counted": NEUTRAL_COLOUR}


@overload
def labelled(frame: gpd.GeoDataFrame, lang: str = ..., *, gcj02: bool = ...) -> gpd.GeoDataFrame: ...
@overload
def labelled(frame: pd.DataFrame, lang: str = ..., *, gcj02: bool = ...) -> pd.DataFrame: ...
def labelled(frame: gpd.GeoDataFrame | pd.DataFrame, lang: str = "zh", *, gcj02: bool = False) -> pd.DataFrame:
    """A layer or table in the planner's words: headers and values in ``lang``, never raw ids.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        From :func:`build_layers`, :func:`facility_points` or :func:`rows_table`.
    lang : {"zh", "en"}, default "zh"
        Language of the tool's headers and values (the sheet's own columns keep theirs).
    gcj02 : bool, default False
        Add the point's GCJ-02 coordinates (Amap, Tencent maps) beside the WGS-84 ones.

    Returns
    -------
    DataFrame or GeoDataFrame (as given)
        The category id is dropped (its label, in ``lang``, stays); statuses, methods, positions,
        kinds and levels are words; True/False are 是/否; columns :data:`HEADERS` names are
        renamed. A sheet column already bearing that header keeps its name: the tool's copy of it
        (名称, 地址) is dropped when it holds the same text, else it gets ``·towncover``.
    """
    en = lang == "en"
    out = frame.copy()
    if "category" in out.columns:
        if en and "category_label" in out.columns:
            ids = out["category"].astype("string").fillna("unclassified")
            out["category_label"] = ids.map({c: label(c, "en") for c in ids.unique()})
        out = out.drop(columns="category")
    if gcj02 and {"lng", "lat"} <= set(out.columns):
        from geo.crs import wgs84_to_gcj02

        x, y = out["lng"].to_numpy(dtype=float), out["lat"].to_numpy(dtype=float)
        gx, gy = wgs84_to_gcj02(x, y)
        at = list(out.columns).index("lat") + 1
        out.insert(at, "lat_gcj02", gy)
        out.insert(at, "lng_gcj02", gx)
    for column, words in VALUES.items():
        if column in out.columns:
            out[column] = out[column].map({k: v[en] for k, v in words.items()}).fillna(out[column])
    for column in out.columns:
        if column in HEADERS and out[column].dtype in (bool, "boolean"):
            out[column] = out[column].astype("boolean").map({k: v[en] for k, v in _YES_NO.items()})
    names = {c: HEADERS[c][en] for c in out.columns if c in HEADERS and c != "geometry"}
    for copy in ("name", "address"):  # the tool's copy of a sheet column under the same header: one is enough
        header = names.get(copy)
        if header in out.columns and copy in out.columns and out[header].astype("string").fillna("").equals(
                out[copy].astype("string").fillna("")):
            out, names = out.drop(columns=copy), {c: h for c, h in names.items() if c != copy}
    clash = set(names.values()) & (set(out.columns) - set(names))
    names = {c: (f"{h}·towncover" if h in clash else h) for c, h in names.items()}
    return out.rename(columns=names)


def write_layers(
    layers: dict[str, gpd.GeoDataFrame],
    path: str | os.PathLike[str],
    fmt: str,
    *,
    schematic: bool,
    lang: str = "zh",
    gcj02: bool = False,
    encoding: str = "UTF-8",
    map_html: str | None = None,
) -> Path:
    """Export the layers of :func:`build_layers` in the planner's words (:func:`labelled`).

    Parameters
    ----------
    layers : dict
        ``"townships"`` and/or ``"facilities"`` (as from :func:`build_layers`).
    path, fmt, encoding, schematic, map_html
        As for :func:`geo.export.export_layers` (which writes exactly ``path`` when its suffix fits).
    lang : {"zh", "en"}, default "zh"
        Language of headers and values.
    gcj02 : bool, default False
        Add GCJ-02 coordinates to facility points.

    Returns
    -------
    pathlib.Path
        The file written. KML townships are styled by coverage status, facilities by category.
    """
    from geo.export import export_layers

    if str(fmt).lower() == "html":  # the map reads the layers' own columns
        return export_layers(layers, path, "html", schematic=schematic, map_html=map_html)
    en = lang == "en"
    words = {name: labelled(frame, lang, gcj02=gcj02) for name, frame in layers.items()}
    styles = {}
    if "townships" in layers and "status" in layers["townships"].columns:
        styles["townships"] = (HEADERS["status"][en],
                               {VALUES["status"][k][en]: c for k, c in _STATUS_COLOURS.items()})
    if "facilities" in layers and "category_label" in layers["facilities"].columns:
        colours = {label(c, lang): category_colour(c) for c in CATEGORIES}
        styles["facilities"] = (HEADERS["category_label"][en], colours)
    return export_layers(words, path, fmt, encoding=encoding, schematic=schematic, name_field=HEADERS["name"][en],
                         point_columns=(HEADERS["lng"][en], HEADERS["lat"][en]), kml_styles=styles,
                         boundary_column=HEADERS["boundary"][en])
