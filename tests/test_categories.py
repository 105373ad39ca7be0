"""Facility categories: the file, labels and the type-then-name classifier."""

from __future__ import annotations

import pandas as pd
import pytest

from facilities.categories import CATEGORIES, UNCLASSIFIED, classify, label, load_categories
from towncover.errors import TowncoverError

IDS = [
    "minors_protection_station",
    "social_work_station",
    "funeral_service_station",
    "funeral_home",
    "public_cemetery",
    "elderly_mutual_aid",
    "elderly_regional_centre",
    "elderly_day_care",
    "nursing_home",
    "community_service",
]


def test_category_file():
    assert list(CATEGORIES) == IDS
    for cat in CATEGORIES.values():
        assert cat.label_zh and cat.label_en and cat.synonyms


def test_labels():
    assert label("funeral_home") == "殡仪馆"
    assert label("funeral_home", "en") == "Funeral home"
    assert label(UNCLASSIFIED) == "未分类"
    assert label(UNCLASSIFIED, "en") == "Unclassified"
    with pytest.raises(TowncoverError):
        label("swimming_pool")
    with pytest.raises(TowncoverError):
        label("funeral_home", "fr")


NAMES = {
    "石羊镇区域养老服务中心": "elderly_regional_centre",
    "安岳县殡仪馆": "funeral_home",
    "龙台镇殡仪服务站": "funeral_service_station",
    "某某公司": UNCLASSIFIED,
    "岳阳镇综合养老服务中心": "elderly_regional_centre",
    "九龙镇乡镇(街道)区域养老服务中心": "elderly_regional_centre",
    "城南街道养老服务中心": "elderly_regional_centre",
    "鹿城镇敬老院": "nursing_home",
    "安岳县社会福利院": "nursing_home",
    "宜春市光荣院": "nursing_home",
    "安岳县特困人员供养服务中心": "nursing_home",
    "新村社区日间照料中心": "elderly_day_care",
    "城西街道社区养老服务站": "elderly_day_care",
    "大石村农村互助幸福院": "elderly_mutual_aid",
    "八角镇颐养之家": "elderly_mutual_aid",
    "子午镇公益性公墓": "public_cemetery",
    "东华镇骨灰堂": "public_cemetery",
    "楚雄陵园": "public_cemetery",
    "城东街道党群服务中心": "community_service",
    "京泰路街道社区综合服务中心": "community_service",
    "苏陈镇未成年人保护工作站": "minors_protection_station",
    "新村社区儿童之家": "minors_protection_station",
    "九龙镇社会工作服务站": "social_work_station",
    "周庄村社工室": "social_work_station",
    "大过口乡殡葬服务站": "funeral_service_station",
    "树苴乡殡仪服务中心": "funeral_service_station",
    "怀化市溆浦县区域性中心敬老院": "elderly_regional_centre",
    "宜春市儿童福利院": UNCLASSIFIED,  # child welfare, not an elderly home
    "烈士陵园": UNCLASSIFIED,  # veterans' affairs, not a civil-affairs cemetery
    "安岳县未成年人救助保护中心": UNCLASSIFIED,  # county centre, not a township workstation
    "": UNCLASSIFIED,
    "石羊镇 区域养老 服务中心": "elderly_regional_centre",  # spaces ignored
    "石羊镇区域养老服务中心(石羊镇敬老院)": "elderly_regional_centre",  # specific wins
}


def test_names_classify_exactly():
    names = pd.Series(list(NAMES))
    got = classify(None, names)
    assert got.tolist() == list(NAMES.values())
    assert str(got.dtype) == "string"
    assert got.name == "category"


def test_type_column_beats_name():
    types = pd.Series(
        ["殡仪馆", "敬老院", "", None, "养老机构", "日间照料中心"], index=[10, 11, 12, 13, 14, 15]
    )
    names = pd.Series(
        [
            "龙台镇殡仪服务站",
            "石羊镇区域养老服务中心",
            "龙台镇殡仪服务站",
            "某某公司",
            "石羊镇区域养老服务中心",
            "某某公司",
        ],
        index=[10, 11, 12, 13, 14, 15],
    )
    got = classify(types, names)
    assert got.tolist() == [
        "funeral_home",  # type decides
        "nursing_home",  # type decides
        "funeral_service_station",  # empty type: the name
        UNCLASSIFIED,  # missing type, name fits nothing
        "elderly_regional_centre",  # a generic type ("养老机构") fits no category: the name
        "elderly_day_care",  # type fits, name would not
    ]
    assert got.index.tolist() == [10, 11, 12, 13, 14, 15]


def test_types_only_and_fullwidth_text():
    got = classify(pd.Series(["殡葬服务站", "区域养老服务中心", "其他"]), None)
    assert got.tolist() == ["funeral_service_station", "elderly_regional_centre", UNCLASSIFIED]
    # full-width parentheses and letters are normalised (NFKC) before matching
    got = classify(None, pd.Series(["ＸＸ镇公益性公墓(一期)"]))
    assert got.tolist() == ["public_cemetery"]


def test_every_synonym_lands_in_its_own_category():
    for cid, cat in CATEGORIES.items():
        got = classify(None, pd.Series(list(cat.synonyms)))
        assert set(got) == {cid}, (cid, dict(zip(cat.synonyms, got, strict=True)))


def test_classify_input_errors():
    with pytest.raises(TowncoverError):
        classify(None, None)
    with pytest.raises(TowncoverError):
        classify(pd.Series(["a", "b"]), pd.Series(["a"]))


def test_bad_category_file(tmp_path):
    missing = tmp_path / "none.yaml"
    with pytest.raises(TowncoverError):
        load_categories(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories:\n  - id: x\n    label_zh: 甲\n", encoding="utf-8")
    with pytest.raises(TowncoverError) as err:
        load_categories(bad)
    assert err.value.row == 1 and err.value.column == "label_en"
    dup = tmp_path / "dup.yaml"
    dup.write_text(
        "categories:\n"
        "  - {id: x, label_zh: 甲, label_en: A, synonyms: [甲]}\n"
        "  - {id: x, label_zh: 乙, label_en: B, synonyms: [乙]}\n",
        encoding="utf-8",
    )
    with pytest.raises(TowncoverError) as err:
        load_categories(dup)
    assert err.value.row == 2
    broken = tmp_path / "broken.yaml"
    broken.write_text("categories: [\n", encoding="utf-8")
    with pytest.raises(TowncoverError):
        load_categories(broken)


def test_custom_categories(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "categories:\n"
        "  - {id: special, label_zh: 特, label_en: S, synonyms: [养老服务中心]}\n"
        "  - {id: general, label_zh: 普, label_en: G, synonyms: [养老]}\n",
        encoding="utf-8",
    )
    cats = load_categories(path)
    got = classify(None, pd.Series(["某养老服务中心", "某养老院", "某公司"]), categories=cats)
    assert got.tolist() == ["special", "general", UNCLASSIFIED]


def test_type_decides_then_the_name_for_open_rows_only():
    index = [10, 11, 12, 13, 14, 15, 16]
    types = pd.Series(["养老机构", "殡仪馆", "", "养老机构", "殡仪馆", "", "养老机构"], index=index)
    names = pd.Series(["石羊镇敬老院", "石羊镇敬老院", "龙台镇殡仪服务站", "某某公司", "x", "石羊镇 敬老院",
                       "石羊镇敬老院"], index=index)
    out = classify(types, names)
    assert out.to_dict() == {
        10: "nursing_home", 11: "funeral_home", 12: "funeral_service_station", 13: UNCLASSIFIED,
        14: "funeral_home", 15: "nursing_home", 16: "nursing_home",
    }
    assert out.dtype == "string" and out.name == "category"


def test_missing_values_and_repeats_classify_like_blank_text():
    names = pd.Series(["敬老院", None, "敬老院", pd.NA, "", "殡仪馆"], dtype="object")
    assert classify(None, names).tolist() == [
        "nursing_home", UNCLASSIFIED, "nursing_home", UNCLASSIFIED, UNCLASSIFIED, "funeral_home",
    ]
