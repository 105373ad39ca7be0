"""Coordinate conversion between WGS-84, GCJ-02 (Amap/Tencent) and BD-09 (Baidu), vectorised.

PROJ does not implement GCJ-02 or BD-09, so the published obfuscation formulas are implemented here on
numpy arrays. The GCJ-02 → WGS-84 direction has no closed form: it is solved by fixed-point iteration
(converges to < 1e-9 degree, about 0.1 mm, in three to four steps). Following the GCJ rule, points outside
China are returned unshifted.

CGCS2000 (China's official geodetic datum, EPSG:4490) differs from WGS-84 by centimetres at most (both
are ITRF-aligned geocentric frames with near-identical ellipsoids), far below the precision of any facility
sheet or outline used here, so "cgcs2000" is treated as "wgs84".
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from towncover import settings
from towncover.errors import TowncoverError
from towncover.vocabulary import CRS_CHOICES

if TYPE_CHECKING:  # shapely is imported when the outline is first needed
    from shapely.geometry.base import BaseGeometry

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formulas.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
# Baidu's fixed offsets and its ring factor.
_BD_DLAT = 0.0060
_BD_DLON = 0.0065
_X_PI = np.pi * 3000.0 / 180.0

# GCJ inverse: stop when the largest correction is below this (degrees), at most this many steps.
_INVERSE_TOL = 1e-12
_INVERSE_MAX_STEPS = 10

# Rough box around China used by every GCJ implementation (eviltransform, prcoords); the finer test
# is the national outline shipped in data/outlines/china.geojson.
_BOX = (72.004, 0.8293, 137.8347, 55.8271)


def _arrays(lng: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(lng, dtype=float)
    y = np.asarray(lat, dtype=float)
    if x.shape != y.shape:
        raise TowncoverError("经度和纬度的个数不一致", "longitude and latitude arrays differ in length")
    return x, y


@lru_cache(maxsize=1)
def _china_shape() -> BaseGeometry | None:
    """China's outline (buffered ~10 km so coastal points and islands count), or None if missing."""
    import shapely

    path = settings.OUTLINES_DIR / "china.geojson"
    if not path.exists():
        return None
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    shape = shapely.from_geojson(json.dumps(data["features"][0]["geometry"]))
    shapely.prepare(shape)
    return shape


def in_china(lng: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Whether WGS-84 (or GCJ-02) points lie in China (mainland, Hong Kong, Macau, Taiwan).

    Uses the national outline in ``data/outlines/china.geojson`` (Tianditu edition, generalised and
    buffered by about 10 km) when present, else the rough box every GCJ implementation uses.

    Parameters
    ----------
    lng, lat : array_like
        Longitudes and latitudes in degrees.

    Returns
    -------
    numpy.ndarray of bool
        False for NaN coordinates.
    """
    x, y = _arrays(lng, lat)
    box = (x >= _BOX[0]) & (x <= _BOX[2]) & (y >= _BOX[1]) & (y <= _BOX[3])
    shape = _china_shape()
    if shape is None or not box.any():
        return box
    import shapely

    out = np.zeros(x.shape, dtype=bool)
    out[box] = shapely.contains_xy(shape, x[box], y[box])
    return out


def _gcj_delta(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 offset (dlng, dlat) in degrees at WGS-84 points (x, y)."""
    dx = x - 105.0
    dy = y - 35.0
    sqrt_abs = np.sqrt(np.abs(dx))
    dlat_m = (-100.0 + 2.0 * dx + 3.0 * dy + 0.2 * dy * dy + 0.1 * dx * dy + 0.2 * sqrt_abs
              + (2.0 * np.sin(dx * 6.0 * np.pi) + 2.0 * np.sin(dx * 2.0 * np.pi)
                 + 2.0 * np.sin(dy * np.pi) + 4.0 * np.sin(dy / 3.0 * np.pi)
                 + 16.0 * np.sin(dy / 12.0 * np.pi) + 32.0 * np.sin(dy / 30.0 * np.pi)) * 20.0 / 3.0)
    dlng_m = (300.0 + dx + 2.0 * dy + 0.1 * dx * dx + 0.1 * dx * dy + 0.1 * sqrt_abs
              + (2.0 * np.sin(dx * 6.0 * np.pi) + 2.0 * np.sin(dx * 2.0 * np.pi)
                 + 2.0 * np.sin(dx * np.pi) + 4.0 * np.sin(dx / 3.0 * np.pi)
                 + 15.0 * np.sin(dx / 12.0 * np.pi) + 30.0 * np.sin(dx / 30.0 * np.pi)) * 20.0 / 3.0)
    rad = np.radians(y)
    magic = 1.0 - _GCJ_EE * np.sin(rad) ** 2
    lat_len = np.radians(_GCJ_A * (1.0 - _GCJ_EE) / magic ** 1.5)
    lng_len = np.radians(_GCJ_A * np.cos(rad) / np.sqrt(magic))
    return dlng_m / lng_len, dlat_m / lat_len


def wgs84_to_gcj02(lng: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 → GCJ-02 (Amap, Tencent). Points outside China are returned unchanged.

    Parameters
    ----------
    lng, lat : array_like
        WGS-84 degrees.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitude and latitude.
    """
    x, y = _arrays(lng, lat)
    dlng, dlat = _gcj_delta(x, y)
    china = in_china(x, y)
    return np.where(china, x + dlng, x), np.where(china, y + dlat, y)


def gcj02_to_wgs84(lng: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → WGS-84, exact to < 1e-9 degree by fixed-point iteration (vectorised).

    Starts from ``gcj - offset(gcj)`` and repeats ``wgs -= forward(wgs) - gcj``; each step shrinks the
    error by about three orders of magnitude. Points whose solution lies outside China are returned
    unchanged (the forward conversion does not shift them).

    Parameters
    ----------
    lng, lat : array_like
        GCJ-02 degrees.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS-84 longitude and latitude.
    """
    gx, gy = _arrays(lng, lat)
    dlng, dlat = _gcj_delta(gx, gy)
    wx, wy = gx - dlng, gy - dlat
    for _ in range(_INVERSE_MAX_STEPS):
        dlng, dlat = _gcj_delta(wx, wy)
        ex, ey = wx + dlng - gx, wy + dlat - gy
        wx, wy = wx - ex, wy - ey
        err = np.nanmax(np.abs(np.concatenate([ex.ravel(), ey.ravel()])), initial=0.0)
        if err < _INVERSE_TOL:
            break
    # Forward shifts iff the WGS-84 point is in China, so test the solution, not the input.
    china = in_china(wx, wy)
    return np.where(china, wx, gx), np.where(china, wy, gy)


def gcj02_to_bd09(lng: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → BD-09 (Baidu).

    Parameters
    ----------
    lng, lat : array_like
        GCJ-02 degrees.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        BD-09 longitude and latitude.
    """
    x, y = _arrays(lng, lat)
    r = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return r * np.cos(theta) + _BD_DLON, r * np.sin(theta) + _BD_DLAT


def bd09_to_gcj02(lng: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 → GCJ-02, the published inverse refined by fixed-point iteration (< 1e-9 degree).

    Parameters
    ----------
    lng, lat : array_like
        BD-09 degrees.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitude and latitude.
    """
    bx, by = _arrays(lng, lat)
    x, y = bx - _BD_DLON, by - _BD_DLAT
    r = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    gx, gy = r * np.cos(theta), r * np.sin(theta)
    for _ in range(_INVERSE_MAX_STEPS):
        fx, fy = gcj02_to_bd09(gx, gy)
        ex, ey = fx - bx, fy - by
        gx, gy = gx - ex, gy - ey
        if np.nanmax(np.abs(np.concatenate([ex.ravel(), ey.ravel()])), initial=0.0) < _INVERSE_TOL:
            break
    return gx, gy


def bd09_to_wgs84(lng: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 → WGS-84 (via GCJ-02).

    Parameters
    ----------
    lng, lat : array_like
        BD-09 degrees.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS-84 longitude and latitude.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lng, lat))


def wgs84_to_bd09(lng: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 → BD-09 (via GCJ-02).

    Parameters
    ----------
    lng, lat : array_like
        WGS-84 degrees.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        BD-09 longitude and latitude.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lng, lat))


def check_crs(crs: str) -> str:
    """The datum's name in :data:`towncover.vocabulary.CRS_CHOICES` (aliases such as EPSG:4490 accepted)."""
    key = re.sub(r"[-_:\s]", "", str(crs).strip().lower())
    key = {"wgs84": "wgs84", "epsg4326": "wgs84", "cgcs2000": "cgcs2000", "epsg4490": "cgcs2000",
           "gcj02": "gcj02", "gcj": "gcj02", "bd09": "bd09", "bd": "bd09"}.get(key, key)
    if key not in CRS_CHOICES:
        raise TowncoverError(f"不支持的坐标系“{crs}”,可选:{'、'.join(CRS_CHOICES)}",
                             f"unsupported CRS '{crs}'; choose one of {', '.join(CRS_CHOICES)}")
    return key


def to_wgs84(lng: ArrayLike, lat: ArrayLike, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates in ``crs`` to WGS-84.

    Parameters
    ----------
    lng, lat : array_like
        Degrees in ``crs``.
    crs : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        ``cgcs2000`` is taken as WGS-84 (centimetre-level difference).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS-84 longitude and latitude.

    Raises
    ------
    TowncoverError
        For an unknown ``crs``.
    """
    key = check_crs(crs)
    if key == "gcj02":
        return gcj02_to_wgs84(lng, lat)
    if key == "bd09":
        return bd09_to_wgs84(lng, lat)
    return _arrays(lng, lat)


def from_wgs84(lng: ArrayLike, lat: ArrayLike, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS-84 coordinates to ``crs`` (the inverse of :func:`to_wgs84`).

    Parameters
    ----------
    lng, lat : array_like
        WGS-84 degrees.
    crs : {"wgs84", "cgcs2000", "gcj02", "bd09"}

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Longitude and latitude in ``crs``.
    """
    key = check_crs(crs)
    if key == "gcj02":
        return wgs84_to_gcj02(lng, lat)
    if key == "bd09":
        return wgs84_to_bd09(lng, lat)
    return _arrays(lng, lat)
