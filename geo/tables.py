"""Plain tables to CSV (UTF-8 with BOM) and Excel: the writers every export shares.

Nothing here needs the geometry libraries, so writing a geocoded sheet does not import them: a
geometry column can only exist once geopandas is imported, and is written as WKT then
(shapely imported on that path only).

Spreadsheet outputs neutralise cells that a spreadsheet would run as a formula
(:func:`towncover.files.neutralise_cells`); Excel outputs drop the control characters XLSX cannot
hold (:func:`towncover.files.xlsx_safe`).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from towncover.errors import TowncoverError
from towncover.files import atomic_write, neutralise_cells, xlsx_safe

__all__ = ["export_suffixes", "export_table", "write_csv"]

_EXCEL_CELL_MAX = 32767
_BOM = b"\xef\xbb\xbf"
_CSV_BLOCK_ROWS = 65_536
_CSV_SPECIAL = '[,"\r\n]'  # what the csv module's QUOTE_MINIMAL quotes for (delimiter, quote, line ends)
_CSV_SPECIAL_BYTES = np.frombuffer(b',"\r\n', dtype=np.uint8)


def export_table(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    fmt: Literal["csv", "xlsx"],
    *,
    sheet_name: str = "table",
) -> Path:
    """Write a plain table to CSV (UTF-8 with BOM) or Excel, neutralising formula-like cells.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; a geometry column, if any, is written as WKT.
    path : str or os.PathLike
        Target file; its suffix is set to ``.csv`` or ``.xlsx``.
    fmt : {"csv", "xlsx"}
        Output format.
    sheet_name : str, default "table"
        Excel sheet name (cut to 31 characters).

    Returns
    -------
    pathlib.Path
        The file written (atomically).
    """
    kind = str(fmt).lower().lstrip(".")
    if kind not in ("csv", "xlsx"):
        raise TowncoverError(
            f"表格只能导出为 csv 或 xlsx，不支持：{kind}",
            f"Tables export to csv or xlsx only, not {kind}",
        )
    target = target_path(Path(path), kind, 1)
    table = pd.DataFrame(frame).copy()
    for name in list(table.columns):
        col = table[name]
        if is_geometry(col.dtype):
            table[name] = wkt(np.asarray(col.array, dtype=object), excel=kind == "xlsx")
    table = neutralise_cells(plain_types(table, excel=kind == "xlsx"))
    if kind == "csv":
        atomic_write(target, lambda tmp: write_csv(table, tmp))
    else:
        atomic_write(target, lambda tmp: write_xlsx({sheet_title(sheet_name) or "table": table}, tmp))
    return target


def is_geometry(dtype: object) -> bool:
    """True for a geopandas geometry column (none can exist before geopandas is imported)."""
    gpd = sys.modules.get("geopandas")
    return gpd is not None and isinstance(dtype, gpd.array.GeometryDtype)


def plain_types(frame: pd.DataFrame, *, excel: bool) -> pd.DataFrame:
    """Types every writer accepts: text for mixed/list columns, naive datetimes for Excel."""
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if isinstance(col, pd.DataFrame) or is_geometry(col.dtype):
            continue
        if isinstance(col.dtype, pd.CategoricalDtype):
            out[name] = col.astype("string")
        elif col.dtype == object:
            kinds = set(col.dropna().map(type).tolist())
            if kinds and not kinds <= {str}:
                if kinds <= {bool, np.bool_}:
                    out[name] = col.astype("boolean")
                else:
                    out[name] = col.map(
                        lambda v: v if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
                    ).astype("string")
            else:
                out[name] = col.astype("string")
        elif excel and isinstance(col.dtype, pd.DatetimeTZDtype):
            out[name] = col.dt.tz_localize(None)
    return out


def export_suffixes(fmt: str, n_layers: int) -> tuple[str, ...]:
    """File suffixes a format can be written to, for ``n_layers`` layers (the first is the default).

    GeoJSON and CSV hold one layer per file, so several go in a ``.zip``; a Shapefile is several
    files and always goes in a ``.zip``.
    """
    one = n_layers <= 1
    return {
        "geojson": (".geojson", ".json") if one else (".zip",),
        "gpkg": (".gpkg",),
        "shp": (".zip",),
        "kml": (".kml",),
        "csv": (".csv",) if one else (".zip",),
        "xlsx": (".xlsx",),
        "html": (".html", ".htm"),
    }[fmt]


def target_path(path: Path, fmt: str, n_layers: int) -> Path:
    """``path`` itself when its suffix fits the format; with the format's suffix when it has none."""
    suffixes = export_suffixes(fmt, n_layers)
    if not path.suffix:
        return path.with_name(path.name + suffixes[0])
    if path.suffix.lower() in suffixes:
        return path
    if fmt == "shp":
        why_zh, why_en = "Shapefile 由多个文件组成,写成 .zip", "a Shapefile is several files, written as a .zip"
    elif suffixes == (".zip",):
        why_zh = f"{fmt} 一个文件只放一个图层,{n_layers} 个图层写成 .zip(或只导出一个图层)"
        why_en = f"a {fmt} file holds one layer; {n_layers} layers are written as a .zip (or export one layer)"
    else:
        why_zh, why_en = f"{fmt} 文件以 {'、'.join(suffixes)} 结尾", f"{fmt} files end in {', '.join(suffixes)}"
    raise TowncoverError(f"不能把 {fmt} 写成“{path.name}”:{why_zh}",
                         f"cannot write {fmt} as '{path.name}': {why_en}")


def wkt(geoms: np.ndarray, *, excel: bool) -> pd.Series:
    """Geometries as WKT text (7 decimals); in Excel, a note where the text would overflow a cell."""
    import shapely

    present = ~shapely.is_missing(geoms)
    text = np.full(len(geoms), None, dtype=object)
    if present.any():
        text[present] = shapely.to_wkt(geoms[present], rounding_precision=7, trim=True)
    if excel:
        long = np.array([t is not None and len(t) > _EXCEL_CELL_MAX for t in text], dtype=bool)
        text[long] = (
            "（几何过长，超出 Excel 单元格上限，请用 GeoPackage 或 GeoJSON 导出）/ (geometry too long for an Excel cell; export GeoPackage or GeoJSON)"
        )
    return pd.Series(text, dtype="string")


def sheet_title(name: str) -> str:
    """An Excel worksheet name: no ``[]:*?/\\``, at most 31 characters, no quote at either end."""
    return re.sub(r"[\[\]:*?/\\]", "_", str(name))[:31].strip("'")


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """Each table on its own worksheet (names made unique, case-insensitively, as Excel compares them)."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        used: set[str] = set()
        for name, table in sheets.items():
            sheet = sheet_title(name) or "layer"
            base, k = sheet, 2
            while sheet.lower() in used:
                tail = f"_{k}"
                sheet = base[: 31 - len(tail)] + tail
                k += 1
            used.add(sheet.lower())
            xlsx_safe(table).to_excel(writer, sheet_name=sheet, index=False)


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """UTF-8 with BOM, CRLF line ends, fields quoted only where needed.

    The bytes are those of ``table.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\\r\\n")``
    (tests compare them), made by Arrow's string kernels a block of rows at a time: pandas' writer spends
    seconds per 10^5 rows formatting cell by cell. Columns of a type formatted here only as pandas would
    (text, integers, floats, booleans) take the fast path; a table with any other column is written by pandas.
    """
    if not table.shape[1] or not all(_csv_fast(table.iloc[:, i]) for i in range(table.shape[1])):
        table.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        return
    lone = table.shape[1] == 1  # the csv module quotes an empty field when it is a row's only one
    header = pa.array([str(c) for c in table.columns], type=pa.large_string())
    with open(path, "wb") as handle:
        handle.write(_BOM + ",".join(_csv_quoted(header, lone).to_pylist()).encode("utf-8") + b"\r\n")
        for start in range(0, len(table), _CSV_BLOCK_ROWS):  # blocks bound the memory the text takes
            handle.write(_csv_lines(table.iloc[start:start + _CSV_BLOCK_ROWS], lone))


def _csv_lines(block: pd.DataFrame, lone: bool) -> memoryview:
    """A block of rows as CSV lines, each ended by CRLF."""
    fields = [_csv_quoted(_csv_text(block.iloc[:, i]), lone) for i in range(block.shape[1])]
    comma = pa.scalar(",", pa.large_string())
    lines = pc.binary_join_element_wise(*fields, comma) if len(fields) > 1 else fields[0]
    return _string_bytes(pc.binary_join_element_wise(lines, pa.scalar("", pa.large_string()),
                                                     pa.scalar("\r\n", pa.large_string())))


def _csv_fast(col: pd.Series) -> bool:
    """Whether :func:`_csv_text` formats the column as pandas would: text (missing values aside),
    NumPy integers, floats or booleans."""
    dtype = col.dtype
    if isinstance(dtype, pd.StringDtype):
        return True
    if not isinstance(dtype, np.dtype) or dtype.kind not in "Oiufb":
        return False
    if dtype.kind == "O":
        raw = col.to_numpy()
        return all(isinstance(v, str) for v in raw[~pd.isna(raw)])
    return True


def _csv_text(col: pd.Series) -> pa.Array:
    """A column as Arrow text, missing values empty, numbers formatted as pandas writes them."""
    dtype = col.dtype
    values: object
    if isinstance(dtype, pd.StringDtype):  # Arrow- or Python-backed: its __arrow_array__
        values = col.array
    elif dtype.kind == "O":
        raw = col.to_numpy()
        values = raw.copy()
        values[pd.isna(raw)] = None
    elif dtype.kind == "f":  # numpy's str() of a float64 is the repr pandas writes
        raw = col.to_numpy()
        values = raw.astype(str).astype(object)
        values[np.isnan(raw)] = None
    else:
        values = col.to_numpy().astype(str)
    text = pa.array(values, type=pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return text.fill_null("")


def _csv_quoted(text: pa.Array, lone: bool) -> pa.Array:
    if not lone and not np.isin(np.frombuffer(_string_bytes(text), dtype=np.uint8), _CSV_SPECIAL_BYTES).any():
        return text  # most columns: one pass over the bytes, no per-value work
    need = pc.match_substring_regex(text, _CSV_SPECIAL)
    if lone:
        need = pc.or_(need, pc.equal(text, ""))
    if not pc.any(need).as_py():
        return text
    quote = pa.scalar('"', pa.large_string())
    doubled = pc.replace_substring(text, '"', '""')
    return pc.if_else(need, pc.binary_join_element_wise(quote, doubled, quote, pa.scalar("", pa.large_string())),
                      text)


def _string_bytes(text: pa.Array) -> memoryview:
    """The concatenated values of a large_string array without copying them into Python strings."""
    if isinstance(text, pa.ChunkedArray):
        text = pa.concat_arrays(text.chunks)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)
    start, end = offsets[text.offset], offsets[text.offset + len(text)]
    return memoryview(text.buffers()[2])[start:end]
