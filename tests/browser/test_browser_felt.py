"""bench.browser_felt runs end to end: every step timed once on a fresh server, the JSON written (no timing asserted)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser


def test_browser_felt_times_every_step_once(tmp_path, app_url, browser):  # app_url: skipped without chromium
    from bench import browser_felt

    out = tmp_path / "browser_felt.json"
    result = browser_felt.run(1, out, browser=browser)  # the session's browser: one Playwright per thread
    assert set(result["steps"]) == set(browser_felt.STEPS)
    assert all(len(s["runs_s"]) == 1 and s["runs_s"][0] > 0 for s in result["steps"].values())
    assert result["steps"]["category"]["script_done_s"] is not None  # the server's part was seen
    assert json.loads(out.read_text(encoding="utf-8"))["region"] == "宜春市"
    assert result["machine"]["cpus"] >= 1 and result["date"].endswith("UTC")
