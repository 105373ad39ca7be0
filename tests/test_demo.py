"""The synthetic demo sheets in data/demo load, and match their truth files row for row."""

from __future__ import annotations

import pandas as pd
import pytest

from facilities.sheets import read_sheet, sheet_coordinates
from geo.gazetteer import load_gazetteer
from towncover import settings

DEMOS = [("512021", "安岳县", "utf-8-sig"), ("532301", "楚雄市", "gb18030"), ("321202", "海陵区", "utf-8-sig"),
         ("3609", "宜春市", "utf-8-sig"), ("4312", "怀化市", "gb18030")]
STATUSES = {"matched", "ambiguous", "unmatched", "out_of_region", "blank"}


def _truth(code: str, name: str) -> pd.DataFrame:
    return pd.read_csv(settings.DEMO_DIR / f"{code}_{name}_synthetic.truth.csv", dtype=str, keep_default_na=False)


@pytest.mark.parametrize(("code", "name", "encoding"), DEMOS)
def test_demo_sheets_load_and_match_truth(code, name, encoding):
    truth = _truth(code, name)
    assert set(truth["expected_status"]) == STATUSES
    assert (truth["expected_status"] == "blank").sum() == 1
    for ext, row_col, header_row in (("xlsx", "xlsx_row", 2), ("csv", "csv_row", 1)):
        path = settings.DEMO_DIR / f"{code}_{name}_synthetic.{ext}"
        assert path.stat().st_size < 300 * 1024
        sheet = read_sheet(path)
        s = sheet.summary()
        assert s["header_row"] == header_row
        assert s["rows_read"] == len(truth)
        assert (s["kept"], s["blank"], s["rejected"]) == (len(truth) - 1, 1, 0)
        assert sheet.encoding == (None if ext == "xlsx" else encoding)
        assert sheet.blank_rows == truth.loc[truth["expected_status"] == "blank", row_col].astype(int).tolist()
        data = truth[truth["expected_status"] != "blank"]
        assert sheet.source_rows == data[row_col].astype(int).tolist()
        assert sheet.frame["序号"].tolist() == data["seq"].tolist()
        assert sheet.frame["机构名称"].tolist() == data["name"].tolist()
        assert set(sheet.roles) == {"name", "category", "address", "township", "beds", "nursing_beds",
                                    "lng", "lat", "remark"}
        # Exactly two problems: the swapped coordinate pair and the duplicated facility.
        dup = data[data["note"].str.startswith("duplicate of")]
        swapped = data[data["note"].str.contains("swapped")]
        first = data.loc[data["seq"] == dup["note"].iloc[0].split()[-1], row_col].iloc[0]
        assert sheet.problems[["row", "column"]].values.tolist() == sorted(
            [[int(dup[row_col].iloc[0]), "机构名称"], [int(swapped[row_col].iloc[0]), "经度"]])
        assert f"与第 {first} 行重复" in " ".join(sheet.problems["message_zh"])
        coords = sheet_coordinates(sheet)
        assert coords["swapped"].sum() == 1
        share = coords["lng"].notna().mean()
        assert 0.25 < share < 0.35


@pytest.mark.parametrize(("code", "name", "encoding"), DEMOS)
def test_truth_codes_are_real_and_in_region(code, name, encoding):
    g = load_gazetteer()
    truth = _truth(code, name)
    matched = truth[truth["expected_status"] == "matched"]
    towns = matched.loc[matched["township_code"] != "", "township_code"]
    assert set(towns) <= set(g.townships_in(code, include_special=False)["code"])
    villages = matched.loc[matched["village_code"] != "", "village_code"]
    assert set(villages) <= set(g.villages_in(code)["code"])
    assert (villages.str[:9] == matched.loc[villages.index, "township_code"]).all()
    # Only county-level facilities (殡仪馆, 社会福利院) are matched without a township.
    assert set(matched.loc[matched["township_code"] == "", "address_style"]) == {"county_only"}
    out = truth[truth["expected_status"] == "out_of_region"]
    assert len(out) == 1 and not out["county_code"].iloc[0].startswith(code)
    amb = truth[truth["expected_status"] == "ambiguous"]
    assert len(amb) >= 1 and (amb["candidates"].str.split(";").str.len() >= 2).all()
    # One shared-village row per sheet, plus name-only rows whose township short name is also a village's.
    assert (amb["address_style"] == "shared_village").sum() == 1
    assert set(amb["address_style"]) <= {"shared_village", "name_only"}


def test_anyue_coverage_shapes():
    """Rates chosen so some plan targets are met and some are not (安岳县, 46 townships)."""
    g = load_gazetteer()
    truth = _truth("512021", "安岳县")
    matched = truth[(truth["expected_status"] == "matched") & ~truth["note"].str.startswith("duplicate")]
    n_towns = len(g.townships_in("512021", include_special=False))
    per_town = matched.groupby("category")["township_code"].nunique()
    assert n_towns == 46
    assert per_town["elderly_regional_centre"] == round(0.7 * 46)
    assert per_town["funeral_service_station"] == round(0.6 * 46)
    assert per_town["social_work_station"] == round(0.9 * 46)
    vill = g.villages_in("512021")
    villages = matched[matched["category"] == "elderly_mutual_aid"]["village_code"].nunique()
    communities = matched[matched["category"] == "community_service"]["village_code"].nunique()
    assert villages == round(0.6 * (vill["kind"] == "village").sum())
    assert communities == round(0.95 * (vill["kind"] == "community").sum())


def test_anyue_population_file():
    g = load_gazetteer()
    pop = pd.read_csv(settings.DEMO_DIR / "512021_安岳县_population_synthetic.csv", dtype={"乡镇代码": str})
    assert list(pop.columns) == ["乡镇代码", "乡镇名称", "常住人口", "60岁以上老年人口", "数据说明"]
    assert sorted(pop["乡镇代码"]) == sorted(g.townships_in("512021", include_special=False)["code"])
    assert (pop["60岁以上老年人口"] < pop["常住人口"]).all()
    assert set(pop["数据说明"]) == {"合成演示数据 / SYNTHETIC"}
