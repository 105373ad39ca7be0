"""Speed as the user feels it: whole commands, each a fresh process reading a CSV and writing its result.

``towncover geocode SHEET -r REGION -o OUT.csv`` beside a whole-process cpca doing the same job the way a
cpca user would (read the CSV, ``cpca.transform`` the address column, write a CSV), alternated, several
runs each; wall time, CPU time and peak memory of each process (``os.wait4``). The sheets are synthetic
(bench/data.py: real division names in real sheet styles, repeated facility names): a 200,000-row province
sheet (江西) and a 2,000-row county sheet (进贤县).

Also the whole 怀化市 evaluation document as a PDF, one command (issue 17: under 30 s).

Usage: ``python -m bench.felt`` (also run by ``make bench``); ``--runs N`` (default 5), ``--quick`` for one run
on smaller sheets (the test of this module).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "felt.json"
PROVINCE, COUNTY = "36", "360124"  # 江西省, 进贤县

_CPCA_SCRIPT = """
import sys
import cpca
import pandas as pd
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
cpca.transform(frame["地址"].tolist()).to_csv(sys.argv[2], index=False, encoding="utf-8-sig")
"""


@dataclass
class Run:
    """One whole process."""

    tool: str
    sheet: str
    wall_s: float
    cpu_s: float
    peak_mb: float
    exit_code: int


def make_sheets(folder: Path, province_rows: int, county_rows: int) -> dict[str, tuple[Path, str]]:
    """Write the province and county CSV sheets; return name → (path, region code)."""
    import pandas as pd

    from bench.data import generate

    paths = _sheets(folder)
    rows = generate(province_rows, 0, provinces=[PROVINCE]).rows
    sheet = rows.rename(columns={"name": "机构名称", "address": "地址"})[["机构名称", "地址", "类型"]]
    sheet.to_csv(paths["province"][0], index=False, encoding="utf-8-sig")
    in_county = sheet[rows["truth_county"] == COUNTY]
    # The county's share of a small province sheet can be short of the rows wanted: its rows repeat.
    repeats = -(-county_rows // max(len(in_county), 1))
    county = pd.concat([in_county] * repeats).head(county_rows)
    county.to_csv(paths["county"][0], index=False, encoding="utf-8-sig")
    return paths


def _measure(command: list[str], tool: str, sheet: str) -> Run:
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(tool, sheet, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


def commands(sheet: Path, region: str, out: Path) -> dict[str, list[str]]:
    """Each tool's whole command on one sheet."""
    return {
        "towncover": [sys.executable, "-m", "towncover.cli", "geocode", str(sheet), "-r", region, "-o",
                      str(out / "towncover.csv")],
        "cpca": [sys.executable, "-c", _CPCA_SCRIPT, str(sheet), str(out / "cpca.csv")],
    }


def run(runs: int = 5, *, province_rows: int = 200_000, county_rows: int = 2_000,
        out: Path | None = RESULTS) -> dict:
    """Time both tools on both sheets, alternating, and print the table.

    Returns
    -------
    dict
        ``runs`` (every process) and ``summary`` (per sheet and tool: median and range of wall time,
        median CPU and peak memory, and towncover's speed as a multiple of cpca's).
    """
    with tempfile.TemporaryDirectory(prefix="towncover-felt-") as folder:
        # Sheets are made, and the commands started, by fresh small processes: Linux keeps a process's
        # memory high-water mark across fork and exec, so a child of this (large) process would report
        # this process's peak as its own.
        subprocess.run([sys.executable, "-m", "bench.felt", "--sheets", folder, str(province_rows),
                        str(county_rows)], check=True, cwd=ROOT)
        measured = subprocess.run([sys.executable, "-m", "bench.felt", "--measure", folder, str(runs)],
                                  check=True, cwd=ROOT, capture_output=True, text=True).stdout
        done = [Run(**r) for r in json.loads(measured)]
        report, done = done[-1], done[:-1]
    summary = summarise(done)
    _print(summary, runs)
    print(f"  report    怀化市 evaluation document (.pdf), whole command: {report.wall_s:.1f} s "
          f"(cpu {report.cpu_s:.1f} s, peak {report.peak_mb:.0f} MB){'  FAILED' if report.exit_code else ''}")
    result = {"machine": _machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "runs": [asdict(r) for r in done], "summary": summary, "report": asdict(report)}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return result


def report_run(out: Path) -> Run:
    """The whole 怀化市 evaluation document (13 counties, 204 townships) as one command, PDF (goal < 30 s)."""
    sheet = ROOT / "data" / "demo" / "4312_怀化市_synthetic.xlsx"
    command = [sys.executable, "-m", "towncover.cli", "coverage", str(sheet), "-r", "4312", "-o",
               str(out / "怀化市_评估.pdf")]
    return _measure(command, "towncover coverage -o .pdf", "4312 怀化市")


def _sheets(folder: Path) -> dict[str, tuple[Path, str]]:
    return {"province": (folder / f"{PROVINCE}_province_synthetic.csv", PROVINCE),
            "county": (folder / f"{COUNTY}_county_synthetic.csv", COUNTY)}


def measure_all(folder: Path, runs: int) -> list[Run]:
    """Every command, alternated, then the report; run in a small process of its own (see :func:`run`)."""
    done: list[Run] = []
    for name, (path, region) in _sheets(folder).items():
        cmds = commands(path, region, folder)
        for _ in range(runs):
            for tool, command in cmds.items():
                done.append(_measure(command, tool, name))
    return done + [report_run(folder)]


def summarise(done: list[Run]) -> dict[str, dict]:
    """Median and range per sheet and tool; towncover's speed relative to cpca (> 1: faster)."""
    summary: dict[str, dict] = {}
    for sheet in dict.fromkeys(r.sheet for r in done):
        per: dict[str, dict] = {}
        for tool in ("towncover", "cpca"):
            mine = [r for r in done if r.sheet == sheet and r.tool == tool]
            walls = [r.wall_s for r in mine]
            per[tool] = {"wall_median_s": statistics.median(walls), "wall_min_s": min(walls),
                         "wall_max_s": max(walls), "cpu_median_s": statistics.median(r.cpu_s for r in mine),
                         "peak_mb": max(r.peak_mb for r in mine), "failed": sum(r.exit_code != 0 for r in mine)}
        per["speed_vs_cpca"] = per["cpca"]["wall_median_s"] / per["towncover"]["wall_median_s"]
        summary[sheet] = per
    return summary


def _machine() -> str:
    import platform

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _print(summary: dict[str, dict], runs: int) -> None:
    print(f"whole commands, {runs} runs each, alternated (median [min–max] wall; median CPU; peak memory)")
    for sheet, per in summary.items():
        for tool in ("towncover", "cpca"):
            p = per[tool]
            print(f"  {sheet:9} {tool:10} {p['wall_median_s']:7.2f} s [{p['wall_min_s']:.2f}–{p['wall_max_s']:.2f}]"
                  f"  cpu {p['cpu_median_s']:6.2f} s  peak {p['peak_mb']:6.0f} MB"
                  + (f"  FAILED {p['failed']}" if p["failed"] else ""))
        print(f"  {sheet:9} towncover speed = {per['speed_vs_cpca']:.2f}× cpca")


def main(argv: list[str] | None = None) -> dict:
    """Command line: ``python -m bench.felt [--runs N] [--quick]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.felt", description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one run on 5,000 / 500 rows, no results file")
    parser.add_argument("--sheets", nargs=3, metavar=("FOLDER", "PROVINCE_ROWS", "COUNTY_ROWS"), help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, metavar=("FOLDER", "RUNS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sheets:
        make_sheets(Path(args.sheets[0]), int(args.sheets[1]), int(args.sheets[2]))
        return {}
    if args.measure:
        print(json.dumps([asdict(r) for r in measure_all(Path(args.measure[0]), int(args.measure[1]))]))
        return {}
    if args.quick:
        return run(1, province_rows=5_000, county_rows=500, out=None)
    return run(args.runs)


if __name__ == "__main__":
    main()
