"""The national gazetteer: counts, kinds, region look-up."""

import pytest

from geo.gazetteer import load_gazetteer
from towncover.errors import TowncoverError


@pytest.fixture(scope="module")
def gaz():
    return load_gazetteer()


def test_national_counts(gaz):
    assert len(gaz.provinces) == 31
    assert len(gaz.townships) == 41_352
    assert len(gaz.villages) == 620_573
    assert gaz.townships["code"].str.len().eq(9).all()
    assert gaz.villages["code"].str.len().eq(12).all()


@pytest.mark.parametrize(
    ("query", "code", "current_townships"),
    [("宜春市", "3609", 186), ("怀化市", "4312", 204), ("安岳县", "512021", 46), ("海陵区", "321202", 11),
     ("楚雄市", "532301", 15)],
)
def test_plan_regions_township_counts(gaz, query, code, current_townships):
    assert gaz.region(query).code == code
    assert len(gaz.townships_in(code, include_special=False)) == current_townships


def test_township_kinds_follow_code_digits(gaz):
    kinds = gaz.townships.set_index("code")["kind"]
    assert kinds["512021001"] == "street"  # 岳阳街道
    assert kinds["512021100"] == "town"
    assert kinds["431271218"] == "township"  # 洪江管理区 横岩乡
    yichun = gaz.townships_in("3609")["kind"].value_counts()
    assert dict(yichun) == {"town": 117, "township": 43, "special": 33, "street": 26}


def test_village_kinds(gaz):
    v = gaz.villages.set_index("code")
    assert v.loc["110101001001", "kind"] == "community"  # 多福巷社区居委会
    counts = gaz.villages["kind"].value_counts()
    assert counts["village"] == 484_514
    assert counts["community"] == 129_582


@pytest.mark.parametrize(
    ("query", "code", "full_name"),
    [
        ("512021", "512021", "四川省资阳市安岳县"),
        ("512021000000", "512021", "四川省资阳市安岳县"),
        (512021, "512021", "四川省资阳市安岳县"),
        ("四川省安岳县", "512021", "四川省资阳市安岳县"),
        ("510000", "51", "四川省"),
        ("中山市", "4420", "广东省中山市"),
        ("431271", "431271", "湖南省怀化市怀化市洪江管理区"),
    ],
)
def test_region_lookup(gaz, query, code, full_name):
    region = gaz.region(query)
    assert (region.code, region.full_name) == (code, full_name)


def test_ambiguous_and_unknown_regions_raise_bilingual_errors(gaz):
    with pytest.raises(TowncoverError) as info:
        gaz.region("城南街道")
    assert "多个同名" in info.value.message_zh and "ambiguous" in info.value.message_en
    with pytest.raises(TowncoverError) as info:
        gaz.region("999999")
    assert "999999" in info.value.message
    with pytest.raises(TowncoverError):
        gaz.region("不存在县")
