"""Small Playwright helpers for driving the Streamlit app by visible labels."""

from __future__ import annotations

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
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.locator('[data-baseweb="select"]').click()
    page.keyboard.type(option)
    page.get_by_role("option").filter(has_text=option).first.click()
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
