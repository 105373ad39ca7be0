"""Service-radius geometry: unit polygons, facility points and who lies within D km of whom.

Shared by :mod:`facilities.coverage` (a unit is covered when a facility lies within ``radius_km`` of its
polygon) and :mod:`facilities.gaps` (where new sites would cover most). Distances are measured in a
local azimuthal equidistant projection centred on the region, in metres.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from towncover.errors import TowncoverError

__all__ = ["metric_crs", "unit_shapes", "facility_lnglat", "within_radius"]


def metric_crs(lng: np.ndarray, lat: np.ndarray) -> Any:
    """A local azimuthal equidistant CRS (metres) centred on the given WGS-84 points.

    Parameters
    ----------
    lng, lat : numpy.ndarray
        Longitudes and latitudes (WGS-84), at least one finite pair.

    Returns
    -------
    pyproj.CRS
    """
    from pyproj import CRS

    lon0 = float(np.nanmean(lng)) if np.isfinite(lng).any() else 105.0
    lat0 = float(np.nanmean(lat)) if np.isfinite(lat).any() else 35.0
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84 +units=m +no_defs")


def unit_shapes(codes: pd.Series, units: Any) -> Any:
    """Unit polygons for the given codes, in EPSG:4326 (GeoDataFrame[code, geometry])."""
    import geopandas as gpd

    if not isinstance(units, gpd.GeoDataFrame) or "code" not in units.columns:
        raise TowncoverError(
            "单元边界必须是带 code 列的 GeoDataFrame", "unit polygons must be a GeoDataFrame with a 'code' column",
            column="code",
        )
    shapes = units[["code", "geometry"]].copy()
    shapes["code"] = shapes["code"].astype("string")
    shapes = shapes[shapes["code"].isin(codes) & shapes.geometry.notna() & ~shapes.geometry.is_empty]
    shapes = shapes.drop_duplicates("code")
    if shapes.crs is None:
        shapes = shapes.set_crs(4326)
    return shapes.to_crs(4326).reset_index(drop=True)


def facility_lnglat(facilities: pd.DataFrame, facilities_points: Any) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 lng/lat arrays of the facilities used for distances."""
    import geopandas as gpd

    if facilities_points is None:
        lng, lat = facilities["lng"].to_numpy(float), facilities["lat"].to_numpy(float)
    elif isinstance(facilities_points, gpd.GeoDataFrame | gpd.GeoSeries):
        pts = facilities_points if facilities_points.crs is not None else facilities_points.set_crs(4326)
        pts = pts.to_crs(4326)
        geom = pts.geometry if isinstance(pts, gpd.GeoDataFrame) else pts
        lng, lat = geom.x.to_numpy(float), geom.y.to_numpy(float)
    else:
        frame = pd.DataFrame(facilities_points)
        lng_col = "lng" if "lng" in frame.columns else "lng_wgs84"
        lat_col = "lat" if "lat" in frame.columns else "lat_wgs84"
        lng = pd.to_numeric(frame[lng_col], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(frame[lat_col], errors="coerce").to_numpy(float)
    ok = np.isfinite(lng) & np.isfinite(lat)
    return lng[ok], lat[ok]


def within_radius(
    codes: pd.Series, units: Any, facilities: pd.DataFrame, facilities_points: Any, radius_km: float
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Per unit: facilities within the radius of its polygon, and distance to the nearest (km)."""
    import geopandas as gpd
    import shapely

    shapes = unit_shapes(codes, units)
    lng, lat = facility_lnglat(facilities, facilities_points)
    n = len(codes)
    n_within = np.zeros(n, dtype=np.int64)
    nearest = np.full(n, np.nan)
    if len(shapes) == 0 or len(lng) == 0:
        return shapes, n_within, nearest
    centre = shapes.geometry.union_all().centroid
    crs = metric_crs(np.array([centre.x]), np.array([centre.y]))
    polys = shapes.to_crs(crs).geometry.to_numpy()
    pts = gpd.GeoSeries(gpd.points_from_xy(lng, lat), crs=4326).to_crs(crs).to_numpy()
    tree = shapely.STRtree(pts)
    poly_idx, _pt_idx = tree.query(polys, predicate="dwithin", distance=radius_km * 1000.0)
    within = np.bincount(poly_idx, minlength=len(polys))
    near_poly, near_pt = tree.query_nearest(polys, all_matches=False)
    dist = shapely.distance(polys[near_poly], pts[near_pt]) / 1000.0
    nearest_by_shape = np.full(len(polys), np.nan)
    nearest_by_shape[near_poly] = dist
    position = pd.Series(np.arange(n), index=codes.astype(str).to_numpy())
    where = position.reindex(shapes["code"].astype(str).to_numpy()).to_numpy()
    n_within[where] = within
    nearest[where] = nearest_by_shape
    return shapes, n_within, nearest

