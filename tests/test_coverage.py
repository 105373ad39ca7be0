"""Coverage per level on 海陵区 (321202) units, the 400+ option, the radius rule, and plan evaluation.

海陵区 (NBS 2023): 7 streets (001–005, 007, 050), 4 towns (100–103), 3 special units (406–408);
36 village committees, 119 communities (2 under special units).
"""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import CRS
from shapely.geometry import Point, box

from facilities.coverage import measure, units_needed
from facilities.evaluation import evaluate_plan, evaluate_plan_details, format_evaluation
from facilities.inputs import apply_planned, read_planned, read_population
from facilities.levels import level_units
from facilities.targets import Plan, Target
from towncover.errors import TowncoverError

ERC = "elderly_regional_centre"
HL = "321202"
STREETS = ["321202001", "321202002", "321202003", "321202004", "321202005", "321202007", "321202050"]
TOWNS = ["321202100", "321202101", "321202102", "321202103"]
SPECIAL = ["321202406", "321202407", "321202408"]


def _geocoded() -> pd.DataFrame:
    """Ten hand-built rows; five regional centres placed, three not, two of other categories."""
    na = pd.NA
    frame = pd.DataFrame({
        "row": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        "机构名称": ["城东中心", "九龙中心", "华港中心", "华港二中心", "园区中心", "无名中心", "歧义中心", "外地中心",
                  "敬老院", "=HYPERLINK(\"x\")"],
        "township_code": ["321202001", "321202100", "321202103", "321202103", "321202406", na, na, na,
                          "321202002", "321202005"],
        "village_code": ["321202001002", "321202100001", "321202103201", "", "321202406498", na, na, na, na, na],
        "match_status": ["matched", "matched", "matched", "matched", "matched", "unmatched", "ambiguous",
                         "out_of_region", "matched", "matched"],
        "lng_wgs84": np.nan,
        "lat_wgs84": np.nan,
        "category": [ERC, ERC, ERC, ERC, ERC, ERC, ERC, ERC, "nursing_home", "unclassified"],
        "beds": [50, 30, np.nan, np.nan, np.nan, np.nan, np.nan, 100, 40, np.nan],
        "nursing_beds": [20, 10, np.nan, np.nan, np.nan, np.nan, np.nan, 100, 30, np.nan],
    })
    for col in ("township_code", "village_code", "match_status", "category"):
        frame[col] = frame[col].astype("string")
    return frame


# --- units -------------------------------------------------------------------------------------
def test_level_units_counts_and_kinds():
    assert level_units(HL, "township_and_street")["code"].tolist() == STREETS + TOWNS
    assert level_units(HL, "township_and_street", include_special=True)["code"].tolist() == STREETS + TOWNS + SPECIAL
    assert level_units(HL, "township")["code"].tolist() == TOWNS
    assert level_units(HL, "street")["code"].tolist() == STREETS
    assert len(level_units(HL, "village")) == 36
    assert len(level_units(HL, "community")) == 117
    assert len(level_units(HL, "community", include_special=True)) == 119
    assert len(level_units(HL, "village_and_community")) == 153
    assert level_units("3212", "county")["code"].tolist() == ["321202", "321203", "321204", "321281", "321282",
                                                              "321283"]
    with pytest.raises(TowncoverError):
        level_units(HL, "province")


# --- every level -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("level", "special", "covered", "total", "uncovered"),
    [
        ("county", False, 1, 1, []),
        ("township_and_street", False, 3, 11, STREETS[1:] + ["321202101", "321202102"]),
        ("township_and_street", True, 4, 14, STREETS[1:] + ["321202101", "321202102", "321202407", "321202408"]),
        ("township", False, 2, 4, ["321202101", "321202102"]),
        ("street", False, 1, 7, STREETS[1:]),
    ],
)
def test_township_levels(level, special, covered, total, uncovered):
    r = measure(_geocoded(), HL, ERC, level, include_special=special)
    assert (r.covered, r.total, r.uncovered) == (covered, total, uncovered)
    assert r.rate == 100.0 * covered / total
    assert r.unplaced_rows == 3
    assert sorted(r.unplaced["row"].tolist()) == [7, 8, 9]


def test_special_unit_facility_counted_outside_by_default():
    r = measure(_geocoded(), HL, ERC, "township_and_street")
    assert r.outside_units_rows == 1  # the one in 海陵工业园区 (406)
    with_special = measure(_geocoded(), HL, ERC, "township_and_street", include_special=True)
    assert with_special.outside_units_rows == 0
    assert with_special.units.set_index("code").loc["321202406", "n_facilities"] == 1


def test_village_levels_need_a_village_code():
    g = _geocoded()
    v = measure(g, HL, ERC, "village")
    assert (v.covered, v.total, len(v.uncovered)) == (1, 36, 35)
    assert v.units.loc[v.units["covered"], "code"].tolist() == ["321202103201"]
    assert v.township_only_rows == 1  # 华港二中心: township only
    assert any("只定位到乡镇" in n for n in v.notes)
    c = measure(g, HL, ERC, "community")
    assert (c.covered, c.total) == (2, 117)
    assert c.units.loc[c.units["covered"], "code"].tolist() == ["321202001002", "321202100001"]
    c_special = measure(g, HL, ERC, "community", include_special=True)
    assert (c_special.covered, c_special.total) == (3, 119)
    vc = measure(g, HL, ERC, "village_and_community")
    assert (vc.covered, vc.total) == (3, 153)
    assert len(vc.uncovered) == 150
    assert "321202103201" not in vc.uncovered


def test_county_level_in_a_prefecture():
    r = measure(_geocoded(), "3212", ERC, "county")
    assert (r.covered, r.total) == (1, 6)
    assert r.uncovered == ["321203", "321204", "321281", "321282", "321283"]


def test_county_level_counts_facilities_placed_on_a_county_only():
    # 靖江市殡仪馆 at 靖江市西街49号 names no township: placed in its county, not on a township.
    g = pd.DataFrame({
        "row": [2, 3, 4, 5, 6],
        "township_code": ["321202001", "", "", "", ""],
        "county_code": ["321202", "321282", "321283", "", "320102"],
        "village_code": ["", "", "", "", ""],
        "match_status": ["matched", "unmatched", "ambiguous", "unmatched", "out_of_region"],
        "lng_wgs84": np.nan, "lat_wgs84": np.nan,
        "category": ["funeral_home"] * 5,
    }).astype({c: "string" for c in ("township_code", "county_code", "village_code", "match_status", "category")})
    r = measure(g, "3212", "funeral_home", "county")
    assert (r.covered, r.total, r.unplaced_rows) == (3, 6, 2)
    assert r.uncovered == ["321203", "321204", "321281"]
    # At township level the county-only rows are not placed.
    t = measure(g, HL, "funeral_home", "township_and_street")
    assert (t.covered, t.unplaced_rows) == (1, 4)


def test_json_contract_exact_keys_and_target():
    r = measure(_geocoded(), HL, ERC, "township", target=50)
    out = json.loads(json.dumps(r.to_json(), ensure_ascii=False))
    assert out == {"category": ERC, "level": "township", "covered": 2, "total": 4, "rate": 50.0,
                   "uncovered": ["321202101", "321202102"], "unplaced_rows": 3, "target": 50.0, "met": True}
    assert measure(_geocoded(), HL, ERC, "township", target=50.1).met is False
    assert measure(_geocoded(), HL, ERC, "township").to_json()["met"] is None


def test_bad_requests_raise():
    with pytest.raises(TowncoverError):
        measure(_geocoded(), HL, "no_such_category", "township")
    with pytest.raises(TowncoverError):
        measure(_geocoded().drop(columns="category"), HL, ERC, "township")
    with pytest.raises(TowncoverError, match="村"):
        measure(_geocoded(), HL, ERC, "village", radius_km=2.0, units=_row_of_towns())
    with pytest.raises(TowncoverError):
        measure(_geocoded(), HL, ERC, "township", radius_km=2.0)


# --- radius rule on hand-built polygons --------------------------------------------------------
_LOCAL = CRS.from_proj4("+proj=aeqd +lat_0=32.49 +lon_0=119.92 +datum=WGS84 +units=m +no_defs")


def _row_of_towns(codes=TOWNS) -> gpd.GeoDataFrame:
    """Four 5 km squares side by side (x 0–5, 5–10, 10–15, 15–20 km)."""
    squares = [box(5000 * i, 0, 5000 * (i + 1), 5000) for i in range(len(codes))]
    return gpd.GeoDataFrame({"code": codes}, geometry=squares, crs=_LOCAL).to_crs(4326)


def _local_point(x_km: float, y_km: float) -> tuple[float, float]:
    p = gpd.GeoSeries([Point(x_km * 1000, y_km * 1000)], crs=_LOCAL).to_crs(4326).iloc[0]
    return p.x, p.y


def _one_facility(x_km: float, y_km: float, township: str) -> pd.DataFrame:
    lng, lat = _local_point(x_km, y_km)
    return pd.DataFrame({"row": [2], "township_code": [township], "village_code": [pd.NA],
                         "match_status": ["matched"], "lng_wgs84": [lng], "lat_wgs84": [lat], "category": [ERC]})


@pytest.mark.parametrize(("radius", "covered", "uncovered"), [
    (2.0, 1, ["321202101", "321202102", "321202103"]),   # 2.5 km to the next square: out of reach
    (3.0, 2, ["321202102", "321202103"]),
    (8.0, 3, ["321202103"]),
    (13.0, 4, []),
])
def test_radius_rule(radius, covered, uncovered):
    g = _one_facility(2.5, 2.5, "321202100")
    r = measure(g, HL, ERC, "township", radius_km=radius, units=_row_of_towns())
    assert (r.covered, r.total, r.uncovered) == (covered, 4, uncovered)
    near = r.units.set_index("code")["nearest_km"]
    assert near["321202100"] == 0.0
    assert near["321202102"] == pytest.approx(7.5, abs=0.01)


def test_radius_rule_unit_without_polygon_counts_by_placement():
    g = pd.concat([_one_facility(2.5, 2.5, "321202100"), _one_facility(np.nan, np.nan, "321202103")])
    g.loc[1:, "lng_wgs84"] = np.nan
    shapes = _row_of_towns(TOWNS[:3])  # 103 has no polygon
    r = measure(g, HL, ERC, "township", radius_km=3.0, units=shapes)
    assert r.uncovered == ["321202102"]
    assert r.covered == 3


# --- plan evaluation ---------------------------------------------------------------------------
def _target(**kw) -> Target:
    base = {"label_zh": kw["id"], "label_en": kw["id"], "quote": "…", "year": 2025}
    return Target(**{**base, **kw})


def _plan() -> Plan:
    targets = [
        _target(id="cov", metric="coverage_rate", category=ERC, level="township_and_street", value=60,
                baseline=20.0, baseline_year=2020),
        _target(id="rural_count", metric="count", category=ERC, level="township", rural_only=True, value=3,
                unit="units"),
        _target(id="all_count", metric="count", category=ERC, value=6, unit="units"),
        _target(id="nursing_share", metric="ratio", numerator="nursing_beds", denominator="beds", value=55),
        _target(id="nursing_share_homes", metric="ratio", category="nursing_home", numerator="nursing_beds",
                denominator="beds", value=55),
        _target(id="beds_per_k", metric="per_thousand", numerator="beds", population_column="elderly_population",
                value=35, unit="beds_per_1000_elderly"),
        _target(id="village_radius", metric="coverage_rate", category=ERC, level="village", value=50,
                radius_km=2.0),
        _target(id="training", metric="other", evaluable=False, not_evaluable_reason_zh="培训人次不在设施清单中",
                not_evaluable_reason_en="training counts are not in a facility list"),
    ]
    return Plan(id="t", region_code=HL, region_name="海陵区", title="test plan", year_from=2021, year_to=2025,
                seed_file="none", targets=targets)


def _population() -> pd.DataFrame:
    towns = STREETS + TOWNS
    return read_population(pd.DataFrame({
        "区划代码": [c + "000" for c in towns],
        "常住人口": [str(10000 + 1000 * i) for i in range(11)],
        "60岁以上人口": ["400"] * 10 + ["0"],
    }))


def test_evaluate_plan_rows():
    table = evaluate_plan(_geocoded(), _plan(), HL, population=_population()).set_index("id")
    cov = table.loc["cov"]
    assert (cov["covered"], cov["total"], cov["measured"]) == (3, 11, 300 / 11)
    assert cov["met"] is False and cov["shortfall_units"] == 4
    assert "需新增覆盖 4 个乡镇(街道)" in cov["status"]
    assert cov["change_from_baseline"] == pytest.approx(300 / 11 - 20)
    assert cov["year"] == 2025
    rural = table.loc["rural_count"]
    assert (rural["measured"], rural["met"]) == (3.0, True)   # 九龙, 华港 ×2
    total = table.loc["all_count"]
    assert (total["measured"], total["met"], total["shortfall_units"]) == (5.0, False, 1)
    share = table.loc["nursing_share"]          # (20+10+30) / (50+30+40); the out-of-region row is left out
    assert share["measured"] == 50.0 and share["met"] is False and share["shortfall_units"] == 6
    assert share["shortfall_text"].startswith("护理型床位需再增加 6 张")
    assert table.loc["nursing_share_homes", "measured"] == 75.0
    per_k = table.loc["beds_per_k"]             # 120 beds per 4,000 elderly
    assert per_k["measured"] == 30.0 and per_k["met"] is False and per_k["shortfall_units"] == 20
    for tid in ("village_radius", "training"):
        assert table.loc[tid, "evaluable"] is False and table.loc[tid, "met"] is None
    assert "村" in table.loc["village_radius", "reason"]
    assert table.loc["training", "reason"].startswith("培训人次不在设施清单中")
    text = format_evaluation(table.reset_index())
    assert "[cov]" in text and "27.3%" in text and "无法评估" in text
    # The distance from the baseline (20 % in 2020): 300/11 - 20 = +7.3 points.
    assert "    较基期2020 年20%:+7.3% / from the baseline (2020): +7.3%" in text.splitlines()


def test_per_thousand_needs_population_and_prefers_the_region_row():
    no_pop = evaluate_plan(_geocoded(), _plan(), HL).set_index("id").loc["beds_per_k"]
    assert no_pop["evaluable"] is False and "人口" in no_pop["reason"]
    pop = pd.concat([_population(), read_population(pd.DataFrame({"code": ["321202"], "老年人口": ["3000"]}))])
    row = evaluate_plan(_geocoded(), _plan(), HL, population=pop).set_index("id").loc["beds_per_k"]
    assert row["measured"] == 40.0 and row["met"] is True


def test_evaluate_plan_details_returns_units():
    _table, details = evaluate_plan_details(_geocoded(), _plan(), HL)
    assert list(details) == ["cov"]
    assert details["cov"].uncovered == STREETS[1:] + ["321202101", "321202102"]


# --- population table --------------------------------------------------------------------------
def test_read_population_codes_and_aliases(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("区划代码,名称,常住人口,60岁以上人口\n321202001000,城东街道,\"12,000\",2400\n", encoding="gbk")
    pop = read_population(path)
    assert pop["code"].tolist() == ["321202001"]
    assert pop.loc[0, "population"] == 12000.0 and pop.loc[0, "elderly_population"] == 2400.0
    other = read_population(pd.DataFrame({"乡镇代码": ["321202001"], "常住人口": ["100"], "60岁以上老年人口": ["30"]}))
    assert other.loc[0, "elderly_population"] == 30.0 and other.loc[0, "population"] == 100.0
    bad = tmp_path / "bad.csv"
    bad.write_text("区划代码,常住人口\n321202001,12000\n321202002,很多\n", encoding="utf-8")
    with pytest.raises(TowncoverError) as exc:
        read_population(bad)
    assert (exc.value.row, exc.value.column) == (3, "常住人口")


# --- scenarios ---------------------------------------------------------------------------------
def _planned_sheet() -> pd.DataFrame:
    return pd.DataFrame({
        "项目名称": ["罡杨中心", "苏陈中心", "城西中心", "城南中心", "城北中心"],
        "类型": ["区域养老服务中心", ERC, "区域性养老服务中心", ERC, ERC],
        "乡镇": ["罡杨镇", "", "城西街道", "", "城北街道"],
        "乡镇代码": ["", "321202102", "", "321202003000", ""],
        "计划年份": ["2024", "2025年", "2025", "2025", "2026"],
    })


def test_read_planned_resolves_names_and_codes():
    planned = read_planned(_planned_sheet(), HL)
    assert planned["township_code"].tolist() == ["321202101", "321202102", "321202002", "321202003", "321202005"]
    assert planned["category"].tolist() == [ERC] * 5
    assert planned["year"].tolist() == [2024, 2025, 2025, 2025, 2026]
    assert planned["row"].tolist() == [2, 3, 4, 5, 6]


def test_read_planned_errors_name_row_and_column():
    sheet = _planned_sheet()
    sheet.loc[2, "乡镇"] = "不存在镇"
    with pytest.raises(TowncoverError) as exc:
        read_planned(sheet, HL)
    assert (exc.value.row, exc.value.column) == (4, "乡镇")
    sheet = _planned_sheet()
    sheet.loc[1, "类型"] = "火箭发射场"
    with pytest.raises(TowncoverError) as exc:
        read_planned(sheet, HL)
    assert (exc.value.row, exc.value.column) == (3, "类型")


def test_apply_planned_appends_rows():
    out = apply_planned(_geocoded(), _planned_sheet(), HL, until_year=2025)
    assert len(out) == 10 + 4
    added = out[out["source"] == "planned"]
    assert added["match_method"].unique().tolist() == ["planned"]
    assert added["match_status"].unique().tolist() == ["matched"]
    assert out["source"].iloc[:10].unique().tolist() == ["sheet"]


def test_scenario_flips_met():
    table = evaluate_plan(_geocoded(), _plan(), HL, planned=_planned_sheet()).set_index("id")
    cov = table.loc["cov"]
    assert cov["met"] is False
    assert cov["met_planned"] is True
    assert cov["measured_planned"] == 700 / 11  # the 2026 project does not count for 2025
    assert cov["shortfall_planned"] == 0 and cov["planned_projects"] == 4
    assert table.loc["all_count", "met_planned"] is True and table.loc["all_count", "measured_planned"] == 9.0


def test_units_needed_is_exact():
    assert units_needed(0, 10, 60) == 6
    assert units_needed(3, 11, 60) == 4
    assert units_needed(7, 11, 60) == 0
    assert units_needed(2, 7, 300 / 7) == 1   # 300/7 % of 7 is 3 (not 4 through float drift)
    assert units_needed(0, 3, 100) == 3
