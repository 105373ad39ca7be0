"""Small Playwright helpers for driving the Streamlit app by visible labels."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect

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
