"""Gap closing: exact minimum by arithmetic (placement rule) and by integer programme (radius rule)."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import CRS
from shapely.geometry import Point, box

from facilities.coverage import measure
from facilities.gaps import close_gap, gap_summary
from facilities.inputs import read_population
from towncover.errors import TowncoverError

ERC = "elderly_regional_centre"
HL = "321202"
TOWNS = ["321202100", "321202101", "321202102", "321202103"]
# 楚雄市 (532301): 12 towns 101–112 and 3 xiang 201–203 = 15 township-level units.
CX = "532301"
CX_UNITS = [f"532301{n}" for n in list(range(101, 113)) + [201, 202, 203]]


def _frame(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame({
        "row": np.arange(2, 2 + len(rows)),
        "township_code": pd.array([r[0] for r in rows], dtype="string"),
        "village_code": pd.array([pd.NA] * len(rows), dtype="string"),
        "match_status": "matched",
        "lng_wgs84": [r[1] for r in rows],
        "lat_wgs84": [r[2] for r in rows],
        "category": ERC,
    })


def _local(lat0: float, lon0: float) -> CRS:
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m +no_defs")


def _grid(codes: list[str], ncols: int, crs: CRS, size_m: float = 5000) -> gpd.GeoDataFrame:
    cells = [box((i % ncols) * size_m, (i // ncols) * size_m, (i % ncols + 1) * size_m, (i // ncols + 1) * size_m)
             for i in range(len(codes))]
    return gpd.GeoDataFrame({"code": codes}, geometry=cells, crs=crs).to_crs(4326)


def _point(crs: CRS, x_m: float, y_m: float) -> tuple[float, float]:
    p = gpd.GeoSeries([Point(x_m, y_m)], crs=crs).to_crs(4326).iloc[0]
    return p.x, p.y


# --- placement rule ----------------------------------------------------------------------------
def _haling_result():
    # Covered: 城东街道 001, 九龙镇 100, 华港镇 103 -> 3 of 11.
    g = _frame([("321202001", np.nan, np.nan), ("321202100", np.nan, np.nan), ("321202103", np.nan, np.nan)])
    return measure(g, HL, ERC, "township_and_street")


def test_placement_minimum_ranked_by_population():
    result = _haling_result()
    pop = read_population(pd.DataFrame({
        "code": ["321202002", "321202003", "321202004", "321202005", "321202007", "321202050", "321202101",
                 "321202102", "321202001"],
        "population": [5000, 9000, 7000, 1000, 8000, 2000, 6000, 3000, 99999],
    }))
    gap = close_gap(result, 60, population=pop)
    assert gap.attrs["needed"] == 4 and gap.attrs["required"] == 4      # ceil(0.6 × 11) − 3
    assert gap["code"].tolist() == ["321202003", "321202007", "321202004", "321202101"]
    assert gap["criterion"].unique().tolist() == ["population"]
    assert gap["covered_after"].tolist() == [4, 5, 6, 7]
    assert gap["rate_after"].iloc[-1] == 700 / 11
    assert "人口" in gap.attrs["criterion"]
    assert gap.attrs["feasible"] is True


def test_placement_already_met_needs_nothing():
    gap = close_gap(_haling_result(), 25)
    assert gap.empty and gap.attrs["needed"] == 0
    assert gap_summary(gap).startswith("已达标")


def test_placement_minimum_without_data_is_code_order():
    gap = close_gap(_haling_result(), 100)
    assert gap.attrs["needed"] == 8
    assert gap["code"].tolist() == ["321202002", "321202003", "321202004", "321202005", "321202007",
                                    "321202050", "321202101", "321202102"]
    assert gap["criterion"].unique().tolist() == ["code"]


def test_placement_ranked_by_distance_farthest_first():
    crs = _local(32.49, 119.92)
    cells = _grid(TOWNS, 4, crs)                 # a row of four 5 km squares
    lng, lat = _point(crs, 2500, 2500)           # one centre in the middle of 九龙镇 (100)
    result = measure(_frame([("321202100", lng, lat)]), HL, ERC, "township")
    gap = close_gap(result, 75, units=cells)
    assert gap.attrs["needed"] == 2
    assert gap["code"].tolist() == ["321202103", "321202102"]
    assert gap["criterion_value"].tolist() == pytest.approx([15.0, 10.0], abs=0.02)
    assert "最远" in gap.attrs["criterion"]


# --- radius rule -------------------------------------------------------------------------------
def _chuxiong_grid():
    crs = _local(25.03, 101.55)
    return _grid(CX_UNITS, 5, crs), crs        # 5 columns × 3 rows of 5 km squares


def test_radius_minimum_sites_exact():
    cells, _crs = _chuxiong_grid()
    empty = _frame([])
    result = measure(empty, CX, ERC, "township_and_street", radius_km=3.0, units=cells)
    assert (result.covered, result.total) == (0, 15)
    # A site at a square's centre reaches its own square and the four next to it (2.5 km), not the
    # diagonal ones (3.54 km): the minimum dominating set of a 3 × 5 grid has 4 sites.
    full = close_gap(result, 100)
    assert full.attrs["required"] == 4 and full.attrs["needed"] == 15
    reached = set(";".join(full["new_units"]).split(";"))
    assert reached == set(CX_UNITS)
    assert full["covered_after"].iloc[-1] == 15 and full["rate_after"].iloc[-1] == 100.0
    assert "milp" in full.attrs["method"] and full.attrs["optimal"] is True and full.attrs["lower_bound"] == 4
    # 60 % of 15 = 9 units: no site reaches more than 5, two disjoint plus shapes reach 10.
    part = close_gap(result, 60)
    assert part.attrs["required"] == 2 and part["covered_after"].iloc[-1] >= 9
    greedy = close_gap(result, 100, method="greedy")
    assert len(greedy) >= 4 and set(";".join(greedy["new_units"]).split(";")) == set(CX_UNITS)
    assert "H(15)" in greedy.attrs["method"] and greedy.attrs["optimal"] is None


def test_radius_gap_counts_existing_coverage():
    cells, crs = _chuxiong_grid()
    # An existing centre in the middle square of the middle row (index 7 -> 532301108) reaches 5 squares.
    lng, lat = _point(crs, 12500, 7500)
    result = measure(_frame([("532301108", lng, lat)]), CX, ERC, "township_and_street", radius_km=3.0, units=cells)
    assert result.covered == 5
    assert sorted(set(CX_UNITS) - set(result.uncovered)) == ["532301103", "532301107", "532301108", "532301109",
                                                            "532301201"]
    gap = close_gap(result, 100)
    # Left over: five squares on each side (columns 0–1 and 3–4 but for the middle row's inner ones);
    # no site reaches more than three of a side's five, so each side needs two sites.
    assert gap.attrs["needed"] == 10
    assert set(";".join(gap["new_units"]).split(";")) == set(result.uncovered)
    assert gap.attrs["required"] == 4


def test_gap_rejects_bad_target_and_method():
    result = measure(_frame([("532301101", np.nan, np.nan)]), CX, ERC, "township_and_street")
    with pytest.raises(TowncoverError):
        close_gap(result, 120)
    with pytest.raises(TowncoverError):
        close_gap(result, 50, method="simulated_annealing")
