"""The division history table (data/history) and its look-ups, checked against official approval texts."""

from __future__ import annotations

import doctest

import pandas as pd
import pytest

import geo.history
from geo.gazetteer import load_gazetteer
from geo.history import Successor, VillageNow, load_history, successors, town_key, town_stem, village_now
from towncover import settings
from towncover.errors import TowncoverError

# (county, old name) → successors, each verified against the approval text cited in data/build_history.py.
VERIFIED = {
    # 绵府批复〔2019〕247号: 撤销两河镇和毛公乡,设立高渠镇; 撤销麻秧街道 → 巨龙镇.
    ("510723", "两河镇"): [Successor("510723114", 1.0, "merged")],
    ("510723", "毛公乡"): [Successor("510723114", 1.0, "merged")],
    ("510723", "麻秧街道"): [Successor("510723113", 1.0, "merged")],
    # 川府民政〔2019〕24号, 大邑县: 原上安镇, 原韩场镇 → 安仁镇; 沙渠镇 → 沙渠街道; 蔡场镇 split (4 : 2 named units).
    ("510129", "上安镇"): [Successor("510129105", 1.0, "merged")],
    ("510129", "韩场镇"): [Successor("510129105", 1.0, "merged")],
    ("510129", "沙渠镇"): [Successor("510129002", 1.0, "renamed")],
    ("510129", "蔡场镇"): [Successor("510129002", 0.75, "split"), Successor("510129105", 0.25, "split")],
    ("510129", "董场镇"): [Successor("510129002", 0.5, "split"), Successor("510129105", 0.5, "split")],
    # 绵府批复〔2019〕247号: 撤销黄溪乡,将其所属行政区域划归玉龙镇管辖 (whole).
    ("510723", "黄溪乡"): [Successor("510723101", 1.0, "merged")],
    # 2021年金阳县部分乡镇行政区划调整方案: 撤销南瓦乡、土沟乡…设立南瓦镇.
    ("513430", "南瓦乡"): [Successor("513430104", 1.0, "renamed")],
    ("513430", "土沟乡"): [Successor("513430104", 1.0, "merged")],
}


@pytest.mark.parametrize(("county", "old"), list(VERIFIED))
def test_successors_match_the_official_texts(county: str, old: str) -> None:
    assert successors(county, old) == VERIFIED[(county, old)]


def test_renames_with_the_same_code() -> None:
    # 撤乡设镇 (乌达力克乡 → 乌达力克镇, new code) and 苏木乡 → 苏木 (same code).
    assert successors("653125", "乌达力克乡") == [Successor("653125111", 1.0, "renamed")]
    assert successors("150521", "协代苏木乡") == [Successor("150521201", 1.0, "renamed")]


def test_written_forms_of_the_old_name_are_read_alike() -> None:
    assert successors("510723", "原毛公乡") == successors("510723", "毛公乡")
    assert successors("510723", "麻秧街道办事处") == successors("510723", "麻秧街道")
    assert successors("510723", "高渠镇") == []  # a current name has no history
    assert successors("510723", "不存在乡") == []
    assert successors("512021", "毛公乡") == []  # names are per county


def test_village_now_from_the_table_and_from_the_county() -> None:
    # 启文村 of 原金鸡镇, followed through the editions to 嫘祖镇.
    assert village_now("510723", "原金鸡镇", "启文村") == [VillageNow("510723121", "510723121201")]
    assert village_now("510723", "金鸡镇", "启文村村民委员会") == village_now("510723", "金鸡镇", "启文")
    # 东永村 (东光村 + 永和村, renamed in the same reform) is not in 毛公乡's old list: found as the county's only
    # 东永村, in 云溪镇, as the approval text says (原毛公乡东永村 → 云溪镇).
    assert village_now("510723", "毛公乡", "东永村") == [VillageNow("510723100", "510723100237")]
    assert village_now("510723", "毛公乡", "没有这个村") == []


def test_table_is_consistent_with_the_2023_codes() -> None:
    h = load_history()
    t = h.townships
    gaz = load_gazetteer()
    assert t["township_code"].isin(gaz.townships["code"]).all()
    assert (t["county_code"] == t["township_code"].str[:6]).all()
    assert set(t["kind"]) == {"renamed", "merged", "split"}
    latest = t[t["last_year"] == t.groupby(["county_code", "old_name"])["last_year"].transform("max")]
    groups = latest.groupby(["county_code", "old_name"])
    assert ((groups["share"].sum() - 1).abs() < 0.01).all()
    n = groups["township_code"].transform("size")
    assert ((latest["kind"] == "split") == (n > 1)).all()
    # no old name is a 2023 township of its county (else the matcher needs no history for it)
    now = set(zip(gaz.townships["county_code"], gaz.townships["name"], strict=True))
    assert not any((c, o) in now for c, o in zip(t["county_code"], t["old_name"], strict=True))
    v = h.villages
    assert v["village_code"].eq("").sum() < len(v)
    placed = v[v["village_code"] != ""]
    assert (placed["village_code"].str[:9] == placed["township_code"]).all()


def test_sichuan_coverage_after_the_2019_reform() -> None:
    t = load_history().townships
    sichuan = t[t["county_code"].str.startswith("51") & (t["last_year"] >= 2019)]
    per_name = sichuan.groupby(["county_code", "old_name"])["share"].agg(["size", "max"])
    assert len(per_name) > 1500  # ~1,400 abolished in the reform, plus renames
    assert (per_name["size"] == 1).mean() > 0.8
    assert (per_name["max"] >= 0.75).mean() > 0.9


def test_stems() -> None:
    assert town_stem("孜热甫夏提塔吉克族乡") == "孜热甫夏提"  # 夏提 is not a nationality
    assert town_stem("五里布依族苗族乡") == "五里"
    assert town_stem("花胡硕苏木") == "花胡硕"
    assert town_key("凤灵街道办") == "凤灵街道"


def test_docstring_examples_run() -> None:
    assert doctest.testmod(geo.history).failed == 0


def test_loader_is_cached_and_says_what_is_missing(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_history() is load_history()
    monkeypatch.setattr(settings, "DATA_DIR", tmp_path)
    load_history.cache_clear()
    try:
        with pytest.raises(TowncoverError, match="build_history.py"):
            load_history()
    finally:
        monkeypatch.undo()
        load_history.cache_clear()
    assert isinstance(load_history().townships, pd.DataFrame)
