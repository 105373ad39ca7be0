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


# -- county of a point (issue 16.4) ------------------------------------------------------------------
def _inside(code: str) -> shapely.Point:
    from geo.boundaries import county_outlines

    return county_outlines(code).geometry.iloc[0].representative_point()


def test_county_of_points_picks_the_outline_holding_the_point():
    from geo.assign import county_of_points
    from geo.boundaries import county_outlines

    a, b = _inside("360502"), _inside("360521")  # 新余市: 渝水区, 分宜县
    shared = shapely.line_merge(shapely.intersection(*county_outlines("3605").geometry.boundary))
    line = max(getattr(shared, "geoms", [shared]), key=lambda g: g.length)
    on = line.interpolate(0.5, normalized=True)
    border = shapely.Point(on.x + 0.001, on.y)  # ≈100 m from the shared border
    got = county_of_points([a.x, b.x, 100.0, border.x, np.nan], [a.y, b.y, 30.0, border.y, np.nan], "3605")
    assert got.tolist()[:2] == ["360502", "360521"]
    assert got.isna().tolist()[2:] == [True, True, True]  # outside the region, on the border, no point


def test_enclave_host_points_pick_no_county():
    from geo.assign import county_of_points

    # 洪江市 431281 holds 洪江管理区 431271 in its outline: within 怀化市 neither is picked
    host = _inside("431281")
    assert county_of_points([host.x], [host.y], "4312").isna().all()
    assert county_of_points([host.x], [host.y], "431281").tolist() == ["431281"]


def test_coordinates_pick_the_county_before_the_village_name():
    from geo.geocoder import geocode

    # 水东村 is a village of 渝水区罗坊镇 (360502103206) and of 分宜县分宜镇 (360521100202)
    a, b = _inside("360502"), _inside("360521")
    sheet = pd.DataFrame({"名称": ["水东村幸福院"] * 3, "地址": ["水东村"] * 3,
                          "经度": [a.x, b.x, np.nan], "纬度": [a.y, b.y, np.nan]})
    out = geocode(sheet, "3605", roles={"name": "名称", "address": "地址", "lng": "经度", "lat": "纬度"},
                  crs="wgs84")
    assert out["match_status"].tolist() == ["matched", "matched", "ambiguous"]
    assert out["township_code"].tolist() == ["360502103", "360521100", ""]
    assert out["village_code"].tolist() == ["360502103206", "360521100202", ""]
    assert out["candidates"].iloc[2] == "360502103;360521100"
    assert out["match_note"].iloc[0].startswith("坐标落在渝水区(360502)县界内,在该县内按名称匹配")
