"""``python -m bench`` (``make bench``): the national-scale benchmark; see :mod:`bench.national`."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.national import SCALES, run


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=list(SCALES), default="full",
                        help="full: 41,352 cells, 1,000,000 rows, 200,000 points (default); smoke: 2,000 rows")
    parser.add_argument("--out", default=None, help="JSON results (default bench/results/national.json)")
    parser.add_argument("--no-browser", action="store_true", help="skip the headless Chromium render timing")
    args = parser.parse_args(argv)
    result = run(args.scale, args.out, browser=False if args.no_browser else None)
    if args.scale != "smoke":  # cold open of a county and a province (bench/cold_open.py), new processes
        from bench import cold_open

        result["cold_open"] = cold_open.run(Path(args.out or "bench/results/national.json").with_name("cold_open.json"))
        # Whole commands as the user runs them, beside whole-process cpca, and the 怀化市 report (bench/felt.py).
        from bench import felt

        result["felt"] = felt.run()
        # The app on 宜春市 in headless Chromium, click to settled page (bench/browser_felt.py).
        if not args.no_browser:
            from bench import browser_felt

            result["browser_felt"] = browser_felt.run()
    return result


if __name__ == "__main__":
    main()
