"""Write map layers and tables to the formats planners use: GeoJSON, GeoPackage, Shapefile, KML,
CSV, Excel and a standalone HTML map.

Every file is written atomically (:func:`towncover.files.atomic_write`), so a failed export never
leaves a half-written file under the target's name. The file written is the path given: a path
whose suffix does not fit the format (``x.geojson`` for two layers, ``x.shp`` for a Shapefile, which
is several files and goes in a zip) is refused; a path without a suffix gets the format's.

Schematic township cells (示意) stay labelled in every format: polygon layers get a ``boundary``
column reading ``示意边界/schematic``, their layer names end in ``_schematic``, zipped exports carry
a README.txt saying so, and the HTML legend says so.

Spreadsheet outputs (CSV, Excel) neutralise cells that a spreadsheet would run as a formula
(:func:`towncover.files.neutralise_cells`); Excel outputs drop the control characters XLSX cannot
hold (:func:`towncover.files.xlsx_safe`). KML text is HTML-escaped (``<`` → ``&lt;``), since KML
viewers render names and data as HTML; KML placemarks can be styled by a column's value
(``kml_styles``), so covered and uncovered townships differ in Google Earth.
"""

from __future__ import annotations

import html
import os
import re
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.tables import export_suffixes, export_table, plain_types, target_path, wkt, write_csv, write_xlsx
from towncover.errors import TowncoverError
from towncover.files import atomic_write, neutralise_cells

__all__ = [
    "FORMATS",
    "SCHEMATIC_VALUE",
    "KmlStyle",
    "export_layers",
    "export_suffixes",
    "export_table",
    "neutralise_cells",
    "shapefile_field_names",
]

#: How a KML layer is styled: (column, value → "#rrggbb").
KmlStyle = tuple[str, Mapping[str, str]]
_KML_NS = "http://www.opengis.net/kml/2.2"
_KML_ICON = "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png"  # built into Google Earth
#: The formats :func:`export_layers` writes (a name or a suffix, any case).
FORMATS: tuple[str, ...] = ("geojson", "gpkg", "shp", "kml", "csv", "xlsx", "html")
SCHEMATIC_VALUE = "示意边界/schematic"
SCHEMATIC_SUFFIX = "_schematic"

_DBF_TEXT_MAX = 254
_DBF_NAME_MAX = 10
_ENCODINGS = {
    "GBK": "GBK",
    "CP936": "GBK",
    "GB2312": "GBK",
    "936": "GBK",
    "UTF-8": "UTF-8",
    "UTF8": "UTF-8",
}


# --------------------------------------------------------------------------------------------
# Public helpers
# --------------------------------------------------------------------------------------------


def shapefile_field_names(columns: list[str], encoding: str = "UTF-8") -> dict[str, str]:
    """Short, unique DBF field names (≤ 10 bytes in ``encoding``) for column names.

    Parameters
    ----------
    columns : list of str
        Full column names, in order.
    encoding : {"UTF-8", "GBK"}
        The DBF encoding; non-ASCII names are cut to fit 10 bytes in it.

    Returns
    -------
    dict
        Full name → short name. ASCII names keep their letters, digits and underscores (others
        become ``_``), cut to 10 characters; clashes (compared case-insensitively, as DBF does)
        get a numeric suffix. Non-ASCII names (机构名称) keep their characters, cut to 10 bytes.
    """
    enc = _normalise_encoding(encoding)
    used: set[str] = set()
    result: dict[str, str] = {}
    for full in columns:
        text = unicodedata.normalize("NFKC", str(full)).strip()
        if text.isascii():
            base = re.sub(r"[^A-Za-z0-9_]", "_", text) or "field"
            if base[0].isdigit():
                base = "f" + base
        else:
            base = re.sub(r"[\s\"'.,;:()\[\]{}<>/\\|=+*?!@#$%^&~`-]", "_", text) or "field"
        short = _fit(base, _DBF_NAME_MAX, enc)
        k = 1
        while short.upper() in used:
            suffix = f"_{k}" if k < 10 else str(k)
            short = _fit(base, _DBF_NAME_MAX - len(suffix), enc) + suffix
            k += 1
        used.add(short.upper())
        result[str(full)] = short
    return result


# --------------------------------------------------------------------------------------------
# export_layers
# --------------------------------------------------------------------------------------------


def export_layers(
    layers: Mapping[str, gpd.GeoDataFrame],
    path: str | os.PathLike[str],
    fmt: str,
    *,
    encoding: str = "UTF-8",
    schematic: bool,
    map_html: str | None = None,
    name_field: str = "name",
    point_columns: tuple[str, str] = ("lon", "lat"),
    kml_styles: Mapping[str, KmlStyle] | None = None,
    boundary_column: str = "boundary",
) -> Path:
    """Write one or more layers to a file in the chosen format.

    Parameters
    ----------
    layers : mapping of str to geopandas.GeoDataFrame
        Layer name → frame. Frames in another CRS are reprojected to WGS-84 (EPSG:4326); frames
        without a CRS are taken to be WGS-84 already. Layer names are made ASCII
        (letters, digits, ``_``, ``-``) and unique in every format.
    path : str or os.PathLike
        Target file, written as given when its suffix fits the format (:func:`export_suffixes`):
        ``.geojson``/``.json`` (one layer) or ``.zip`` (several), ``.gpkg``, ``.zip``
        (Shapefile), ``.kml``, ``.csv`` (one layer) or ``.zip``, ``.xlsx``, ``.html``/``.htm``.
        Without a suffix, the format's first suffix is added.
    fmt : {"geojson", "gpkg", "shp", "kml", "csv", "xlsx", "html"}
        Output format:

        - geojson: RFC 7946 GeoJSON, one file per layer (zipped when several).
        - gpkg: all layers in one GeoPackage.
        - shp: a zip holding one Shapefile per layer (.shp .shx .dbf .prj .cpg), field names cut
          to 10 bytes with ``fields.csv`` mapping short → full names, and README.txt.
        - kml: one KML document, a folder per layer, placemark names from ``name_field``,
          placemarks styled by ``kml_styles``.
        - csv: UTF-8 with BOM; point layers get ``point_columns`` (x, y), others a ``wkt`` column.
        - xlsx: a sheet per layer, geometry as in csv (WKT longer than Excel's 32,767-character
          cell limit is replaced by a note pointing to GeoPackage/GeoJSON).
        - html: the offline coverage map page (:func:`geo.webmap.coverage_map` of the first polygon
          layer and first point layer, Leaflet inlined), or ``map_html`` when given.
    encoding : {"UTF-8", "GBK"}, default "UTF-8"
        Text encoding of Shapefile attributes (named in the .cpg file). Other formats are UTF-8.
    schematic : bool
        True when the polygon layers are schematic township cells: they get a ``boundary`` column
        ``示意边界/schematic`` and a ``_schematic`` layer-name suffix, and the file says so.
    map_html : str, optional
        For ``fmt="html"``: a page already rendered (e.g. the app's map) to write instead of
        drawing one; when ``schematic`` and the page lacks the 示意边界 label, a label is added.
    name_field : str, default "name"
        The column that names KML placemarks.
    point_columns : (str, str), default ("lon", "lat")
        Names of the x and y columns CSV and Excel give point layers; a layer that already has
        both (its own WGS-84 coordinates as attributes) keeps them and gets no second pair.
    kml_styles : mapping of str to KmlStyle, optional
        Layer name (as in ``layers``) → ``(column, {value: "#rrggbb"})``: each placemark gets the
        shared style of its value in ``column`` (outline and half-transparent fill for polygons,
        icon colour for points); other values keep the viewer's default style.
    boundary_column : str, default "boundary"
        Header of the column that labels schematic polygon layers.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    TowncoverError
        Unknown format or encoding, no layers, a value that the Shapefile encoding cannot hold
        or that exceeds 254 bytes (naming layer, row and column), or a Shapefile layer mixing
        points, lines and polygons.
    """
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise TowncoverError(
            f"不支持的导出格式：{fmt}（可选 {'、'.join(FORMATS)}）",
            f"Unsupported export format: {fmt} (choose one of {', '.join(FORMATS)})",
        )
    enc = _normalise_encoding(encoding)
    if not layers:
        raise TowncoverError("没有可导出的图层", "There are no layers to export")
    prepared = _prepare_layers(layers, schematic, boundary_column)
    target = target_path(Path(path), fmt, len(prepared))
    given = kml_styles or {}
    styles = {new: given[old] for old, new in zip(layers, prepared, strict=True) if old in given}

    if fmt == "geojson":
        if len(prepared) == 1:
            name, frame = next(iter(prepared.items()))
            atomic_write(target, lambda tmp: _write_geojson(frame, name, tmp))
        else:
            atomic_write(target, lambda tmp: _zip_layers(prepared, tmp, "geojson", schematic, enc, point_columns))
    elif fmt == "gpkg":
        atomic_write(target, lambda tmp: _write_gpkg(prepared, tmp))
    elif fmt == "shp":
        atomic_write(target, lambda tmp: _zip_layers(prepared, tmp, "shp", schematic, enc, point_columns))
    elif fmt == "kml":
        atomic_write(target, lambda tmp: _write_kml(prepared, tmp, name_field, styles))
    elif fmt == "csv":
        if len(prepared) == 1:
            frame = next(iter(prepared.values()))
            atomic_write(target, lambda tmp: write_csv(_attribute_table(frame, point_columns, excel=False), tmp))
        else:
            atomic_write(target, lambda tmp: _zip_layers(prepared, tmp, "csv", schematic, enc, point_columns))
    elif fmt == "xlsx":
        sheets = {name: _attribute_table(frame, point_columns, excel=True) for name, frame in prepared.items()}
        atomic_write(target, lambda tmp: write_xlsx(sheets, tmp))
    else:  # html
        page = map_html if map_html is not None else _render_map(layers, prepared, schematic)
        if schematic and "示意边界" not in page:
            page = _add_schematic_label(page)
        atomic_write(target, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return target


# --------------------------------------------------------------------------------------------
# Preparation
# --------------------------------------------------------------------------------------------


def _normalise_encoding(encoding: str) -> str:
    key = str(encoding).strip().upper().replace("_", "-")
    if key not in _ENCODINGS:
        raise TowncoverError(
            f"不支持的编码：{encoding}（可选 GBK 或 UTF-8）",
            f"Unsupported encoding: {encoding} (choose GBK or UTF-8)",
        )
    return _ENCODINGS[key]


def _fit(text: str, max_bytes: int, encoding: str) -> str:
    """Longest prefix of ``text`` whose encoding takes at most ``max_bytes`` bytes."""
    codec = "gbk" if encoding == "GBK" else "utf-8"
    out = text
    while out and len(out.encode(codec, errors="replace")) > max_bytes:
        out = out[:-1]
    return out


def _ascii_name(name: str, index: int) -> str:
    text = unicodedata.normalize("NFKC", str(name))
    text = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-")
    return text or f"layer{index + 1}"


def _is_polygonal(frame: gpd.GeoDataFrame) -> bool:
    geoms = np.asarray(frame.geometry.array, dtype=object)
    types = shapely.get_type_id(geoms)
    return bool(np.isin(types, (3, 6)).any())


def _prepare_layers(
    layers: Mapping[str, gpd.GeoDataFrame], schematic: bool, boundary_column: str = "boundary"
) -> dict[str, gpd.GeoDataFrame]:
    """ASCII unique names, WGS-84, the ``boundary`` column and suffix on schematic polygon layers."""
    out: dict[str, gpd.GeoDataFrame] = {}
    used: set[str] = set()
    for i, (name, frame) in enumerate(layers.items()):
        if not isinstance(frame, gpd.GeoDataFrame):
            raise TowncoverError(
                f"图层“{name}”没有几何列，无法导出为地图图层",
                f"Layer '{name}' has no geometry column and cannot be exported as a map layer",
            )
        gdf = frame.copy()
        if gdf.geometry.name != "geometry":
            gdf = gdf.rename_geometry("geometry")
        if gdf.crs is None:
            gdf = gdf.set_crs(4326)
        elif not gdf.crs.equals("EPSG:4326"):
            gdf = gdf.to_crs(4326)
        gdf = gdf.reset_index(drop=True)
        base = _ascii_name(name, i)
        if schematic and _is_polygonal(gdf):
            gdf[boundary_column] = SCHEMATIC_VALUE
            if not base.endswith(SCHEMATIC_SUFFIX):
                base += SCHEMATIC_SUFFIX
        unique = base
        k = 2
        while unique.lower() in used:
            unique = f"{base}_{k}"
            k += 1
        used.add(unique.lower())
        attrs = [c for c in gdf.columns if c != "geometry"]
        gdf = gpd.GeoDataFrame(plain_types(pd.DataFrame(gdf[attrs]), excel=False), geometry=gdf.geometry)
        gdf.columns = [str(c) for c in gdf.columns]
        out[unique] = gdf
    return out


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def _write_geojson(frame: gpd.GeoDataFrame, name: str, path: Path) -> None:
    pyogrio.write_dataframe(frame, path, driver="GeoJSON", layer=name, layer_options={"RFC7946": "YES"})


def _write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, path, driver="GPKG", layer=name)


def _kml_text(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Text values HTML-escaped: KML viewers (Google Earth, ArcGIS) render names and data as HTML in
    balloons, and GDAL wraps text holding ``<`` or ``&`` in CDATA, which keeps markup live."""
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if name == out.geometry.name or isinstance(col, pd.DataFrame):
            continue
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            out[name] = col.map(lambda v: html.escape(v, quote=False) if isinstance(v, str) else v)
    return out


def _write_kml(
    layers: dict[str, gpd.GeoDataFrame], path: Path, name_field: str, styles: dict[str, KmlStyle]
) -> None:
    for i, (name, frame) in enumerate(layers.items()):
        frame = _kml_text(frame)
        if name_field in frame.columns and name_field != "Name":
            # GDAL names placemarks from the field "Name" (its NameField option reaches the first layer only).
            frame = frame.drop(columns=[c for c in frame.columns if c == "Name"]).rename(columns={name_field: "Name"})
        pyogrio.write_dataframe(frame, path, driver="KML", layer=name, append=i > 0)
    if styles:
        _style_kml(path, styles)


def _kml_colour(hex_colour: str, alpha: int) -> str:
    """``#rrggbb`` as KML's ``aabbggrr``."""
    rgb = hex_colour.lstrip("#")
    if len(rgb) == 3:
        rgb = "".join(c * 2 for c in rgb)
    return f"{alpha:02x}{rgb[4:6]}{rgb[2:4]}{rgb[0:2]}".lower()


def _style_kml(path: Path, styles: dict[str, KmlStyle]) -> None:
    """Shared ``<Style>`` elements in the document and a ``<styleUrl>`` on each placemark, by value."""
    ns = {"k": _KML_NS}
    ET.register_namespace("", _KML_NS)
    tree = ET.parse(path)  # our own file, just written by GDAL
    document = tree.getroot().find("k:Document", ns)
    if document is None:
        return
    k = f"{{{_KML_NS}}}"
    new_styles: list[ET.Element] = []
    # GDAL writes the first layer as a Folder, appended ones as nested Documents.
    for folder in [*document.findall("k:Folder", ns), *document.findall("k:Document", ns)]:
        layer = folder.findtext("k:name", default="", namespaces=ns)
        if layer not in styles:
            continue
        column, colours = styles[layer]
        ids = {}
        for j, (value, colour) in enumerate(colours.items()):
            ids[html.escape(str(value), quote=False)] = style_id = f"{layer}-{j + 1}"
            style = ET.Element(f"{k}Style", id=style_id)
            line = ET.SubElement(style, f"{k}LineStyle")
            ET.SubElement(line, f"{k}color").text = _kml_colour(colour, 0xFF)
            ET.SubElement(line, f"{k}width").text = "1.5"
            ET.SubElement(ET.SubElement(style, f"{k}PolyStyle"), f"{k}color").text = _kml_colour(colour, 0x99)
            icon = ET.SubElement(style, f"{k}IconStyle")
            ET.SubElement(icon, f"{k}color").text = _kml_colour(colour, 0xFF)
            ET.SubElement(ET.SubElement(icon, f"{k}Icon"), f"{k}href").text = _KML_ICON
            new_styles.append(style)
        for placemark in folder.findall("k:Placemark", ns):
            said = _kml_value(placemark, column, ns)
            if said is not None and said in ids:
                url = ET.Element(f"{k}styleUrl")
                url.text = "#" + ids[said]
                # KML orders a placemark's children: name, description …, styleUrl, ExtendedData, geometry.
                later = [i for i, child in enumerate(placemark) if not child.tag.endswith(("}name", "}description"))]
                placemark.insert(later[0] if later else len(placemark), url)
    for j, style in enumerate(new_styles):
        document.insert(j, style)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def _kml_value(placemark: ET.Element, column: str, ns: dict[str, str]) -> str | None:
    for data in placemark.iterfind(".//k:SimpleData", ns):
        if data.get("name") == column:
            return data.text or ""
    return None


def _attribute_table(frame: gpd.GeoDataFrame, point_columns: tuple[str, str], *, excel: bool) -> pd.DataFrame:
    """Attributes plus x/y (point layers) or WKT (other layers), formula cells neutralised."""
    geoms = np.asarray(frame.geometry.array, dtype=object)
    table = pd.DataFrame(frame.drop(columns="geometry")).reset_index(drop=True)
    types = shapely.get_type_id(geoms)
    present = types >= 0
    if present.any() and (types[present] == 0).all():
        if not set(point_columns) <= set(table.columns):
            x = np.full(len(geoms), np.nan)
            y = np.full(len(geoms), np.nan)
            x[present] = shapely.get_x(geoms[present])
            y[present] = shapely.get_y(geoms[present])
            table[point_columns[0]] = x
            table[point_columns[1]] = y
    else:
        table["wkt"] = wkt(geoms, excel=excel).to_numpy()
    return neutralise_cells(plain_types(table, excel=excel))


def _check_shapefile_text(frame: gpd.GeoDataFrame, layer: str, encoding: str) -> None:
    """Every text value must fit the DBF encoding and 254 bytes, or the file would lose text."""
    codec = "gbk" if encoding == "GBK" else "utf-8"
    for name in frame.columns:
        col = frame[name]
        if name == "geometry" or not pd.api.types.is_string_dtype(col.dtype):
            continue
        values = col.dropna()
        if values.empty:
            continue
        joined = "\x00".join(values.tolist())
        try:
            encoded = joined.encode(codec)
            fits = max(len(v) for v in encoded.split(b"\x00")) <= _DBF_TEXT_MAX
        except UnicodeEncodeError:
            fits = False
        if fits:
            continue
        # Frames here have a RangeIndex (_prepare_layers), so an index label is a 0-based row.
        for idx, value in zip(values.index.to_numpy(dtype=np.int64).tolist(), values.tolist(), strict=True):
            try:
                size = len(value.encode(codec))
            except UnicodeEncodeError as exc:
                bad = value[exc.start : exc.end]
                raise TowncoverError(
                    f"图层“{layer}”第 {idx + 1} 行“{name}”列含有 {encoding} 编码无法表示的字符“{bad}”，请改用 UTF-8 编码导出",
                    f"Layer '{layer}', row {idx + 1}, column '{name}' has a character ({bad!r}) that {encoding} "
                    "cannot encode; export with UTF-8 instead",
                    row=idx + 1,
                    column=str(name),
                ) from None
            if size > _DBF_TEXT_MAX:
                raise TowncoverError(
                    f"图层“{layer}”第 {idx + 1} 行“{name}”列长 {size} 字节，超过 Shapefile 的 {_DBF_TEXT_MAX} 字节上限，"
                    "请改用 GeoPackage 或 GeoJSON 导出",
                    f"Layer '{layer}', row {idx + 1}, column '{name}' is {size} bytes, over the Shapefile limit of "
                    f"{_DBF_TEXT_MAX}; export GeoPackage or GeoJSON instead",
                    row=idx + 1,
                    column=str(name),
                )


def _write_shapefile(frame: gpd.GeoDataFrame, name: str, folder: Path, encoding: str) -> dict[str, str]:
    types = shapely.get_type_id(np.asarray(frame.geometry.array, dtype=object))
    families = {int(t) for t in np.unique(types[types >= 0])}
    family = {0: "point", 4: "point", 1: "line", 5: "line", 2: "line", 3: "polygon", 6: "polygon"}
    kinds = {family.get(t, "other") for t in families}
    if len(kinds) > 1 or "other" in kinds:
        raise TowncoverError(
            f"图层“{name}”混有点、线、面几何，Shapefile 只能保存一种，请改用 GeoPackage",
            f"Layer '{name}' mixes points, lines and polygons; a Shapefile holds one kind — use GeoPackage",
        )
    attrs = [c for c in frame.columns if c != "geometry"]
    mapping = shapefile_field_names(attrs, encoding)
    _check_shapefile_text(frame, name, encoding)
    out = frame.rename(columns=mapping)
    geometry_type = None
    if not kinds:
        geometry_type = "Point"
    elif kinds == {"point"} and 4 in families:
        geometry_type = "MultiPoint"
    pyogrio.write_dataframe(
        out,
        folder / f"{name}.shp",
        driver="ESRI Shapefile",
        encoding="CP936" if encoding == "GBK" else "UTF-8",
        geometry_type=geometry_type,
        promote_to_multi=True if geometry_type == "MultiPoint" else None,
    )
    (folder / f"{name}.cpg").write_text(encoding, encoding="ascii")
    return mapping


def _readme(layers: dict[str, gpd.GeoDataFrame], fmt: str, schematic: bool, encoding: str) -> str:
    lines = [
        "towncover 导出 / export",
        "",
        "坐标系 / CRS: WGS-84 (EPSG:4326)",
        "图层 / layers:",
    ]
    for name, frame in layers.items():
        geoms = np.asarray(frame.geometry.array, dtype=object)
        kinds = sorted({str(t) for t in shapely.get_type_id(geoms) if t >= 0})
        names = {"0": "Point", "1": "LineString", "3": "Polygon", "4": "MultiPoint", "6": "MultiPolygon"}
        kind = "/".join(names.get(k, k) for k in kinds) or "none"
        lines.append(f"  {name}: {len(frame)} 条 / rows, {kind}")
    if fmt == "shp":
        lines += [
            "",
            f"属性编码 / attribute encoding: {encoding}（见 .cpg 文件 / named in the .cpg files）",
            "字段名限 10 字节，缩写与全称对照见 fields.csv / field names are cut to 10 bytes; fields.csv maps short → full names",
        ]
    if fmt == "csv":
        lines += [
            "",
            "CSV 为 UTF-8（带 BOM）；点图层含经纬度列，其余图层含 wkt 列 / CSV is UTF-8 with BOM; point layers "
            "have longitude/latitude columns, others a wkt column",
        ]
    if schematic:
        lines += [
            "",
            "注意：乡镇边界为示意边界（示意），不是官方界线；名称与代码真实，形状仅示意。",
            "NOTE: schematic boundaries — township cells are schematic, not official boundaries; "
            "codes and names are real, shapes are not.",
            f"示意图层名以 {SCHEMATIC_SUFFIX} 结尾，并有边界列（{SCHEMATIC_VALUE}）。",
        ]
    return "\r\n".join(lines) + "\r\n"


def _zip_layers(
    layers: dict[str, gpd.GeoDataFrame], path: Path, fmt: str, schematic: bool, encoding: str,
    point_columns: tuple[str, str],
) -> None:
    folder = path.parent / "layers"
    folder.mkdir()
    members: list[Path] = []
    field_rows: list[dict[str, str]] = []
    for name, frame in layers.items():
        if fmt == "geojson":
            _write_geojson(frame, name, folder / f"{name}.geojson")
            members.append(folder / f"{name}.geojson")
        elif fmt == "csv":
            write_csv(_attribute_table(frame, point_columns, excel=False), folder / f"{name}.csv")
            members.append(folder / f"{name}.csv")
        else:
            mapping = _write_shapefile(frame, name, folder, encoding)
            field_rows += [{"layer": name, "short_name": s, "full_name": f} for f, s in mapping.items()]
            members += [folder / f"{name}{ext}" for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg")]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member in members:
            zf.write(member, member.name)
        if fmt == "shp":
            table = pd.DataFrame(field_rows, columns=["layer", "short_name", "full_name"])
            zf.writestr("fields.csv", table.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"))
        zf.writestr("README.txt", _readme(layers, fmt, schematic, encoding).encode("utf-8-sig"))


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------


def _render_map(
    original: Mapping[str, gpd.GeoDataFrame], prepared: dict[str, gpd.GeoDataFrame], schematic: bool
) -> str:
    """The offline page of :func:`geo.webmap.coverage_map` for the first polygon and first point layer.

    The category shown (and named in the title) is the polygon layer's ``category`` column when it has
    one, as ``facilities.layers.build_layers`` writes it.
    """
    from geo.webmap import coverage_map, standalone_html

    units = facilities = None
    title = "towncover"
    for name, prepped in zip(original.keys(), prepared.values(), strict=True):
        geoms = np.asarray(prepped.geometry.array, dtype=object)
        types = shapely.get_type_id(geoms)
        if units is None and np.isin(types, (3, 6)).any():
            units, title = prepped, str(name)
        elif facilities is None and np.isin(types, (0, 4)).any():
            facilities = prepped
    if units is None:
        units = gpd.GeoDataFrame({"code": [], "name": []}, geometry=gpd.GeoSeries([], crs=4326))
    category = None
    if "category" in units.columns and units["category"].notna().any():
        category = str(units["category"].dropna().iloc[0])
        if "category_label" in units.columns:
            title = f"{units['category_label'].dropna().iloc[0]}"
    return standalone_html(coverage_map(units, facilities, schematic=schematic, title=title, category=category))


def _add_schematic_label(page: str) -> str:
    label = (
        '<div style="position:fixed;top:10px;right:10px;z-index:9999;background:#fff;color:#b30000;'
        'padding:4px 8px;font:bold 14px sans-serif;border:1px solid #b30000">示意边界 / schematic boundaries</div>'
    )
    idx = page.lower().rfind("</body>")
    return page[:idx] + label + page[idx:] if idx >= 0 else page + label
