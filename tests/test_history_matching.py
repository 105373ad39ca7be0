"""The division history in the matcher (geo.old_towns): renamed, merged and split townships, 原X乡Y村, the 所属乡镇
column and 乡/镇 swaps. Every row is answered by the array path and by the one-row path alike."""

from __future__ import annotations

import pandas as pd

from geo.address import normalise_many, parse_normalised, quick_answers, region_index
from geo.geocoder import _row_answer, geocode
from geo.history import successors

DAYI, YANTING, ANYUE = "510129", "510723", "512021"  # 大邑县, 盐亭县, 安岳县
SOURCE = "据 2017–2023 年统计用区划代码的区划沿革"
SOURCE_EN = "from the division history of the NBS editions 2017–2023"


def _answers(region: str, rows: list[tuple[str, str]], left_to_one_row: tuple[int, ...] = ()
             ) -> list[tuple[str, str, str, str, str]]:
    """(status, township, village, candidates, note) per (address, name) row. The array path must answer every
    row itself (but those it leaves to the one-row path by design), with the one-row path's answer."""
    idx = region_index(region)
    texts, names = normalise_many([a for a, _ in rows]), normalise_many([n for _, n in rows])
    batch = quick_answers(idx, texts, names)
    out = []
    for i, (text, name) in enumerate(zip(texts, names, strict=True)):
        one = _row_answer(parse_normalised(idx, text, name), "")
        assert batch.row(idx, i) == (None if i in left_to_one_row else one), rows[i]
        out.append((one[0], one[2], one[4], one[8], one[7]))
    return out


def test_renamed_township_by_its_old_name() -> None:
    # 出江镇 is 䢺江镇 (510129106) since 2020, the same code; 鹤鸣乡 became 鹤鸣镇 (撤乡设镇); 晋原镇街道 → 晋原街道.
    renamed = ("原名出江镇,2023 年为䢺江镇(510129106);" + SOURCE
               + f" / formerly '出江镇', 510129106 in 2023 (renamed; {SOURCE_EN})")
    assert _answers(DAYI, [("大邑县出江镇人民路34号", ""), ("大邑县出江镇三元场村1组", "")]) == [
        ("matched", "510129106", "", "", renamed), ("matched", "510129106", "510129106220", "", renamed)]
    assert _answers(DAYI, [("大邑县晋原镇街道友谊村9组", "")]) == [
        ("matched", "510129001", "510129001255", "",
         "原名晋原镇街道,2023 年为晋原街道(510129001);" + SOURCE
         + f" / formerly '晋原镇街道', 510129001 in 2023 (renamed; {SOURCE_EN})")]
    # Texts are folded (乾 → 干): the history's 乾龙乡 is found all the same.
    assert _answers(ANYUE, [("安岳县乾龙乡", "")])[0][:2] == ("matched", "512021132")


def test_merged_township_with_one_successor_is_placed_with_a_note() -> None:
    # 韩场镇 was abolished in 2019; every village of it that survives is in 安仁镇 (川府民政〔2019〕24号).
    assert successors(DAYI, "韩场镇")[0].township_code == "510129105"
    merged = ("韩场镇已撤并,其村(社区)均并入安仁镇(510129105);" + SOURCE
              + f" / '韩场镇' was abolished; all its surviving villages went to 510129105 ({SOURCE_EN})")
    assert _answers(DAYI, [("大邑县韩场镇", ""), ("大邑县", "韩场镇敬老院")]) == [
        ("matched", "510129105", "", "", merged), ("matched", "510129105", "", "", merged)]


def test_merged_township_beside_a_village_elsewhere_is_ambiguous() -> None:
    # 两河口社区 is 鹤鸣镇's (510129119), not 安仁镇's: history and village disagree, nothing is placed.
    assert _answers(DAYI, [("大邑县韩场镇敬老院旁两河口社区", "")]) == [
        ("ambiguous", "", "", "510129105;510129119",
         "韩场镇据区划沿革并入安仁镇(510129105),但村名“两河口社区”属于鹤鸣镇(510129119);请核实 / "
         "'韩场镇' went to 510129105 by the division history, but the village '两河口社区' lies in 510129119: "
         "please check")]


def test_split_township_is_ambiguous_with_its_candidates() -> None:
    # 董场镇 went half to 沙渠街道, half to 安仁镇 (川府民政〔2019〕24号 items 107–109).
    split = ("董场镇已撤并,分入 2 个乡镇:沙渠街道(510129002,50%)、安仁镇(510129105,50%);请核实;" + SOURCE
             + " / '董场镇' was abolished and split between 2 townships: 510129002, 510129105; please check "
             f"({SOURCE_EN})")
    assert _answers(DAYI, [("大邑县", "董场镇敬老院"), ("大邑县董场镇", "")]) == [
        ("ambiguous", "", "", "510129002;510129105", split), ("ambiguous", "", "", "510129002;510129105", split)]
    # A village of one successor settles it; so does the facility name's township (the note says history was used).
    assert _answers(DAYI, [("大邑县蔡场镇敬老院旁石泉社区", ""), ("大邑县董场镇", "安仁镇敬老院")]) == [
        ("matched", "510129002", "510129002009", "",
         "蔡场镇已撤并,分入沙渠街道(510129002)、安仁镇(510129105);村名“石泉社区”属于其中的沙渠街道(510129002);"
         + SOURCE + " / '蔡场镇' was abolished and split between 510129002, 510129105; the village '石泉社区' named "
         f"lies in 510129002 ({SOURCE_EN})"),
        ("matched", "510129105", "", "",
         "地址与名称(乡镇据区划沿革)的候选乡镇共同指向安仁镇(510129105) / the address and name (townships from the "
         "division history) together give township 510129105 (the one their candidates share)")]


def test_village_of_an_abolished_township_is_followed_to_its_township() -> None:
    # 绵府批复〔2019〕247号: most of 毛公乡 → 高渠镇, but its 东永村 → 云溪镇 (510723100).
    assert _answers(YANTING, [("盐亭县原毛公乡东永村", ""), ("盐亭县毛公乡东永村3组", "")]) == [
        ("matched", "510723100", "510723100237", "",
         f"毛公乡已撤并,其东永村 2023 年属于云溪镇(510723100);{SOURCE} / '毛公乡' was abolished; its village "
         f"'东永村' is in 510723100 in 2023 ({SOURCE_EN})")] * 2
    # 董场镇 was split, but its 白马村 went to 安仁镇: the village decides.
    assert _answers(DAYI, [("大邑县原董场镇白马村1组", "")])[0][:3] == ("matched", "510129105", "510129105239")


def test_township_column_with_an_old_name() -> None:
    frame = pd.DataFrame({"乡镇": ["鹤鸣乡", "沙渠镇", "董场镇", "董场镇"],
                          "地址": ["两河口社区10组", "石泉社区7组", "", "白马村3组"]})
    out = geocode(frame, DAYI, roles={"township": "乡镇", "address": "地址"})
    assert out["match_status"].tolist() == ["matched", "matched", "ambiguous", "matched"]
    assert out["township_code"].tolist() == ["510129119", "510129002", "", "510129105"]
    assert out["village_code"].tolist() == ["510129119003", "510129002009", "", "510129105239"]
    assert out.loc[0, "match_note"] == ("原名鹤鸣乡,2023 年为鹤鸣镇(510129119);" + SOURCE
                                        + f" / formerly '鹤鸣乡', 510129119 in 2023 (renamed; {SOURCE_EN})")
    assert out.loc[2, "candidates"] == "510129002;510129105"
    assert out.loc[3, "match_note"].startswith("乡镇/村列与地址、名称(乡镇据区划沿革)的候选乡镇共同指向安仁镇(510129105)")


def test_swap_with_history_is_the_history_and_without_it_needs_a_village() -> None:
    # 大平乡 became 大平镇 (history: renamed); 石羊乡 never existed in 安岳县 (石羊镇 did): the swap rule.
    assert successors(ANYUE, "石羊乡") == []
    got = _answers(ANYUE, [("安岳县大平乡", ""), ("安岳县石羊乡金羊社区", ""), ("安岳县石羊乡敬老院", "")],
                   left_to_one_row=(1,))  # (a swap beside a village: the one-row rules)
    assert got == [
        ("matched", "512021133", "", "",
         f"原名大平乡,2023 年为大平镇(512021133);{SOURCE} / formerly '大平乡', 512021133 in 2023 (renamed; {SOURCE_EN})"),
        ("matched", "512021110", "512021110001", "",
         "“石羊乡”按乡/镇互换匹配为石羊镇(512021110),由其村名“金羊社区”确认 / "
         "'石羊乡' read as 512021110 (乡/镇 swapped), confirmed by its village '金羊社区'"),
        ("ambiguous", "", "", "512021110",
         "“石羊乡”可能是石羊镇(512021110)(乡/镇互换),未写出该乡镇的村名,请核实 / "
         "'石羊乡' may be 512021110 (乡/镇 swapped); no village of it named: please check")]


def _old_name_rows(county: str, seed: int) -> tuple[list[str], list[str]]:
    """Rows written with the county's old township names (with and without 原), followed by nothing, a road, an
    old village of theirs, a 2023 village or a facility word, in the address or in the facility name."""
    import random

    from geo.history import load_history

    history, idx, rng = load_history(), region_index(county), random.Random(seed)
    olds = history.townships.loc[history.townships["county_code"] == county, "old_name"].unique().tolist()
    old_villages = history.villages.loc[history.villages["county_code"] == county, "village"].tolist()
    tails = ["", "人民路12号", "3组", "敬老院", "敬老院旁", *rng.sample(old_villages, min(20, len(old_villages))),
             *rng.sample(sorted(idx.village_name.values()), 20)]
    texts, names = [], []
    for _ in range(300):
        row = rng.choice(["", "原"]) + rng.choice(olds) + rng.choice(tails) + rng.choice(["", "5组"])
        county_name = rng.choice([idx.county_name[county], ""])
        if rng.random() < 0.3:
            texts.append(county_name)
            names.append(row)
        else:
            texts.append(county_name + row)
            names.append(rng.choice(["", "敬老院", rng.choice(list(idx.town_name.values())) + "敬老院"]))
    return texts, names


def test_array_path_equals_the_general_path_on_old_names() -> None:
    """Old names of four counties in every position: the array path answers nearly all rows itself, each as the
    one-row path does (see tests/test_address.py for the other styles)."""
    from tests.test_address import _batch_against_general

    got = {county: _batch_against_general(county, *_old_name_rows(county, 5))
           for county in (DAYI, YANTING, ANYUE, "653125")}
    assert got == {DAYI: (300, 300), YANTING: (300, 300), ANYUE: (300, 300), "653125": (300, 300)}


def test_array_path_equals_the_general_path_on_the_field_set() -> None:
    """The field-style set (data/eval/field_addresses.csv), address and name: each array answer is the one-row one."""
    from tests.test_address import _batch_against_general
    from towncover import settings

    field = pd.read_csv(settings.DATA_DIR / "eval" / "field_addresses.csv", dtype=str, keep_default_na=False)
    got = {region: _batch_against_general(region, part["address"].tolist(), part["name"].tolist())
           for region, part in field.groupby("region") if len(region) <= 6}
    # (The rows left to the one-row path are of other styles: ethnic short names beside a village, evidence split
    # between name and address, ...)
    assert got == {"150521": (149, 149), "4604": (114, 119), "510129": (140, 140), "510723": (115, 136),
                   "520581": (118, 146), "653125": (150, 171)}
