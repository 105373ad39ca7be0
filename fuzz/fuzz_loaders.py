"""Fuzz the loaders: facility sheets, addresses and township boundary files.

Every input must either load, with its rows accounted for, or raise :class:`TowncoverError`
(a bilingual, one-line message). Anything else is a crash and is saved by the fuzzer.

Run (see fuzz/README.md)::

    .venv/bin/python fuzz/fuzz_loaders.py -max_total_time=600 fuzz/corpus      # atheris (libFuzzer)
    .venv/bin/python fuzz/fuzz_loaders.py --hypothesis --minutes 10             # no atheris needed
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

REGION = "512021"
SHEET_NAMES = (".csv", ".xlsx", ".xls", ".txt")
BOUNDARY_NAMES = (".geojson", ".kml", ".zip", ".gpkg")


def _modules():  # noqa: ANN202 - imported late so atheris can instrument them
    from facilities.sheets import read_sheet
    from geo.address import parse_address
    from geo.boundaries import load_boundaries
    from towncover.errors import TowncoverError

    return read_sheet, parse_address, load_boundaries, TowncoverError


def check_sheet(data: bytes, suffix: str) -> None:
    """Read ``data`` as a facility sheet; the row accounting must add up."""
    read_sheet, _, _, error = _modules()
    try:
        sheet = read_sheet(data, filename="fuzz" + suffix)
    except error as exc:
        assert "\n" not in exc.message, exc.message
        return
    s = sheet.summary()
    assert s["rows_read"] == s["kept"] + s["blank"] + s["rejected"], s
    rows = sorted([*sheet.source_rows, *sheet.blank_rows, *sheet.rejected["row"].tolist()])
    assert len(rows) == len(set(rows)) == s["rows_read"], s
    if len(sheet.sheets) <= 1:  # one table: every file row below the header, once
        assert rows == list(range(sheet.header_row + 1, sheet.header_row + 1 + s["rows_read"])), s
    assert sum(x["rows_read"] for x in sheet.sheets) == s["rows_read"], s
    assert len(sheet.numbers) == len(sheet.status) == len(sheet.frame), s


def check_address(text: str) -> None:
    """Parse ``text`` as an address of 安岳县; a match lies in the region."""
    _, parse_address, _, error = _modules()
    try:
        m = parse_address(text, REGION)
    except error:
        return
    assert m.status in ("matched", "ambiguous", "unmatched", "out_of_region"), m.status
    if m.status == "matched":
        assert m.township_code.startswith(REGION), (text, m)


def check_boundaries(data: bytes, suffix: str) -> None:
    """Load ``data`` as a township boundary file: a GeoDataFrame, one row per feature, or TowncoverError."""
    _, _, load_boundaries, error = _modules()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            frame = load_boundaries(path)
        except error as exc:
            assert "\n" not in exc.message, exc.message
            return
    assert list(frame.columns) == ["code", "name", "schematic", "geometry"]
    assert frame.crs is not None and frame.crs.to_epsg() == 4326


def check_xlsx_structure(body: bytes) -> None:
    """Splice ``body`` into one member of a seed workbook (its XML, not its compressed bytes) and read it.

    ``body[0]`` picks the member (sheet XML, shared strings, workbook, rels …), ``body[1:3]`` the
    position; the rest replaces that many bytes there. Exercises the zip members and sheet XML the
    reader surveys before openpyxl reads them (merges, cell references, formulas, sizes).
    """
    if len(body) < 3:
        return
    members = _seed_xlsx_members()
    names = sorted(members)
    name = names[body[0] % len(names)]
    content = members[name]
    pos = int.from_bytes(body[1:3], "little") % (len(content) + 1)
    insert = body[3:]
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for other in names:
            zf.writestr(other, content[:pos] + insert + content[pos + len(insert):] if other == name else members[other])
    check_sheet(buf.getvalue(), ".xlsx")


_XLSX_MEMBERS: dict[str, bytes] = {}


def _seed_xlsx_members() -> dict[str, bytes]:
    """The members of a small two-sheet workbook with a merged header, a formula and a status column."""
    if not _XLSX_MEMBERS:
        import zipfile

        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "公办"
        for row in (["名录"], ["机构名称", "坐标", None, "运营状态"], [None, "经度", "纬度", None],
                    ["石羊敬老院（在建）", 105.1, 29.25, "在建"], ["合计", None, None, "=COUNTA(A4)"]):
            ws.append(row)
        ws.merge_cells("B2:C2")
        other = wb.create_sheet("民办")
        other.append(["单位名称", "地址", "床位数"])
        other.append(["岳阳养老院", "安岳县岳阳镇", "50张"])
        buf = io.BytesIO()
        wb.save(buf)
        with zipfile.ZipFile(buf) as zf:
            _XLSX_MEMBERS.update({n: zf.read(n) for n in zf.namelist()})
    return _XLSX_MEMBERS


def check_corrections(data: bytes) -> None:
    """Load ``data`` as a workspace GeoPackage or corrections CSV, then validate it for 安岳县."""
    from facilities.corrections import validate_corrections
    from facilities.review import load_workspace_corrections
    from geo.gazetteer import load_gazetteer

    error = _modules()[3]
    try:
        frame = validate_corrections(load_workspace_corrections(data), load_gazetteer(), REGION)
    except error as exc:
        assert "\n" not in exc.message, exc.message
        return
    assert frame["row"].dtype == "int64" and (frame["row"] >= 1).all()
    assert frame["township_code"].str.startswith(REGION).all()


def one_input(data: bytes) -> None:
    """The libFuzzer entry point: the first byte picks the loader (``% 8``) and the file type (``>> 3``)."""
    if len(data) < 2:
        return
    selector, body = data[0], data[1:]
    target, kind = selector % 8, selector >> 3
    if target == 0:
        check_sheet(body, SHEET_NAMES[kind % len(SHEET_NAMES)])
    elif target == 1:
        check_address(body.decode("utf-8", "replace"))
    elif target == 2:
        check_sheet(body, ".csv")
    elif target == 3:
        check_boundaries(body, BOUNDARY_NAMES[kind % len(BOUNDARY_NAMES)])
    elif target == 4:
        check_xlsx_structure(body)
    elif target == 5:
        check_sheet(body, ".xls")
    else:
        check_corrections(body)


def seeds() -> list[bytes]:
    """Valid inputs of every kind (the fuzzer mutates these): sheets, addresses, boundary files."""
    import geopandas as gpd
    import openpyxl
    import shapely

    out = []
    csv_text = ("安岳县民政设施名录\n序号,机构名称,地址,经度,纬度,床位数\n"
                "1,石羊敬老院,安岳县石羊镇,105.3,29.1,50\n2,岳阳敬老院,岳阳镇,29.9,105.2,=1+1\n,,,,,\n合计,,,,,\n")
    for enc, sel in (("utf-8", 2), ("gbk", 0), ("utf-16", 0)):
        out.append(bytes([sel]) + csv_text.encode(enc))
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["名录"], ["机构名称", "坐标", None, "床位数"], [None, "经度", "纬度", None],
                ["<img src=x onerror=alert(1)>", 105.1, 29.25, "=A1*2"]):
        ws.append(row)
    ws.merge_cells("B2:C2")
    buf = io.BytesIO()
    wb.save(buf)
    out.append(bytes([0 | (1 << 3)]) + buf.getvalue())
    out += _structure_and_file_seeds()
    for text in ("四川省资阳市安岳县石羊镇山林村3组", "岳阳镇", "乐至县童家镇", "石羊敬老院"):
        out.append(bytes([1]) + text.encode("utf-8"))
    squares = gpd.GeoDataFrame({"代码": ["512021110", "512021100"], "名称": ["石羊镇", "岳阳镇"]},
                               geometry=[shapely.box(105.3, 29.9, 105.4, 30.0), shapely.box(105.4, 29.9, 105.5, 30.0)],
                               crs=4326)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.geojson"
        squares.to_file(path, driver="GeoJSON")
        out.append(bytes([3]) + path.read_bytes())
    return out


def _structure_and_file_seeds() -> list[bytes]:
    """Seeds for the .xlsx structure, .xls, workspace and corrections targets."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    names = sorted(_seed_xlsx_members())
    sheet = names.index("xl/worksheets/sheet1.xml")
    out = [bytes([4, sheet, 0, 0]) + b"",
           bytes([4, sheet]) + (600).to_bytes(2, "little") + b'<mergeCell ref="A1:XFD1048576"/>',
           bytes([4, sheet]) + (700).to_bytes(2, "little") + b'<c r="XFD9" s="1"/><c r="A9"><f>1+1</f></c>']
    try:
        import xlwt

        wb = xlwt.Workbook(encoding="utf-8")
        ws = wb.add_sheet("名录")
        for c, h in enumerate(["机构名称", "地址", "运营状态"]):
            ws.write(0, c, h)
        ws.write(1, 0, "石羊敬老院")
        ws.write(1, 1, "安岳县石羊镇")
        ws.write(1, 2, "停业整顿")
        buf = io.BytesIO()
        wb.save(buf)
        out.append(bytes([5]) + buf.getvalue())
    except ImportError:  # xlwt is a test dependency only
        pass
    out.append(bytes([6]) + "row,township_code,village_code,note\n3,512021110,,经核实\n4,512021100,,\n".encode())
    layer = pd.DataFrame({"row": [3], "township_code": ["512021110"], "village_code": [""], "note": [""]})
    with tempfile.TemporaryDirectory() as tmp:
        import pyogrio

        path = Path(tmp) / "ws.gpkg"
        pyogrio.write_dataframe(layer, path, layer="corrections", driver="GPKG")
        gpd.GeoDataFrame({"code": ["512021110"]}, geometry=[shapely.box(105.3, 29.9, 105.4, 30.0)],
                         crs=4326).to_file(path, layer="townships", driver="GPKG")
        out.append(bytes([6]) + path.read_bytes())
    return out


def write_corpus(folder: Path) -> None:
    """Write the seeds into ``folder`` (a libFuzzer corpus directory)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds()):
        (folder / f"seed_{i:02d}").write_bytes(seed)


def run_hypothesis(minutes: float) -> int:
    """Fuzz with hypothesis for ``minutes`` (mutating the seeds and generating bytes); print the first crash."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    pool = seeds()
    mutated = st.builds(
        lambda seed, edits, cut: _mutate(seed, edits, cut),
        st.sampled_from(pool), st.lists(st.tuples(st.integers(0, 1 << 20), st.binary(max_size=4)), max_size=6),
        st.integers(0, 1 << 20),
    )
    stop = time.monotonic() + 60 * minutes
    count = {"n": 0}

    @settings(max_examples=10**9, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(mutated, st.binary(max_size=2000)))
    def run(data: bytes) -> None:
        if time.monotonic() > stop:
            raise _TimeUp
        count["n"] += 1
        one_input(data)

    try:
        run()
    except _TimeUp:
        print(f"hypothesis fuzz: {count['n']} inputs in {minutes:g} min, no crash")
        return 0
    return 1


class _TimeUp(Exception):
    pass


def _mutate(seed: bytes, edits: list[tuple[int, bytes]], cut: int) -> bytes:
    data = bytearray(seed)
    for pos, chunk in edits:
        p = 1 + pos % max(1, len(data) - 1)
        data[p:p + len(chunk)] = chunk
    if cut % 3 == 0:
        data = data[: 1 + cut % len(data)]
    return bytes(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hypothesis", action="store_true", help="fuzz with hypothesis instead of atheris")
    parser.add_argument("--minutes", type=float, default=5.0, help="hypothesis mode: how long to run")
    parser.add_argument("--seed-corpus", metavar="DIR", help="write the seed inputs into DIR and exit")
    args, rest = parser.parse_known_args()
    if args.seed_corpus:
        write_corpus(Path(args.seed_corpus))
        return 0
    if args.hypothesis:
        return run_hypothesis(args.minutes)
    import atheris

    with atheris.instrument_imports(include=["facilities", "geo", "towncover"]):
        _modules()
        import facilities.sheets  # noqa: F401
        import geo.address  # noqa: F401
    _modules()[1]("岳阳镇", REGION)  # build the region index once, outside the timed inputs
    atheris.Setup([sys.argv[0], *rest], one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
