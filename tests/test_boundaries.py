"""geo.boundaries: built-in maps, and loading users' township boundary files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import boundaries
from geo.boundaries import load_boundaries
from geo.gazetteer import load_gazetteer
from towncover.errors import TowncoverError

CODES = ["321202001", "321202002", "321202100", "321202101"]
NAMES = ["城东街道", "城西街道", "九龙镇", "罡杨镇"]
CENTRE = (119.927, 32.524)  # 海陵区


# -- built-in maps -------------------------------------------------------------------------------
def test_regions_with_maps():
    table = boundaries.regions_with_maps()
    cities = table[table["level"] == "city"]
    assert cities["code"].tolist() == ["3609", "4312"]
    assert cities["n_townships"].tolist() == [186, 204]
    assert cities["n_counties"].tolist() == [10, 13]
    counties = table.set_index("code")
    assert counties.loc["512021", "n_townships"] == 46
    assert counties.loc["321202", "n_townships"] == 11
    assert counties.loc["532301", "n_townships"] == 15
    assert counties.loc["431271", "n_townships"] == 6
    assert len(table) == 2 + 10 + 13 + 3
    assert "321271" not in set(table["code"])  # 泰州医药高新区 is not in the 2023 codes


@pytest.mark.parametrize(("region", "n"), [("512021", 46), ("3609", 186), ("4312", 204), ("321202", 11),
                                           ("532301", 15), ("431271", 6), ("431281", 20)])
def test_township_cells_counts_and_codes(region, n):
    cells = boundaries.township_cells(region)
    assert len(cells) == n
    expected = load_gazetteer().townships_in(region, include_special=False)
    assert cells["code"].tolist() == sorted(expected["code"])
    assert cells["schematic"].all() and (cells["boundary"] == "示意边界/schematic").all()
    assert cells.crs.equals("EPSG:4326")
    assert set(cells.columns) >= {"code", "name", "county_code", "kind", "schematic", "geometry"}


def test_township_cell_by_code_and_outlines():
    one = boundaries.township_cells("512021101")
    assert one["code"].tolist() == ["512021101"] and one["name"].tolist() == ["鸳大镇"]
    assert boundaries.has_map("512021101") and not boundaries.has_map("512021999")
    assert len(boundaries.county_outlines("3609")) == 10
    hh = boundaries.county_outlines("4312")
    assert len(hh) == 12 and "431271" not in set(hh["code"])  # 洪江管理区 lies inside 洪江市's outline
    enclave = boundaries.county_outlines("431271")
    assert enclave["source"].iloc[0].startswith("示意")
    assert boundaries.county_outlines("512021")["name"].tolist() == ["安岳县"]
    assert boundaries.county_outlines("512021").geometry.iloc[0].contains(shapely.Point(105.351, 29.992))


def test_cells_of_a_city_do_not_overlap_much_across_counties():
    cells = boundaries.township_cells("3609")
    geoms = cells.geometry.to_numpy()
    union = shapely.union_all(geoms)
    # neighbouring Tianditu county outlines are generalised independently: overlap under 0.1 %
    assert shapely.area(geoms).sum() - union.area < 1e-3 * union.area


def test_no_map_regions():
    # a functional zone (长春净月高新技术产业开发区) has no outline of its own; its city still has a map
    assert not boundaries.has_map("220172") and not boundaries.has_map("abc")
    assert boundaries.has_map("2201") and "220172" not in set(boundaries.county_outlines("2201")["code"])
    with pytest.raises(TowncoverError, match="no built-in map for region 220172"):
        boundaries.township_cells("220172")


# -- user files ------------------------------------------------------------------------------------
def _squares(crs: str = "EPSG:4549") -> gpd.GeoDataFrame:
    """Four 2 km squares around 海陵区's centre, built in ``crs`` metres (default GK CM 120°E)."""
    centre = gpd.GeoSeries([shapely.Point(*CENTRE)], crs=4326).to_crs(crs).iloc[0]
    x0, y0 = centre.x - 2000, centre.y - 2000
    boxes = [shapely.box(x0 + dx, y0 + dy, x0 + dx + 2000, y0 + dy + 2000)
             for dy in (0, 2000) for dx in (0, 2000)]
    return gpd.GeoDataFrame({"代码": CODES, "名称": NAMES}, geometry=boxes, crs=crs)


def _zip(folder: Path, stem: str, drop: tuple[str, ...] = ()) -> Path:
    out = folder / f"{stem}.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for f in sorted(folder.glob(f"{stem}.*")):
            if f.suffix not in drop and f.suffix != ".zip":
                zf.write(f, f"data/{f.name}")
    return out


def _check(got: gpd.GeoDataFrame, codes=CODES) -> None:  # noqa: ANN001
    assert got["code"].tolist() == codes
    assert got["name"].tolist() == [dict(zip(CODES, NAMES, strict=True))[c] for c in codes]
    assert not got["schematic"].any() and got.crs.equals("EPSG:4326")
    expect = _squares().to_crs(4326).geometry
    for a, b in zip(got.geometry, expect, strict=True):
        assert shapely.hausdorff_distance(a, b) < 1e-7


def test_zipped_shapefile_gbk_cpg(tmp_path):
    _squares().to_file(tmp_path / "towns.shp", encoding="GBK")
    assert (tmp_path / "towns.cpg").read_text() == "GBK"
    got = load_boundaries(_zip(tmp_path, "towns"))
    _check(got)
    assert got.attrs["notes"] == ["乡镇代码取自字段“代码” / township codes from field '代码'"]


def test_shapefile_gbk_without_cpg(tmp_path):
    frame = _squares().drop(columns="代码")
    frame.to_file(tmp_path / "towns.shp", encoding="GBK")
    (tmp_path / "towns.cpg").unlink()
    got = load_boundaries(_zip(tmp_path, "towns"))
    _check(got)
    assert any("GBK" in n for n in got.attrs["notes"])
    assert any("名称" in n for n in got.attrs["notes"])


def test_gpkg_with_numeric_codes(tmp_path):
    frame = _squares().to_crs(4490)
    frame["代码"] = frame["代码"].astype("int64")  # 321202001 stored as a number
    frame.to_file(tmp_path / "towns.gpkg", driver="GPKG")
    got = load_boundaries(tmp_path / "towns.gpkg")
    _check(got)


def test_geojson_with_float_12_digit_codes(tmp_path):
    frame = _squares().to_crs(4326)
    frame["XZQDM"] = [float(c + "000") for c in CODES]  # 3.21202001e11 as a float
    frame = frame.drop(columns=["代码", "名称"])
    frame.to_file(tmp_path / "towns.geojson", driver="GeoJSON")
    got = load_boundaries(tmp_path / "towns.geojson")
    _check(got)
    assert got.attrs["notes"] == ["乡镇代码取自字段“XZQDM” / township codes from field 'XZQDM'"]


def test_serial_codes_that_lost_zeros(tmp_path):
    frame = _squares().to_crs(4326)
    frame["XZDM"] = [int(c[6:]) for c in CODES]  # 1, 2, 100, 101: county prefix and zeros lost
    frame = frame.drop(columns=["代码", "名称"])
    frame.to_file(tmp_path / "towns.gpkg", driver="GPKG")
    got = load_boundaries(tmp_path / "towns.gpkg")
    _check(got)
    assert any("321202" in n and "XZDM" in n for n in got.attrs["notes"])


@pytest.mark.parametrize(("epsg", "note"), [(4549, "EPSG:4549"), (4528, "EPSG:4528"), (4326, "EPSG:4490")])
def test_missing_prj_recognised(tmp_path, epsg, note):
    _squares(crs=f"EPSG:{epsg}" if epsg != 4326 else "EPSG:4549").to_crs(epsg).to_file(tmp_path / "towns.shp", encoding="UTF-8")
    got = load_boundaries(_zip(tmp_path, "towns", drop=(".prj",)))
    _check(got)
    assert any(note in n for n in got.attrs["notes"])


def test_missing_prj_gauss_kruger_without_codes_is_refused(tmp_path):
    _squares().drop(columns="代码").to_file(tmp_path / "towns.shp", encoding="UTF-8")
    with pytest.raises(TowncoverError, match="central meridian cannot be told"):
        load_boundaries(_zip(tmp_path, "towns", drop=(".prj",)))


def test_invalid_bowtie_repaired_and_unknown_code_kept(tmp_path):
    frame = _squares().to_crs(4326)
    x0, y0, x1, y1 = frame.geometry.iloc[0].bounds
    frame.loc[0, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])  # bow-tie
    frame.loc[3, "代码"] = "999999999"
    frame.loc[3, "名称"] = "不存在镇"
    frame.to_file(tmp_path / "towns.geojson", driver="GeoJSON")
    got = load_boundaries(tmp_path / "towns.geojson")
    assert got["code"].tolist()[:3] == CODES[:3] and got["code"].isna().tolist() == [False] * 3 + [True]
    assert got["name"].tolist()[3] == "不存在镇"
    assert shapely.is_valid(got.geometry.to_numpy()).all()
    assert got.geometry.iloc[0].geom_type == "MultiPolygon"
    assert abs(got.geometry.iloc[0].area - (x1 - x0) * (y1 - y0) / 2) < 1e-12
    notes = " ".join(got.attrs["notes"])
    assert "repaired 1 invalid polygon(s) with make_valid (feature 1)" in notes
    assert "1 feature(s) have no recognisable township code (feature 4)" in notes


def test_unusable_files(tmp_path):
    with pytest.raises(TowncoverError, match="unsupported boundary file type '.txt'"):
        load_boundaries(tmp_path / "a.txt")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "nothing")
    with pytest.raises(TowncoverError, match="no .shp"):
        load_boundaries(empty)
    pts = gpd.GeoDataFrame({"代码": CODES}, geometry=gpd.points_from_xy([CENTRE[0]] * 4, [CENTRE[1]] * 4), crs=4326)
    pts.to_file(tmp_path / "pts.geojson", driver="GeoJSON")
    with pytest.raises(TowncoverError, match="no polygons"):
        load_boundaries(tmp_path / "pts.geojson")
    other = _squares().to_crs(4326).drop(columns=["代码", "名称"]).assign(remark=["a", "b", "c", "d"])
    other.to_file(tmp_path / "other.geojson", driver="GeoJSON")
    with pytest.raises(TowncoverError, match="no township code or name field"):
        load_boundaries(tmp_path / "other.geojson")
    (tmp_path / "bad.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(TowncoverError, match="cannot read the boundary file bad.geojson"):
        load_boundaries(tmp_path / "bad.geojson")
    with pytest.raises(TowncoverError, match="has no field 'DM'"):
        load_boundaries(tmp_path / "other.geojson", code_field="DM")


def test_assign_points_on_loaded_boundaries(tmp_path):
    from geo.assign import assign_points

    _squares().to_file(tmp_path / "towns.gpkg", driver="GPKG")
    got = load_boundaries(tmp_path / "towns.gpkg")
    cx = np.array([g.centroid.x for g in got.geometry])
    cy = np.array([g.centroid.y for g in got.geometry])
    assert assign_points(cx, cy, got).tolist() == CODES


# -- every county (issue 16) -----------------------------------------------------------------------
@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """Cells built into an empty cache folder, nothing kept in memory from earlier tests."""
    monkeypatch.setenv("TOWNCOVER_CACHE", str(tmp_path))
    boundaries._county_cells.cache_clear()
    yield tmp_path
    boundaries._county_cells.cache_clear()


# 北京市东城区, 内蒙古牙克石市, 新疆喀什市: none in the five plan regions
@pytest.mark.parametrize("county", ["110101", "150782", "653101"])
def test_any_county_has_outline_and_cells_of_its_townships(county, fresh_cache):
    assert boundaries.has_map(county)
    outline = boundaries.county_outlines(county)
    assert outline["code"].tolist() == [county] and outline["name"].iloc[0] == load_gazetteer().name_of(county)
    cells = boundaries.township_cells(county)
    expected = load_gazetteer().townships_in(county, include_special=False)
    assert cells["code"].tolist() == sorted(expected["code"]) and len(cells) > 10
    assert cells["schematic"].all() and (cells["boundary"] == "示意边界/schematic").all()
    geoms = cells.geometry.to_numpy()
    union = shapely.union_all(geoms)
    shape = outline.geometry.iloc[0]
    assert shapely.area(geoms).sum() - union.area < 1e-9 * shape.area  # no overlaps
    assert shapely.symmetric_difference(union, shape).area < 1e-5 * shape.area  # they tile the outline
    assert len(list(fresh_cache.glob(f"cells/*/{county}.geojson"))) == 1


def test_built_cells_come_back_identical_from_the_disk_cache(fresh_cache):
    built = boundaries.township_cells("110101")
    boundaries._county_cells.cache_clear()
    again = boundaries.township_cells("110101")
    assert again["code"].tolist() == built["code"].tolist()
    assert shapely.equals_exact(again.geometry.to_numpy(), built.geometry.to_numpy(), tolerance=0).all()
    (path,) = fresh_cache.glob("cells/*/110101.geojson")
    path.write_text("{not json", encoding="utf-8")  # a damaged cache file is rebuilt, never trusted
    boundaries._county_cells.cache_clear()
    rebuilt = boundaries.township_cells("110101")
    assert shapely.equals_exact(rebuilt.geometry.to_numpy(), built.geometry.to_numpy(), tolerance=0).all()


def test_prefecture_and_province_give_all_their_counties(fresh_cache):
    gaz = load_gazetteer()
    counties = gaz.counties_in("6531")["code"].tolist()  # 喀什地区: 12 counties
    assert boundaries.county_outlines("6531")["code"].tolist() == counties
    cells = boundaries.township_cells("6531")
    assert cells["code"].tolist() == sorted(gaz.townships_in("6531", include_special=False)["code"])
    province = boundaries.county_outlines("65")
    zones = [c for c in gaz.counties_in("65")["code"] if c[4] == "7"]
    assert sorted(province["code"]) == sorted(set(gaz.counties_in("65")["code"]) - set(zones))
    assert boundaries.has_map("65") and boundaries.has_map("653101001")


def test_every_county_with_an_outline_is_listed():
    table = boundaries.regions_with_maps(all_counties=True)
    assert len(table) == 2850  # 2,849 from the national file + 洪江管理区's carved part
    assert (table["level"] == "county").all() and table["code"].is_unique
    assert {"540481", "540581", "620201", "110101", "431271"} <= set(table["code"])  # 米林, 错那, 嘉峪关 by older codes
    assert not ({"220172", "232761", "460323"} & set(table["code"]))  # zones, 加格达奇区, 中沙群岛: no outline
    assert table.set_index("code").loc["512021", "n_townships"] == 46
