"""Speed as the user feels it in the browser: the app on 宜春市, click to settled page, headless Chromium.

Each run starts a fresh Streamlit server (``TOWNCOVER_REGION=3609``, so the app opens on 宜春市, the demo
sheet) with the browser tests' starter (:func:`tests.browser.helpers.streamlit_server`) and drives Debian's
Chromium through Playwright (never a browser download). One run times, in this order:

1. **first page** — from ``goto`` (the server up and healthy, nothing computed yet) to settled;
2. **category switch** (设施类别, the opening category → 社会工作站), on the map tab;
3. **level switch** (统计层级 → 乡镇), on the map tab;
4. **map colouring** (地图着色 → 设施数), on the map tab;
5. **one correction** (表格与核对: the review queue's first row given its first candidate township, or the
   first township of the list) — from the click on 应用更正;
6. **cold region switch** to 楚雄市 (a demo region no page of this server has opened), on the map tab;
7. **warm region switch** back to 宜春市.

The clock starts at the last click (the option chosen, the button pressed) and stops when the page is
*settled*, which means all of:

- Streamlit's script state is ``notRunning`` (``data-test-script-state`` on ``stApp``), no ``stSpinner``
  and no stale element left (the running indicator gone);
- for steps that change the map (1 once the map tab is opened is not timed; 2, 3, 4, 6, 7): the map's
  iframe is a new one (streamlit-folium remounts it when the map changes; the old one was marked before
  the click) and its Leaflet map has drawn its unit polygons (the map redrawn);
- for the first page and the region switches: the heading names the region;
- for the correction: the page says 已更正第 N 行.

Beside each step, the median time from the click to the script's last run finished (the server's part; the
rest is the browser receiving and drawing; not seen for the first page, a new document). Several runs
(``--runs``, default 3); each step's median and range are printed beside the issue's goals
(switches ≤ 1 s, one correction ≤ 1 s, cold region ≤ 2 s, first page ≤ 3 s), with the machine, the date and
the load average before and after (the machine is shared: browser timings are noisy under load).

Usage: ``python -m bench.browser_felt`` (also run by ``make bench``); ``--runs N``; ``--out FILE`` (JSON).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "browser_felt.json"
REGION, REGION_NAME = "3609", "宜春市"
COLD, COLD_NAME = "532301", "楚雄市"
CATEGORY_TO = "social_work_station"
LEVEL_TO = "township"
TIMEOUT_MS = 120_000

#: Step → (label, goal in seconds).
STEPS: dict[str, tuple[str, float]] = {
    "first_page": ("first page (cold server)", 3.0),
    "category": ("category switch", 1.0),
    "level": ("level switch", 1.0),
    "colouring": ("map colouring switch", 1.0),
    "correction": ("one correction applied", 1.0),
    "region_cold": ("region switch, cold (楚雄市)", 2.0),
    "region_warm": ("region switch, warm (back to 宜春市)", 1.0),
}

#: JavaScript (page): the settled test. ``arg.map``: a new, drawn map is required; ``arg.text``: text the
#: main area must contain.
SETTLED = """(arg) => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (document.querySelector('[data-testid="stSpinner"]')) return false;
    if (document.querySelector('[data-stale="true"]')) return false;
    if (arg.text) {
        const main = document.querySelector('[data-testid="stMain"]');
        if (!main || !main.innerText.includes(arg.text)) return false;
    }
    if (!arg.map) return true;
    const frames = [...document.querySelectorAll('iframe[title="streamlit_folium.st_folium"]')]
        .filter(f => f.offsetParent !== null);
    if (!frames.length || frames[0].tcOld) return false;
    const w = frames[0].contentWindow;
    if (!w || !w.L || !w.map) return false;
    let polygons = 0;
    w.map.eachLayer(l => { if (l instanceof w.L.Polygon && l.options.pane !== 'tcBackground') polygons++; });
    return polygons > 0;
}"""

#: JavaScript (page): mark the maps now shown as old, so a redraw is seen as a new iframe; note when the
#: script state changes from now on (the server's part of a step ends at its last ``notRunning``).
MARK_OLD = """() => {
    document.querySelectorAll('iframe[title="streamlit_folium.st_folium"]').forEach(f => { f.tcOld = true; });
    window.tcStates = [];
    if (window.tcObserver) window.tcObserver.disconnect();
    const app = document.querySelector('[data-testid="stApp"]');
    window.tcObserver = new MutationObserver(() => window.tcStates.push(
        [app.getAttribute('data-test-script-state'), performance.now()]));
    if (app) window.tcObserver.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    return performance.now();
}"""

#: JavaScript (page): when the script last finished (ms, the page's clock), or null.
SCRIPT_DONE = """() => {
    const done = (window.tcStates || []).filter(s => s[0] === 'notRunning');
    return done.length ? done[done.length - 1][1] : null;
}"""


@dataclass
class Correction:
    """The review-queue row the bench corrects and the township it gives it."""

    row: int
    town: str


def pick_correction() -> Correction:
    """The 宜春市 demo's first review-queue row and a township for it (its first candidate, else the first
    township of the list, not a special choice)."""
    from facilities import review
    from facilities.pipeline import analyse
    from towncover import settings

    analysis = analyse(next(settings.DEMO_DIR.glob(f"{REGION}_*_synthetic.xlsx")), REGION)
    queue = review.review_queue(analysis.placed, analysis.sheet, REGION, "zh")
    first = queue.iloc[0]
    candidates = [c for c in str(first["candidates"] or "").split(";") if c]
    towns = [code for code, _ in review.township_choices(REGION, "", "zh") if str(code).isdigit()]
    town = candidates[0] if candidates else towns[0]
    return Correction(int(first["row"]), str(town))


def _settle(page: Any, *, map_: bool = False, text: str = "") -> None:
    page.wait_for_timeout(50)  # the click's rerun request leaves the browser
    page.wait_for_function(SETTLED, arg={"map": map_, "text": text}, timeout=TIMEOUT_MS, polling=20)


def _timed(page: Any, act: Callable[[], None], *, map_: bool = False, text: str = "") -> tuple[float, float | None]:
    """Seconds from ``act`` (the click) to settled, and to the script's last run finished (None: not seen)."""
    marked = page.evaluate(MARK_OLD)
    start = time.perf_counter()
    act()
    _settle(page, map_=map_, text=text)
    total = time.perf_counter() - start
    done = page.evaluate(SCRIPT_DONE)
    return total, None if done is None else (done - marked) / 1000


def _select(page: Any, label: str, option: str, *, exact: bool = False) -> Callable[[], None]:
    """Open the selectbox ``label`` and type ``option``; return the click that chooses it (the timed part)."""
    box = page.locator('[data-testid="stSelectbox"]:visible').filter(has_text=label).first
    combo = box.get_by_role("combobox")
    combo.click()
    combo.fill(option)
    choice = (page.get_by_role("option", name=option, exact=True) if exact
              else page.get_by_role("option").filter(has_text=option)).first
    choice.wait_for(timeout=TIMEOUT_MS)
    return lambda: choice.click()


def one_run(browser: Any, correction: Correction, log: Path) -> dict[str, tuple[float, float | None]]:
    """A fresh server, a fresh page: every step once; per step, seconds to settled and to the script done."""
    from facilities import categories as _categories
    from tests.browser.helpers import streamlit_server
    from towncover.vocabulary import LEVELS

    out: dict[str, tuple[float, float | None]] = {}
    with streamlit_server(ROOT, log, env={"TOWNCOVER_REGION": REGION}) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        out["first_page"] = _timed(page, lambda: page.goto(url), text=REGION_NAME)
        page.get_by_role("tab", name="地图").click()
        _settle(page, map_=True)
        out["category"] = _timed(page, _select(page, "设施类别", _categories.label(CATEGORY_TO, "zh")), map_=True)
        out["level"] = _timed(page, _select(page, "统计层级", LEVELS[LEVEL_TO][0], exact=True), map_=True)
        radio = page.locator('[data-testid="stRadio"]').filter(has_text="地图着色").get_by_text("设施数")
        out["colouring"] = _timed(page, lambda: radio.click(), map_=True)
        page.get_by_role("tab", name="表格与核对").click()
        _settle(page)
        _select(page, "选择待核对行", f"{correction.row} ·")()
        _settle(page)
        _select(page, "归属乡镇", f"({correction.town})")()
        _settle(page)
        apply = page.get_by_role("button", name="应用更正")
        out["correction"] = _timed(page, lambda: apply.click(), text=f"已更正第 {correction.row} 行")
        page.get_by_role("tab", name="地图").click()
        _settle(page, map_=True)
        out["region_cold"] = _timed(page, _select(page, "选择区域", f"({COLD})"), map_=True, text=COLD_NAME)
        out["region_warm"] = _timed(page, _select(page, "选择区域", f"({REGION})"), map_=True, text=REGION_NAME)
        context.close()
    return out


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(runs: int = 3, out: Path | None = None, browser: Any = None) -> dict[str, Any]:
    """Time every step ``runs`` times (a fresh server each run); print and write the summary.

    ``browser``: a Playwright browser already running in this process (the browser tests' own: Playwright's
    sync API cannot be started twice in one thread); else one is launched here.
    """
    from playwright.sync_api import sync_playwright

    from bench.national import machine
    from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists() or shutil.which("fc-list") is None:
        print("browser felt: chromium or fonts missing (`make browser`); skipped")
        return {}
    correction = pick_correction()
    load_before = _load()
    times: dict[str, list[float]] = {step: [] for step in STEPS}
    script: dict[str, list[float]] = {step: [] for step in STEPS}
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        if browser is None:
            playwright = stack.enter_context(sync_playwright())
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            stack.callback(browser.close)
        for i in range(runs):
            for step, (seconds, server) in one_run(browser, correction, Path(folder) / f"streamlit_{i}.log").items():
                times[step].append(seconds)
                if server is not None:
                    script[step].append(server)
    result = {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "load_before": load_before, "load_after": _load(), "runs": runs, "region": REGION_NAME,
              "correction": {"row": correction.row, "town": correction.town},
              "steps": {step: {**summarise(values, STEPS[step][1]),
                               "script_done_s": round(statistics.median(script[step]), 2) if script[step] else None}
                        for step, values in times.items()}}
    print_table(result)
    target = out or RESULTS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return result


def summarise(values: list[float], goal: float) -> dict[str, Any]:
    """Median, range and every run of one step, and whether the median meets ``goal``."""
    return {"median_s": round(statistics.median(values), 2), "min_s": round(min(values), 2),
            "max_s": round(max(values), 2), "runs_s": [round(v, 2) for v in values], "goal_s": goal,
            "met": statistics.median(values) <= goal}


def print_table(result: dict[str, Any]) -> None:
    """The browser table: step, median (range), goal and whether it is met; machine, date and load."""
    m = result["machine"]
    print(f"\nBrowser, as the user feels it ({result['region']}, headless Chromium, click to settled page; "
          f"{result['runs']} runs, a fresh server each)")
    print(f"{m.get('cpu', '?')}, {m.get('cpus')} cores, {m.get('memory_gb', '?')} GB RAM; {result['date']}; "
          f"load average {result['load_before']} before, {result['load_after']} after")
    print("(script: median time from the click to the server's run finished; the rest is the browser drawing)")
    print(f"{'step':40} {'median':>8} {'range':>15} {'script':>7}  goal")
    for step, s in result["steps"].items():
        verdict = "met" if s["met"] else "not met"
        server = "—" if s.get("script_done_s") is None else f"{s['script_done_s']:.2f}s"
        print(f"{STEPS[step][0]:40} {s['median_s']:>7.2f}s {s['min_s']:>6.2f}–{s['max_s']:<6.2f}s {server:>7}"
              f"  ≤ {s['goal_s']:g} s: {verdict}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.browser_felt", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh servers, each timing every step (default 3)")
    parser.add_argument("--out", type=Path, default=None, help=f"JSON results (default {RESULTS.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    return run(args.runs, args.out)


if __name__ == "__main__":
    main()
