"""Build the labelled address evaluation set ``data/eval/addresses.csv`` from the gazetteer.

Addresses are written in the styles found in real 民政 facility sheets, for six regions: two plan
counties (安岳县 512021, 楚雄市 532301), counties outside the plan regions in Guangdong (顺德区
440606), Henan (平舆县 411723) and Zhejiang (义乌市 330782), and 中山市 (4420), a prefecture-level
city whose towns sit directly under it (county-level placeholder 442000).

The truth comes from the gazetteer itself (NBS 2023 codes), not from the geocoder:

- ``full``, ``county_town``, ``town_only``, ``street_office``, ``traditional``, ``fullwidth_spaces``,
  ``short_name_in_facility_name``: the township the text was written from (``matched``).
- ``short_name_in_facility_name``: ``ambiguous`` where the short name is also a village's name
  (楚雄市 新村镇 → 新村, and 新村 is a village of 鹿城镇).
- ``village_only``: a village (村/社区) name with no township; ``matched`` when that name belongs to one
  township of the region, else ``ambiguous`` (its township is left blank).
- ``pre_merger_name``: a 镇/乡 name that is *not* a current township of the region, written where the
  township goes. These names are stand-ins for pre-merger names, built from real township names of other
  counties and from current names with the 镇/乡 suffix swapped; they are not a list of the region's historical
  townships, but some are real old names of the county (安岳县's 2019 merger reform). The truth of those comes
  from the division history (``data/history``, derived from the NBS editions; never from the matcher): one
  successor (renamed, or merged whole) → ``matched`` to it; several (split) → ``ambiguous``. The others are
  ``unmatched``.
- ``other_county``: a full address in another county of the same province (``out_of_region``).

Usage: ``python data/build_eval.py`` (deterministic: seed 20240601).
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from geo.gazetteer import load_gazetteer  # noqa: E402
from geo.history import load_history  # noqa: E402

SEED = 20240601
OUT = ROOT / "data" / "eval" / "addresses.csv"
REGIONS = ("512021", "532301", "4420", "440606", "411723", "330782")
PER_STYLE = 60
STYLES = ("full", "county_town", "town_only", "village_only", "short_name_in_facility_name", "street_office",
          "traditional", "fullwidth_spaces", "pre_merger_name", "other_county")
COLUMNS = ("region", "style", "name", "address", "truth_township_code", "truth_village_code", "truth_status")

_ROADS = ("人民路", "解放路", "建设路", "中山路", "公园路", "正街", "老街", "滨河路", "文化路", "育才路", "环城路", "东大街")
_FACILITIES = ("敬老院", "养老服务中心", "日间照料中心", "颐养院", "社会福利院", "殡仪服务站", "老年活动中心", "互助幸福院")
_VILLAGE_SUFFIX = re.compile(r"(村民委员会|村委会|社区居民委员会|社区居委会|居民委员会|居委会)$")
_TOWN_SUFFIX = re.compile(r"(街道办事处|街道|民族乡|镇|乡)$")
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划"}


def village_form(name: str) -> str:
    """村/社区 form of a committee name: 山林村村民委员会 → 山林村, 顶新社区居民委员会 → 顶新社区."""
    stem = _VILLAGE_SUFFIX.sub("", name)
    if name.endswith(("社区居民委员会", "社区居委会")) and not stem.endswith("社区"):
        return stem + "社区"
    if name.endswith(("居民委员会", "居委会")) and not stem.endswith("社区"):
        return stem + "社区"
    if name.endswith(("村民委员会", "村委会")) and not stem.endswith("村"):
        return stem + "村"
    return stem


def town_stem(name: str) -> str:
    """Township name without 镇/乡/街道 (石羊镇 → 石羊)."""
    return _TOWN_SUFFIX.sub("", name)


def history_truth(counties: list[str], old: str) -> tuple[str, str]:
    """(township, status) of an old township name by the division history of the region's counties: its one
    successor (``matched``), several (``ambiguous``), or none known (``unmatched``)."""
    history = load_history()
    found = [s.township_code for c in counties for s in history.successors(c, old)]
    if not found:
        return "", "unmatched"
    return (found[0], "matched") if len(found) == 1 else ("", "ambiguous")


def _fullwidth(text: str, rng: random.Random) -> str:
    """Full-width digits/letters, a full-width space or two and ASCII spaces between parts."""
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    chars = list(wide)
    for _ in range(2):
        pos = rng.randrange(1, len(chars))
        chars.insert(pos, rng.choice(["\u3000", " ", "  "]))
    return "".join(chars) + "，"


def _prefix(gaz, code: str) -> tuple[str, str, str]:
    """Province, city and county names of a county code (city placeholders blank)."""
    prov = gaz.name_of(code[:2])
    city = gaz.name_of(code[:4])
    county = gaz.name_of(code[:6])
    city = "" if city in _PLACEHOLDERS else city
    county = "" if county in _PLACEHOLDERS or county == city else county
    return prov, city, county


def build(per_style: int = PER_STYLE, seed: int = SEED) -> pd.DataFrame:
    """Build the evaluation frame (columns :data:`COLUMNS`), deterministically."""
    import opencc

    to_trad = opencc.OpenCC("s2t")
    gaz = load_gazetteer()
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for region in REGIONS:
        towns = gaz.townships_in(region, include_special=False).reset_index(drop=True)
        villages = gaz.villages_in(region)
        villages = villages[villages["township_code"].isin(towns["code"])].reset_index(drop=True)
        villages["form"] = villages["name"].map(village_form)
        n_towns_per_form = villages.groupby("form")["township_code"].nunique()
        town_names = set(towns["name"])
        town_stems = {town_stem(n) for n in town_names}
        village_stems = {re.sub(r"(村|社区)$", "", f) for f in villages["form"]}

        def add(style: str, name: str, address: str, town: str = "", village: str = "",
                status: str = "matched", region: str = region) -> None:
            rows.append({"region": region, "style": style, "name": name, "address": address,
                         "truth_township_code": town, "truth_village_code": village, "truth_status": status})

        def pick_village(villages: pd.DataFrame = villages) -> pd.Series:
            return villages.iloc[rng.randrange(len(villages))]

        def road() -> str:
            return f"{rng.choice(_ROADS)}{rng.randint(1, 300)}号"

        def facility() -> str:
            return rng.choice(_FACILITIES)

        prov, city, county = _prefix(gaz, towns["code"].iloc[0])
        county_label = county or city
        for _ in range(per_style):
            v = pick_village()
            tname = gaz.name_of(v["township_code"])
            add("full", f"{tname}{facility()}",
                f"{prov}{city}{county}{tname}{v['form']}{rng.randint(1, 12)}组",
                v["township_code"], v["code"])
            t = towns.iloc[rng.randrange(len(towns))]
            add("county_town", f"{county_label}{facility()}", f"{county_label}{t['name']}{road()}", t["code"])
            t = towns.iloc[rng.randrange(len(towns))]
            add("town_only", facility(), f"{t['name']}{road()}", t["code"])
            v = pick_village()
            tname = gaz.name_of(v["township_code"])
            trad = to_trad.convert(f"{prov}{city}{county}{tname}{v['form']}{rng.randint(1, 9)}组")
            add("traditional", to_trad.convert(f"{tname}{facility()}"), trad, v["township_code"], v["code"])
            v = pick_village()
            tname = gaz.name_of(v["township_code"])
            add("fullwidth_spaces", facility(), _fullwidth(f"{county_label}{tname}{v['form']}{rng.randint(1, 30)}号", rng),
                v["township_code"], v["code"])

        # Village only: half unique names, half shared ones (truth: ambiguous) where the region has them.
        forms = n_towns_per_form[[len(f) >= 3 for f in n_towns_per_form.index]]
        unique = sorted(forms[forms == 1].index)
        shared = sorted(forms[forms > 1].index)
        for i in range(per_style):
            if i % 2 and shared:
                form = rng.choice(shared)
                add("village_only", facility(), f"{form}{rng.randint(1, 12)}组", "", "", "ambiguous")
            else:
                form = rng.choice(unique)
                v = villages[villages["form"] == form].iloc[0]
                add("village_only", facility(), f"{form}{rng.randint(1, 12)}组", v["township_code"], v["code"])

        # Short township name inside the facility name, address empty or county only.
        usable = towns[[len(town_stem(n)) >= 2 and town_stem(n) != n for n in towns["name"]]]
        usable = usable[[sum(town_stem(m) == town_stem(n) for m in town_names) == 1 for n in usable["name"]]]
        forms_here = set(villages["form"])
        for i in range(per_style):
            t = usable.iloc[rng.randrange(len(usable))]
            address = "" if i % 2 else county_label
            stem = town_stem(t["name"])
            if stem in forms_here:  # 新村镇 → 新村, also a village's name: the text cannot tell them apart
                add("short_name_in_facility_name", f"{county_label}{stem}{facility()}", address, "", "", "ambiguous")
            else:
                add("short_name_in_facility_name", f"{county_label}{stem}{facility()}", address, t["code"])

        streets = towns[towns["kind"] == "street"]
        if len(streets):
            for _ in range(per_style):
                t = streets.iloc[rng.randrange(len(streets))]
                office = t["name"] + "办事处" if t["name"].endswith("街道") else t["name"]
                add("street_office", f"{t['name']}{facility()}", f"{county_label}{office}{road()}", t["code"])

        # Names that are not current townships here (stand-ins for pre-merger names).
        elsewhere = gaz.townships[~gaz.townships["county_code"].str.startswith(region[:4])]
        stems = sorted({town_stem(n) for n in elsewhere["name"].sample(3000, random_state=seed)
                        if len(town_stem(n)) == 2})
        stems = [s for s in stems if s not in town_stems and s not in village_stems
                 and not any(s in n for n in town_names) and not any(s in f for f in villages["form"])]
        swapped = [town_stem(n) + ("乡" if n.endswith("镇") else "镇") for n in towns["name"]
                   if n.endswith(("镇", "乡"))]
        swapped = [s for s in swapped if s not in town_names]
        counties = gaz.counties_in(region)["code"].tolist()
        for i in range(per_style):
            old = rng.choice(swapped) if i % 3 == 0 and swapped else rng.choice(stems) + rng.choice("乡镇")
            town, status = history_truth(counties, old)
            add("pre_merger_name", f"{old}{facility()}", f"{county_label}{old}{rng.randint(1, 12)}组", town, "", status)

        # Another county of the same province (out of region).
        others = gaz.counties[gaz.counties["code"].str.startswith(region[:2])
                              & ~gaz.counties["code"].str.startswith(region)]
        others = others[~others["name"].isin(_PLACEHOLDERS)]
        for _ in range(per_style):
            c = others.iloc[rng.randrange(len(others))]
            ot = gaz.townships_in(c["code"], include_special=False)
            if ot.empty:
                continue
            t = ot.iloc[rng.randrange(len(ot))]
            p, ci, co = _prefix(gaz, c["code"])
            lead = rng.choice([f"{p}{ci}{co}", f"{ci}{co}", co or ci])
            add("other_county", f"{t['name']}{facility()}", f"{lead}{t['name']}{road()}", "", "", "out_of_region")
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame


def main() -> None:
    """Write ``data/eval/addresses.csv`` and print counts per region and style."""
    frame = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT, index=False, encoding="utf-8")
    print(f"{len(frame)} rows → {OUT.relative_to(ROOT)}")
    print(frame.pivot_table(index="style", columns="region", values="address", aggfunc="count", fill_value=0))


if __name__ == "__main__":
    main()
