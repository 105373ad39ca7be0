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
    assert rows == list(range(sheet.header_row + 1, sheet.header_row + 1 + s["rows_read"])), s


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


def one_input(data: bytes) -> None:
    """The libFuzzer entry point: the first byte picks the loader and the file type."""
    if len(data) < 2:
        return
    selector, body = data[0], data[1:]
    target = selector % 4
    if target == 0:
        check_sheet(body, SHEET_NAMES[(selector >> 2) % len(SHEET_NAMES)])
    elif target == 1:
        check_address(body.decode("utf-8", "replace"))
    elif target == 2:
        check_sheet(body, ".csv")
    else:
        check_boundaries(body, BOUNDARY_NAMES[(selector >> 2) % len(BOUNDARY_NAMES)])


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
    out.append(bytes([0 | (1 << 2)]) + buf.getvalue())
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
