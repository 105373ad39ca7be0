"""Settings in one place: paths, defaults and limits."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

# A checkout (run from it, or installed editable) holds data/, static/ and app.py beside the packages;
# an installed wheel holds them as package data: towncover.data, towncover.web (app.py) and its static/.
_CHECKOUT = Path(__file__).resolve().parents[1]
if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "data").is_dir():
    ROOT = _CHECKOUT
    _PACKAGED_DATA, APP_DIR = ROOT / "data", ROOT
else:  # pyproject.toml maps data/ to towncover/data and app.py + static/ to towncover/web
    _PACKAGE = Path(str(resources.files("towncover")))
    ROOT = APP_DIR = _PACKAGE / "web"
    _PACKAGED_DATA = _PACKAGE / "data"
DATA_DIR = Path(os.environ.get("TOWNCOVER_DATA", _PACKAGED_DATA))
GAZETTEER_DIR = DATA_DIR / "gazetteer"
OUTLINES_DIR = DATA_DIR / "outlines"
CELLS_DIR = DATA_DIR / "cells"
TARGETS_DIR = DATA_DIR / "targets"
DEMO_DIR = DATA_DIR / "demo"
#: The Streamlit script and the static/ folder Streamlit serves beside it at /app/static.
APP_PATH = APP_DIR / "app.py"
STATIC_DIR = APP_DIR / "static"

# Map background: "none" (the offline background drawn from the shipped outlines; no tile server),
# "osm", "amap", a tile URL template with {z}/{x}/{y} (an intranet service such as 天地图's
# government edition) or the path of a local .mbtiles file. The server's administrator sets the default.
TILES = os.environ.get("TOWNCOVER_TILES", "none")
TILES_ATTRIBUTION = os.environ.get("TOWNCOVER_TILES_ATTRIBUTION", "")
# Datum of a URL template's or MBTiles' tiles: wgs84 (天地图, CGCS2000 ≈ WGS-84) or gcj02 (Amap, Tencent).
TILES_DATUM = os.environ.get("TOWNCOVER_TILES_DATUM", "wgs84")
# An MBTiles background is embedded in the page for the map's extent, up to this many MB.
MBTILES_BUDGET_MB = 4.0
# Files towncover derives and keeps between runs (the gazetteer's Arrow copy): never inside the checkout.
CACHE_DIR = Path(os.environ.get("TOWNCOVER_CACHE", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                                / "towncover"))

# The region the app opens on: 安岳县 (Anyue County, Sichuan), one of the five plan regions, unless the
# server's administrator (or the browser benchmark) names another.
DEFAULT_REGION = os.environ.get("TOWNCOVER_REGION", "512021")

# Township codes (digits 7-9) at or above this are special units (开发区, 园区, 林场, 农场...),
# which plans' "乡镇(街道)" coverage excludes unless a target says otherwise.
SPECIAL_UNIT_MIN = 400
STREET_MAX = 99  # 001-099 街道
TOWN_MAX = 199  # 100-199 镇; 200-399 乡

# Coordinates in facility sheets are usually copied from Amap, so GCJ-02 unless the user says otherwise.
DEFAULT_SHEET_CRS = "gcj02"

# Geocoding: sheets of at least GEOCODE_PARALLEL_MIN rows per worker are split over forked
# processes (single-threaded callers only: the CLI and the benchmark, never the app's server), and
# only with at least GEOCODE_ROWS_PER_GB rows per GB the process holds: forking copies the page
# tables (~40 ms per GB measured) and every page either side then writes.
GEOCODE_WORKERS = max(1, min(int(os.environ.get("TOWNCOVER_WORKERS", os.cpu_count() or 1)), 8))
GEOCODE_PARALLEL_MIN = 5_000
GEOCODE_ROWS_PER_GB = 40_000

# Limits for uploaded files (stated in the UI).
MAX_UPLOAD_MB = 50
MAX_UNZIPPED_MB = 500
MAX_ZIP_ENTRIES = 2000
