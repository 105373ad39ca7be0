"""Tests for facilities.sheets: encodings, header finding, roles, row accounting, problems, errors."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from facilities.headers import _normalise_headers, reads_as
from facilities.rows import _parse_numbers
from facilities.sheets import (
    compact_text,
    normalise_header,
    numeric_column,
    read_sheet,
    sheet_coordinates,
)
from towncover import settings
from towncover.errors import TowncoverError

CSV = (
    "序号,机构名称,地址,经度,纬度,床位数,护理型床位数\n"
    "1,石羊敬老院,安岳县石羊镇,105.3,29.1,50,20\n"
    "2,岳阳敬老院,岳阳镇,东经,29.1,１２０张,\n"
)


def _xlsx(rows, merges=(), formulas=None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for m in merges:
        ws.merge_cells(m)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(("encoding", "detected"), [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030"),
    ("utf-16", "utf-16"),
])
def test_csv_encodings(encoding, detected):
    s = read_sheet(CSV.encode(encoding), filename="a.csv")
    assert s.encoding == detected
    assert s.frame["机构名称"].tolist() == ["石羊敬老院", "岳阳敬老院"]
    assert s.source_rows == [2, 3]
    assert s.header_row == 1


def test_charset_normalizer_fallback():
    data = "name,address\nCafé,Straße 1\n".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("gb18030")  # neither UTF-8 nor GB18030: the fallback is really needed
    s = read_sheet(data, filename="b.csv")
    assert s.frame.iloc[0].tolist() == ["Café", "Straße 1"]
    assert s.roles == {"name": "name", "address": "address"}
    assert s.encoding not in ("utf-8", "utf-8-sig", "gb18030")


def test_tab_separated_and_codes_kept_as_text(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("名称\t地址\t行政区划代码\n甲\t乙\t512021110000\n丙\t丁\t51202A\n戊\t己\t0512\n", encoding="utf-8")
    s = read_sheet(p)
    assert s.frame["行政区划代码"].tolist() == ["512021110000", "51202A", "0512"]
    assert s.roles["division_code"] == "行政区划代码"
    assert s.problems[["row", "column"]].values.tolist() == [[3, "行政区划代码"]]
    assert s.filename == "x.txt"


def test_title_rows_above_header_and_row_numbers():
    data = _xlsx([["安岳县民政服务设施名录"], ["填报单位:民政局", None, "2024年"], [],
                  ["序号", "设施名称", "详细地址", "类别"], [1, "甲敬老院", "石羊镇", "敬老院"]],
                 merges=["A1:D1"])
    s = read_sheet(data, filename="t.xlsx")
    assert s.header_row == 4
    assert s.source_rows == [5]
    assert s.roles == {"name": "设施名称", "address": "详细地址", "category": "类别"}
    assert s.frame.iloc[0].tolist() == ["1", "甲敬老院", "石羊镇", "敬老院"]


def test_merged_two_row_header():
    data = _xlsx([["名录"], ["机构名称", "坐标", None, "床位数"], [None, "经度", "纬度", None],
                  ["甲", 105.1, 29.25, 30]], merges=["A1:D1", "B2:C2", "A2:A3", "D2:D3"])
    s = read_sheet(data, filename="m.xlsx")
    assert s.header_row == 3
    assert list(s.frame.columns) == ["机构名称", "经度", "纬度", "床位数"]
    assert s.roles == {"name": "机构名称", "lng": "经度", "lat": "纬度", "beds": "床位数"}
    assert s.frame.iloc[0].tolist() == ["甲", "105.1", "29.25", "30"]


@pytest.mark.parametrize(("header", "role"), [
    ("机构名称", "name"), ("服务机构名称", "name"), ("Name", "name"), ("单位名称：", "name"),
    ("所在地", "address"), ("ADDRESS", "address"), ("机构详细地址", "address"),
    ("乡镇（街道）", "township"), ("所属乡镇", "township"), ("村（社区）", "village"),
    ("县（市、区）", "county"), ("区划代码", "division_code"), ("床位数(张)", "beds"),
    ("护理型床位数", "nursing_beds"), ("longitude", "lng"), ("Ｘ", "lng"), ("纬 度", "lat"), ("备注", "remark"),
    ("设施类型", "category"),
])
def test_header_synonyms(header, role):
    other = "地址" if role != "address" else "名称"
    s = read_sheet(f"{header},{other}\nA,B\n".encode(), filename="h.csv")
    assert s.roles[role] == header.strip()


def test_normalise_header():
    assert normalise_header("乡镇（街道）：") == "乡镇街道"
    assert normalise_header(" Ｌｎｇ ") == "lng"


def test_columns_override_and_errors():
    text = "点位,方位描述,经度\n甲,石羊镇,105\n".encode()
    with pytest.raises(TowncoverError) as e:
        read_sheet(text, filename="o.csv")
    assert "名称" in e.value.message_zh and "name" in e.value.message_en
    s = read_sheet(text, filename="o.csv", columns={"name": "点位", "address": "方位描述"})
    assert s.roles == {"name": "点位", "address": "方位描述", "lng": "经度"}
    with pytest.raises(TowncoverError) as e:
        read_sheet(text, filename="o.csv", columns={"name": "不存在"})
    assert e.value.column == "不存在"
    with pytest.raises(TowncoverError):
        read_sheet(text, filename="o.csv", columns={"colour": "点位"})


def test_blank_rejected_and_summary_adds_up():
    text = (
        "机构名称,地址,乡镇,经度,纬度,备注\n"
        "甲,石羊镇,,,,\n"
        ",,,,,\n"            # blank
        ",,,,,只有备注\n"     # rejected: nothing usable
        ",,,105.3,,\n"        # rejected: a longitude alone cannot be placed
        ",,岳阳镇,,,\n"       # kept: township only
        ",,,105.3,30.1,\n"    # kept: coordinates only
        "合计,,,,,\n"         # rejected: total row
        "机构名称,地址,乡镇,经度,纬度,备注\n"  # rejected: repeated header
        ",,,,,\n,,,,,\n"      # trailing blank rows are not data
    )
    s = read_sheet(text.encode(), filename="r.csv")
    assert s.summary()["rows_read"] == 8
    assert s.source_rows == [2, 6, 7]
    assert s.blank_rows == [3]
    assert s.rejected["row"].tolist() == [4, 5, 8, 9]
    assert s.rejected["reason_en"].tolist()[2:] == ["a total/subtotal row, not a facility", "a repeated header row"]
    sm = s.summary()
    assert (sm["kept"], sm["blank"], sm["rejected"]) == (3, 1, 4)
    assert sm["rows_read"] == sm["kept"] + sm["blank"] + sm["rejected"]


def test_problem_messages_name_row_and_column():
    s = read_sheet(CSV.encode(), filename="p.csv")
    assert s.problems.values.tolist() == [
        [3, "经度", "第 3 行“经度”不是数字", 'row 3: "经度" is not a number'],
    ]
    assert numeric_column(s, "beds").tolist() == [50.0, 120.0]
    assert len(s.frame) == 2  # the row with a bad cell is still used


def test_coordinates_range_swap_and_dms():
    text = ("名称,经度,纬度,床位数,护理型床位数\n"
            "a,105.5,30.1,10,5\n"
            "b,30.1,105.5,10,12\n"           # swapped; nursing beds > beds
            "c,200,30,-1,\n"                 # out of range; negative
            "d,\"104°30'36\"\"E\",29°N,,\n"  # degrees-minutes-seconds
            "e,0,0,,\n")
    s = read_sheet(text.encode(), filename="c.csv")
    msgs = s.problems[["row", "column", "message_en"]].values.tolist()
    assert msgs == [
        [3, "经度", 'row 3: "经度" and the latitude appear swapped (read the other way round)'],
        [3, "护理型床位数", 'row 3: "护理型床位数" is larger than the number of beds'],
        [4, "经度", 'row 4: "经度" is outside China (73–136)'],
        [4, "床位数", 'row 4: "床位数" is negative'],
        [6, "经度", 'row 6: "经度" and the latitude are both 0: treated as missing'],
    ]
    c = sheet_coordinates(s)
    assert c["lng"].round(4).tolist()[:2] == [105.5, 105.5]
    assert c["swapped"].tolist() == [False, True, False, False, False]
    assert c["lng"].isna().tolist() == [False, False, True, False, True]
    assert c.loc[3, "lng"] == pytest.approx(104.51)
    assert c.loc[3, "lat"] == 29.0


def test_formula_without_cached_value_and_excel_error():
    data = _xlsx([["名称", "地址", "床位数"], ["甲", "石羊镇", "=10+20"], ["乙", "#N/A", 5]])
    s = read_sheet(data, filename="f.xlsx")
    assert s.frame["床位数"].tolist() == ["", "5"]
    assert s.problems[["row", "column"]].values.tolist() == [[2, "床位数"], [3, "地址"]]
    assert "=10+20" in s.problems.loc[0, "message_zh"]
    assert s.problems.loc[1, "message_en"] == 'row 3: "地址" is an Excel error value #N/A'


def test_formula_with_cached_value_is_read_as_value():
    data = _xlsx([["名称", "床位数"], ["甲", "=1+1"]])
    # Put a cached value into the sheet XML as Excel would after recalculation.
    zin = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for item in zin.infolist():
            content = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                # openpyxl writes the empty value as <v /> or <v></v> depending on its version.
                content = content.replace(b"<f>1+1</f><v />", b"<f>1+1</f><v>2</v>")
                content = content.replace(b"<f>1+1</f><v></v>", b"<f>1+1</f><v>2</v>")
                assert b"<v>2</v>" in content
            zout.writestr(item, content)
    s = read_sheet(buf.getvalue(), filename="g.xlsx")
    assert s.frame["床位数"].tolist() == ["2"]
    assert s.problems.empty


def test_xls_reader(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("名录")
    ws.write_merge(0, 0, 0, 2, "安岳县设施名录")
    for c, h in enumerate(["机构名称", "地址", "区划代码"]):
        ws.write(1, c, h)
    ws.write(2, 0, "甲敬老院")
    ws.write(2, 1, "石羊镇")
    ws.write(2, 2, 512021110)
    path = tmp_path / "x.xls"
    wb.save(str(path))
    s = read_sheet(path)
    assert s.header_row == 2 and s.sheet_name == "名录"
    assert s.frame.iloc[0].tolist() == ["甲敬老院", "石羊镇", "512021110"]


def test_best_sheet_of_workbook_is_read():
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表为示例"])
    ws = wb.create_sheet("数据")
    ws.append(["名称", "地址"])
    ws.append(["甲", "乙"])
    buf = io.BytesIO()
    wb.save(buf)
    s = read_sheet(io.BytesIO(buf.getvalue()), filename="w.xlsx")
    assert s.sheet_name == "数据" and s.frame.iloc[0].tolist() == ["甲", "乙"]


def test_file_like_with_name(tmp_path):
    class Upload(io.BytesIO):
        name = "upload.csv"
    s = read_sheet(Upload(CSV.encode("gbk")))
    assert s.filename == "upload.csv" and s.encoding == "gb18030"


@pytest.mark.parametrize(("data", "filename", "zh"), [
    (b"", "e.csv", "空"),
    (b"  \n\n", "e.csv", "空"),
    (b"a,b\n1,2\n", "e.csv", "表头"),
    ("标题\n只有一列\n".encode(), "e.csv", "表头"),
    (b"PK\x03\x04garbage", "e.xlsx", "损坏"),
    (b"not excel at all", "e.xlsx", "损坏"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "e.xls", "损坏"),
    (b"<html><table><tr><td>1</td></tr></table></html>", "e.xls", "HTML"),
    (b"\x00\x01\x02binary", "e.csv", "二进制"),
    (b"name,address\n", "e.pdf", ".pdf"),
])
def test_unusable_files(data, filename, zh):
    with pytest.raises(TowncoverError) as e:
        read_sheet(data, filename=filename)
    assert zh in e.value.message_zh
    assert e.value.message_en


def test_too_big(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "MAX_UPLOAD_MB", 0.0001)
    p = tmp_path / "big.csv"
    p.write_bytes(CSV.encode() * 20)
    with pytest.raises(TowncoverError) as e:
        read_sheet(p)
    assert "太大" in e.value.message_zh and "too large" in e.value.message_en
    with pytest.raises(TowncoverError):
        read_sheet(p.read_bytes(), filename="big.csv")


def test_missing_file(tmp_path):
    with pytest.raises(TowncoverError):
        read_sheet(tmp_path / "none.csv")


def test_strings_stripped_and_duplicates_noted():
    text = "名称,地址\n  甲\u3000, 石羊镇 \n乙,x\n甲,石羊镇\n"
    s = read_sheet(text.encode(), filename="d.csv")
    assert s.frame["名称"].tolist() == ["甲", "乙", "甲"]
    assert s.frame["地址"].tolist() == ["石羊镇", "x", "石羊镇"]
    assert s.problems.values.tolist() == [[4, "名称", "第 4 行“名称”与第 2 行重复", 'row 4: "名称" duplicates row 2']]


# ---- Whole-column text work equals the value-by-value definitions ----------------------------------

# Characters where joining values could leak across the join: whitespace of every kind, zero-width
# characters, the join character itself, Greek capital sigma (lower() looks at its neighbours),
# combining marks, Hangul jamo, compatibility forms that NFKC expands, case oddities.
_TRICKY = list("\u3000\xa0\t\n\u2028\x1c\x85\u200b\ufeff\ue000ΣΑσİ\u0301\u0308\u1100\u1161ﬁ㈱①Ⅻｶ\u212aſßǅ：（）【】·_ -")
_CHARS = st.characters(exclude_categories=("Cs",))  # no lone surrogates: no file decodes to them
_TEXTS = st.lists(st.text(st.one_of(st.sampled_from(_TRICKY), _CHARS), max_size=8), max_size=25)


@given(_TEXTS)
def test_headers_normalised_together_as_one_by_one(values):
    assert _normalise_headers(values) == [normalise_header(v) for v in values]


@given(_TEXTS)
def test_compact_text_is_nfkc_without_whitespace(values):
    s = pd.Series(values, dtype="str", index=range(10, 10 + len(values)), name="x")
    expected = s.str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    pd.testing.assert_series_equal(compact_text(s), expected)


def test_compact_text_examples():
    s = pd.Series(["石羊镇\u3000敬老院", " １２号 ", "ΑΣ\ue000Σ", "石羊镇\u3000敬老院"], dtype="string")
    out = compact_text(s)
    assert out.tolist() == ["石羊镇敬老院", "12号", "ΑΣ\ue000Σ", "石羊镇敬老院"]
    assert out.dtype == "string"


def test_repeated_header_needs_three_cells_read_as_headers_and_total_rows():
    text = ("机构名称,地址,类型,床位数\n"
            "甲,石羊镇,敬老院,10\n"
            "机构名称,地址,敬老院,10\n"        # two cells read as their headers: kept
            "机构 名称,地址：,类\u3000型,\n"    # three after normalising: a repeated header
            "乙,岳阳镇,机构名称,地址\n"        # header words in other columns: kept
            "合 计,,,30\n"                     # a total row (no address)
            "合计,石羊镇,,\n")                 # a 合计 with an address is a facility
    s = read_sheet(text.encode(), filename="h.csv")
    assert s.source_rows == [2, 3, 5, 7]
    assert s.rejected["row"].tolist() == [4, 6]
    assert s.rejected["reason_en"].tolist() == ["a repeated header row", "a total/subtotal row, not a facility"]


def test_many_formula_cells_each_a_problem_in_row_order():
    data = _xlsx([["名称", "地址", "床位数", "护理型床位数"],
                  ["甲", "石羊镇", "=1+1", "=2+2"],
                  ["乙", "岳阳镇", 5, 1],
                  ["丙", "=A1", "=3+3", 2]])
    s = read_sheet(data, filename="m.xlsx")
    assert s.problems[["row", "column"]].values.tolist() == [
        [2, "床位数"], [2, "护理型床位数"], [4, "地址"], [4, "床位数"],
    ]
    assert s.problems["message_zh"].tolist()[2] == (
        "第 4 行“地址”是公式 =A1,文件中没有保存计算结果(请用 Excel 打开并保存后再上传)")
    assert s.problems["message_en"].tolist()[1].startswith('row 2: "护理型床位数" is a formula =2+2 with no saved result')


def test_numbers_repeated_values_and_duplicates_with_spacing():
    text = ("名称,地址,床位数\n"
            "甲,石羊镇,120张\n"
            "乙,,\n"
            "甲 ,石羊镇\u3000,120张\n"   # the same facility written with spaces
            "丙,x,\"1,200\"\n"
            "丁,y,abc\n"
            "戊,z,\"1,200\"\n"
            "甲,石羊 镇,１２０\n")
    s = read_sheet(text.encode(), filename="n.csv")
    assert numeric_column(s, "beds").fillna(-1).tolist() == [120.0, -1, 120.0, 1200.0, -1, 1200.0, 120.0]
    dup = s.problems[s.problems["message_en"].str.contains("duplicates")]
    assert dup[["row", "message_en"]].values.tolist() == [
        [4, 'row 4: "名称" duplicates row 2'], [8, 'row 8: "名称" duplicates row 2'],
    ]
    assert s.problems[["row", "column", "message_en"]].values.tolist()[1] == [6, "床位数", 'row 6: "床位数" is not a number']


_HEADERISH = st.lists(
    st.text(st.one_of(st.sampled_from(list("机构名称地址类型.0123456789abcXYZ") + _TRICKY), _CHARS), max_size=6),
    min_size=1, max_size=25,
)


@given(_HEADERISH, st.integers(min_value=0, max_value=24))
def test_reads_as_header_equals_normalise_header(values, pick):
    header = normalise_header(values[pick % len(values)])
    got = reads_as(pd.Series(values, dtype="str"), header)
    assert got.tolist() == [normalise_header(v) == header for v in values]


def _numbers_by_definition(text: pd.Series) -> np.ndarray:
    """The number parser written plainly, every step on every value (the definition)."""
    from facilities.rows import _DMS, _UNIT

    s = text.astype("str").str.normalize("NFKC").str.strip()
    s = s.str.replace(r"^(?:东经|北纬|[ENen](?=\s*\d))\s*", "", regex=True)  # 东经104.5, E104.5
    plain = s.str.replace(",", "", regex=False).str.replace(r"\s+", "", regex=True)
    plain = plain.str.replace(_UNIT.pattern, "", regex=True)
    values = np.array(pd.to_numeric(plain.where(plain.ne(""), None), errors="coerce")
                      .to_numpy(dtype="float64", na_value=np.nan), copy=True)
    todo = np.isnan(values) & s.str.contains(r"[°度]", regex=True).to_numpy()
    if todo.any():
        parts = s[todo].str.extract(_DMS.pattern)
        d = pd.to_numeric(parts["d"], errors="coerce")
        m = pd.to_numeric(parts["m"], errors="coerce").fillna(0)
        sec = pd.to_numeric(parts["s"], errors="coerce").fillna(0)
        sign = np.where(parts["sign"].eq("-").fillna(False) | parts["h"].isin(list("WSws西南")).fillna(False), -1, 1)
        values[todo] = (sign * (d + m / 60 + sec / 3600)).to_numpy(dtype="float64", na_value=np.nan)
    return values


_NUMBERS = st.lists(st.one_of(
    st.sampled_from(["104.5", "１０４．５", "104°31′12″E", "北纬30.1", "东经 104.2", "30°N", "-5", "-0", "0", "120张",
                     "1,200", "abc", "", "104.5°", "30度", "9007199254740993", "9007199254740993张", "1e3", "nan",
                     " 45 ", "12 3", "30°6′S", "007", "1.", ".5"]),
    st.from_regex(r"\A-?[0-9]{1,18}(\.[0-9]{0,6})?[张度°]?\Z"),
    st.text(st.sampled_from(list("0123456789.,-° 张度EWNS东西南北") + ["\u3000"]), max_size=10),
), max_size=30)


@hypothesis_settings(deadline=None)
@given(_NUMBERS)
def test_numbers_parse_as_the_definition(values):
    text = pd.Series(values, dtype="str")
    got, want = _parse_numbers(text), _numbers_by_definition(text)
    np.testing.assert_array_equal(got, want)
    assert np.signbit(got).tolist() == np.signbit(want).tolist()


@pytest.mark.parametrize(("lng", "lat"), [
    ("104°31′12″E", "29°58′48″N"),
    ("东经104°31′12″", "北纬29°58′48″"),
    ("东经 104.52", "北纬 29.98"),
    ("104.52°", "29.98°"),
])
def test_geocoder_receives_the_loaders_numbers_not_text(lng, lat):
    # Issue 13.6: 104°31′12″E was 104.52 for the sheet reader and 1043112.0 for the geocoder
    # ("outside China; not used"). The geocoder now takes the loader's numbers.
    from geo.geocoder import geocode

    text = f"名称,地址,经度,纬度\n石羊镇敬老院,安岳县石羊镇,{lng},{lat}\n"
    sheet = read_sheet(text.encode(), filename="dms.csv")
    assert sheet.numbers["lng"].tolist() == [pytest.approx(104.52)]
    assert sheet.numbers["lat"].tolist() == [pytest.approx(29.98)]
    out = geocode(sheet, "512021", crs="wgs84")
    assert out["lng_wgs84"].tolist() == [pytest.approx(104.52)]
    assert out["lat_wgs84"].tolist() == [pytest.approx(29.98)]
    assert "outside China" not in out["match_note"].iloc[0]


def test_counts_with_units_parsed_once_by_the_loader():
    sheet = read_sheet("名称,床位数,护理型床位数\n甲,50张,20床\n乙,\"1,200\",\n".encode(), filename="n.csv")
    assert sheet.numbers["beds"].tolist() == [50.0, 1200.0]
    assert sheet.numbers["nursing_beds"].fillna(-1).tolist() == [20.0, -1]


def test_rows_of_formulas_without_saved_results_are_kept_and_named():
    # Issue 19.6: a workbook written by a program (never opened in Excel) has formulas without cached
    # values; such a row was counted "blank" and dropped ("读取 0 行", no problem listed).
    data = _xlsx([["名称", "地址", "床位数"], ['="石羊镇"&"敬老院"', '="安岳县"&"石羊镇"', "=10+20"]])
    s = read_sheet(data, filename="program.xlsx")
    assert s.rows_read == 1 and s.blank_rows == []
    assert len(s.frame) == 0
    assert s.rejected["row"].tolist() == [2]
    assert s.rejected["reason_en"].tolist() == [
        "formulas without saved results (名称, 地址, 床位数): open and save the file in Excel, then upload it again"]


def test_a_formula_row_beside_text_is_kept_with_the_formula_named():
    data = _xlsx([["名称", "地址", "床位数"], ["甲敬老院", '="安岳县"&"石羊镇"', "=10+20"]])
    s = read_sheet(data, filename="program.xlsx")
    assert s.source_rows == [2]
    assert s.problems[["row", "column"]].values.tolist() == [[2, "地址"], [2, "床位数"]]


def test_facility_status_from_the_status_column_and_the_name():
    # Issue 14.3: a 区域养老服务中心（在建） with 运营状态 = 在建 covered its township; a 停业整顿
    # nursing home's beds counted.
    text = ("机构名称,地址,运营状态,床位数\n"
            "石羊镇区域养老服务中心（在建）,安岳县石羊镇,在建,100\n"
            "岳阳镇敬老院,安岳县岳阳镇,停业整顿,50\n"
            "龙台镇敬老院(拟建),安岳县龙台镇,,30\n"
            "通贤镇敬老院,安岳县通贤镇,正常运营,40\n"
            "周礼镇敬老院,安岳县周礼镇,注销,20\n"
            "永清镇敬老院,安岳县永清镇,看情况,10\n"
            "合计,,,250\n")
    s = read_sheet(text.encode(), filename="状态.csv")
    assert s.roles["status"] == "运营状态"
    assert s.status["operating_status"].tolist() == [
        "under_construction", "closed", "under_construction", "operating", "closed", "operating"]
    assert s.status["status_note"].tolist() == [
        '“运营状态”为“在建” / "运营状态" says 在建', '“运营状态”为“停业整顿” / "运营状态" says 停业整顿',
        "名称含“(拟建)” / the name says (拟建)", "", '“运营状态”为“注销” / "运营状态" says 注销', ""]
    assert s.summary()["status"] == {"operating": 2, "under_construction": 2, "closed": 2}
    assert s.problems[["row", "column"]].values.tolist() == [[7, "运营状态"]]
    # No row lost: the 合计 row is a total row with its own reason.
    assert s.rejected[["row", "reason_en"]].values.tolist() == [[8, "a total/subtotal row, not a facility"]]


def _workbook(sheets: dict[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_every_worksheet_holding_a_facility_table_is_read():
    # Issue 14.4: a workbook with 公办 (5 rows) and 民办 (6 rows) reported 读取 5 行.
    public = [["机构名称", "地址", "床位数"]] + [[f"公办{i}敬老院", "安岳县石羊镇", 10] for i in range(5)]
    private = [["安岳县民办养老机构"], ["单位名称", "详细地址", "床位数"]] + [
        [f"民办{i}养老院", "安岳县岳阳镇", "x" if i == 2 else 20] for i in range(6)]
    notes = [["填表说明"], ["本表由各乡镇填报"]]
    counts = [["乡镇", "数量"], ["石羊镇", 3]]
    s = read_sheet(_workbook({"公办": public, "民办": private, "说明": notes, "统计": counts}), filename="两表.xlsx")
    assert s.rows_read == 11 and len(s.frame) == 11
    assert s.frame["sheet"].tolist() == ["公办"] * 5 + ["民办"] * 6
    assert s.frame["机构名称"].tolist()[5:7] == ["民办0养老院", "民办1养老院"]  # 单位名称 read as the name
    assert s.frame["地址"].tolist()[-1] == "安岳县岳阳镇"
    assert s.source_rows == [2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14]  # unique: 民办 numbered on after 公办's row 6
    assert [(x["name"], x["rows_read"], x["header_row"]) for x in s.sheets] == [("公办", 5, 1), ("民办", 6, 2)]
    assert s.skipped_sheets == [
        {"name": "说明", "reason_zh": "没有可识别的表头", "reason_en": "no recognisable header row"},
        {"name": "统计", "reason_zh": "表头中没有“名称”或“地址”列", "reason_en": "no name or address column in the header"},
    ]
    assert s.problems[["row", "message_en"]].values.tolist() == [
        [11, 'worksheet "民办", row 5: "床位数" is not a number']]
    assert s.numbers["beds"].fillna(-1).tolist() == [10.0] * 5 + [20.0, 20.0, -1, 20.0, 20.0, 20.0]
    assert s.describe_sheets() == (
        "“公办” 5 行、“民办” 6 行;跳过 “说明”(没有可识别的表头)、“统计”(表头中没有“名称”或“地址”列)",
        '"公办" 5 rows, "民办" 6 rows; skipped "说明" (no recognisable header row), '
        '"统计" (no name or address column in the header)')


def test_a_total_row_written_in_the_serial_number_column_is_a_total_row():
    # Issue 14.10: a 合计 row (合计 under 序号, the name empty, the beds summed) was called 无效行.
    text = "序号,机构名称,地址,床位数\n1,石羊镇敬老院,安岳县石羊镇,50\n2,岳阳镇敬老院,安岳县岳阳镇,30\n合计,,,80\n小计：,,,80\n"
    s = read_sheet(text.encode(), filename="合计.csv")
    assert s.rejected[["row", "reason_en"]].values.tolist() == [
        [4, "a total/subtotal row, not a facility"], [5, "a total/subtotal row, not a facility"]]
    assert s.source_rows == [2, 3]


def test_utf16_without_a_byte_order_mark_is_read():
    # Issue 19.11: UTF-16LE without a BOM was refused as "binary" though UTF-16 is accepted.
    for enc in ("utf-16-le", "utf-16-be"):
        s = read_sheet(CSV.encode(enc), filename="a.csv")
        assert s.encoding == enc
        assert s.frame["机构名称"].tolist() == ["石羊敬老院", "岳阳敬老院"]


def test_a_cell_over_131072_characters_does_not_reject_the_file():
    long = "长" * 140_000
    s = read_sheet(f"机构名称,地址,备注\n石羊敬老院,石羊镇,{long}\n".encode(), filename="long.csv")
    assert s.frame["备注"].str.len().tolist() == [140_000]


def test_user_columns_named_like_the_tools_are_kept_under_another_name():
    # Issue 19.11: user columns named row or match_status were overwritten by the tool's.
    from geo.geocoder import geocode

    s = read_sheet("row,机构名称,地址,match_status\nA-7,石羊镇敬老院,安岳县石羊镇,已核\n".encode(), filename="r.csv")
    assert list(s.frame.columns) == ["row(原表)", "机构名称", "地址", "match_status(原表)"]
    out = geocode(s, "512021")
    assert out[["row", "row(原表)", "match_status", "match_status(原表)"]].values.tolist() == [
        [2, "A-7", "matched", "已核"]]


def test_total_rows_and_name_statuses_with_spaces_and_compatibility_characters(tmp_path):
    """The vectorised pre-filters keep what the per-text rules decide: 合 计 and T o t a l are total rows,
    a name whose status word is written with a Kangxi radical (⼯ for 工) is still read after NFKC."""
    from facilities.sheets import read_sheet

    path = tmp_path / "s.csv"
    path.write_text("机构名称,地址\n甲敬老院(在建),湖田镇\n乙敬老院（停业）,湖田镇\n丙院,湖田镇\n合 计,\nT o t a l,\n"
                    "丁敬老院(⼯作站),湖田镇\n戊院（暫停）,湖田镇\n", encoding="utf-8")
    sheet = read_sheet(path)
    assert sheet.rejected["row"].tolist() == [5, 6]
    assert sheet.rejected["reason_zh"].tolist() == ["合计/小计行,不是设施"] * 2
    assert sheet.status["operating_status"].tolist() == ["under_construction", "closed", "operating", "operating",
                                                         "operating"]
