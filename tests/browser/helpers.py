"""Small Playwright helpers for driving the Streamlit app by visible labels."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect

#: Debian's Chromium (never a browser download), headless, and how the tests and the benchmark start it.
CHROMIUM = os.environ.get("TOWNCOVER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def wait_idle(page: Page, timeout: float = 90_000) -> None:
    """Wait until the app is connected, its script has finished and no spinner is left."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_timeout(400)  # let a rerun triggered by the last action start
    page.wait_for_selector(IDLE, timeout=timeout)
    expect(page.locator('[data-testid="stSpinner"]')).to_have_count(0, timeout=timeout)


def select(page: Page, label: str, option: str) -> None:
    """Pick ``option`` (visible text, or a unique part of it) in the selectbox labelled ``label``."""
    wait_idle(page)
    box = page.locator('[data-testid="stSelectbox"]:visible').filter(has_text=label).first
    combo = box.get_by_role("combobox")
    for attempt in range(3):
        combo.click()
        combo.fill(option)
        choice = page.get_by_role("option").filter(has_text=option).first
        try:
            choice.click(timeout=10_000)
            break
        except Exception:  # noqa: BLE001 - the list was re-rendered by a rerun; try again
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            wait_idle(page)
    expect(combo).to_have_value(re.compile(re.escape(option)))
    wait_idle(page)


def tab(page: Page, name: str) -> None:
    """Open the tab called ``name``."""
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(300)


def metric(page: Page, label: str):
    """The value element of the first visible ``st.metric`` whose label contains ``label``."""
    card = page.locator('[data-testid="stMetric"]:visible').filter(has_text=label).first
    return card.locator('[data-testid="stMetricValue"]')


def download(page: Page, label: str, folder: Path) -> Path:
    """Click the download button ``label`` and save what arrives into ``folder``; return its path."""
    button = page.locator('[data-testid="stDownloadButton"]:visible').filter(has_text=label).first
    with page.expect_download(timeout=90_000) as info:
        button.locator("button").click()
    dl = info.value
    target = folder / dl.suggested_filename
    dl.save_as(target)
    return target


def map_frame(page: Page, index: int = 0):
    """The Frame of the ``index``-th visible folium map (streamlit-folium renders maps in iframes)."""
    frames = page.locator('iframe[title="streamlit_folium.st_folium"]:visible')
    expect(frames.nth(index)).to_be_visible(timeout=60_000)
    return frames.nth(index).element_handle().content_frame()


#: JavaScript run inside a map frame: counts of the Leaflet map's polygon and circle-marker layers.
COUNT_LAYERS = """() => {
    const maps = Object.values(window).filter(v => v && window.L && v instanceof L.Map);
    if (!maps.length) return null;
    let polygons = 0, markers = 0;
    maps[0].eachLayer(l => {
        if (l instanceof L.Polygon && l.options.pane !== "tcBackground") polygons++;  // not the offline background
        if (l instanceof L.CircleMarker && l.tcRow !== undefined) markers++;
    });
    return {polygons, markers};
}"""


def map_layers(page: Page, index: int = 0, timeout: float = 60_000, markers: bool = False) -> dict:
    """Wait for the map to be drawn, then return ``{"polygons": n, "markers": n}`` (units, facility markers shown)."""
    frame = map_frame(page, index)
    frame.wait_for_function(f"({COUNT_LAYERS})() !== null && ({COUNT_LAYERS})().polygons > 0", timeout=timeout)
    if markers:  # the markers join after the first paint
        frame.wait_for_function(f"({COUNT_LAYERS})().markers > 0", timeout=timeout)
    return frame.evaluate(COUNT_LAYERS)


#: Rows of a county clerk's workbook for 安岳县 (made up for the tests, SYNTHETIC): name, type, address,
#: township cell, beds, nursing beds, Amap (GCJ-02) longitude and latitude or None, phone, 运营状态.
CLERK_PUBLIC = [
    ("岳城街道综合养老服务中心", "乡镇(街道)综合养老服务中心", "四川省资阳市安岳县岳城街道新街144号", "岳城街道", 57, 11,
     None, None, "028-5550001", "运营"),
    ("通贤镇区域养老服务中心", "区域养老服务中心", "安岳县通贤镇建设路190号", "通贤镇", 52, 21, 105.339714, 30.104397,
     "028-5550002", "运营"),
    ("石羊镇区域养老服务中心（在建）", "区域养老服务中心", "安岳县石羊镇", "石羊镇", 60, 30, None, None, "", "在建"),
    ("龙台镇敬老院", "特困人员供养服务设施(敬老院)", "安岳县龙台镇龙台街5号", "龙台镇", 40, 8, None, None,
     "028-5550004", "停业整顿"),
    ("周礼镇社会工作服务站", "社会工作站", "安岳县周礼镇政府旁", "周礼镇", None, None, None, None, "", "运营"),
]
CLERK_PRIVATE = [
    ("康乐养老院", "养老机构", "安岳县岳阳镇滨江路3号", "岳阳镇", 120, 70, None, None, "028-5550011", "运营"),
    ("福寿园老年公寓", "养老机构", "安岳县兴隆镇兴隆街8号", "兴隆镇", 80, 40, None, None, "028-5550012", "运营"),
    ("颐年护理院", "养老机构", "安岳县石桥街道", "石桥街道", 150, 120, None, None, "028-5550013", "运营"),
    ("夕阳红日间照料中心", "社区养老服务综合体", "安岳县岳城街道", "岳城街道", 10, 0, None, None, "", "运营"),
    ("乐至县天池养老院", "养老机构", "四川省资阳市乐至县天池街道滨河路141号", "", 60, 20, None, None, "", "运营"),
    ("东朗乡敬老院", "特困人员供养服务设施(敬老院)", "安岳县东朗乡", "东朗乡", 30, 5, None, None, "", "运营"),
]
CLERK_HEADERS = ["序号", "机构名称", "机构类型", "地址", "所属乡镇", ("床位情况", "床位数"), ("床位情况", "护理型床位数"),
                 ("坐标(高德)", "经度"), ("坐标(高德)", "纬度"), "联系电话", "运营状态"]


def clerk_workbook(path: Path) -> Path:
    """A workbook as a county clerk makes one (SYNTHETIC rows): a title row, two-row merged headers, a
    运营状态 column, two worksheets 公办 and 民办, a 合计 row, Amap coordinates on one row."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in (("公办", CLERK_PUBLIC), ("民办", CLERK_PRIVATE)):
        ws = book.create_sheet(title)
        ws.append([f"安岳县{title}养老服务机构统计表(合成测试数据 SYNTHETIC)"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(CLERK_HEADERS))
        ws.append([h[0] if isinstance(h, tuple) else h for h in CLERK_HEADERS])
        ws.append([h[1] if isinstance(h, tuple) else None for h in CLERK_HEADERS])
        for col, header in enumerate(CLERK_HEADERS, start=1):
            if not isinstance(header, tuple):
                ws.merge_cells(start_row=2, start_column=col, end_row=3, end_column=col)
        for col in (6, 8):
            ws.merge_cells(start_row=2, start_column=col, end_row=2, end_column=col + 1)
        for i, row in enumerate(rows, start=1):
            ws.append([i, *row])
        beds = sum(r[4] or 0 for r in rows)
        nursing = sum(r[5] or 0 for r in rows)
        ws.append(["合计", None, None, None, None, beds, nursing, None, None, None, None])
    book.save(path)
    return path


def no_traceback(page: Page) -> None:
    """The page shows no exception box and no Python error text."""
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    body = page.locator('[data-testid="stMain"]')
    for word in ("Traceback", "KeyError", "Error:", "Exception"):
        expect(body).not_to_contain_text(word)


def wait_for_health(url: str, proc: subprocess.Popen, seconds: float = 90) -> bool:
    """Wait until a Streamlit server at ``url`` answers its health check; False if it exits or times out."""
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def free_port() -> int:
    """A localhost TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def streamlit_server(root: Path, log_path: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The app as ``make app`` serves it (``python -m towncover.serve``, run from ``root``) on a free
    localhost port; yields its URL once healthy.

    Its output goes to ``log_path``; ``env`` adds variables (``TOWNCOVER_REGION``). Stopped on exit.
    """
    port = free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "towncover.serve", "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.fileWatcherType", "none"],
            cwd=root, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            if not wait_for_health(url, proc):
                raise RuntimeError(f"streamlit did not start: {log_path.read_text()[-2000:]}")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
