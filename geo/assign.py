"""Assign WGS-84 points to the polygon (township) containing them."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from towncover.errors import TowncoverError


def assign_points(lng: ArrayLike, lat: ArrayLike, polygons: gpd.GeoDataFrame,
                  code_field: str = "code") -> pd.Series:
    """Code of the polygon containing each point (vectorised STRtree query).

    A point on an edge shared by several polygons (or in an overlap) goes to the lowest code, so the
    result does not depend on polygon order. Points in no polygon, and NaN points, get NA.

    Parameters
    ----------
    lng, lat : array_like
        WGS-84 longitudes and latitudes (same length).
    polygons : geopandas.GeoDataFrame
        Polygons in EPSG:4326 (reprojected if in another CRS).
    code_field : str
        Column holding the codes.

    Returns
    -------
    pandas.Series
        String dtype, one entry per point, NA where unassigned.
    """
    x = np.asarray(lng, dtype=float).ravel()
    y = np.asarray(lat, dtype=float).ravel()
    if x.shape != y.shape:
        raise TowncoverError("经度和纬度的个数不一致", "longitude and latitude arrays differ in length")
    if code_field not in polygons.columns:
        raise TowncoverError(f"边界数据中没有字段“{code_field}”", f"the boundaries have no field '{code_field}'",
                             column=code_field)
    out = pd.Series(pd.NA, index=range(len(x)), dtype="string")
    if polygons.crs is not None and not polygons.crs.equals("EPSG:4326"):
        polygons = polygons.to_crs(4326)
    codes = polygons[code_field].astype("string").to_numpy()
    geoms = polygons.geometry.to_numpy()
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) & ~pd.isna(codes)
    ok = np.isfinite(x) & np.isfinite(y)
    if not usable.any() or not ok.any():
        return out
    keep = np.flatnonzero(usable)
    tree = shapely.STRtree(geoms[keep])
    idx = np.flatnonzero(ok)
    points = shapely.points(x[idx], y[idx])
    pt, poly = tree.query(points, predicate="intersects")
    if len(pt) == 0:
        return out
    hits = pd.DataFrame({"pt": idx[pt], "code": codes[keep[poly]]})
    best = hits.groupby("pt", sort=False)["code"].min()
    out.iloc[best.index.to_numpy()] = best.to_numpy()
    return out
