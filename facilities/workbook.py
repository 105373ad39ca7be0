"""Files to grids of text: the safe readers under :mod:`facilities.sheets`.

:func:`read_bytes` takes a path, bytes or an upload within the size limit; :func:`read_grids` tells a
CSV/text file from an .xlsx or .xls workbook by its content and returns each worksheet as rows of
text cells (merged header cells filled, formulas without a saved result noted), never trusting the
file: the .xlsx reader checks every part's unpacked size, cell count and merges before openpyxl sees
it. Which row is the header and what each column means is :mod:`facilities.headers`' business.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import itertools
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geo.archive import check_members, iter_member, open_zip
from towncover import settings
from towncover.errors import TowncoverError

#: Rows looked at for the header; merged cells are filled only near them.
HEADER_SCAN_ROWS = 20
_ZERO_WIDTH_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
_ZERO_WIDTH = dict.fromkeys(map(ord, _ZERO_WIDTH_CHARS), None)
#: A worksheet as read: rows of text cells, and notes on formula cells (row, 0-based column, zh, en).
Grid = list[list[str]]
CellNote = tuple[int, int, str, str]


def read_grids(data: bytes, filename: str) -> tuple[dict[str | None, tuple[Grid, list[CellNote]]], str | None]:
    """Each worksheet (one for a text file) as a grid of text cells and its formula notes
    ((row, 0-based column, zh, en)), and the text encoding (None for Excel)."""
    kind = _detect_kind(data, filename)
    if kind == "text":
        text, encoding = _decode(data, filename)
        return {None: (_split_text(text), [])}, encoding
    return (_read_xlsx(data, filename) if kind == "xlsx" else _read_xls(data, filename)), None


# ---------------------------------------------------------------------------------------------
# Reading bytes and file kinds
# ---------------------------------------------------------------------------------------------

_TEXT_EXT = (".csv", ".txt", ".tsv")
_XLSX_EXT = (".xlsx", ".xlsm")
_XLS_EXT = (".xls",)


def read_bytes(source: Any, filename: str | None) -> tuple[bytes, str]:
    limit = settings.MAX_UPLOAD_MB * 1024 * 1024
    if isinstance(source, (str, Path)):
        path = Path(source)
        filename = filename or path.name
        if not path.is_file():
            raise TowncoverError(f"找不到文件 {path}", f"file not found: {path}")
        if path.stat().st_size > limit:
            raise _too_big(filename, path.stat().st_size)
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        filename = filename or Path(str(getattr(source, "name", "") or "")).name or None  # any file-like
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass
        data = source.read(limit + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise TowncoverError(
            f"无法读取类型为 {type(source).__name__} 的输入", f"cannot read input of type {type(source).__name__}",
        )
    filename = filename or "(上传的文件)"
    if len(data) > limit:
        raise _too_big(filename, len(data))
    if not data.strip():
        raise TowncoverError(f"文件 {filename} 是空的", f"file {filename} is empty")
    return data, filename


def _too_big(filename: str, size: int) -> TowncoverError:
    mb = size / 1024 / 1024
    return TowncoverError(
        f"文件 {filename} 太大({mb:.1f} MB),上限为 {settings.MAX_UPLOAD_MB} MB",
        f"file {filename} is too large ({mb:.1f} MB); the limit is {settings.MAX_UPLOAD_MB} MB",
    )


def _detect_kind(data: bytes, filename: str) -> str:
    ext = Path(filename).suffix.lower()
    if data[:4] == b"PK\x03\x04":
        if ext in _TEXT_EXT:
            raise _not_table(filename, "是压缩包或 Excel 文件却以文本扩展名命名", "is a zip/Excel file named as text")
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<html", b"<!doctype", b"<?xml", b"<table", b"<meta")):
        raise TowncoverError(
            f"文件 {filename} 是网页(HTML/XML)格式,不是真正的 Excel/CSV;请用 Excel 打开后“另存为” .xlsx 再上传",
            f"file {filename} is an HTML/XML page, not a real Excel or CSV file; open it in Excel, "
            "'Save As' .xlsx and upload that",
        )
    if ext in _XLSX_EXT or ext in _XLS_EXT:
        raise TowncoverError(
            f"文件 {filename} 已损坏或不是 Excel 文件(内容不是 Excel 格式)",
            f"file {filename} is corrupt or not an Excel file (its content is not in Excel format)",
        )
    if ext in _TEXT_EXT or ext == "":
        return "text"
    raise TowncoverError(
        f"不支持的文件类型“{ext}”({filename});请上传 .xlsx、.xls 或 .csv",
        f"unsupported file type '{ext}' ({filename}); upload .xlsx, .xls or .csv",
    )


def _not_table(filename: str, zh: str, en: str) -> TowncoverError:
    return TowncoverError(f"文件 {filename} 不是表格:{zh}", f"file {filename} is not a table: {en}")


def _decode(data: bytes, filename: str) -> tuple[str, str]:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:4096]:
        # UTF-16 without a byte-order mark: the ASCII characters' zero bytes all on one side.
        zeros = {i % 2 for i, b in enumerate(data[:4096]) if b == 0}
        for enc, side in (("utf-16-le", 1), ("utf-16-be", 0)):
            if zeros == {side} and len(data) % 2 == 0:
                try:
                    text = data.decode(enc)
                except UnicodeDecodeError:
                    continue
                if "\x00" not in text:
                    return text, enc
        raise _not_table(filename, "含有二进制内容", "it holds binary content")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "utf-8-sig":
            enc = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
        return text, enc
    from charset_normalizer import from_bytes

    match = from_bytes(data).best()
    if match is None or match.encoding is None:
        raise _not_table(filename, "无法识别文字编码", "its text encoding cannot be recognised")
    return str(match), match.encoding


def _split_text(text: str) -> list[list[str]]:
    sample = text[:20000]
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    best, best_score = ",", -1.0
    for delim in (",", "\t", ";", "|"):
        counts = [ln.count(delim) for ln in lines]
        if not counts or max(counts) == 0:
            continue
        # Most lines carrying the most common non-zero count of the delimiter.
        nonzero = [c for c in counts if c]
        common = max(set(nonzero), key=nonzero.count)
        score = nonzero.count(common) * (1 + np.log1p(common))
        if score > best_score:
            best, best_score = delim, score
    # A cell may be as long as the file (csv's default limit of 131,072 characters refused the whole file).
    csv.field_size_limit(max(csv.field_size_limit(), settings.MAX_UPLOAD_MB * 2**20))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=best)
    try:
        if any(ch in text for ch in _ZERO_WIDTH_CHARS):
            return [[_clean(v) for v in row] for row in reader]
        # No zero-width characters anywhere: cleaning a text cell is only stripping it (as _clean does).
        strip = str.strip
        return [list(map(strip, row)) for row in reader]
    except csv.Error as exc:
        raise TowncoverError(f"CSV 文件格式错误:{exc}", f"malformed CSV file: {exc}") from None


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.translate(_ZERO_WIDTH).strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if np.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value).strip()


# ---------------------------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------------------------

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?r="([A-Z]+)(\d+)"[^>]*?(?:/>|>(.*?)</(?:\w+:)?c>)', re.DOTALL)
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")

#: What an .xlsx may unpack to (all members), and any member that is not a worksheet.
XLSX_MAX_UNPACKED_MB = 1024
XLSX_MAX_PART_MB = 256
#: Rows × columns of one worksheet's used range (cells with a value; styled empty cells do not count).
XLSX_MAX_CELLS = 20_000_000
#: Merged ranges per worksheet (each clipped to the used range).
XLSX_MAX_MERGES = 100_000
#: Longest stretch of worksheet XML without a complete cell (a row of one cell is a few hundred bytes).
_XLSX_MAX_RUN = 16 * 2**20


@dataclass
class _SheetSurvey:
    """What a worksheet's XML holds beside its values, found in the streaming pass that checks it.

    ``merges`` are (top, left, bottom, right), 0-based inclusive; ``formulas`` are formula cells
    without a saved result: (1-based row, 0-based column, formula text).
    """

    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    formulas: list[tuple[int, int, str]] = field(default_factory=list)


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def column_letter(idx: int) -> str:
    s = ""
    idx += 1
    while idx:
        idx, r = divmod(idx - 1, 26)
        s = chr(65 + r) + s
    return s


def _xlsx_label(filename: str) -> tuple[str, str]:
    return f"Excel 文件 {filename} ", f"the Excel file {filename}"


def _read_xlsx(data: bytes, filename: str) -> dict[str | None, tuple[Grid, list[CellNote]]]:
    """Every visible worksheet as a grid of text, after bounding what the file unpacks to.

    The zip is checked by its declared sizes, then every member is unpacked once as a stream (the
    real sizes and CRCs checked, worksheets surveyed for their used range, merges and formulas);
    only then does openpyxl read the cells, limited to the used range.
    """
    import openpyxl

    zh, en = _xlsx_label(filename)
    zf = open_zip(data, zh, en)
    with zf:
        entries = check_members(zf, XLSX_MAX_UNPACKED_MB * 2**20, zh, en)
        parts = _sheet_parts(zf)
        sheet_parts = set(parts.values())
        surveys: dict[str, _SheetSurvey] = {}
        for entry in entries:
            if entry.filename in sheet_parts:
                surveys[entry.filename] = _survey(zf, entry, zh, en)
            else:
                for _ in iter_member(zf, entry, XLSX_MAX_PART_MB * 2**20, zh, en):
                    pass
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - KeyError, InvalidFileException, XML errors...
        raise TowncoverError(
            f"Excel 文件 {filename} 已损坏或已加密,无法打开({type(exc).__name__})",
            f"Excel file {filename} is corrupt or encrypted and cannot be opened ({type(exc).__name__})",
        ) from None
    try:
        out: dict[str | None, tuple[Grid, list[CellNote]]] = {}
        for ws in wb.worksheets:
            # openpyxl's read-only worksheets may lack the state of the full ones: visible unless said otherwise
            if getattr(ws, "sheet_state", "visible") != "visible" and len(wb.worksheets) > 1:
                continue
            survey = surveys.get(parts.get(ws.title, ""), _SheetSurvey())
            grid = _worksheet_grid(ws, zh, en)
            _fill_merged(grid, survey.merges)
            out[ws.title] = (grid, _formula_notes(grid, survey.formulas))
        return out
    except TowncoverError:
        raise
    except Exception as exc:  # noqa: BLE001 - any damage openpyxl meets in the cells
        raise TowncoverError(
            f"Excel 文件 {filename} 内容损坏,无法读取({type(exc).__name__})",
            f"Excel file {filename} has corrupt content and cannot be read ({type(exc).__name__})",
        ) from None
    finally:
        wb.close()


def _worksheet_grid(ws: Any, zh: str, en: str) -> list[list[str]]:
    """A read-only worksheet's cells as text rows, each as long as its last cell holding a value.

    openpyxl's ``iter_rows`` pads every row to the widest one, so a styled empty cell at column
    XFD makes each row 16,384 cells; its parser is read here directly, empty cells skipped, and
    the table (rows × widest row) is kept within :data:`XLSX_MAX_CELLS` as it grows.
    """
    from openpyxl.worksheet._reader import WorkSheetParser

    grid: list[list[str]] = []
    width = 0
    book = ws.parent
    with ws._get_source() as src:
        parser = WorkSheetParser(src, ws._shared_strings, data_only=True, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        for idx, cells in parser.parse():
            values = [(c["column"], c["value"]) for c in cells if c["value"] is not None]
            if not values or idx <= len(grid):  # empty, or a row number seen already (as openpyxl skips it)
                continue
            row_width = max(col for col, _ in values)
            width = max(width, row_width)
            if idx * width > XLSX_MAX_CELLS:
                raise TowncoverError(
                    f"{zh}的工作表数据区过大(至少 {idx} 行 × {width} 列,上限 {XLSX_MAX_CELLS:,} 个单元格)",
                    f"{en} has too large a worksheet (at least {idx} rows × {width} columns; "
                    f"the limit is {XLSX_MAX_CELLS:,} cells)",
                )
            grid.extend([] for _ in range(idx - 1 - len(grid)))
            row = [""] * row_width
            for col, value in values:
                row[col - 1] = _clean(value)
            grid.append(row)
    return grid


def _survey(zf: zipfile.ZipFile, entry: zipfile.ZipInfo, zh: str, en: str) -> _SheetSurvey:
    """Stream one worksheet's XML once (sizes and CRC checked): its merged ranges and unsaved formulas.

    Only runs of the XML holding a formula or a merged range are searched with regular expressions;
    the rest is only checked for a complete cell every 16 MB.
    """
    survey = _SheetSurvey()
    carry = b""
    for chunk in itertools.chain(iter_member(zf, entry, XLSX_MAX_UNPACKED_MB * 2**20, zh, en), [None]):
        buf = carry + chunk if chunk is not None else carry
        if chunk is not None:
            # Cut after the last row tag (complete cells before it), else after the last complete cell.
            row_end = buf.rfind(b"row>")
            cut = row_end + 4 if row_end >= 0 else max(buf.rfind(b"</c>") + 4, buf.rfind(b"/>") + 2, 0)
            if not cut and len(buf) > _XLSX_MAX_RUN:
                raise TowncoverError(
                    f"{zh}的工作表 XML 格式异常(超过 {_XLSX_MAX_RUN // 2**20} MB 没有完整的单元格)",
                    f"{en} has malformed worksheet XML (over {_XLSX_MAX_RUN // 2**20} MB without a complete cell)",
                )
            buf, carry = buf[:cut], buf[cut:]
        _survey_part(buf, survey, zh, en)
    return survey


def _survey_part(part: bytes, survey: _SheetSurvey, zh: str, en: str) -> None:
    """Add the formulas and merged ranges of one run of complete rows (or the XML's tail) to ``survey``."""
    if b"<f" in part or b":f>" in part or b":f " in part:
        for col, row, inner in _CELL.findall(part):
            if not inner or not _FORMULA.search(inner) or re.search(rb"<(?:\w+:)?v>[^<]", inner):
                continue
            f = re.search(rb"<(?:\w+:)?f[^>]*>(.*?)</(?:\w+:)?f>", inner, re.DOTALL)
            formula = "=" + _xml_unescape(f.group(1).decode("utf-8", "replace")) if f else "(共享公式)"
            survey.formulas.append((int(row), _col_index(col.decode()), formula))
    if b"mergeCell" not in part:
        return
    for c1, r1, c2, r2 in _MERGE.findall(part):
        survey.merges.append((int(r1) - 1, _col_index(c1.decode()), int(r2) - 1, _col_index(c2.decode())))
        if len(survey.merges) > XLSX_MAX_MERGES:
            raise TowncoverError(f"{zh}的合并单元格过多(上限 {XLSX_MAX_MERGES:,} 个)",
                                 f"{en} has too many merged ranges (limit {XLSX_MAX_MERGES:,})")


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet title → its XML part inside the .xlsx zip."""
    try:
        wbxml = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except (KeyError, zipfile.BadZipFile, zlib.error, OSError, EOFError):
        return {}
    targets = dict(re.findall(rb'<Relationship\s[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(rb'<Relationship\s[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
    out = {}
    for tag in re.findall(rb"<(?:\w+:)?sheet\s[^>]*/>", wbxml):
        name = re.search(rb'name="([^"]*)"', tag)
        rid = re.search(rb'r:id="([^"]*)"', tag) or re.search(rb'\bid="([^"]*)"', tag)
        if not (name and rid) or rid.group(1) not in targets:
            continue
        target = targets[rid.group(1)].decode("utf-8", "replace")
        part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        title = _xml_unescape(name.group(1).decode("utf-8", "replace"))
        out[title] = part
    return out


def _xml_unescape(s: str) -> str:
    return (s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _fill_merged(grid: list[list[str]], merges: list[tuple[int, int, int, int]]) -> None:
    """Copy each merged range's top-left value into its empty cells (header cells spanning columns/rows).

    Ranges are clipped to the used range (a ``A1:XFD1048576`` merge fills no cell outside the data);
    ranges starting far below the header are left alone (one value, one row).
    """
    width = max((len(r) for r in grid), default=0)
    for top, left, bottom, right in merges:
        if top >= len(grid) or top >= HEADER_SCAN_ROWS + 5 or left >= width:
            continue
        bottom, right = min(bottom, len(grid) - 1), min(right, width - 1)
        value = grid[top][left] if left < len(grid[top]) else ""
        if not value:
            continue
        for r in range(top, bottom + 1):
            row = grid[r]
            if len(row) <= right:
                row.extend([""] * (right + 1 - len(row)))
            for c in range(left, right + 1):
                if not row[c]:
                    row[c] = value


def _formula_notes(grid: list[list[str]], formulas: list[tuple[int, int, str]]) -> list[tuple[int, int, str, str]]:
    """Formula cells without a saved result (the file was written by a program, never opened in Excel)."""
    notes = []
    width = max((len(r) for r in grid), default=0)
    for row, c, formula in formulas:
        r = row - 1
        width = max(width, c + 1)
        if max(row, len(grid)) * width > XLSX_MAX_CELLS:
            raise TowncoverError(f"工作表数据区过大(公式在第 {row} 行,上限 {XLSX_MAX_CELLS:,} 个单元格)",
                                 f"the worksheet is too large (a formula in row {row}; "
                                 f"the limit is {XLSX_MAX_CELLS:,} cells)", row=row)
        # The cell reads as empty: its row is made to reach it (the grid stops at the last value).
        grid.extend([] for _ in range(row - len(grid)))
        if c >= len(grid[r]):
            grid[r].extend([""] * (c + 1 - len(grid[r])))
        if not grid[r][c]:
            notes.append((row, c, f"是公式 {formula},文件中没有保存计算结果(请用 Excel 打开并保存后再上传)",
                          f"is a formula {formula} with no saved result (open and save the file in Excel, "
                          "then upload it again)"))
    return notes


def _read_xls(data: bytes, filename: str) -> dict[str | None, tuple[Grid, list[CellNote]]]:
    """Every visible worksheet of an .xls as a grid of text; any damage xlrd meets is one line."""
    try:
        return _read_xls_sheets(data, filename)
    except TowncoverError:
        raise
    except Exception as exc:  # noqa: BLE001 - IndexError, struct.error, AssertionError, OverflowError, XLRDError…
        raise TowncoverError(
            f"Excel 文件 {filename} 内容损坏,无法读取({type(exc).__name__})",
            f"Excel file {filename} has corrupt content and cannot be read ({type(exc).__name__})",
        ) from None


def _read_xls_sheets(data: bytes, filename: str) -> dict[str | None, tuple[Grid, list[CellNote]]]:
    import xlrd

    try:
        # xlrd writes its warnings about damaged records to a log (stdout by default): kept quiet.
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True, logfile=io.StringIO())
    except Exception:
        try:
            book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=io.StringIO())
        except Exception as exc:
            raise TowncoverError(
                f"Excel 文件 {filename} 已损坏或已加密,无法打开({type(exc).__name__})",
                f"Excel file {filename} is corrupt or encrypted and cannot be opened ({type(exc).__name__})",
            ) from None
    out: dict[str | None, tuple[Grid, list[CellNote]]] = {}
    for idx in range(book.nsheets):
        sh = book.sheet_by_index(idx)
        if sh.visibility != 0 and book.nsheets > 1:
            continue
        grid: list[list[str]] = []
        notes: list[tuple[int, int, str, str]] = []
        for r in range(sh.nrows):
            row = []
            for cell in sh.row(r):
                if cell.ctype == xlrd.XL_CELL_DATE:
                    try:
                        value: Any = xlrd.xldate_as_datetime(float(cell.value), book.datemode)
                    except Exception:
                        value = cell.value
                elif cell.ctype == xlrd.XL_CELL_ERROR:
                    value = xlrd.error_text_from_code.get(int(cell.value), "#ERR")
                else:
                    value = cell.value
                row.append(_clean(value))
            grid.append(row)
        for r1, r2, c1, c2 in sh.merged_cells:
            if r1 >= HEADER_SCAN_ROWS + 5:
                continue
            value = grid[r1][c1] if r1 < len(grid) and c1 < len(grid[r1]) else ""
            for r in range(r1, min(r2, len(grid))):
                for c in range(c1, min(c2, len(grid[r]))):
                    if not grid[r][c]:
                        grid[r][c] = value
        out[sh.name] = (grid, notes)
    return out

