"""Build ``data/eval/field_addresses.csv``: addresses written the way field sheets write them (issue 15).

Six counties no other file here uses: 科尔沁左翼中旗 (150521, 苏木/嘎查), 莎车县 (653125), 儋州市 (4604, towns
directly under the city), 黔西市 (520581, eleven ethnic townships), and two Sichuan counties after the 2019
merger reform, 盐亭县 (510723) and 大邑县 (510129). Same columns as ``data/eval/addresses.csv`` plus
``township`` (a 所属乡镇 column, filled only in its style). The truth comes from the 2023 gazetteer and the
division history derived from the NBS editions (``data/history``), never from the matcher:

- ``road_after_township``: a road named after a township (儋州市中和西路376号): a street of the county seat, not the
  township — ``unmatched`` (county only).
- ``ethnic_short_name``: an ethnic township by its leading name + 乡/镇 (金坡乡 for 金坡苗族彝族满族乡), with or
  without a village: that township, where the short name is one township's in the county.
- ``renamed_township``: a name the history table calls ``renamed`` with the same code or stem (石门乡 → 石门镇,
  协代苏木乡 → 协代苏木): the 2023 township.
- ``merged_township``: "原X乡Y村" where Y, a village of X in X's last edition, names exactly one 2023 village of
  the county (truth: that village and its township); "X乡敬老院" where the history gives X one successor with at
  least two votes (``matched``) or several (``ambiguous``).
- ``split_evidence``: the name says the township, the address only a village several townships share
  (新界埠镇社工站 / 湾溪村5组): that township and its village.
- ``township_column``: the 所属乡镇 column holds a short (ethnic short name, bare stem) or old (renamed) name.
- ``institution_words``: 中心小学, 便民服务中心, 卫生院 after a township: that township, no village.

Usage: ``python data/build_eval_field.py`` (deterministic: seed 20261206).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from geo.gazetteer import load_gazetteer  # noqa: E402
from geo.history import load_history, town_stem, village_stem  # noqa: E402

SEED = 20261206
OUT = ROOT / "data" / "eval" / "field_addresses.csv"
REGIONS = ("150521", "653125", "4604", "520581", "510723", "510129")
PER_STYLE = 30
STYLES = ("road_after_township", "ethnic_short_name", "renamed_township", "merged_township", "split_evidence",
          "township_column", "institution_words")
COLUMNS = ("region", "style", "name", "address", "township", "truth_township_code", "truth_village_code",
           "truth_status")

_ROAD_ENDS = ("西路", "东路", "南路", "北路", "大道", "大街", "街", "路", "巷")
_INSTITUTIONS = ("中心小学东侧100米", "便民服务中心二楼", "卫生院旁", "中心幼儿园对面", "便民服务中心")
_FACILITIES = ("敬老院", "养老服务中心", "日间照料中心", "互助幸福院", "社会工作服务站", "老年活动中心")
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
_VILLAGE_WORDS = ("村民委员会", "村委会", "社区居民委员会", "社区居委会", "居民委员会", "居委会")


def village_written(name: str) -> str:
    """A committee name as sheets write it: 山林村村民委员会 → 山林村, 顶新社区居民委员会 → 顶新社区, 巴彦嘎查 kept."""
    for word in _VILLAGE_WORDS:
        if name.endswith(word):
            stem = name[: -len(word)]
            tail = "社区" if "居" in word else "村"
            return stem if stem.endswith(("村", "社区", "嘎查")) else stem + tail
    return name


def county_label(gaz, region: str) -> str:
    """The county's own name (儋州市 for 4604)."""
    name = gaz.name_of(region)
    return "" if name in _PLACEHOLDERS else name


class _Writer:
    """Collects rows of one region and draws from a seeded generator."""

    def __init__(self, region: str, rng: random.Random) -> None:
        self.region, self.rng, self.rows = region, rng, []
        self.villages = pd.DataFrame()

    def village_of(self, town_code: str) -> pd.Series | None:
        """A random village of a township (None if it has none)."""
        here = self.villages[self.villages["township_code"] == town_code]
        return self.pick(here) if len(here) else None

    def add(self, style: str, name: str, address: str, town: str = "", village: str = "", status: str = "matched",
            township: str = "") -> None:
        self.rows.append({"region": self.region, "style": style, "name": name, "address": address,
                          "township": township, "truth_township_code": town, "truth_village_code": village,
                          "truth_status": status})

    def pick(self, frame: pd.DataFrame) -> pd.Series:
        return frame.iloc[self.rng.randrange(len(frame))]

    def facility(self) -> str:
        return self.rng.choice(_FACILITIES)

    def number(self, top: int = 12) -> int:
        return self.rng.randint(1, top)


def _unique_stems(towns: pd.DataFrame, village_stems: set[str]) -> pd.DataFrame:
    """Townships whose stem no other township of the county shares and no village is named by."""
    stems = towns["name"].map(town_stem)
    ok = ~stems.duplicated(keep=False) & (stems.str.len() >= 2) & ~stems.isin(village_stems)
    return towns[ok].assign(stem=stems[ok])


def _short_name(name: str) -> str:
    """An ethnic township's leading name + its kind: 金坡苗族彝族满族乡 → 金坡乡."""
    return town_stem(name) + name[-1]


def build(per_style: int = PER_STYLE, seed: int = SEED) -> pd.DataFrame:
    """Build the field-style evaluation frame (columns :data:`COLUMNS`), deterministically."""
    gaz, hist = load_gazetteer(), load_history()
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for region in REGIONS:
        w = _Writer(region, rng)
        county = county_label(gaz, region)
        towns = gaz.townships_in(region, include_special=False)
        villages = gaz.villages_in(region)
        villages = villages[villages["township_code"].isin(towns["code"])].assign(
            form=lambda v: v["name"].map(village_written), stem=lambda v: v["name"].map(village_stem))
        uniq = _unique_stems(towns, set(villages["stem"]))
        # An ethnic short name keeps 乡/镇, so a village of the same stem does not make it ambiguous.
        ethnic = _unique_stems(towns, set())
        ethnic = ethnic[ethnic["name"].str.contains("族") & ethnic["name"].str.endswith(("乡", "镇"))]
        county_codes = [c for c in gaz.counties_in(region)["code"]]
        history = hist.townships[hist.townships["county_code"].isin(county_codes)]
        renamed = history[(history["kind"] == "renamed") & ((history["old_code"] == history["township_code"])
                          | (history["old_name"].map(town_stem) == history["township_code"].map(
                              lambda c: town_stem(gaz.name_of(c)))))]

        w.villages = villages
        for _ in range(per_style):
            t = w.pick(uniq)
            w.add("road_after_township", f"{county}{w.facility()}",
                  f"{county}{t['stem']}{w.rng.choice(_ROAD_ENDS)}{w.number(400)}号", status="unmatched")
            t = w.pick(towns)
            w.add("institution_words", f"{t['name']}{w.facility()}", f"{county}{t['name']}{w.rng.choice(_INSTITUTIONS)}",
                  t["code"])
        _ethnic_rows(w, ethnic, county, per_style)
        _renamed_rows(w, renamed, county, per_style)
        _merged_rows(w, hist, history, villages, county, per_style)
        _split_rows(w, villages, uniq, county, per_style)
        _column_rows(w, uniq, ethnic, renamed, county, per_style)
        rows.extend(w.rows)
    return pd.DataFrame(rows, columns=list(COLUMNS)).drop_duplicates(ignore_index=True)


def _ethnic_rows(w: _Writer, ethnic: pd.DataFrame, county: str, n: int) -> None:
    for i in range(n if len(ethnic) else 0):
        t = w.pick(ethnic)
        short = _short_name(t["name"])
        v = w.village_of(t["code"])
        if i % 2 and v is not None:
            w.add("ethnic_short_name", w.facility(), f"{county}{short}{v['form']}{w.number()}组", t["code"], v["code"])
        else:
            w.add("ethnic_short_name", f"{short}{w.facility()}", county, t["code"])


def _renamed_rows(w: _Writer, renamed: pd.DataFrame, county: str, n: int) -> None:
    for i in range(n if len(renamed) else 0):
        r = w.pick(renamed)
        v = w.village_of(r["township_code"])
        if i % 2 and v is not None:
            w.add("renamed_township", w.facility(), f"{county}{r['old_name']}{v['form']}{w.number()}组",
                  r["township_code"], v["code"])
        else:
            w.add("renamed_township", f"{r['old_name']}{w.facility()}", f"{county}{r['old_name']}人民路{w.number(300)}号",
                  r["township_code"])


def _merged_rows(w: _Writer, hist, history: pd.DataFrame, villages: pd.DataFrame, county: str, n: int) -> None:
    merged = history[history["kind"].isin(["merged", "split"])]
    if merged.empty:
        return
    # 原X乡Y村: Y a village of X in X's last edition whose stem names one 2023 village of the county.
    olds = hist.villages[hist.villages["old_township"].isin(merged["old_name"])
                         & hist.villages["county_code"].isin(merged["county_code"])]
    olds = olds.assign(stem=olds["village"].map(village_stem))
    counts = villages["stem"].value_counts()
    olds = olds[olds["stem"].map(counts).eq(1)]
    by_stem = villages.set_index("stem")
    per_name = merged.groupby("old_name").agg(n=("township_code", "size"), code=("township_code", "first"),
                                              evidence=("evidence", "sum"))
    for i in range(n):
        if i % 2 and len(olds):
            o = w.pick(olds)
            now = by_stem.loc[o["stem"]]
            w.add("merged_township", w.facility(), f"{county}原{o['old_township']}{village_written(o['village'])}"
                  f"{w.number()}组", now["township_code"], now["code"])
        else:
            name = w.rng.choice(sorted(per_name.index))
            p = per_name.loc[name]
            if p["n"] == 1 and p["evidence"] >= 2:
                w.add("merged_township", f"{name}敬老院", county, p["code"])
            elif p["n"] > 1:
                w.add("merged_township", f"{name}敬老院", county, status="ambiguous")


def _split_rows(w: _Writer, villages: pd.DataFrame, uniq: pd.DataFrame, county: str, n: int) -> None:
    per_stem = villages.groupby("stem")["township_code"].transform("nunique")
    shared = villages[(per_stem > 1) & (villages["stem"].str.len() >= 2)]
    shared = shared[shared.groupby(["township_code", "stem"])["code"].transform("size") == 1]
    for i in range(n if len(shared) else 0):
        v = w.pick(shared)
        town = load_gazetteer().name_of(v["township_code"])
        stem = uniq.set_index("code")["stem"].get(v["township_code"])
        said = stem if i % 2 and stem else town
        w.add("split_evidence", f"{county}{said}{w.facility()}", f"{v['form']}{w.number()}组", v["township_code"],
              v["code"])


def _column_rows(w: _Writer, uniq: pd.DataFrame, ethnic: pd.DataFrame, renamed: pd.DataFrame, county: str,
                 n: int) -> None:
    """所属乡镇 holds the ethnic short name, an old (renamed) name or the bare stem; the address a village."""
    sources = [(_short_name(t["name"]), t["code"]) for _, t in ethnic.iterrows()]
    sources += [(r["old_name"], r["township_code"]) for _, r in renamed.iterrows()]
    sources += [(t["stem"], t["code"]) for _, t in uniq.iterrows()]
    for _ in range(n):
        written, code = w.rng.choice(sources)
        v = w.village_of(code)
        if v is None:
            continue
        w.add("township_column", w.facility(), f"{v['form']}{w.number()}组", code, v["code"], township=written)


def main() -> None:
    """Write ``data/eval/field_addresses.csv`` and print counts per region and style."""
    frame = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT, index=False, encoding="utf-8")
    print(f"{len(frame)} rows → {OUT.relative_to(ROOT)}")
    print(frame.pivot_table(index="style", columns="region", values="address", aggfunc="count", fill_value=0))


if __name__ == "__main__":
    main()
