"""The wheel works outside the checkout (issue 13.7): build it, install it into a fresh venv, run it elsewhere.

The wheel is built offline from a copy of the sources (``--no-build-isolation``: the test extras bring
setuptools), installed with ``--no-deps`` into a temporary venv that sees this environment's
site-packages through a ``.pth`` path line (its dependencies, not its editable towncover: path lines
do not run that folder's own ``.pth`` files). Then, from a folder outside the checkout,
``towncover coverage`` and ``towncover export --format html`` run on a demo sheet and
``towncover app`` serves the app with the vendored Leaflet.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import urllib.request
import venv
from pathlib import Path

import pytest

from tests.browser.helpers import wait_for_health

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parents[1]
SOURCES = ("geo", "facilities", "towncover", "data", "static", "app.py", "pyproject.toml", "README.md")
SHEET = "512021_安岳县_synthetic.xlsx"


def _run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TOWNCOVER_DATA")}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the venv's bin folder, a work folder outside the checkout holding a demo sheet)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_artifacts")
    for name in SOURCES:
        (shutil.copytree if (CHECKOUT / name).is_dir() else shutil.copy2)(CHECKOUT / name, src / name, **(
            {"ignore": ignore} if (CHECKOUT / name).is_dir() else {}))
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                  "-w", str(root / "dist"), str(src)], cwd=root)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (root / "dist").glob("towncover-*.whl")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)}))
    (site / "outer.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    bin_dir = env_dir / "bin"
    done = _run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "--no-deps",
                 "--no-index", "-q", str(wheel)], cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    work = root / "elsewhere"
    work.mkdir()
    shutil.copy2(CHECKOUT / "data" / "demo" / SHEET, work / SHEET)
    return bin_dir, work


def test_installed_package_reads_its_own_data(installed):
    bin_dir, work = installed
    probe = _run([str(bin_dir / "python"), "-c", "import towncover.settings as s, facilities; "
                  "print(s.DATA_DIR); print(s.STATIC_DIR); print(s.APP_PATH); print(facilities.__file__)"], cwd=work)
    assert probe.returncode == 0, probe.stderr
    data, static, app, package = (Path(line) for line in probe.stdout.split())
    venv_dir = bin_dir.parent
    for path in (data, static, app, package):
        assert venv_dir in path.parents and CHECKOUT not in path.parents
    assert (data / "gazetteer" / "townships.csv.gz").is_file() and (data / "targets").is_dir()
    assert (static / "vendor" / "leaflet-1.9.3" / "leaflet.js").is_file() and app.is_file()


def test_coverage_and_html_export_run_outside_the_checkout(installed):
    bin_dir, work = installed
    cov = _run([str(bin_dir / "towncover"), "coverage", SHEET, "-r", "512021", "--category",
                "elderly_regional_centre", "--level", "township_and_street", "--json"], cwd=work)
    assert cov.returncode == 0, cov.stderr[-2000:]
    result = json.loads(cov.stdout)
    assert (result["category"], result["level"]) == ("elderly_regional_centre", "township_and_street")
    assert result["total"] == 46 and 0 < result["covered"] <= 46
    page = work / "map.html"
    exported = _run([str(bin_dir / "towncover"), "export", SHEET, "-r", "512021", "--format", "html",
                     "-o", str(page)], cwd=work)
    assert exported.returncode == 0, exported.stderr[-2000:]
    text = page.read_text(encoding="utf-8")
    assert "<script src=" not in text and "Leaflet 1.9.3" in text  # inlined from the installed static/
    assert "示意边界 / schematic boundaries" in text and "安岳县" in text


def test_app_starts_outside_the_checkout_and_serves_leaflet(installed):
    bin_dir, work = installed
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([str(bin_dir / "towncover"), "app", "--port", str(port)], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_for_health(f"http://127.0.0.1:{port}", proc), "towncover app did not start"
        url = f"http://127.0.0.1:{port}/app/static/vendor/leaflet-1.9.3/leaflet.js"
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200 and b"Leaflet" in resp.read(2000)
    finally:  # `towncover app` runs streamlit as its child: stop the whole session
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
