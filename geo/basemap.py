"""What lies under the coverage map: the offline background and the tile choices.

With no network the map still shows where it is: the region's province, prefectures and counties are
drawn as vector outlines with their names, from the shipped county outlines
(:func:`geo.boundaries.county_outlines`; prefectures and the province are their dissolved unions).
Tiles are a choice (:func:`resolve_basemap`): none (only that background, the default), OpenStreetMap,
Amap (data shifted to GCJ-02 for display), a tile URL template the user or the server's administrator
sets (``TOWNCOVER_TILES``; an intranet service), or a local MBTiles file whose tiles for the map's
extent are embedded in the page. The background is drawn under any tiles, so where they cannot be
reached it shows through.
"""

from __future__ import annotations

import base64
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.boundaries import county_outlines
from geo.gazetteer import load_gazetteer
from towncover import settings
from towncover.errors import TowncoverError

__all__ = ["BASEMAP_KINDS", "Basemap", "background_outlines", "mbtiles_tiles", "resolve_basemap"]

BasemapKind = Literal["none", "osm", "amap", "url", "mbtiles"]
#: The background choices, in the order a picker offers them.
BASEMAP_KINDS: tuple[str, ...] = ("none", "osm", "amap", "url", "mbtiles")
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
AMAP_TILES = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
)
AMAP_ATTRIBUTION = '&copy; <a href="https://www.amap.com/">高德地图 AutoNavi</a> (GCJ-02)'
_DATUMS = ("wgs84", "gcj02")
# Prefecture-level codes whose gazetteer name is a placeholder (直辖市的市辖区/县): no prefecture outline.
_PLACEHOLDER_NAMES = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
_IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class Basemap:
    """A background choice.

    Attributes
    ----------
    kind : {"none", "osm", "amap", "url", "mbtiles"}
    source : str
        The tile URL template (osm, amap, url) or the MBTiles file's path; empty for none.
    datum : {"wgs84", "gcj02"}
        Datum of the tiles; the data are shifted to it for display only.
    attribution : str
        HTML shown in the map's corner (the administrator's text is escaped).
    """

    kind: BasemapKind
    source: str = ""
    datum: str = "wgs84"
    attribution: str = ""


def _bad(zh: str, en: str) -> TowncoverError:
    return TowncoverError(zh, en, column="TOWNCOVER_TILES")


def resolve_basemap(choice: str | Basemap | None = None, *, datum: str | None = None) -> Basemap:
    """The background for a choice: a kind name, a tile URL template or an MBTiles path.

    Parameters
    ----------
    choice : str or Basemap, optional
        ``"none"``, ``"osm"``, ``"amap"``, a URL template holding ``{z}``, ``{x}`` and ``{y}``
        (http, https or a path on the same server), or the path of an ``.mbtiles`` file.
        Default: ``settings.TILES`` (the ``TOWNCOVER_TILES`` environment variable, else "none").
    datum : {"wgs84", "gcj02"}, optional
        Datum of a URL template's or MBTiles' tiles (default ``settings.TILES_DATUM``).

    Returns
    -------
    Basemap

    Raises
    ------
    TowncoverError
        A template without ``{z}/{x}/{y}`` or with another scheme, a missing MBTiles file, an
        unknown datum.
    """
    if isinstance(choice, Basemap):
        return choice
    text = str(settings.TILES if choice is None else choice).strip()
    datum = (datum or settings.TILES_DATUM).strip().lower()
    if datum not in _DATUMS:
        raise _bad(f"底图坐标系只能是 wgs84 或 gcj02，而不是“{datum}”", f"tile datum must be wgs84 or gcj02, not '{datum}'")
    from geo.webmap import escape_text  # here, not at the top: geo.webmap imports this module

    attribution = escape_text(settings.TILES_ATTRIBUTION)
    if text.lower() in ("", "none"):
        return Basemap("none")
    if text.lower() == "osm":
        return Basemap("osm", OSM_TILES, "wgs84", OSM_ATTRIBUTION)
    if text.lower() == "amap":
        return Basemap("amap", AMAP_TILES, "gcj02", AMAP_ATTRIBUTION)
    if all(k in text for k in ("{z}", "{x}", "{y}")):
        if not text.startswith(("https://", "http://", "/")) or any(c in text for c in "\"'<>` \\"):
            raise _bad(f"瓦片地址须以 http://、https:// 或 / 开头且不含引号或空格：{text}",
                       f"a tile URL template starts with http://, https:// or / and holds no quotes or spaces: {text}")
        return Basemap("url", text, datum, attribution)
    if text.lower().endswith(".mbtiles"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise _bad(f"找不到 MBTiles 文件 {path}", f"MBTiles file not found: {path}")
        return Basemap("mbtiles", str(path), datum, attribution)
    raise _bad(
        f"底图应为 none、osm、amap、含 {{z}}/{{x}}/{{y}} 的瓦片地址或 .mbtiles 文件，而不是“{text}”",
        f"the basemap is none, osm, amap, a tile URL template with {{z}}/{{x}}/{{y}} or an .mbtiles file, not '{text}'",
    )


# -- offline background -------------------------------------------------------------------------------
def _dissolve(counties: gpd.GeoDataFrame, digits: int) -> gpd.GeoDataFrame:
    """Counties merged by the first ``digits`` of their code (prefectures 4, province 2)."""
    gaz = load_gazetteer()
    keys = counties["code"].str[:digits]
    rows = []
    for key, part in counties.groupby(keys, sort=True):
        name = gaz.name_of(str(key)) or ""
        if digits == 4 and name in _PLACEHOLDER_NAMES:
            continue
        geoms = np.asarray(part.geometry.array, dtype=object)
        merged = shapely.coverage_union_all(geoms) if shapely.coverage_is_valid(geoms) else shapely.union_all(geoms)
        rows.append({"code": str(key), "name": name, "geometry": merged})
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=["code", "name", "geometry"]), geometry="geometry", crs=4326)


def _simplified(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """County outlines simplified for a background (shared edges kept): ~1/2500 of the extent."""
    geoms = np.asarray(counties.geometry.array, dtype=object)
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    tolerance = max(xmax - xmin, ymax - ymin) / 2500.0
    if tolerance > 0 and bool(shapely.coverage_is_valid(geoms)):
        geoms = shapely.coverage_simplify(geoms, tolerance, simplify_boundary=True)
    elif tolerance > 0:
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    return counties.set_geometry(gpd.GeoSeries(geoms, index=counties.index, crs=4326))


@lru_cache(maxsize=16)
def background_outlines(region_code: str) -> gpd.GeoDataFrame:
    """Outlines around a region for the offline background: its province, prefectures and counties.

    The widest scope with outlines is used: the region's province, else its prefecture, else the
    region itself. Prefectures and the province are dissolved from the counties.

    Parameters
    ----------
    region_code : str
        Any division code (its first six digits are used).

    Returns
    -------
    geopandas.GeoDataFrame
        ``level`` (0 province, 1 prefecture, 2 county), ``code``, ``name``, ``geometry``
        (EPSG:4326, simplified for display). Empty when no outline covers the region.
    """
    code = str(region_code)[:6]
    counties = None
    for scope in dict.fromkeys((code[:2], code[:4], code)):
        try:
            counties = county_outlines(scope)
            break
        except TowncoverError:
            continue
    columns = ["level", "code", "name", "geometry"]
    if counties is None or counties.empty:
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=4326)
    counties = _simplified(counties[["code", "name", "geometry"]].astype({"code": str, "name": str}))
    parts = [counties.assign(level=2)]
    if len(scope) <= 4:  # whole prefectures are there (one county is not its prefecture's outline)
        parts.insert(0, _dissolve(counties, 4).assign(level=1))
    if len(scope) == 2:  # the whole province is there: its outline too
        parts.insert(0, _dissolve(counties, 2).assign(level=0))
    frame = pd.concat(parts, ignore_index=True)[columns]
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)


# -- MBTiles ------------------------------------------------------------------------------------------
def _tile_range(bounds: tuple[float, float, float, float], z: int) -> tuple[int, int, int, int]:
    """XYZ tile columns and rows (x0, x1, y0, y1) covering WGS-84 bounds at zoom ``z``."""
    west, south, east, north = bounds
    n = 2**z

    def x_of(lng: float) -> int:
        return int(np.clip(np.floor((lng + 180.0) / 360.0 * n), 0, n - 1))

    def y_of(lat: float) -> int:
        rad = np.radians(np.clip(lat, -85.0511, 85.0511))
        return int(np.clip(np.floor((1 - np.log(np.tan(rad) + 1 / np.cos(rad)) / np.pi) / 2 * n), 0, n - 1))

    return x_of(west), x_of(east), y_of(north), y_of(south)


def mbtiles_tiles(
    path: str | Path, bounds: tuple[float, float, float, float], budget_mb: float | None = None
) -> tuple[dict[str, str], int, int]:
    """Raster tiles of an MBTiles file over bounds, as data URIs, zoom by zoom within a size budget.

    Parameters
    ----------
    path : str or pathlib.Path
        An MBTiles (SQLite) file of PNG, JPEG or WebP tiles.
    bounds : (west, south, east, north)
        In the tiles' datum.
    budget_mb : float, optional
        Stop before the zoom level that would pass this size (default ``settings.MBTILES_BUDGET_MB``).

    Returns
    -------
    (tiles, min_zoom, max_zoom)
        ``"z/x/y"`` (XYZ scheme) → ``data:`` URI; the zoom levels embedded.

    Raises
    ------
    TowncoverError
        Not an MBTiles file, or vector (pbf) tiles.
    """
    budget = (settings.MBTILES_BUDGET_MB if budget_mb is None else budget_mb) * 1e6
    try:
        with sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True) as db:
            meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
            zooms = [z for (z,) in db.execute("SELECT DISTINCT zoom_level FROM tiles ORDER BY zoom_level")]
            mime = _IMAGE_TYPES.get(str(meta.get("format", "png")).lower())
            if mime is None:
                raise _bad(f"MBTiles 文件 {path} 为矢量瓦片（{meta.get('format')}），只支持 PNG/JPEG/WebP 栅格瓦片",
                           f"MBTiles file {path} holds vector tiles ({meta.get('format')}); only raster PNG/JPEG/WebP work")
            tiles: dict[str, str] = {}
            used, levels = 0.0, list[int]()
            for z in zooms:
                x0, x1, y0, y1 = _tile_range(bounds, int(z))
                flip = 2 ** int(z) - 1  # MBTiles rows count from the south (TMS)
                rows = db.execute(
                    "SELECT tile_column, tile_row, tile_data FROM tiles WHERE zoom_level = ? AND tile_column "
                    "BETWEEN ? AND ? AND tile_row BETWEEN ? AND ?", (z, x0, x1, flip - y1, flip - y0)).fetchall()
                size = sum(len(data) for _, _, data in rows) * 4 / 3
                if levels and used + size > budget:
                    break
                used += size
                levels.append(int(z))
                for x, y, data in rows:
                    tiles[f"{z}/{x}/{flip - y}"] = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    except sqlite3.Error as exc:
        raise _bad(f"无法读取 MBTiles 文件 {path}：{exc}", f"cannot read MBTiles file {path}: {exc}") from None
    return tiles, (levels[0] if levels else 0), (levels[-1] if levels else 0)
