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


# -- the on-disk cache (issue 18: the gazetteer loads in well under 0.3 s on a warm machine) --------
def test_cached_tables_equal_the_shipped_ones_and_a_changed_source_is_not_read_stale(tmp_path, monkeypatch):
    import shutil

    import pandas as pd

    from geo import gazetteer as module
    from towncover import settings

    source = tmp_path / "gazetteer"
    shutil.copytree(settings.GAZETTEER_DIR, source)
    monkeypatch.setattr(settings, "GAZETTEER_DIR", source)
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "cache")
    module.load_gazetteer.cache_clear()
    try:
        parsed = module.load_gazetteer()  # parses the CSV files, writes the cache
        (cached_dir,) = (tmp_path / "cache").iterdir()
        assert sorted(p.name for p in cached_dir.iterdir()) == [f"{n}.feather" for n in sorted(module._TABLES)]
        module.load_gazetteer.cache_clear()
        cached = module.load_gazetteer()  # reads the cache
        for name, frame in parsed.frames().items():
            pd.testing.assert_frame_equal(cached.frames()[name], frame)
        assert cached.region("安岳县").code == "512021" and cached.name_of("512021110") == "石羊镇"

        # A changed source file gets a cache of its own: the old one is not read.
        provinces = pd.read_csv(source / "provinces.csv", dtype=str)
        provinces.loc[provinces["code"] == "51", "name"] = "四川省(测试)"
        provinces.to_csv(source / "provinces.csv", index=False)
        module.load_gazetteer.cache_clear()
        assert module.load_gazetteer().name_of("51") == "四川省(测试)"
        assert len(list((tmp_path / "cache").iterdir())) == 2
    finally:
        module.load_gazetteer.cache_clear()


def test_unwritable_cache_folder_still_loads(tmp_path, monkeypatch):
    from geo import gazetteer as module
    from towncover import settings

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(settings, "CACHE_DIR", blocked / "cache")
    module.load_gazetteer.cache_clear()
    try:
        assert module.load_gazetteer().name_of("512021") == "安岳县"
    finally:
        module.load_gazetteer.cache_clear()
