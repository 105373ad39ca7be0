"""geo.crs against the prcoords oracle (CC0) on a grid over China, round trips, and the China rule."""

from __future__ import annotations

import warnings

import numpy as np
import prcoords
import pytest

from geo import crs
from towncover.errors import TowncoverError

CM = 1e-7  # about 1 cm in degrees


@pytest.fixture(scope="module")
def grid() -> tuple[np.ndarray, np.ndarray]:
    """About 3,000 WGS-84 points on a 0.7° × 0.5° grid inside China (the outline test, not the box)."""
    xs, ys = np.meshgrid(np.arange(73.7, 135.0, 0.7), np.arange(18.3, 53.5, 0.5))
    x, y = xs.ravel(), ys.ravel()
    inside = crs.in_china(x, y)
    return x[inside], y[inside]


def _oracle(fn, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = np.array([fn((b, a)) for a, b in zip(x, y, strict=True)])  # prcoords takes (lat, lon)
    return out[:, 1], out[:, 0]


def test_grid_is_large(grid):
    assert len(grid[0]) > 2500


def test_wgs_to_gcj_matches_prcoords(grid):
    x, y = grid
    gx, gy = crs.wgs84_to_gcj02(x, y)
    ox, oy = _oracle(prcoords.wgs_gcj, x, y)
    assert np.abs(gx - ox).max() < 1e-12 and np.abs(gy - oy).max() < 1e-12
    shift_m = np.hypot((gx - x) * 111_000 * np.cos(np.radians(y)), (gy - y) * 111_000)
    assert 0 < shift_m.min() and shift_m.max() < 1000  # GCJ-02 shifts by metres to hundreds of metres


def test_gcj_to_wgs_exact_inverse(grid):
    x, y = grid
    gx, gy = crs.wgs84_to_gcj02(x, y)
    wx, wy = crs.gcj02_to_wgs84(gx, gy)
    ox, oy = _oracle(prcoords.gcj_wgs_bored, gx, gy)
    assert np.abs(wx - ox).max() < CM and np.abs(wy - oy).max() < CM
    assert np.abs(wx - x).max() < 1e-9 and np.abs(wy - y).max() < 1e-9  # round trip < 0.1 mm
    # the one-step inverse prcoords.gcj_wgs is off by up to metres: ours is not that
    rx, ry = _oracle(prcoords.gcj_wgs, gx, gy)
    assert np.abs(rx - x).max() > 1e-6


def test_bd09_matches_prcoords(grid):
    x, y = grid
    gx, gy = crs.wgs84_to_gcj02(x, y)
    bx, by = crs.gcj02_to_bd09(gx, gy)
    ox, oy = _oracle(prcoords.gcj_bd, gx, gy)
    assert np.abs(bx - ox).max() < 1e-12 and np.abs(by - oy).max() < 1e-12
    qx, qy = crs.bd09_to_gcj02(bx, by)
    ox, oy = _oracle(prcoords.bd_gcj_bored, bx, by)
    assert np.abs(qx - ox).max() < CM and np.abs(qy - oy).max() < CM
    ox, oy = _oracle(prcoords.bd_gcj, bx, by)  # prcoords' closed-form inverse: decimetre level
    assert np.abs(qx - ox).max() < 3e-6 and np.abs(qy - oy).max() < 3e-6
    assert np.abs(qx - gx).max() < 1e-9 and np.abs(qy - gy).max() < 1e-9


def test_bd09_wgs84_round_trip(grid):
    x, y = grid
    bx, by = crs.wgs84_to_bd09(x, y)
    wx, wy = crs.bd09_to_wgs84(bx, by)
    assert np.abs(wx - x).max() < 1e-9 and np.abs(wy - y).max() < 1e-9
    # prcoords' combined BD→WGS iteration stops at 1e-5° steps, so the oracle itself is off by ~1e-7°
    ox, oy = _oracle(prcoords.bd_wgs_bored, bx, by)
    assert np.abs(wx - ox).max() < 3 * CM and np.abs(wy - oy).max() < 3 * CM


def test_to_and_from_wgs84_dispatch():
    lng, lat = np.array([105.351, 116.397]), np.array([29.992, 39.909])
    for name in ("gcj02", "bd09"):
        fx, fy = crs.from_wgs84(lng, lat, name)
        assert np.abs(fx - lng).max() > 1e-3
        bx, by = crs.to_wgs84(fx, fy, name)
        assert np.abs(bx - lng).max() < 1e-9 and np.abs(by - lat).max() < 1e-9
    for name in ("wgs84", "cgcs2000", "WGS-84", "EPSG:4490"):
        x, y = crs.to_wgs84(lng, lat, name)
        assert np.array_equal(x, lng) and np.array_equal(y, lat)
    with pytest.raises(TowncoverError, match="unsupported CRS 'utm'"):
        crs.to_wgs84(lng, lat, "utm")


def test_outside_china_not_shifted():
    # Tokyo, Seoul, Ulaanbaatar, Paris, Hanoi: outside China (the last two inside the rough GCJ box)
    lng = np.array([139.69, 126.98, 106.92, 2.35, 105.85])
    lat = np.array([35.69, 37.57, 47.92, 48.86, 21.03])
    assert not crs.in_china(lng, lat).any()
    for fn in (crs.wgs84_to_gcj02, crs.gcj02_to_wgs84):
        x, y = fn(lng, lat)
        assert np.array_equal(x, lng) and np.array_equal(y, lat)


def test_in_china_places_and_nan():
    # 安岳县, 海陵区, Hong Kong, Taipei, Ürümqi, Sanya; then NaN
    lng = np.array([105.351, 119.927, 114.17, 121.56, 87.62, 109.51, np.nan])
    lat = np.array([29.992, 32.524, 22.32, 25.04, 43.83, 18.25, np.nan])
    assert crs.in_china(lng, lat).tolist() == [True] * 6 + [False]


def test_length_mismatch_raises():
    with pytest.raises(TowncoverError):
        crs.wgs84_to_gcj02([1.0, 2.0], [1.0])
