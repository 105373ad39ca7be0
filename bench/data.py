"""Deterministic national-scale benchmark data: synthetic township cells and facility rows.

Every one of the 41,352 township codes of the 2023 gazetteer gets one cell of a synthetic Voronoi
tessellation (schematic, 示意: seeds on a jittered grid, in code order, so a county's townships are
neighbours). Facility rows are built from real names (province, city, county, township, village) in
the address styles real 民政 sheets use; a share of them carries a WGS-84 point inside its cell.
Nothing here is a real facility or a real boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.gazetteer import load_gazetteer

# Share of rows per address style (they add up to 1).
STYLES: dict[str, float] = {
    "full": 0.30,            # 四川省资阳市安岳县石羊镇新坝村7组
    "county_town": 0.25,     # 安岳县石羊镇育才路12号
    "town_only": 0.15,       # 石羊镇育才路12号
    "village_only": 0.10,    # 新坝村7组
    "name_only": 0.10,       # address blank, the facility name says 石羊镇敬老院
    "fullwidth": 0.05,       # 安岳县　石羊镇　１２号 (full-width digits and spaces)
    "unplaceable": 0.05,     # 育才路12号 (no division name)
}
# Facility kinds: (name suffix, 类型 value) — the category comes from facilities.categories.classify.
KINDS = [("敬老院", "养老机构"), ("养老服务中心", "养老机构"), ("互助幸福院", "农村互助养老"),
         ("日间照料中心", "社区养老"), ("殡仪服务站", "殡葬设施"), ("社区综合服务站", "社区服务")]
ROADS = np.array(["育才路", "人民路", "解放街", "建设路", "新华街", "中山路", "和平路", "胜利街"])
_PLACEHOLDER = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
_BBOX = (73.5, 18.0, 135.0, 53.5)


@dataclass
class NationalData:
    """Generated data for one benchmark scale.

    Attributes
    ----------
    cells : geopandas.GeoDataFrame
        ``code, name, county_code, province, schematic, geometry`` (EPSG:4326), one cell per township.
    rows : pandas.DataFrame
        Facility rows: ``name, address, 类型, lng, lat`` (text, as a sheet holds them) plus the
        generator's truth ``truth_township, truth_county, style, province``.
    spacing : float
        Seed spacing of the tessellation in degrees.
    """

    cells: gpd.GeoDataFrame
    rows: pd.DataFrame
    spacing: float


def township_cells(codes: pd.DataFrame, *, seed: int = 7, vertices: int = 48) -> tuple[gpd.GeoDataFrame, float]:
    """One synthetic Voronoi cell per township (code order → jittered grid position).

    Parameters
    ----------
    codes : pandas.DataFrame
        Townships ``code, name, county_code`` (gazetteer frame).
    seed : int
        Jitter seed.
    vertices : int
        Approximate vertices per cell after densifying the edges (real outlines have many).

    Returns
    -------
    (geopandas.GeoDataFrame, float)
        The cells and the seed spacing in degrees.
    """
    n = len(codes)
    west, south, east, north = _BBOX
    aspect = (east - west) / (north - south)
    ncols = int(np.ceil(np.sqrt(n * aspect)))
    nrows = int(np.ceil(n / ncols))
    spacing = min((east - west) / ncols, (north - south) / nrows)
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    row, col = i // ncols, i % ncols
    col = np.where(row % 2 == 1, ncols - 1 - col, col)  # serpentine: consecutive codes stay adjacent
    x = west + (col + 0.5) * spacing + rng.uniform(-0.2, 0.2, n) * spacing
    y = south + (row + 0.5) * spacing + rng.uniform(-0.2, 0.2, n) * spacing
    extent = shapely.box(west, south, west + ncols * spacing, south + nrows * spacing)
    seeds = shapely.multipoints(np.column_stack([x, y]))
    polys = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=extent, ordered=True))
    polys = shapely.intersection(polys, extent)
    # Densify: ~``vertices`` per cell (a Voronoi cell has ~6 edges of ~0.6 spacing).
    polys = shapely.segmentize(polys, max(spacing * 3.6 / vertices, 1e-6))
    cells = gpd.GeoDataFrame(
        {"code": codes["code"].to_numpy(), "name": codes["name"].to_numpy(),
         "county_code": codes["county_code"].to_numpy(), "province": codes["code"].str[:2].to_numpy(),
         "schematic": True, "seed_x": x, "seed_y": y},
        geometry=polys, crs="EPSG:4326",
    )
    return cells, float(spacing)


def generate(n_rows: int, n_points: int, *, provinces: list[str] | None = None, seed: int = 2023) -> NationalData:
    """Build the cells and ``n_rows`` facility rows (``n_points`` with coordinates), deterministically.

    Parameters
    ----------
    n_rows : int
        Facility rows.
    n_points : int
        How many of them carry a WGS-84 point inside their township's cell.
    provinces : list of str, optional
        Restrict to these province codes (the smoke scale); default: the whole country.
    seed : int
        Random seed.

    Returns
    -------
    NationalData
    """
    gaz = load_gazetteer()
    towns = gaz.townships
    if provinces:
        towns = towns[towns["code"].str[:2].isin(provinces)]
    towns = towns.sort_values("code").reset_index(drop=True)
    cells, spacing = township_cells(towns)
    rng = np.random.default_rng(seed)

    # Facilities sit in villages (so a township with more villages tends to have more of them).
    villages = gaz.villages[gaz.villages["township_code"].isin(towns["code"])].reset_index(drop=True)
    pick = rng.integers(0, len(villages), n_rows)
    v = villages.iloc[pick].reset_index(drop=True)
    town = v["township_code"].to_numpy()
    names = pd.concat([f.set_index("code")["name"] for f in (gaz.provinces, gaz.cities, gaz.counties,
                                                              gaz.townships)])
    names = names[~names.isin(_PLACEHOLDER)]
    prov_n = pd.Series(town).str[:2].map(names).fillna("")
    city_n = pd.Series(town).str[:4].map(names).fillna("")
    county_n = pd.Series(town).str[:6].map(names).fillna("")
    town_n = pd.Series(town).map(names).fillna("")
    vill_n = v["name"].str.replace(r"(村民委员会|村委会|居民委员会|居委会)$", "", regex=True)
    vill_n = vill_n.where(~vill_n.str.endswith(("村", "社区", "嘎查")), vill_n)
    vill_n = np.where(v["kind"] == "community", vill_n.str.replace(r"社区$", "", regex=True) + "社区",
                      np.where(vill_n.str.endswith(("村", "嘎查")), vill_n, vill_n + "村"))
    vill_n = pd.Series(vill_n)
    group = pd.Series(rng.integers(1, 13, n_rows).astype(str))
    number = pd.Series(rng.integers(1, 300, n_rows).astype(str))
    road = pd.Series(ROADS[rng.integers(0, len(ROADS), n_rows)])
    kind = rng.integers(0, len(KINDS), n_rows)
    suffix = pd.Series([KINDS[k][0] for k in range(len(KINDS))]).iloc[kind].reset_index(drop=True)
    ftype = pd.Series([KINDS[k][1] for k in range(len(KINDS))]).iloc[kind].reset_index(drop=True)

    styles = np.array(list(STYLES))
    style = pd.Series(styles[rng.choice(len(styles), n_rows, p=np.array(list(STYLES.values())))])
    full = prov_n + city_n + county_n + town_n + vill_n + group + "组"
    county_town = county_n + town_n + road + number + "号"
    town_only = town_n + road + number + "号"
    village_only = vill_n + group + "组"
    fullwidth = (county_n + "\u3000" + town_n + "\u3000" + road + number + "号").str.translate(
        {ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    unplaceable = road + number + "号"
    address = pd.Series("", index=range(n_rows), dtype=object)
    for key, values in (("full", full), ("county_town", county_town), ("town_only", town_only),
                        ("village_only", village_only), ("fullwidth", fullwidth), ("unplaceable", unplaceable)):
        sel = (style == key).to_numpy()
        address[sel] = values[sel].to_numpy()
    name = np.where(style == "name_only", town_n + suffix, vill_n + suffix)

    lng = np.full(n_rows, "", dtype=object)
    lat = np.full(n_rows, "", dtype=object)
    with_point = np.zeros(n_rows, dtype=bool)
    with_point[rng.choice(n_rows, size=min(n_points, n_rows), replace=False)] = True
    pos = pd.Index(cells["code"]).get_indexer(town[with_point])
    # Inside the cell: the seeds are jittered by at most 0.2 spacing, so a disc of 0.25 spacing
    # around each seed lies inside its Voronoi cell.
    r = spacing * 0.25 * np.sqrt(rng.uniform(0, 1, len(pos)))
    a = rng.uniform(0, 2 * np.pi, len(pos))
    px = cells["seed_x"].to_numpy()[pos] + r * np.cos(a)
    py = cells["seed_y"].to_numpy()[pos] + r * np.sin(a)
    lng[with_point] = np.char.mod("%.6f", px)
    lat[with_point] = np.char.mod("%.6f", py)

    rows = pd.DataFrame({
        "name": name, "address": address.to_numpy(), "类型": ftype.to_numpy(), "lng": lng, "lat": lat,
        "truth_township": town, "truth_county": pd.Series(town).str[:6].to_numpy(),
        "style": style.to_numpy(), "province": pd.Series(town).str[:2].to_numpy(),
    })
    for c in ("name", "address", "类型", "lng", "lat"):
        rows[c] = rows[c].astype("str")
    return NationalData(cells=cells.drop(columns=["seed_x", "seed_y"]), rows=rows, spacing=spacing)
