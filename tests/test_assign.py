"""geo.assign.assign_points on hand-built squares."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.assign import assign_points
from towncover.errors import TowncoverError


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    # 2 × 2 unit squares at (100..102, 30..32); codes given out of order on purpose
    return gpd.GeoDataFrame(
        {"code": ["512021102", "512021101", "512021002", "512021001"]},
        geometry=[shapely.box(100, 30, 101, 31), shapely.box(101, 30, 102, 31),
                  shapely.box(100, 31, 101, 32), shapely.box(101, 31, 102, 32)],
        crs=4326,
    )


def test_interior_points(squares):
    got = assign_points([100.5, 101.5, 100.5, 101.5], [30.5, 30.5, 31.5, 31.5], squares)
    assert got.tolist() == ["512021102", "512021101", "512021002", "512021001"]
    assert str(got.dtype) == "string"


def test_edges_go_to_lowest_code(squares):
    # shared vertical edge x=101 (102 | 101), the centre corner (all four), the outer edge x=100
    got = assign_points([101.0, 101.0, 100.0, 100.5], [30.5, 31.0, 30.5, 31.0], squares)
    assert got.tolist() == ["512021101", "512021001", "512021102", "512021002"]
    reordered = squares.iloc[::-1].reset_index(drop=True)
    assert assign_points([101.0, 101.0], [30.5, 31.0], reordered).tolist() == ["512021101", "512021001"]


def test_outside_and_nan_points_are_na(squares):
    got = assign_points([99.0, np.nan, 101.5, 103.0], [30.5, 30.5, np.nan, 31.0], squares)
    assert got.isna().tolist() == [True, True, True, True]
    assert len(got) == 4


def test_other_field_missing_geometry_and_crs(squares):
    squares["zone"] = ["a", "b", "c", "d"]
    squares.loc[0, "geometry"] = None
    got = assign_points(np.array([100.5, 101.5]), np.array([30.5, 30.5]), squares, code_field="zone")
    assert got.isna().iloc[0] and got.iloc[1] == "b"
    projected = squares.iloc[1:].to_crs(3857)
    assert assign_points([101.5], [31.5], projected).tolist() == ["512021001"]


def test_empty_inputs(squares):
    assert assign_points([], [], squares).tolist() == []
    empty = squares.iloc[:0]
    assert pd.isna(assign_points([100.5], [30.5], empty).iloc[0])


def test_bad_arguments(squares):
    with pytest.raises(TowncoverError, match="differ in length"):
        assign_points([1.0, 2.0], [1.0], squares)
    with pytest.raises(TowncoverError, match="no field 'adcode'"):
        assign_points([1.0], [1.0], squares, code_field="adcode")
