"""Cold time to open a region's map: a county whose cells are built on first use, and a province.

Each measurement runs in a new process (nothing imported, nothing in memory) with an empty cell cache
(``TOWNCOVER_CACHE`` set to a new folder), then once more in another new process with that cache
filled. The times are of ``geo.boundaries.county_outlines`` + ``township_cells`` after the imports and
the gazetteer, which every command pays anyway and are reported on their own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGIONS = (("653101", "喀什市 (county, cells built)"), ("36", "江西省 (province, 100 county-level units)"))

_PROBE = """
import json, sys, time
t0 = time.perf_counter()
from geo import boundaries
from geo.gazetteer import load_gazetteer
load_gazetteer()
t1 = time.perf_counter()
outlines = boundaries.county_outlines(sys.argv[1])
cells = boundaries.township_cells(sys.argv[1])
t2 = time.perf_counter()
print(json.dumps({"imports_and_gazetteer_s": t1 - t0, "open_s": t2 - t1, "counties": len(outlines),
                  "cells": len(cells), "cells_geojson_mb": len(cells.to_json().encode()) / 2**20}))
"""


def _probe(code: str, cache: str) -> dict:
    env = {"TOWNCOVER_CACHE": cache, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", _PROBE, code], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(out: str | Path | None = None) -> dict:
    """Measure every region of REGIONS cold (empty cache) and with the disk cache; print, write ``out``."""
    results = {}
    for code, label in REGIONS:
        with tempfile.TemporaryDirectory(prefix="towncover-cache-") as cache:
            cold = _probe(code, cache)
            warm = _probe(code, cache)
        results[code] = {"label": label, "cold": cold, "disk_cache": warm}
        print(f"open {label}: {cold['counties']} outlines, {cold['cells']} cells — cold {cold['open_s']:.2f} s, "
              f"from the disk cache {warm['open_s']:.2f} s (imports + gazetteer {cold['imports_and_gazetteer_s']:.2f} s"
              f"; cells as GeoJSON {cold['cells_geojson_mb']:.2f} MB)")
    if out is not None:
        Path(out).write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    run(ROOT / "bench" / "results" / "cold_open.json")
