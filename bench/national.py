"""National-scale benchmark: every township of China, a million facility rows, in one run.

Measured, each beside its peer (see ``bench/README.md`` for the figures):

- geocoding rows/s, towncover (township level) against cpca (county level) on the same addresses;
- point-to-township assignment, ``geo.assign.assign_points`` against a plain ``geopandas.sjoin``;
- the full coverage report end to end (sheet file → ``facilities.pipeline.analyse`` → categories →
  ``facilities.coverage.measure`` → map layers), one province sheet at a time, as the product runs;
- peak memory; the map payload for a city and a province; time to first render in headless Chromium;
- how cost grows (10k, 100k, 1M rows) with the log-log slope.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import platform
import resource
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import cpca
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bench.data import generate

ROOT = Path(__file__).resolve().parents[1]
CATEGORY = "nursing_home"
LEVEL = "township_and_street"
CITY = "3609"  # 宜春市: its schematic cells are the city map (~186 townships)
SCALES: dict[str, dict[str, Any]] = {
    "smoke": {"rows": 2_000, "points": 400, "provinces": ["64"], "steps": [500, 2_000], "browser": False},
    "small": {"rows": 100_000, "points": 20_000, "provinces": None, "steps": [10_000, 100_000], "browser": True},
    "full": {"rows": 1_000_000, "points": 200_000, "provinces": None, "steps": [10_000, 100_000, 1_000_000],
             "browser": True},
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class _Clock:
    def __init__(self) -> None:
        self.t = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        out, self.t = now - self.t, now
        return out


def run(scale: str = "full", out: str | os.PathLike | None = None, *, browser: bool | None = None) -> dict:
    """Run the benchmark at a scale, print the table and write the JSON results.

    Parameters
    ----------
    scale : {"smoke", "small", "full"}
        ``full``: 41,352 cells, 1,000,000 rows, 200,000 points. ``smoke``: one province, 2,000 rows
        (what the test suite runs).
    out : path, optional
        JSON file to write (default ``bench/results/national.json``; ``smoke`` writes nothing unless given).
    browser : bool, optional
        Measure time to first render in headless Chromium (default: on for small/full).

    Returns
    -------
    dict
        Every figure (see the module docstring).
    """
    warnings.filterwarnings("ignore")
    cfg = SCALES[scale]
    browser = cfg["browser"] if browser is None else browser
    result: dict[str, Any] = {"scale": scale, "machine": machine()}
    clock = _Clock()
    data = generate(cfg["rows"], cfg["points"], provinces=cfg["provinces"])
    rows, cells = data.rows, data.cells
    provinces = sorted(rows["province"].unique())
    result["generated"] = {"cells": len(cells), "rows": len(rows), "points": int((rows["lng"] != "").sum()),
                           "provinces": len(provinces), "seconds": clock.lap(),
                           "vertices_per_cell": float(shapely.get_num_coordinates(cells.geometry.array).mean())}
    with tempfile.TemporaryDirectory() as tmp:
        e2e = _end_to_end(rows, cells, provinces, Path(tmp), cfg["steps"])
    result["end_to_end"] = e2e["summary"]
    analyses = e2e["analyses"]
    result["geocoding"] = e2e["geocoding"]
    result["assignment"] = _assignment(rows, cells)
    result["scaling"] = _scaling(rows, cells, cfg["steps"], e2e["scaling_s"])
    result["map"] = _maps(analyses, cells, browser=browser)
    del analyses, e2e
    gc.collect()
    result["peak_rss_mb"] = _rss_mb()
    result["goals"] = {
        "end_to_end_under_60s": result["end_to_end"]["seconds"] < 60,
        "peak_under_4GB": result["peak_rss_mb"] < 4096,
        "geocoding_at_least_cpca": result["geocoding"]["towncover_rows_per_s"]
        >= result["geocoding"]["cpca_rows_per_s"],
        "province_map_under_5MB": result["map"]["province"]["payload_mb"] < 5,
    }
    print_table(result)
    if out is None and scale != "smoke":
        out = ROOT / "bench" / "results" / "national.json"
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=float), encoding="utf-8")
        print(f"\n→ {path}")
    return result


def machine() -> dict[str, Any]:
    """CPU model, core count, memory and library versions of this run."""
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import cpca
    import shapely as _shapely

    info["versions"] = {"pandas": pd.__version__, "geopandas": gpd.__version__, "shapely": _shapely.__version__,
                        "cpca": getattr(cpca, "__version__", "?")}
    return info


# --------------------------------------------------------------------------------------------------


def _end_to_end(rows: pd.DataFrame, cells: gpd.GeoDataFrame, provinces: list[str], tmp: Path,
                steps: list[int]) -> dict:
    """One pass per province sheet (each region index is built once and used while cached).

    1. End to end, cold: build the province's index, then the product path on its CSV file
       (``pipeline.analyse`` → ``coverage.measure`` → map layers).
    2. Geocoding beside cpca on the same addresses (warm index).
    3. Scaling: geocode + classify + measure on the province's share of the first n rows.
    """
    from facilities import categories, coverage, layers, pipeline
    from geo.address import region_index
    from geo.assign import assign_points
    from geo.geocoder import geocode

    sheet_cols = ["name", "address", "类型", "lng", "lat"]
    header = {"name": "机构名称", "address": "地址", "类型": "类型", "lng": "经度", "lat": "纬度"}
    paths = {}
    for prov, part in rows.groupby("province", sort=True):
        path = tmp / f"{prov}_national_synthetic.csv"
        part[sheet_cols].rename(columns=header).to_csv(path, index=False, encoding="utf-8")
        paths[prov] = path
    phases = {"index_build": 0.0, "read_geocode_classify": 0.0, "coverage": 0.0, "map_layers": 0.0}
    covered = total = placed = rows_out = 0
    analyses: dict[str, Any] = {}
    by_code = pd.Series(np.arange(len(cells)), index=cells["code"].to_numpy())
    position = pd.Series(np.arange(len(rows)), index=rows.index)
    ours = theirs = 0.0
    outs, cps, order = [], [], []
    scaling_s = dict.fromkeys(steps, 0.0)
    roles = {"name": "name", "address": "address", "category": "类型"}
    e2e_s = 0.0
    for prov in provinces:
        t0 = t = time.perf_counter()
        region_index(prov)
        phases["index_build"] += time.perf_counter() - t
        t = time.perf_counter()
        analysis = pipeline.analyse(paths[prov], prov, crs="wgs84")
        phases["read_geocode_classify"] += time.perf_counter() - t
        t = time.perf_counter()
        res = coverage.measure(analysis.placed, prov, CATEGORY, LEVEL)
        phases["coverage"] += time.perf_counter() - t
        t = time.perf_counter()
        mine = cells.iloc[by_code.reindex(cells["code"][cells["province"] == prov]).to_numpy()]
        lng = pd.to_numeric(analysis.placed["lng_wgs84"], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(analysis.placed["lat_wgs84"], errors="coerce").to_numpy(dtype=float)
        assign_points(lng, lat, mine)
        analysis.units = mine  # the synthetic national cells stand in for the region's schematic cells
        layers.build_layers(analysis, res)
        phases["map_layers"] += time.perf_counter() - t
        e2e_s += time.perf_counter() - t0
        covered += res.covered
        total += res.total
        placed += int((analysis.placed["match_status"] == "matched").sum())
        rows_out += len(analysis.placed)
        analyses[prov] = (analysis, res)

        part = rows[rows["province"] == prov]
        flat = part[["name", "address"]].reset_index(drop=True)
        t = time.perf_counter()
        got = geocode(flat, prov, roles={"name": "name", "address": "address"})
        ours += time.perf_counter() - t
        t = time.perf_counter()
        parsed = cpca.transform(flat["address"].tolist())
        theirs += time.perf_counter() - t
        outs.append(pd.DataFrame({"status": got["match_status"].to_numpy(), "town": got["township_code"].to_numpy(),
                                  "county": got["county_code"].to_numpy()}))
        cps.append(parsed["adcode"].astype("string").fillna("").str[:6].to_numpy())
        order.append(part)

        where = position[part.index].to_numpy()
        for n in steps:
            sub = part[where < n].reset_index(drop=True)
            if not len(sub):
                continue
            t = time.perf_counter()
            g = geocode(sub[["name", "address", "类型"]], prov, roles=roles)
            g["category"] = categories.classify(sub["类型"], sub["name"]).to_numpy()
            coverage.measure(g, prov, CATEGORY, LEVEL)
            scaling_s[n] += time.perf_counter() - t
    summary = {"seconds": e2e_s, "phases_s": phases, "rows_in": len(rows), "rows_out": rows_out,
               "matched": placed, "category": CATEGORY, "level": LEVEL, "covered": covered, "total": total,
               "rate": 100.0 * covered / total if total else None, "province_sheets": len(provinces),
               "peak_rss_mb": _rss_mb(),
               "note": "one CSV sheet per province through facilities.pipeline.analyse (the largest region the "
                       "product geocodes against is a province); index build is included, cold"}
    return {"summary": summary, "analyses": analyses, "scaling_s": scaling_s,
            "geocoding": _geocoding_summary(pd.concat(outs, ignore_index=True), np.concatenate(cps),
                                            pd.concat(order), ours, theirs)}


def _geocoding_summary(got: pd.DataFrame, cp: np.ndarray, order: pd.DataFrame, ours: float, theirs: float) -> dict:
    truth_t = order["truth_township"].to_numpy()
    truth_c = order["truth_county"].to_numpy()
    style = order["style"].to_numpy()
    says_county = np.isin(style, ["full", "county_town", "fullwidth"])
    matched = (got["status"] == "matched").to_numpy()
    correct = matched & (got["town"].to_numpy() == truth_t)
    n = len(got)
    return {
        "rows": n,
        "towncover_s": ours, "cpca_s": theirs,
        "towncover_rows_per_s": n / ours, "cpca_rows_per_s": n / theirs,
        "towncover_matched": int(matched.sum()),
        "towncover_wrong": int((matched & ~correct).sum()),
        "towncover_precision": float(correct.sum() / max(matched.sum(), 1)),
        "towncover_matched_by_style": {s: float(matched[style == s].mean()) for s in sorted(set(style))},
        "towncover_wrong_by_style": {s: int((matched & ~correct)[style == s].sum()) for s in sorted(set(style))},
        "county_accuracy_rows": int(says_county.sum()),
        "towncover_county_accuracy": float((got["county"].to_numpy()[says_county] == truth_c[says_county]).mean()),
        "cpca_county_accuracy": float((cp[says_county] == truth_c[says_county]).mean()),
        "note": "both get each province's rows as one list; towncover answers to township (and village), "
                "cpca to county; the towncover region index is built beforehand (timed in end_to_end)",
    }


def _points(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    has = (rows["lng"] != "").to_numpy()
    return (rows["lng"].to_numpy()[has].astype(float), rows["lat"].to_numpy()[has].astype(float),
            rows["truth_township"].to_numpy()[has])


def _assignment(rows: pd.DataFrame, cells: gpd.GeoDataFrame) -> dict:
    """geo.assign.assign_points against a plain geopandas.sjoin on the same points and cells."""
    from geo.assign import assign_points

    x, y, truth = _points(rows)
    t = time.perf_counter()
    got = assign_points(x, y, cells)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")
    joined = gpd.sjoin(pts, cells[["code", "geometry"]], how="left", predicate="within")
    theirs = time.perf_counter() - t
    joined = joined[~joined.index.duplicated()]
    return {
        "points": len(x), "cells": len(cells),
        "assign_points_s": ours, "sjoin_s": theirs,
        "assign_points_per_s": len(x) / ours if ours else None, "sjoin_per_s": len(x) / theirs if theirs else None,
        "assign_points_correct": int((got.astype("string").fillna("").to_numpy() == truth).sum()),
        "sjoin_correct": int((joined["code"].astype("string").fillna("").to_numpy() == truth).sum()),
    }


def _scaling(rows: pd.DataFrame, cells: gpd.GeoDataFrame, steps: list[int], geo_s: dict[int, float]) -> dict:
    """Geocode + classify + measure (timed in the province pass) and assignment at growing row counts."""
    from geo.assign import assign_points

    out = []
    for n in steps:
        x, y, _ = _points(rows.iloc[:n])
        t = time.perf_counter()
        assign_points(x, y, cells)
        assign_s = time.perf_counter() - t
        out.append({"rows": n, "points": len(x), "geocode_classify_measure_s": geo_s[n], "assign_s": assign_s})
    slope = {}
    if len(steps) >= 2:
        n = np.log10([s["rows"] for s in out])
        for key in ("geocode_classify_measure_s", "assign_s"):
            slope[key] = float(np.polyfit(n, np.log10([max(s[key], 1e-6) for s in out]), 1)[0])
    return {"steps": out, "slope": slope,
            "note": "slope of log10(seconds) on log10(rows): 1.0 is linear; warm indexes; assign includes "
                    "building the STRtree over all cells each time"}


def _maps(analyses: dict, cells: gpd.GeoDataFrame, *, browser: bool) -> dict:
    """The app's map (``facilities.layers.build_layers`` → ``geo.webmap.coverage_map``) for a city
    (宜春市 on its schematic cells) and a province-sized set of synthetic cells."""
    from facilities import coverage, layers
    from geo import boundaries

    out: dict[str, Any] = {}
    prov = CITY[:2]
    if prov in analyses and boundaries.has_map(CITY):
        analysis, _ = analyses[prov]
        placed = analysis.placed[analysis.placed["township_code"].astype("string").str.startswith(CITY)
                                 .fillna(False).to_numpy()]
        city = dataclasses.replace(analysis, placed=placed, units=boundaries.township_cells(CITY), schematic=True)
        res = coverage.measure(placed, CITY, CATEGORY, LEVEL)
        shown = layers.build_layers(city, CATEGORY, LEVEL, result=res)
        out["city"] = _one_map(f"{CITY} 宜春市", shown["townships"], shown["facilities"], browser=browser)
    counts = cells["province"].value_counts()
    prov = str((counts - 1500).abs().idxmin())
    if prov in analyses:
        analysis, res = analyses[prov]
        shown = layers.build_layers(analysis, CATEGORY, LEVEL, result=res)
        out["province"] = _one_map(f"{prov} (synthetic cells)", shown["townships"], shown["facilities"],
                                   browser=browser)
    out["note"] = ("payload = the HTML the app hands to st_folium (Leaflet from /app/static, not inlined), with "
                   "every placed facility as a marker (on schematic cells drawn at its township's centre); "
                   "the map is drawn from the analysis already made and st_folium(..., returned_objects=[]) "
                   "sends nothing back, so no map interaction reruns the analysis")
    return out


def _one_map(label: str, units: gpd.GeoDataFrame, points: gpd.GeoDataFrame, *, browser: bool) -> dict:
    from facilities import categories
    from geo import webmap

    labels = {c: categories.label(c, "zh") for c in categories.CATEGORIES}
    t = time.perf_counter()
    fmap = webmap.coverage_map(units, points, schematic=True, title=label, lang="zh", categories=labels)
    page = fmap.get_root().render()
    build = time.perf_counter() - t
    fmap = webmap.coverage_map(units, points, schematic=True, title=label, lang="zh", categories=labels)
    standalone = webmap.standalone_html(fmap)
    info = {"region": label, "units": len(units), "facilities": len(points), "build_s": build,
            "payload_mb": len(page.encode("utf-8")) / 1e6, "standalone_mb": len(standalone.encode("utf-8")) / 1e6}
    if browser:
        info["first_render"] = first_render(standalone, len(units), len(points))
    return info


# The map draws its polygons on a canvas (prefer_canvas): drawn = the overlay canvas has painted pixels
# and every unit is a layer of the map.
_DRAWN = """() => {
  const c = document.querySelector('.leaflet-overlay-pane canvas');
  if (!c || !c.width) return false;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 16) { if (d[i]) return true; }
  return false;
}"""
_COUNT = """() => {
  let n = 0;
  for (const k of Object.keys(window)) {
    const m = window[k];
    if (k.startsWith('map_') && m && m.eachLayer) { m.eachLayer(l => { if (l.feature) n++; }); }
  }
  return n;
}"""
# Facility markers held by the map's marker-cluster layers (clustered after the first paint).
_MARKERS = """() => {
  let n = 0;
  for (const k of Object.keys(window)) {
    const m = window[k];
    if (k.startsWith('map_') && m && m.eachLayer) {
      m.eachLayer(l => { if (window.L && L.MarkerClusterGroup && l instanceof L.MarkerClusterGroup) n += l.getLayers().length; });
    }
  }
  return n;
}"""


def first_render(html: str, n_units: int, n_markers: int | None = None, timeout_s: float = 120.0) -> dict:
    """Seconds from navigation to the unit polygons painted, and to every marker clustered, in headless
    Chromium (offline page).

    Parameters
    ----------
    html : str
        A standalone page (Leaflet inlined).
    n_units : int
        Polygons expected (reported beside the GeoJSON features the page holds).
    n_markers : int, optional
        Facility markers expected; when given, also time until the cluster layers hold them all.
    timeout_s : float

    Returns
    -------
    dict
        ``seconds`` (None when it could not run, with ``error``), ``features`` on the map; with
        ``n_markers``, ``markers_seconds`` and ``markers`` (held by the cluster layers).
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a test dependency
        return {"seconds": None, "error": f"playwright unavailable: {exc}"}
    exe = "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "map.html"
        page_path.write_text(html, encoding="utf-8")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=exe if Path(exe).exists() else None,
                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--no-first-run"])
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                # Tiles cannot load offline: block them so the timing is the drawing, not a network wait.
                page.route("**/*", lambda route: route.abort() if route.request.url.startswith("http")
                           else route.continue_())
                t = time.perf_counter()
                page.goto(page_path.as_uri(), wait_until="commit")
                page.wait_for_function(_DRAWN, timeout=timeout_s * 1000, polling="raf")
                seconds = time.perf_counter() - t
                extra: dict[str, Any] = {}
                if n_markers is not None:
                    page.wait_for_function(f"({_MARKERS})() >= {int(n_markers)}", timeout=timeout_s * 1000,
                                           polling=50)
                    extra = {"markers_seconds": time.perf_counter() - t, "markers": int(page.evaluate(_MARKERS)),
                             "markers_expected": int(n_markers)}
                paths = page.evaluate(_COUNT)
                browser.close()
        except Exception as exc:  # noqa: BLE001 - reported, not fatal
            return {"seconds": None, "error": str(exc).splitlines()[0][:300]}
    return {"seconds": seconds, "features": int(paths), "expected": n_units, **extra,
            "browser": "chromium (Debian), headless, tiles blocked",
            "measures": "page navigation start → the polygon canvas has painted pixels (seconds); → every "
                        "facility marker is in its category's cluster layer (markers_seconds)"}


# --------------------------------------------------------------------------------------------------


def table_rows(r: dict) -> list[tuple[str, str, str]]:
    """(measure, towncover, peer/goal) rows of the summary table."""
    g, a, e, m = r["geocoding"], r["assignment"], r["end_to_end"], r["map"]
    rows = [
        ("data", f"{r['generated']['cells']:,} cells · {r['generated']['rows']:,} rows · "
                 f"{r['generated']['points']:,} points", "synthetic (示意)"),
        ("geocoding rows/s", f"{g['towncover_rows_per_s']:,.0f} (township)", f"cpca {g['cpca_rows_per_s']:,.0f} (county)"),
        ("county accuracy (rows naming a county)", f"{g['towncover_county_accuracy']:.2%}",
         f"cpca {g['cpca_county_accuracy']:.2%}"),
        ("township precision / matched", f"{g['towncover_precision']:.2%} / {g['towncover_matched']:,}", "-"),
        ("point → township", f"{a['assign_points_s']:.2f} s ({a['assign_points_correct']:,}/{a['points']:,} right)",
         f"sjoin {a['sjoin_s']:.2f} s ({a['sjoin_correct']:,} right)"),
        ("end to end (index+read+geocode+classify+coverage+layers)", f"{e['seconds']:.1f} s",
         "goal < 60 s"),
    ]
    for k, v in e["phases_s"].items():
        rows.append((f"  {k}", f"{v:.1f} s", ""))
    rows.append(("coverage (nursing homes, townships)", f"{e['covered']:,}/{e['total']:,} = {e['rate']:.1f}%", ""))
    rows.append(("peak memory (RSS)", f"{r['peak_rss_mb']:,.0f} MB", "goal < 4,096 MB"))
    for key in ("city", "province"):
        if key in m:
            mm = m[key]
            fr = mm.get("first_render", {})
            render = f"{fr['seconds']:.2f} s" if fr.get("seconds") is not None else (fr.get("error", "not run"))
            if fr.get("markers_seconds") is not None:
                render += f", markers clustered {fr['markers_seconds']:.2f} s"
            rows.append((f"map {key}: {mm['units']:,} units, {mm['facilities']:,} markers",
                         f"{mm['payload_mb']:.2f} MB (standalone {mm['standalone_mb']:.2f} MB)",
                         f"first render {render}"))
    for s in r["scaling"]["steps"]:
        rows.append((f"scaling {s['rows']:,} rows", f"{s['geocode_classify_measure_s']:.2f} s geocode+measure",
                     f"{s['assign_s']:.3f} s assign ({s['points']:,} pts)"))
    for k, v in r["scaling"]["slope"].items():
        rows.append((f"slope {k}", f"{v:.2f}", "1.0 = linear"))
    return rows


def print_table(r: dict) -> None:
    """Print the summary table."""
    rows = table_rows(r)
    w0 = max(len(x[0]) for x in rows)
    w1 = max(len(x[1]) for x in rows)
    print(f"\nmachine: {r['machine'].get('cpu', '?')}, {r['machine']['cpus']} cores, "
          f"{r['machine'].get('memory_gb', '?')} GB; scale {r['scale']}")
    print(f"{'measure':{w0}}  {'towncover':{w1}}  peer / goal")
    print("-" * (w0 + w1 + 30))
    for a, b, c in rows:
        print(f"{a:{w0}}  {b:{w1}}  {c}")
    print("goals: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in r["goals"].items()))
