"""Browser-test fixtures: one Streamlit server per session, one headless Chromium (Debian's, never downloaded)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, streamlit_server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
VIEWPORT = {"width": 1400, "height": 900}

# A rerun after a click can start late on a busy machine: assertions retry for up to 30 s, not 5 s.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def app_url():
    """Start ``streamlit run app.py`` on a free localhost port, wait for its health check, yield the URL."""
    if not Path(CHROMIUM).exists() or shutil.which("fc-list") is None:
        pytest.skip("chromium or fonts missing: run `make browser`")
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server(ROOT, ARTIFACTS / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, app_url):
    """A fresh page (own session) on the app, loaded and idle, with downloads allowed."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(app_url)
    from tests.browser.helpers import wait_idle

    wait_idle(pg)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where the tests' screenshots go: the README's docs/screenshots under `make screenshots`
    (TOWNCOVER_SCREENSHOTS=1), else a temporary folder, so a test run leaves the work tree clean."""
    if os.environ.get("TOWNCOVER_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")
