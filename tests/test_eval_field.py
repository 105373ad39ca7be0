"""The field-style evaluation set (data/build_eval_field.py): its truth, its regions, the shipped file."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from geo.gazetteer import load_gazetteer
from geo.history import town_stem, village_stem
from towncover import settings

_SPEC = importlib.util.spec_from_file_location("build_eval_field", settings.ROOT / "data" / "build_eval_field.py")
build_eval_field = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(build_eval_field)


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return pd.read_csv(build_eval_field.OUT, dtype=str, keep_default_na=False)


def test_shipped_file_is_what_the_script_builds(shipped: pd.DataFrame) -> None:
    assert build_eval_field.build().equals(shipped)


def test_regions_are_new_and_every_style_is_in_several(shipped: pd.DataFrame) -> None:
    used = set(pd.read_csv(settings.DATA_DIR / "eval" / "addresses.csv", dtype=str)["region"])
    used |= {p.name.split("_")[0] for p in (settings.DATA_DIR / "demo").glob("*_synthetic.csv")}
    regions = set(shipped["region"])
    assert len(regions) >= 4
    assert not any(r.startswith(u) or u.startswith(r) for r in regions for u in used)
    per_style = shipped.groupby("style")["region"].nunique()
    assert set(per_style.index) == set(build_eval_field.STYLES)
    assert (per_style >= 2).all()


def test_known_rows(shipped: pd.DataFrame) -> None:
    def truth(address: str) -> tuple[str, str, str]:
        row = shipped[shipped["address"] == address].iloc[0]
        return row["truth_township_code"], row["truth_village_code"], row["truth_status"]

    # 孜热甫夏提塔吉克族乡 by its short name, with a village of it.
    assert truth("莎车县孜热甫夏提乡团结村10组") == ("653125207", "653125207203", "matched")
    # 原金鸡镇福禄村: 福禄村 is the county's only 福禄村, now in 嫘祖镇.
    assert truth("盐亭县原金鸡镇福禄村3组") == ("510723121", "510723121204", "matched")
    # 宗海乡 went to several townships (金孔镇 and others): its 敬老院 cannot be placed from the name.
    row = shipped[(shipped["name"] == "宗海乡敬老院")].iloc[0]
    assert (row["truth_township_code"], row["truth_status"]) == ("", "ambiguous")
    # A road named after 胜利乡 is a street of the banner seat: no township.
    assert truth("科尔沁左翼中旗胜利大道336号") == ("", "", "unmatched")


def test_truth_follows_the_rules_of_each_style(shipped: pd.DataFrame) -> None:
    gaz = load_gazetteer()
    roads = shipped[shipped["style"] == "road_after_township"]
    assert (roads["truth_status"] == "unmatched").all() and (roads["truth_township_code"] == "").all()
    ethnic = shipped[(shipped["style"] == "ethnic_short_name")]
    for _, row in ethnic.iterrows():
        full = gaz.name_of(row["truth_township_code"])
        assert "族" in full and town_stem(full) + full[-1] in row["name"] + row["address"]
    old_village = shipped[(shipped["style"] == "merged_township") & (shipped["truth_village_code"] != "")]
    assert len(old_village) > 0
    villages = gaz.villages
    for _, row in old_village.iterrows():
        named = villages[villages["code"] == row["truth_village_code"]]["name"].iloc[0]
        assert village_stem(named) in row["address"]
        assert row["truth_village_code"][:9] == row["truth_township_code"]
    column = shipped[shipped["style"] == "township_column"]
    assert (column["township"] != "").all() and (shipped.loc[shipped["style"] != "township_column", "township"] == "").all()
