"""Tests for geo.geocoder.geocode: every row out once in order, code/乡镇 columns, coordinates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.geocoder import OUTPUT_COLUMNS, geocode
from towncover.errors import TowncoverError

ANYUE = "512021"
SHIYANG = "512021110"  # 石羊镇
YUEYANG = "512021100"  # 岳阳镇
SHANLIN = "512021110200"  # 石羊镇 山林村


def _frame(**cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame({k: pd.array(v, dtype="string") for k, v in cols.items()})


def test_every_row_once_in_order_with_original_columns() -> None:
    addresses = ["安岳县石羊镇山林村", "", "四川省资阳市乐至县童家镇", "安岳县白塔镇", "安岳县岳阳镇", "安岳县石羊镇山林村"]
    names = ["甲", "安岳县石羊敬老院", "乙", "丙", "丁", "戊"]
    frame = _frame(机构名称=names, 地址=addresses, 备注=[f"r{i}" for i in range(6)])
    out = geocode(frame, ANYUE, roles={"name": "机构名称", "address": "地址"})
    assert list(out.columns[:3]) == ["机构名称", "地址", "备注"]
    assert all(c in out.columns for c in OUTPUT_COLUMNS)
    assert out["备注"].tolist() == [f"r{i}" for i in range(6)]
    assert out["row"].tolist() == [2, 3, 4, 5, 6, 7]
    assert out["match_status"].tolist() == ["matched", "matched", "out_of_region", "unmatched", "matched", "matched"]
    assert out["match_method"].tolist() == ["address", "name", "address", "address", "address", "address"]
    assert out["township_code"].tolist() == [SHIYANG, SHIYANG, "", "", YUEYANG, SHIYANG]
    assert out["village_code"].tolist() == [SHANLIN, "", "", "", "", SHANLIN]
    assert out["township_name"].tolist()[:2] == ["石羊镇", "石羊镇"]
    assert "白塔镇" in out.loc[3, "match_note"]
    assert np.isnan(out["lng_wgs84"]).all()


def test_ambiguous_lists_candidates() -> None:
    out = geocode(_frame(地址=["岔河村2组"]), "532301", roles={"address": "地址"})
    assert out.loc[0, "match_status"] == "ambiguous"
    assert out.loc[0, "candidates"] == "532301104;532301112"
    assert out.loc[0, "township_code"] == ""
    assert "village name '岔河村' shared by 2 townships" in out.loc[0, "match_note"]


def test_code_column_first() -> None:
    frame = _frame(地址=["安岳县岳阳镇", "", "", "", "安岳县岳阳镇"],
                   行政区划代码=["512021110200", "512021110", "512022101", "512021999", "abc"])
    out = geocode(frame, ANYUE, roles={"address": "地址", "division_code": "行政区划代码"})
    assert out["match_status"].tolist() == ["matched", "matched", "out_of_region", "unmatched", "matched"]
    assert out["match_method"].tolist() == ["code", "code", "code", "", "address"]
    assert out["township_code"].tolist() == [SHIYANG, SHIYANG, "512022101", "", YUEYANG]
    assert out.loc[0, "village_code"] == SHANLIN
    assert "512021999" in out.loc[3, "match_note"] and "不在 2023" in out.loc[3, "match_note"]
    assert "不是 9 位或 12 位数字" in out.loc[4, "match_note"]


def test_township_and_village_columns() -> None:
    frame = _frame(乡镇=["石羊镇", "石羊", "九韶乡", ""], 村=["山林村", "", "", "山林村"],
                   地址=["", "", "安岳县岳阳镇", ""])
    out = geocode(frame, ANYUE, roles={"township": "乡镇", "village": "村", "address": "地址"})
    assert out["match_status"].tolist() == ["matched", "matched", "matched", "matched"]
    assert out["match_method"].tolist() == ["name", "name", "address", "name"]
    assert out["township_code"].tolist() == [SHIYANG, SHIYANG, YUEYANG, SHIYANG]
    assert out["village_code"].tolist() == [SHANLIN, "", "", SHANLIN]
    # The old name in the 乡镇 column is reported even though the address placed the row.
    assert "九韶乡" in out.loc[2, "match_note"]


def test_township_column_short_name_then_village_from_address_or_name() -> None:
    # 中山 (楚雄市中山镇) must not be read as its own 中山村; the village comes from the address or name.
    frame = _frame(乡镇=["中山", "白塔寺", "岳城街道"],
                   地址=["楚雄市中山镇法鲁古村８组", "天灯社区居委会旁", ""],
                   名称=["法鲁古村农村幸福院", "天灯社区党群服务中心", "五里村农村幸福院"])
    roles = {"township": "乡镇", "address": "地址", "name": "名称"}
    out = geocode(frame.iloc[:1], "532301", roles=roles)
    assert (out.loc[0, "township_code"], out.loc[0, "village_code"]) == ("532301110", "532301110203")
    out = geocode(frame.iloc[1:].reset_index(drop=True), ANYUE, roles=roles)
    assert out["township_code"].tolist() == ["512021221", "512021001"]
    assert out["village_code"].tolist() == ["512021221001", "512021001201"]


def test_township_column_and_address_disagree_is_ambiguous() -> None:
    frame = _frame(乡镇=["石羊镇", "石羊镇"], 地址=["安岳县岳阳镇人民路3号", "安岳县石羊镇山林村"])
    out = geocode(frame, ANYUE, roles={"township": "乡镇", "address": "地址"})
    assert out["match_status"].tolist() == ["ambiguous", "matched"]
    assert out.loc[0, "candidates"] == f"{SHIYANG};{YUEYANG}"
    assert out.loc[0, "township_code"] == "" and out.loc[0, "county_code"] == ANYUE
    assert "乡镇列为石羊镇" in out.loc[0, "match_note"]
    assert out.loc[1, "village_code"] == SHANLIN


def test_township_column_old_name_alone_is_unmatched() -> None:
    out = geocode(_frame(乡镇=["白塔镇"]), ANYUE, roles={"township": "乡镇"})
    assert (out.loc[0, "match_status"], out.loc[0, "township_code"]) == ("unmatched", "")
    assert out.loc[0, "match_note"].startswith("乡镇名“白塔镇”不在 2023 年区划中(可能已撤并)")


def test_rejected_rows_kept_in_file_order() -> None:
    from facilities.sheets import Sheet

    frame = _frame(名称=["a", "b"], 地址=["安岳县石羊镇", "安岳县岳阳镇"])
    rejected = _frame(名称=["合计"], 地址=[""])
    rejected["row"] = [4]
    rejected["reason_zh"] = ["合计行"]
    rejected["reason_en"] = ["total row"]
    sheet = Sheet(frame=frame, roles={"name": "名称", "address": "地址"}, source_rows=[3, 5], header_row=2,
                  encoding="utf-8", problems=pd.DataFrame(columns=["row", "column", "message_zh", "message_en"]),
                  rejected=rejected)
    out = geocode(sheet, ANYUE)
    assert out["row"].tolist() == [3, 4, 5]
    assert out["match_status"].tolist() == ["matched", "rejected", "matched"]
    assert out["名称"].tolist() == ["a", "合计", "b"]
    assert out.loc[1, "match_note"] == "合计行 / total row"


def test_sheet_problems_joined_per_row_in_listed_order() -> None:
    """Each row's cell problems follow its note, "; "-joined in the order the loader listed them."""
    from facilities.sheets import Sheet

    frame = _frame(名称=["a", "b", "c"], 地址=["安岳县石羊镇", "", "安岳县岳阳镇"])
    problems = pd.DataFrame({"row": [7, 3, 7, 5], "column": ["x", "y", "z", "x"],
                             "message_zh": ["第 7 行甲", "第 3 行乙", "第 7 行丙", "第 5 行丁"],
                             "message_en": ["row 7 a", "row 3 b", "row 7 c", "row 5 d"]})
    sheet = Sheet(frame=frame, roles={"name": "名称", "address": "地址"}, source_rows=[3, 5, 7], header_row=2,
                  encoding="utf-8", problems=problems, rejected=None)
    notes = geocode(sheet, ANYUE)["match_note"].tolist()
    assert notes == ["第 3 行乙 / row 3 b", "地址为空 / empty address; 第 5 行丁 / row 5 d",
                     "第 7 行甲 / row 7 a; 第 7 行丙 / row 7 c"]


def test_bad_inputs_raise_towncover_error() -> None:
    with pytest.raises(TowncoverError, match="不支持的坐标系"):
        geocode(_frame(地址=["x"]), ANYUE, roles={"address": "地址"}, crs="utm")
    with pytest.raises(TowncoverError) as err:
        geocode(_frame(地址=["x"]), ANYUE, roles={"address": "住址"})
    assert err.value.column == "住址"


# -- coordinates ------------------------------------------------------------------------------------

def _squares(schematic: bool = False):
    """A tiny hand-built 'real' boundary set: two adjacent squares near 安岳县城 with real codes."""
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import box

    return gpd.GeoDataFrame({"code": [YUEYANG, SHIYANG], "name": ["岳阳镇", "石羊镇"], "schematic": [schematic] * 2},
                            geometry=[box(105.30, 30.08, 105.33, 30.11), box(105.33, 30.08, 105.36, 30.11)],
                            crs="EPSG:4326")


# WGS-84 points: inside 岳阳镇's square, inside 石羊镇's square.
_PTS = [(105.315, 30.095), (105.345, 30.095)]


def _in_crs(crs: str) -> list[tuple[float, float]]:
    prcoords = pytest.importorskip("prcoords")
    conv = {"wgs84": lambda p: p, "cgcs2000": lambda p: p,
            "gcj02": lambda p: prcoords.wgs_gcj(p), "bd09": lambda p: prcoords.wgs_bd(p)}[crs]
    out = []
    for lng, lat in _PTS:
        c = conv(prcoords.Coords(lat, lng))
        out.append((c.lon, c.lat))
    return out


@pytest.mark.parametrize("crs", ["wgs84", "cgcs2000", "gcj02", "bd09"])
def test_coordinates_each_crs_assigned_by_real_boundaries(crs: str) -> None:
    pytest.importorskip("geo.crs")
    pytest.importorskip("geo.assign")
    pts = _in_crs(crs)
    frame = _frame(地址=["", ""], 经度=[f"{p[0]:.9f}" for p in pts], 纬度=[f"{p[1]:.9f}" for p in pts])
    out = geocode(frame, ANYUE, roles={"address": "地址", "lng": "经度", "lat": "纬度"}, crs=crs,
                  boundaries=_squares())
    assert out["match_status"].tolist() == ["matched", "matched"]
    assert out["match_method"].tolist() == ["coordinates", "coordinates"]
    assert out["township_code"].tolist() == [YUEYANG, SHIYANG]
    np.testing.assert_allclose(out["lng_wgs84"], [p[0] for p in _PTS], atol=1e-6)
    np.testing.assert_allclose(out["lat_wgs84"], [p[1] for p in _PTS], atol=1e-6)


def test_swapped_lat_lng_detected() -> None:
    pytest.importorskip("geo.crs")
    pytest.importorskip("geo.assign")
    frame = _frame(经度=[str(_PTS[1][1])], 纬度=[str(_PTS[1][0])])
    out = geocode(frame, ANYUE, roles={"lng": "经度", "lat": "纬度"}, crs="wgs84", boundaries=_squares())
    assert (out.loc[0, "match_status"], out.loc[0, "township_code"]) == ("matched", SHIYANG)
    assert "经纬度填反" in out.loc[0, "match_note"]
    assert out.loc[0, "lng_wgs84"] == pytest.approx(_PTS[1][0])


def test_address_and_coordinates_disagree_is_not_matched() -> None:
    pytest.importorskip("geo.crs")
    pytest.importorskip("geo.assign")
    frame = _frame(地址=["安岳县石羊镇", "安岳县岳阳镇"], 经度=[str(_PTS[0][0])] * 2, 纬度=[str(_PTS[0][1])] * 2)
    out = geocode(frame, ANYUE, roles={"address": "地址", "lng": "经度", "lat": "纬度"}, crs="wgs84",
                  boundaries=_squares())
    assert out["match_status"].tolist() == ["ambiguous", "matched"]
    assert out.loc[0, "candidates"] == f"{SHIYANG};{YUEYANG}"
    assert out.loc[0, "township_code"] == ""
    assert SHIYANG in out.loc[0, "match_note"] and YUEYANG in out.loc[0, "match_note"]
    assert "坐标与地址一致" in out.loc[1, "match_note"]


def test_schematic_boundaries_never_decide() -> None:
    pytest.importorskip("geo.crs")
    frame = _frame(地址=[""], 经度=[str(_PTS[0][0])], 纬度=[str(_PTS[0][1])])
    out = geocode(frame, ANYUE, roles={"address": "地址", "lng": "经度", "lat": "纬度"}, crs="wgs84",
                  boundaries=_squares(schematic=True))
    assert (out.loc[0, "match_status"], out.loc[0, "township_code"]) == ("unmatched", "")
    assert "示意边界:坐标不能确定乡镇" in out.loc[0, "match_note"]
    assert "schematic boundaries" in out.loc[0, "match_note"]


def test_coordinates_outside_china_flagged() -> None:
    pytest.importorskip("geo.crs")
    frame = _frame(地址=["安岳县石羊镇"], 经度=["2.35"], 纬度=["48.85"])
    out = geocode(frame, ANYUE, roles={"address": "地址", "lng": "经度", "lat": "纬度"}, crs="wgs84")
    assert (out.loc[0, "match_status"], out.loc[0, "township_code"]) == ("matched", SHIYANG)
    assert "坐标不在中国境内" in out.loc[0, "match_note"]


def test_parallel_batches_give_the_same_answers(monkeypatch) -> None:
    import multiprocessing

    from facilities.sheets import read_sheet
    from geo import geocoder
    from towncover import settings

    sheet = read_sheet(next(settings.DEMO_DIR.glob("3609_*_synthetic.xlsx")))
    serial = geocode(sheet, "3609")
    forks = []
    real_context = multiprocessing.get_context

    def counting_context(method=None):
        forks.append(method)
        return real_context(method)

    monkeypatch.setattr(settings, "GEOCODE_WORKERS", 2)
    monkeypatch.setattr(settings, "GEOCODE_PARALLEL_MIN", 100)
    monkeypatch.setattr(settings, "GEOCODE_ROWS_PER_GB", 0)
    monkeypatch.setattr(geocoder.threading, "active_count", lambda: 1)
    monkeypatch.setattr(geocoder.multiprocessing, "get_context", counting_context)
    parallel = geocode(sheet, "3609")
    assert forks == ["fork"]
    pd.testing.assert_frame_equal(serial, parallel)
    # A process with threads (the app's server) never forks.
    monkeypatch.setattr(geocoder.threading, "active_count", lambda: 3)
    pd.testing.assert_frame_equal(serial, geocode(sheet, "3609"))
    assert forks == ["fork"]


def test_forks_only_when_the_rows_pay_for_copying_the_process(monkeypatch) -> None:
    from geo import geocoder
    from towncover import settings

    monkeypatch.setattr(settings, "GEOCODE_WORKERS", 2)
    monkeypatch.setattr(settings, "GEOCODE_PARALLEL_MIN", 5_000)
    monkeypatch.setattr(settings, "GEOCODE_ROWS_PER_GB", 40_000)
    monkeypatch.setattr(geocoder.threading, "active_count", lambda: 1)
    monkeypatch.setattr(geocoder, "_resident_gb", lambda: 2.0)  # a process holding 2 GB
    assert [geocoder._workers(n) for n in (9_999, 10_000, 79_999, 80_000)] == [1, 1, 1, 2]
    monkeypatch.setattr(geocoder, "_resident_gb", lambda: 0.1)
    assert [geocoder._workers(n) for n in (9_999, 10_000)] == [1, 2]
    monkeypatch.undo()
    assert 0.01 < geocoder._resident_gb() < 64  # the real one reads /proc/self/statm


def test_digits_are_folded_only_where_no_name_holds_one() -> None:
    # 北京西城: 黄寺大街24号社区 is a community's name, so its digits are read as written.
    out = geocode(_frame(地址=["北京市西城区德胜街道黄寺大街24号社区", "北京市西城区德胜街道黄寺大街25号"]), "110102",
                  roles={"address": "地址"})
    assert out["village_code"].tolist() == ["110102010033", ""]
    assert out["township_code"].tolist() == ["110102010", "110102010"]
    # 安岳县 has no digit in any name: house numbers differ, the answer is the same.
    out = geocode(_frame(地址=["安岳县石羊镇山林村3组", "安岳县石羊镇山林村12组", "安岳县石羊镇育才路7号"]), ANYUE,
                  roles={"address": "地址"})
    assert out["village_code"].tolist() == [SHANLIN, SHANLIN, ""]
    assert out["township_code"].tolist() == [SHIYANG] * 3


def test_village_column_and_address_candidates_intersect() -> None:
    # 湾溪村 is in 新界埠镇 (上高县) and 新庄镇 (宜丰县): the address's county settles the 村 column.
    frame = _frame(名称=["敬老院", "敬老院"], 村=["湾溪村", "湾溪村"], 地址=["上高县人民路1号", ""])
    out = geocode(frame, "3609", roles={"name": "名称", "village": "村", "address": "地址"})
    assert out.loc[0, ["match_status", "township_code", "village_code"]].tolist() == [
        "matched", "360923107", "360923107206"]
    assert out.loc[0, "match_note"] == ("乡镇/村列与地址、名称的候选乡镇共同指向新界埠镇(360923107) / the township/village "
                                        "columns, address and name together give township 360923107 (the one their "
                                        "candidates share)")
    assert out.loc[1, ["match_status", "candidates"]].tolist() == ["ambiguous", "360923107;360924103"]
