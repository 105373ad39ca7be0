"""Tests for geo.address: normalisation and single-address parsing against the real 2023 gazetteer."""

from __future__ import annotations

import pytest

from geo.address import normalise, parse_address, region_index

ANYUE = "512021"  # 四川省资阳市安岳县
SHIYANG = "512021110"  # 石羊镇
SHANLIN = "512021110200"  # 石羊镇 山林村村民委员会
DINGXIN = "512021110004"  # 石羊镇 顶新社区居民委员会


def test_normalise_fullwidth_spaces_traditional_punctuation() -> None:
    assert normalise("安岳县　石羊镇 １２号，") == "安岳县石羊镇12号"
    assert normalise("懷化市鶴城區") == "怀化市鹤城区"
    assert normalise(None) == ""
    assert normalise(float("nan")) == ""


@pytest.mark.parametrize(
    ("text", "village"),
    [
        ("四川省资阳市安岳县石羊镇山林村3组", SHANLIN),  # full 省市县镇村组
        ("安岳县石羊镇人民路12号", ""),  # county + town
        ("石羊镇", ""),  # town only
        ("四川省資陽市安嶽縣石羊鎮山林村", SHANLIN),  # traditional characters
        ("安岳县 石羊 镇 山林村　１２组，", SHANLIN),  # full-width digits, stray spaces
        ("安岳县石羊镇顶新社区居委会", DINGXIN),  # community committee form
        ("安岳县石羊镇山林8组", SHANLIN),  # bare village stem within the town
    ],
)
def test_styles_place_shiyang(text: str, village: str) -> None:
    m = parse_address(text, ANYUE)
    assert (m.status, m.method, m.township_code, m.township_name, m.county_code) == (
        "matched", "address", SHIYANG, "石羊镇", ANYUE)
    assert m.village_code == village


def test_village_only_unique() -> None:
    m = parse_address("山林村5组", ANYUE)
    assert (m.status, m.township_code, m.village_code) == ("matched", SHIYANG, SHANLIN)
    assert "山林村" in m.note_zh


def test_short_name_in_facility_name() -> None:
    m = parse_address("", ANYUE, name="安岳县石羊敬老院")
    assert (m.status, m.method, m.township_code) == ("matched", "name", SHIYANG)
    assert "石羊" in m.note_zh
    # The address wins over the name when it names a township.
    m = parse_address("安岳县岳阳镇", ANYUE, name="石羊敬老院")
    assert (m.method, m.township_code) == ("address", "512021100")


def test_street_office() -> None:
    m = parse_address("安岳县岳城街道办事处人民路5号", ANYUE)
    assert (m.status, m.township_code, m.township_name) == ("matched", "512021001", "岳城街道")


def test_village_name_shared_by_townships_is_ambiguous() -> None:
    m = parse_address("岔河村3组", "532301")  # 楚雄市: 岔河村 in 紫溪镇 and 西舍路镇
    assert m.status == "ambiguous"
    assert m.candidates == ["532301104", "532301112"]
    assert m.township_code == ""
    assert "2 个乡镇重复" in m.note_zh and "532301104" in m.note_zh and "532301112" in m.note_zh
    # Given the township, the village is placed.
    town = region_index("532301").town_name["532301104"]
    m = parse_address(f"楚雄市{town}岔河村", "532301")
    assert (m.status, m.township_code) == ("matched", "532301104")
    assert m.village_code.startswith("532301104")


def test_short_name_that_is_also_a_village_is_ambiguous() -> None:
    # 楚雄市 新村镇 (532301111): short name 新村 is also 鹿城镇's 新村.
    m = parse_address("", "532301", name="楚雄市新村敬老院")
    assert m.status == "ambiguous"
    assert m.candidates == ["532301101", "532301111"]


def test_pre_merger_names_not_mapped() -> None:
    m = parse_address("安岳县白塔镇", ANYUE)  # no 白塔镇 in 安岳县, now or in the division history since 2017
    assert (m.status, m.township_code, m.unknown_town) == ("unmatched", "", "白塔镇")
    assert m.note_zh == "乡镇名“白塔镇”不在 2023 年区划中(可能已撤并)"
    m = parse_address("安岳县石羊乡8组", ANYUE)  # 石羊镇 exists, 石羊乡 does not: the one candidate, not placed
    assert (m.status, m.township_code, m.candidates) == ("ambiguous", "", [SHIYANG])


def test_out_of_region() -> None:
    m = parse_address("四川省资阳市乐至县童家镇", ANYUE)
    assert m.status == "out_of_region" and "512022" in m.note_zh
    m = parse_address("湖南省怀化市鹤城区城南街道", ANYUE)
    assert m.status == "out_of_region"
    m = parse_address("范县辛庄镇", ANYUE)  # a two-character county name before a town
    assert m.status == "out_of_region" and "410926" in m.note_zh


def test_names_that_are_not_out_of_region() -> None:
    # A road named after a province, and a county short name equal to an in-region township.
    m = parse_address("安岳县石羊镇北京路8号", ANYUE)
    assert (m.status, m.township_code) == ("matched", SHIYANG)
    m = parse_address("楚雄市中山镇", "532301")  # 中山 is also 中山市 (Guangdong)
    assert (m.status, m.township_name) == ("matched", "中山镇")
    m = parse_address("中山市东区街道", "4420")  # 东区 is also a county of 攀枝花
    assert (m.status, m.township_code) == ("matched", "442000002")


def test_city_with_towns_directly_under_it() -> None:
    m = parse_address("广东省中山市小榄镇", "4420")
    assert (m.status, m.township_code, m.county_code) == ("matched", "442000118", "442000")
    m = parse_address("中山市古镇镇", "4420")
    assert m.township_code == "442000105"


def test_traditional_city_region() -> None:
    m = parse_address("懷化市鶴城區城南街道", "4312")
    assert (m.status, m.township_code) == ("matched", "431202007")


def test_township_region_other_township_is_out_of_region() -> None:
    m = parse_address("安岳县岳阳镇", SHIYANG)
    assert m.status == "out_of_region"
    m = parse_address("安岳县石羊镇山林村", SHIYANG)
    assert (m.status, m.village_code) == ("matched", SHANLIN)


def test_county_only_is_unmatched_with_county() -> None:
    m = parse_address("安岳县人民路1号", ANYUE)
    assert (m.status, m.county_code, m.township_code) == ("unmatched", ANYUE, "")


@pytest.mark.parametrize(
    ("text", "region", "status", "township"),
    [
        ("人民路12号", "130403", "unmatched", ""),  # a road, not 人民路街道
        ("新华街93号", "130703", "unmatched", ""),  # a road, not 新华街街道
        ("人民路", "130403", "matched", "130403009"),  # the street office's short name alone
        ("人民路街道12号", "130403", "matched", "130403009"),
    ],
)
def test_short_name_before_a_house_number_is_a_road(text: str, region: str, status: str, township: str) -> None:
    m = parse_address(text, region)
    assert (m.status, m.township_code) == (status, township)


def test_regional_centre_name_is_not_a_district() -> None:
    # 泉港区 (泉州市) and 龙潭区 (吉林市) are districts elsewhere: 区域 must not complete them.
    m = parse_address("", "360981", name="丰城市泉港区域养老服务中心")
    assert (m.status, m.method, m.township_code) == ("matched", "name", "360981124")
    m = parse_address("", "431224", name="溆浦縣龍潭區域養老服務中心")
    assert (m.status, m.township_code) == ("matched", "431224104")


def test_village_from_the_facility_name_when_the_address_gives_the_town() -> None:
    m = parse_address("岳城街道", ANYUE, name="五里村农村幸福院")
    assert (m.township_code, m.village_code, m.village_name) == ("512021001", "512021001201", "五里村村民委员会")
    # A bare stem in a name is not read: 中心 (a 中心村) in 服务中心.
    m = parse_address("石羊镇", ANYUE, name="石羊镇综合养老服务中心")
    assert (m.township_code, m.village_code) == (SHIYANG, "")


def test_village_forms_at_every_stripping_stage() -> None:
    # 孔雀村社区居民委员会 is written 孔雀村社区; it is not 孔雀村村民委员会 of the same town.
    m = parse_address("四川省资阳市安岳县双龙街乡孔雀村社区新街177号", ANYUE)
    assert (m.township_code, m.village_code) == ("512021222", "512021222001")
    m = parse_address("安岳县双龙街乡孔雀村5组", ANYUE)
    assert m.village_code == "512021222200"


def test_town_name_is_not_read_as_its_own_village() -> None:
    # 思贤镇 has 思贤社区: the town's name in the address must not place the row in that community.
    m = parse_address("四川省资阳市安岳县思贤镇西街115号", ANYUE)
    assert (m.township_code, m.village_code) == ("512021127", "")
    m = parse_address("思贤镇思贤社区", ANYUE)
    assert m.village_code == "512021127001"


def test_stem_before_a_house_number_is_a_road_not_a_village() -> None:
    # 山林8组 is a village group of 山林村; 山林12号 would be a house on a road.
    assert parse_address("安岳县石羊镇山林8组", ANYUE).village_code == SHANLIN
    assert parse_address("安岳县石羊镇山林12号", ANYUE).village_code == ""


def test_bare_village_stem_names_its_townships_but_is_never_placed() -> None:
    # 青龙社区 (通贤镇, 512021103) and 青龙村 (512021121) both have the stem 青龙: the row is ambiguous between them.
    for text, name in (("青龙", ""), ("青龙3组", ""), ("", "青龙互助养老服务点")):
        m = parse_address(text, ANYUE, name=name)
        assert (m.status, m.township_code) == ("ambiguous", "")
        assert m.candidates == ["512021103", "512021121"]
        assert "512021103003" in m.note_zh and "512021121207" in m.note_zh
    # Not a village: a road, a hospital, a nursing home named 光明.
    for text, name in (("育才路12号", ""), ("", "人民医院"), ("", "光明养老院")):
        assert parse_address(text, ANYUE, name=name).status == "unmatched"


def _batch_against_general(region: str, texts: list[str], names: list[str]) -> tuple[int, int]:
    """Rows the array path answered, and rows checked; every answer must equal the one-row path's."""
    from geo.address import normalise_many, parse_normalised, quick_answers
    from geo.geocoder import _row_answer

    idx = region_index(region)
    texts, names = normalise_many(texts), normalise_many(names)
    batch = quick_answers(idx, texts, names)
    answered = 0
    for i, (t, n) in enumerate(zip(texts, names, strict=True)):
        got = batch.row(idx, i)
        if got is not None:
            answered += 1
            assert got == _row_answer(parse_normalised(idx, t, n), ""), (region, t, n)
    return answered, len(texts)


def test_array_path_equals_the_general_path_on_the_evaluation_set() -> None:
    """The geocoder's array path (quick_answers) gives, row by row, the one-row path's answer (or declines)."""
    import pandas as pd

    from towncover import settings

    eval_set = pd.read_csv(settings.DATA_DIR / "eval" / "addresses.csv", dtype=str, keep_default_na=False)
    got = [_batch_against_general(region, part["address"].tolist(), part["name"].tolist())
           for region, part in eval_set.groupby("region") if len(region) <= 6]
    assert (sum(a for a, _ in got), sum(n for _, n in got)) == (3526, 3540)


def test_array_path_equals_the_general_path_on_national_rows() -> None:
    """The same on the benchmark's generated rows (every sheet style) in three provinces."""
    from bench.data import generate

    rows = generate(6000, 0, provinces=["11", "44", "51"]).rows
    got = {prov: _batch_against_general(prov, part["address"].tolist(), part["name"].tolist())
           for prov, part in rows.groupby("province")}
    assert got == {"11": (675, 675), "44": (2311, 2311), "51": (3014, 3014)}


def test_service_centre_is_not_a_short_township_name() -> None:
    # 中心镇 / 幸福镇 exist in Sichuan: 日间照料中心 and 幸福院 in a facility name do not name them.
    m = parse_address("育才路102号", "51", name="前进村日间照料中心")
    assert m.township_code == "" and m.status in ("ambiguous", "unmatched")
    m = parse_address("", "51", name="幸福院")
    assert m.township_code == ""


def test_village_word_search_on_many_names_equals_the_regex() -> None:
    from geo.batch import _names_a_village
    from geo.names import NAMES_A_VILLAGE

    names = ["五里村农村幸福院", "石羊镇敬老院", "青龙社区", "社", "区社", "居委会", "居", "嘎查", "嘎", "委员会",
             "委员", "村", "", "社区居委会", "大社区", "光明养老院", "委", "会委员会x"]
    assert _names_a_village(names).tolist() == [NAMES_A_VILLAGE.search(n) is not None for n in names]
    assert _names_a_village(names).tolist().count(True) == 9


def _mixed_rows(region: str, n: int, seed: int) -> tuple[list[str], list[str]]:
    """Addresses and facility names glued from the region's own names, its short names, village names and
    stems, counties, other regions' counties and townships, old-looking township names and filler (roads,
    house numbers, 区域, 镇, facility words): every branch of the two paths, in every order."""
    import random

    from geo.gazetteer import load_gazetteer

    gaz, idx, rng = load_gazetteer(), region_index(region), random.Random(seed)
    outside = ~gaz.counties["code"].str.startswith(region[:4])
    pools = [
        (list(idx.town_name.values()), 3), (list(idx.short_name.values()), 3),
        (list(idx.village_name.values()), 3), ([s for pairs in idx.village_stems.values() for s, _ in pairs], 2),
        (list(idx.county_name.values()), 3), (gaz.counties.loc[outside, "name"].sample(200, random_state=1).tolist(), 1),
        (gaz.townships.loc[~gaz.townships["code"].str.startswith(region[:4]), "name"]
         .sample(200, random_state=2).tolist(), 1),
        ([gaz.name_of(region[:2])] + ([gaz.name_of(region[:4])] if len(region) >= 4 else []), 1),
        (["路12号", "敬老院", "村", "镇", "3组", "区域", "街道", "12号", "老街", "养老服务中心", "幸福院", "互助养老服务点",
          "日间照料中心", "人民路", "社区", "乡", "中心", "县", "市", "大道8号", "", "号", "五组", "办事处", "居委会"], 4),
    ]
    cjk = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]

    def token() -> str:
        if rng.random() < 0.06:  # a township name that does not exist
            return rng.choice(cjk) + rng.choice(cjk) + rng.choice(["镇", "乡", "街道"])
        pool = rng.choices([p for p, _ in pools], weights=[w for _, w in pools])[0]
        return rng.choice(pool)

    texts = ["".join(token() for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4]))) for _ in range(n)]
    names = ["".join(token() for _ in range(rng.choice([0, 1, 2, 2, 3]))) for _ in range(n)]
    return texts, names


def test_array_path_equals_the_general_path_on_mixed_rows() -> None:
    """Glued rows reach every answer of the array path (placed, tie, out of region, old township name,
    nothing found, by address and by name): each equals the one-row path's."""
    from collections import Counter

    from geo.address import normalise_many, quick_answers

    got, kinds = {}, Counter()
    for region in ("330782", "4420", "51"):
        texts, names = _mixed_rows(region, 1500, 7)
        got[region] = _batch_against_general(region, texts, names)
        idx = region_index(region)
        batch = quick_answers(idx, normalise_many(texts), normalise_many(names))
        kinds.update(row[0] + "/" + row[6] for i in range(1500) if (row := batch.row(idx, i)) is not None)
    assert got == {"330782": (1244, 1500), "4420": (1263, 1500), "51": (950, 1500)}
    assert set(kinds) == {"matched/address", "matched/name", "ambiguous/address", "ambiguous/name",
                          "out_of_region/address", "out_of_region/name", "unmatched/address", "unmatched/name",
                          "unmatched/"}


def test_digit_runs_fold_inside_normalisation() -> None:
    import re

    from geo.address import normalise_many

    values = ["育才路12号3组", "a1b22c333", "", "nan", "１２３号", "0", "黄寺大街24号社区", "٣٤号"] * 40  # > 256 characters
    want = [re.sub("[0-9]+", "0", v) for v in normalise_many(values)]
    assert normalise_many(values, fold_digits=True) == want
    assert normalise_many(values[:8], fold_digits=True) == want[:8]  # the short-text path
    assert want[:3] == ["育才路0号0组", "a0b0c0", ""]


def test_decimal_digit_table_is_unicode_nd() -> None:
    from geo.arrays import is_decimal

    table = is_decimal()
    assert int(table.sum()) == sum(chr(c).isdecimal() for c in range(0x110000))
    assert table[ord("7")] and table[ord("٣")] and table[0x1D7CE] and not table[ord("七")] and not table[ord("a")]


def test_runs_in_sorted_arrays() -> None:
    import numpy as np

    from geo.arrays import run_ends, run_starts

    values = np.array([0, 0, 1, 3, 3, 3, 7])
    assert run_starts(values).tolist() == [0, 2, 3, 6]
    assert run_ends(values).tolist() == [1, 2, 5, 6]
    assert run_starts(values[:0]).tolist() == [] and run_ends(values[:1]).tolist() == [0]


# -- addresses as the field writes them (issue 15, items 3–5) ----------------------------------------------

def _both_paths(region: str, rows: list[tuple[str, str]]) -> list[tuple[str, str, str, str]]:
    """(status, township, village, note) per (address, name) row, from the one-row path; the geocoder's
    array path must give the same."""
    import pandas as pd

    from geo.geocoder import geocode

    one = [parse_address(a, region, name=n or None) for a, n in rows]
    got = [(m.status, m.township_code if m.status == "matched" else "", m.village_code if m.status == "matched" else "",
            m.note) for m in one]
    frame = pd.DataFrame({"名称": [n for _, n in rows], "地址": [a for a, _ in rows]})
    out = geocode(frame, region, roles={"name": "名称", "address": "地址"})
    assert list(zip(out["match_status"], out["township_code"], out["village_code"], out["match_note"], strict=True)) == got
    return got


COUNTY_ONLY = "只识别到县级“{}”,未找到乡镇或村名 / only the county was recognised; no township or village name found"


@pytest.mark.parametrize(("region", "text", "county"), [
    ("460400", "儋州市中和西路376号", "儋州市"),  # 中和镇 460400113
    ("150521", "科尔沁左翼中旗门达西路380号", "科尔沁左翼中旗"),  # 门达镇 150521104
    ("520581", "黔西市绿化西路95号", "黔西市"),  # 绿化白族彝族乡 520581201
    ("653125", "莎车县孜热甫夏提路347号", "莎车县"),  # 孜热甫夏提塔吉克族乡 653125207
])
def test_road_named_after_a_township_is_not_the_township(region: str, text: str, county: str) -> None:
    assert _both_paths(region, [(text, "")]) == [("unmatched", "", "", COUNTY_ONLY.format(county))]


def test_community_after_a_short_name_is_not_a_road() -> None:
    # 筠门岭镇 (360733101) has 西街社区 (360733101002): 西街 is a committee here, not the road rule's 西路.
    m = parse_address("会昌县筠门岭西街社区1组", "360733")
    assert (m.status, m.township_code, m.village_code) == ("matched", "360733101", "360733101002")
    assert m.note == "按乡镇简称“筠门岭”匹配 / matched on the township's short name (360733101)"


def test_short_name_ends_where_a_name_can_end() -> None:
    # 孜热甫夏提 + 塔吉克族乡: the ethnic part is a nationality's name, not any four characters before 族.
    assert region_index("653125").short_name["653125207"] == "孜热甫夏提"
    m = parse_address("莎车县孜热甫夏提卫生院", "653125")
    assert (m.status, m.township_code) == ("matched", "653125207")
    assert m.note == "按乡镇简称“孜热甫夏提”匹配 / matched on the township's short name (653125207)"


def test_institution_words_are_not_villages() -> None:
    # 东成镇 (460400115) has 中心村 (460400115202): 中心小学 and 便民服务中心 do not name it.
    rows = [("东成镇中心小学东侧100米", ""), ("儋州市东成镇便民服务中心二楼", ""), ("东成镇中心村", "")]
    assert _both_paths("460400", rows) == [("matched", "460400115", "", ""), ("matched", "460400115", "", ""),
                                           ("matched", "460400115", "460400115202", "")]


def test_numbered_community_keeps_its_number() -> None:
    # 来广营地区 (110105032): 新街坊社区 (…001) and 新街坊第二社区 (…042).
    rows = [("朝阳区新街坊二社区", ""), ("来广营地区新街坊二社区", ""), ("来广营地区新街坊社区", "")]
    assert _both_paths("110105", rows) == [
        ("matched", "110105032", "110105032042",
         "未给出乡镇,由唯一的村名“新街坊二社区”确定 / no township given; placed by the unique village name '新街坊二社区'"),
        ("matched", "110105032", "110105032042", ""),
        ("matched", "110105032", "110105032001", ""),
    ]


def test_ethnic_township_by_its_leading_name() -> None:
    note = ("按民族乡镇简称“金坡乡”匹配为金坡苗族彝族满族乡 / "
            "matched on the ethnic township's short form '金坡乡' (520581209)")
    assert _both_paths("520581", [("黔西市金坡乡卫生院", ""), ("", "金坡乡敬老院")]) == [
        ("matched", "520581209", "", note), ("matched", "520581209", "", note)]


def test_township_with_town_and_township_swapped_needs_a_village_of_it() -> None:
    # 安岳县 has 石羊镇 (512021110), no 石羊乡; 金羊社区 (512021110001) is one of its villages.
    got = _both_paths(ANYUE, [("安岳县石羊乡金羊社区", ""), ("安岳县石羊乡敬老院", "")])
    assert got[0] == ("matched", SHIYANG, "512021110001",
                      "“石羊乡”按乡/镇互换匹配为石羊镇(512021110),由其村名“金羊社区”确认 / "
                      "'石羊乡' read as 512021110 (乡/镇 swapped), confirmed by its village '金羊社区'")
    assert got[1] == ("ambiguous", "", "",
                      "“石羊乡”可能是石羊镇(512021110)(乡/镇互换),未写出该乡镇的村名,请核实 / "
                      "'石羊乡' may be 512021110 (乡/镇 swapped); no village of it named: please check")
    assert parse_address("安岳县石羊乡敬老院", ANYUE).candidates == [SHIYANG]


def test_name_and_address_candidates_intersect() -> None:
    # 宜春市: 湾溪村 is a village of 新界埠镇 (上高县, 360923107206) and of 新庄镇 (宜丰县, 360924103206).
    shared = ("村名“湾溪村”在 2 个乡镇重复:新界埠镇(360923107)、新庄镇(360924103);未给出乡镇 / "
              "village name '湾溪村' shared by 2 townships: 360923107, 360924103; no township given")
    agreed = ("地址与名称的候选乡镇共同指向新界埠镇(360923107) / "
              "the address and name together give township 360923107 (the one their candidates share)")
    rows = [("湾溪村5组", "上高县新界埠社会工作服务站"), ("湾溪村5组", "上高县敬老院"), ("湾溪村5组", ""),
            ("湾溪村5组", "石羊敬老院")]
    assert _both_paths("3609", rows) == [
        ("matched", "360923107", "360923107206", agreed), ("matched", "360923107", "360923107206", agreed),
        ("ambiguous", "", "", shared), ("ambiguous", "", "", shared)]
