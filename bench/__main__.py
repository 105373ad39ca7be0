"""``python -m bench`` (``make bench``): the national-scale benchmark; see :mod:`bench.national`."""

from __future__ import annotations

import argparse

from bench.national import SCALES, run


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=list(SCALES), default="full",
                        help="full: 41,352 cells, 1,000,000 rows, 200,000 points (default); smoke: 2,000 rows")
    parser.add_argument("--out", default=None, help="JSON results (default bench/results/national.json)")
    parser.add_argument("--no-browser", action="store_true", help="skip the headless Chromium render timing")
    args = parser.parse_args(argv)
    return run(args.scale, args.out, browser=False if args.no_browser else None)


if __name__ == "__main__":
    main()
