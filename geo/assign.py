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


# The national outlines are simplified (data/outlines/SOURCE.md): nearer a border between two of the
# region's counties than this, a point is not given to either.
BORDER_MARGIN_DEG = 0.005  # ≈ 500 m


def county_of_points(lng: ArrayLike, lat: ArrayLike, region_code: str,
                     margin: float = BORDER_MARGIN_DEG) -> pd.Series:
    """The county-level unit of a region whose outline holds each WGS-84 point.

    Parameters
    ----------
    lng, lat : array_like
        WGS-84 longitudes and latitudes (convert other datums first, ``geo.crs.to_wgs84``).
    region_code : str
        Province, prefecture or county code (``geo.boundaries.county_outlines``).
    margin : float
        Degrees: a point within this distance of another county's outline of the region gets NA, since
        the outlines are generalised and a wrong county is worse than none.

    Returns
    -------
    pandas.Series
        String dtype, one entry per point: a 6-digit county code, NA for points in no outline of the
        region, near a border between two of its counties, or in a county that hosts an enclave of the
        region (洪江市 and 洪江管理区 share one outline).
    """
    from geo.boundaries import ENCLAVES, county_outlines

    outlines = county_outlines(region_code)
    codes = assign_points(lng, lat, outlines)
    region = str(region_code)
    hosts = {host for enclave, host in ENCLAVES.items() if enclave.startswith(region) and enclave != region}
    codes = codes.mask(codes.isin(hosts))
    picked = np.flatnonzero(codes.notna().to_numpy())
    if margin > 0 and len(picked) and len(outlines) > 1:
        x = np.asarray(lng, dtype=float).ravel()[picked]
        y = np.asarray(lat, dtype=float).ravel()[picked]
        tree = shapely.STRtree(outlines.geometry.to_numpy())
        pt, poly = tree.query(shapely.points(x, y), predicate="dwithin", distance=margin)
        near = pd.Series(outlines["code"].to_numpy()[poly], index=pt).groupby(level=0).nunique()
        codes.iloc[picked[near[near > 1].index.to_numpy()]] = pd.NA
    return codes
