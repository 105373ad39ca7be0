"""Build the synthetic demo facility sheets in data/demo/ (SYNTHETIC: not real facilities).

For each of the five plan regions this writes

- ``<code>_<name>_synthetic.xlsx`` — a title row above the header, like real 民政 sheets;
- ``<code>_<name>_synthetic.csv`` — the same rows, header in row 1 (GBK for 楚雄市 and 怀化市,
  UTF-8 with BOM for the others);
- ``<code>_<name>_synthetic.truth.csv`` — per row the intended township and village code, category
  and expected match status, for tests and the benchmark;

and ``512021_安岳县_population_synthetic.csv`` (per-township population, synthetic).

Township and village names and codes are real (NBS 2023 gazetteer); facilities, addresses, beds,
phone numbers and coordinates are invented. Run: ``python data/build_demo.py`` (deterministic).
"""

from __future__ import annotations

import csv
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import prcoords
from openpyxl.styles import Alignment, Font

from geo.gazetteer import load_gazetteer
from towncover import settings

OUT = settings.DEMO_DIR

REGIONS: list[tuple[str, str]] = [
    ("512021", "安岳县"), ("532301", "楚雄市"), ("321202", "海陵区"), ("3609", "宜春市"), ("4312", "怀化市"),
]
GBK_REGIONS = {"532301", "4312"}
HEADER = ["序号", "机构名称", "类型", "地址", "所属乡镇", "床位数", "护理型床位数", "经度", "纬度", "联系电话", "备注"]
SYNTHETIC_NOTE = "坐标为合成示意(GCJ-02),不代表实际位置"

# Rough WGS-84 positions of the county seats (±~5 km): the synthetic coordinates scatter around them.
CENTRES: dict[str, tuple[float, float]] = {
    "512021": (105.336, 30.099), "532301": (101.546, 25.033), "321202": (119.919, 32.491),
    "360902": (114.417, 27.816), "360921": (115.400, 28.700), "360922": (114.446, 28.106),
    "360923": (114.925, 28.233), "360924": (114.803, 28.394), "360925": (115.362, 28.861),
    "360926": (114.371, 28.521), "360981": (115.771, 28.159), "360982": (115.546, 28.055),
    "360983": (115.375, 28.417),
    "431202": (109.998, 27.551), "431221": (109.945, 27.440), "431222": (110.394, 28.452),
    "431223": (110.183, 28.005), "431224": (110.594, 27.909), "431225": (109.736, 26.887),
    "431226": (109.802, 27.866), "431227": (109.172, 27.352), "431228": (109.685, 27.443),
    "431229": (109.697, 26.575), "431230": (109.784, 26.158), "431271": (109.990, 27.110),
    "431281": (109.836, 27.208),
}
AREA_CODES = {"5120": "028", "5323": "0878", "3212": "0523", "3609": "0795", "4312": "0745"}
# A real county outside the region, for the out-of-region row.
OUTSIDE = {"512021": "512022", "532301": "532302", "321202": "321204", "3609": "360121", "4312": "430121"}

# Share of units that get each kind of facility. County sheets carry the plan-scale rates; the
# prefecture sheets (宜春市, 怀化市) only a sample of village-level facilities, to stay small.
RATES_COUNTY = {
    "elderly_regional_centre": 0.7, "nursing_home": 0.5, "funeral_service_station": 0.6,
    "public_cemetery": 0.4, "minors_protection_station": 0.8, "social_work_station": 0.9,
    "elderly_mutual_aid": 0.6, "community_service": 0.95, "elderly_day_care": 0.2,
}
RATES_CITY = {
    "elderly_regional_centre": 0.7, "nursing_home": 0.35, "funeral_service_station": 0.6,
    "public_cemetery": 0.1, "minors_protection_station": 0.3, "social_work_station": 0.9,
    "elderly_mutual_aid": 0.04, "community_service": 0.2, "elderly_day_care": 0.05,
}
TYPE_LABEL = {
    "elderly_regional_centre": "区域养老服务中心", "nursing_home": "敬老院", "funeral_home": "殡仪馆",
    "funeral_service_station": "殡仪服务站", "public_cemetery": "公益性公墓",
    "minors_protection_station": "未成年人保护工作站", "social_work_station": "社会工作站",
    "elderly_mutual_aid": "农村互助养老服务点", "community_service": "城乡社区综合服务设施",
    "elderly_day_care": "日间照料中心",
}
ROADS = ["人民路", "解放街", "新街", "正街", "滨河路", "建设路", "中山路", "文化路", "兴业路", "东街", "西街", "南街"]
NEAR = ["人民政府旁", "政府院内", "场镇", "卫生院旁", "老街", "小学对面"]

# Simplified → traditional for the characters in 怀化 names used by the traditional-character rows.
TRAD = str.maketrans({
    "县": "縣", "镇": "鎮", "乡": "鄉", "区": "區", "养": "養", "务": "務", "怀": "懷", "社": "社", "会": "會",
    "组": "組", "号": "號", "门": "門", "东": "東", "阳": "陽", "龙": "龍", "凤": "鳳", "马": "馬", "园": "園",
    "桥": "橋", "冲": "沖", "湾": "灣", "头": "頭", "长": "長", "黄": "黃", "罗": "羅", "杨": "楊", "团": "團",
    "结": "結", "岭": "嶺", "岩": "巖", "云": "雲", "兴": "興", "丰": "豐", "华": "華", "关": "關", "庙": "廟",
    "泸": "瀘", "鹤": "鶴", "场": "場", "岗": "崗", "敬": "敬", "院": "院", "点": "點", "护": "護", "仪": "儀",
    "馆": "館", "殡": "殯", "站": "站", "间": "間", "顾": "顧", "综": "綜", "设": "設", "施": "施", "级": "級",
    "湘": "湘", "边": "邊", "汇": "匯", "张": "張", "陈": "陳", "刘": "劉", "吴": "吳", "进": "進", "远": "遠",
    "风": "風", "红": "紅", "宁": "寧", "坝": "壩", "树": "樹", "铺": "鋪", "双": "雙", "塆": "壪", "沟": "溝",
    "垄": "壟", "里": "裡", "广": "廣", "营": "營", "农": "農", "庄": "莊", "卫": "衛", "医": "醫",
})
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_TOWN_SUFFIX = re.compile(r"(?:(?:苗|侗|瑶|土家|彝|回|白|壮|傣|哈尼|傈僳|布依|蒙古|满|藏|畲|水|仡佬)族)*(?:街道|镇|乡)$")
_COMMITTEE = re.compile(r"(村民委员会|村委会|居民委员会|居委会)$")


@dataclass
class Row:
    """One facility row and its truth."""

    name: str
    category: str
    address: str
    county_code: str
    township_code: str = ""
    village_code: str = ""
    type_label: str = ""
    township_field: str = ""
    beds: str = ""
    nursing_beds: str = ""
    lng: str = ""
    lat: str = ""
    phone: str = ""
    remark: str = ""
    status: str = "matched"
    style: str = ""
    note: str = ""
    candidates: str = ""
    extra: dict = field(default_factory=dict)


def _short_town(name: str) -> str:
    return _TOWN_SUFFIX.sub("", name)


def _short_village(name: str, kind: str) -> str:
    short = _COMMITTEE.sub("", name)
    if not short.endswith(("村", "社区", "居委会")):
        short += "社区" if kind == "community" else "村"
    return short


class _Builder:
    def __init__(self, code: str, name: str) -> None:
        self.code, self.region_name = code, name
        self.g = load_gazetteer()
        self.rng = np.random.default_rng(zlib.crc32(f"towncover-demo-{code}".encode()))
        self.city = len(code) == 4
        self.rates = RATES_CITY if self.city else RATES_COUNTY
        self.towns = self.g.townships_in(code, include_special=False)
        vill = self.g.villages_in(code)
        vill = vill[vill["township_code"].isin(self.towns["code"]) & vill["kind"].isin(["village", "community"])]
        self.villages = vill.assign(short=[_short_village(n, k) for n, k in zip(vill["name"], vill["kind"],
                                                                                   strict=True)])
        self.counties = self.g.counties_in(code)
        self.county_names = dict(zip(self.counties["code"], self.counties["name"], strict=True))
        self.county_full = {c: self.g.full_name(c) for c in self.counties["code"]}
        all_names = "|".join(self.towns["name"]) + "|" + "|".join(self.counties["name"])
        shorts = {t: _short_town(t) for t in self.towns["name"]}
        self.town_short = {t: s for t, s in shorts.items() if len(s) >= 2 and all_names.count(s) == 1}
        counts = self.villages["short"].value_counts()
        self.unique_village = set(counts[counts == 1].index)
        # A township short name that is also a village's name (新村镇 / 新村社区) cannot place a facility
        # name alone: such name_only rows are expected ambiguous.
        self.village_words = self.villages.groupby("short")["township_code"].agg(lambda s: sorted(set(s))).to_dict()
        self.phone_prefix = AREA_CODES[code[:4]]

    # -- helpers ---------------------------------------------------------------------------------
    def pick(self, items: pd.DataFrame, rate: float) -> pd.DataFrame:
        n = int(round(rate * len(items)))
        idx = np.sort(self.rng.choice(len(items), size=n, replace=False)) if n else np.array([], int)
        return items.iloc[idx]

    def road(self) -> str:
        return f"{self.rng.choice(ROADS)}{int(self.rng.integers(1, 200))}号"

    def town_address(self, town: pd.Series, allow_name_only: bool) -> tuple[str, str]:
        county = self.county_names[town["county_code"]]
        styles = ["full", "county_town", "town", "town_road"]
        if town["kind"] == "street":
            styles.append("street_office")
        if allow_name_only and town["name"] in self.town_short:
            styles.append("name_only")
        style = str(self.rng.choice(styles))
        if style == "full":
            return self.county_full[town["county_code"]] + town["name"] + self.road(), style
        if style == "county_town":
            return county + town["name"] + self.road(), style
        if style == "town":
            return town["name"] + str(self.rng.choice(NEAR)), style
        if style == "street_office":
            return county + town["name"] + "办事处" + self.road(), style
        if style == "name_only":
            return "", style
        return town["name"] + self.road(), style

    def village_address(self, village: pd.Series, town: pd.Series) -> tuple[str, str]:
        county = self.county_names[town["county_code"]]
        detail = f"{int(self.rng.integers(1, 12))}组" if village["kind"] == "village" else self.road()
        styles = ["full", "county_town_village", "town_village", "town_only"]
        if village["short"] in self.unique_village:
            styles.append("village_only")
        style = str(self.rng.choice(styles))
        v = village["short"]
        if style == "full":
            return self.county_full[town["county_code"]] + town["name"] + v + detail, style
        if style == "county_town_village":
            return county + town["name"] + v + detail, style
        if style == "town_village":
            return town["name"] + v + detail, style
        if style == "village_only":
            return v + ("村委会旁" if village["kind"] == "village" else "居委会旁"), style
        return town["name"], style

    def beds(self, category: str) -> tuple[str, str]:
        if category == "nursing_home":
            beds = int(self.rng.integers(30, 221))
        elif category == "elderly_regional_centre":
            beds = int(self.rng.integers(20, 81))
        elif category == "elderly_day_care" and self.rng.random() < 0.5:
            beds = int(self.rng.integers(2, 13))
        else:
            return "", ""
        nursing = str(int(beds * self.rng.uniform(0.2, 0.7))) if self.rng.random() < 0.7 else ""
        return str(beds), nursing

    # -- facilities ------------------------------------------------------------------------------
    def rows(self) -> list[Row]:
        rows: list[Row] = []
        for county in self.counties["code"]:
            cname = self.county_names[county]
            if county not in CENTRES:
                continue
            rows.append(Row(f"{cname}殡仪馆", "funeral_home", self.county_full[county] + self.road(), county,
                            style="county_only", note="county-level facility: no township in address",
                            status="county_only"))
            rows.append(Row(f"{cname}社会福利院", "nursing_home", cname + self.road(), county,
                            type_label="社会福利院", style="county_only", status="county_only",
                            note="county-level facility: no township in address"))
        towns = self.towns
        for category in ("elderly_regional_centre", "nursing_home", "funeral_service_station", "public_cemetery",
                         "minors_protection_station", "social_work_station"):
            for _, town in self.pick(towns, self.rates[category]).iterrows():
                rows.append(self.town_row(category, town))
        vill = self.villages
        groups = (("elderly_mutual_aid", vill[vill["kind"] == "village"]),
                  ("community_service", vill[vill["kind"] == "community"]),
                  ("elderly_day_care", vill[vill["kind"] == "community"]))
        town_by_code = towns.set_index("code")
        for category, units in groups:
            for _, village in self.pick(units, self.rates[category]).iterrows():
                rows.append(self.village_row(category, village, town_by_code.loc[village["township_code"]]))
        order = {c: i for i, c in enumerate(TYPE_LABEL)}
        rows.sort(key=lambda r: (r.county_code, order.get(r.category, -1), r.township_code, r.village_code))
        for r in rows:
            r.beds, r.nursing_beds = self.beds(r.category)
        return rows

    def town_row(self, category: str, town: pd.Series) -> Row:
        county = self.county_names[town["county_code"]]
        tname = town["name"]
        label = TYPE_LABEL[category]
        allow_short = category in ("nursing_home", "elderly_regional_centre")
        address, style = self.town_address(town, allow_short)
        if category == "elderly_regional_centre":
            if town["kind"] == "street" or self.rng.random() < 0.4:
                label = "乡镇(街道)综合养老服务中心"
                name = f"{tname}综合养老服务中心"
            else:
                name = f"{tname}区域养老服务中心"
        elif category == "nursing_home":
            label = "养老院" if town["kind"] == "street" else "敬老院"
            name = f"{tname}{label}"
        elif category == "social_work_station":
            name = f"{tname}社会工作服务站"
        else:
            name = tname + label
        if style == "name_only":
            name = county + self.town_short[tname] + name[len(tname):]
        return Row(name, category, address, town["county_code"], town["code"], type_label=label, style=style)

    def village_row(self, category: str, village: pd.Series, town: pd.Series) -> Row:
        address, style = self.village_address(village, town)
        v = village["short"]
        if category == "elderly_mutual_aid":
            name = v + ("互助养老服务点" if self.rng.random() < 0.6 else "农村幸福院")
        elif category == "community_service":
            name = v + ("综合服务站" if self.rng.random() < 0.5 else "党群服务中心")
        else:
            name = v + "日间照料中心"
        return Row(name, category, address, town["county_code"], village["township_code"], village["code"],
                   type_label=TYPE_LABEL[category], style=style)

    # -- rows that cannot be placed, and noise ---------------------------------------------------
    def specials(self) -> list[Row]:
        first = self.counties["code"].iloc[0]
        cname = self.county_names[first]
        out: list[Row] = []
        # 1. A township name not in the 2023 gazetteer for this region (stands in for a pre-merger name).
        province = self.g.townships[self.g.townships["code"].str.startswith(self.code[:2])
                                    & ~self.g.townships["code"].str.startswith(self.code)]
        region_text = "|".join(self.towns["name"]) + "|".join(self.villages["name"])
        old = next(n for n in province["name"].sample(frac=1.0, random_state=int(self.rng.integers(1e9)))
                   if n.endswith("乡") and len(_short_town(n)) >= 2 and _short_town(n) not in region_text)
        out.append(Row(f"{old}敬老院", "nursing_home", f"{cname}{old}{self.road()}", first, type_label="敬老院",
                       township_field=old, status="unmatched", style="old_township",
                       note=f"township name {old} is not in the 2023 gazetteer for this region"))
        # 2. An address in another county.
        other = OUTSIDE[self.code]
        otown = self.g.townships_in(other, include_special=False).iloc[0]
        out.append(Row(f"{_short_town(otown['name'])}日间照料中心", "elderly_day_care",
                       f"{self.g.full_name(other)}{otown['name']}{self.road()}", other,
                       type_label="日间照料中心", status="out_of_region", style="other_county",
                       note=f"address in {self.g.full_name(other)} (township {otown['code']})"))
        # 3. A garbled address.
        out.append(Row("老年活动室(待核实)", "elderly_day_care", "地址不详??#待补充", first, type_label="日间照料中心",
                       status="unmatched", style="garbled", note="garbled address"))
        # 4. A village name shared by several townships, no township given.
        v = self.villages.assign(base=self.villages["short"].str.replace(r"(村|社区)$", "", regex=True))
        shared = v.groupby("base")["township_code"].nunique()
        shared = shared[shared > 1].sort_index()
        base = str(shared.index[int(self.rng.integers(len(shared)))])
        same = v[v["base"] == base]
        same_short = same["short"].value_counts()
        shown = same_short.index[0] if same_short.iloc[0] > 1 else base
        cands = sorted(same["township_code"].unique()) if shown == base else sorted(
            same.loc[same["short"] == shown, "township_code"].unique())
        out.append(Row(f"{base}互助养老服务点", "elderly_mutual_aid", shown, first, type_label="农村互助养老服务点",
                       status="ambiguous", style="shared_village", candidates=";".join(cands),
                       note=f"{shown} is shared by townships {';'.join(cands)}"))
        return out

    def add_noise(self, rows: list[Row]) -> None:
        n = len(rows)
        rng = self.rng
        placeable = [i for i, r in enumerate(rows) if r.status == "matched"]
        for i in rng.choice(placeable, size=int(0.1 * n), replace=False):
            rows[i].address = rows[i].address.translate(FULLWIDTH)
            rows[i].style += "+fullwidth"
        for i in rng.choice(placeable, size=int(0.1 * n), replace=False):
            r = rows[i]
            if r.address:
                cut = int(rng.integers(1, len(r.address)))
                r.address = r.address[:cut] + " " + r.address[cut:]
                r.style += "+space"
        if self.code == "4312":
            for i in rng.choice(placeable, size=int(0.15 * n), replace=False):
                rows[i].name = rows[i].name.translate(TRAD)
                rows[i].address = rows[i].address.translate(TRAD)
                rows[i].style += "+traditional"
        # 所属乡镇 for about 40% of placeable rows (full or short name).
        towns = self.towns.set_index("code")["name"]
        for i in rng.choice(placeable, size=int(0.4 * len(placeable)), replace=False):
            r = rows[i]
            if r.township_code in towns.index:
                t = towns[r.township_code]
                r.township_field = self.town_short.get(t, t) if rng.random() < 0.3 else t
        # Synthetic GCJ-02 coordinates near the county seat for about 30% of rows.
        for i in rng.choice(n, size=int(0.3 * n), replace=False):
            r = rows[i]
            if r.county_code not in CENTRES:
                continue
            lng0, lat0 = CENTRES[r.county_code]
            wgs = prcoords.Coords(lat0 + rng.uniform(-0.05, 0.05), lng0 + rng.uniform(-0.05, 0.05))
            gcj = prcoords.wgs_gcj(wgs)
            r.lng, r.lat = f"{gcj.lon:.6f}", f"{gcj.lat:.6f}"
            r.remark = SYNTHETIC_NOTE
        # One row with longitude and latitude swapped.
        with_coords = [i for i, r in enumerate(rows) if r.lng and r.status == "matched"]
        i = int(rng.choice(with_coords))
        rows[i].lng, rows[i].lat = rows[i].lat, rows[i].lng
        rows[i].note = (rows[i].note + "; " if rows[i].note else "") + "longitude and latitude swapped"
        for r in rows:
            if r.remark == "" and rng.random() < 0.7:
                r.phone = f"{self.phone_prefix}-{int(rng.integers(5550000, 5560000))}"
            elif r.remark == "":
                r.phone = ""
            if r.remark and rng.random() < 0.7:
                r.phone = f"{self.phone_prefix}-{int(rng.integers(5550000, 5560000))}"

    def build(self) -> tuple[list[list[str]], pd.DataFrame]:
        rows = self.rows()
        specials = self.specials()
        # Duplicate one ordinary facility further down the sheet.
        ordinary = [i for i, r in enumerate(rows) if r.status == "matched"]
        dup_of = int(self.rng.choice(ordinary[: len(ordinary) // 2]))
        rows_all: list[Row | None] = list(rows)
        for s in specials:
            rows_all.insert(int(self.rng.integers(1, len(rows_all))), s)
        self.add_noise([r for r in rows_all if r is not None])
        original = rows[dup_of]
        dup = Row(**{**original.__dict__, "extra": {}})
        dup.note = "duplicate"
        dup_pos = int(self.rng.integers(rows_all.index(original) + 2, len(rows_all)))
        rows_all.insert(dup_pos, dup)
        rows_all.insert(int(self.rng.integers(5, len(rows_all) - 5)), None)  # one blank row
        table: list[list[str]] = []
        truth: list[dict[str, str]] = []
        seq = 0
        seq_of: dict[int, int] = {}
        for pos, r in enumerate(rows_all):
            if r is None:
                table.append([""] * len(HEADER))
                truth.append({"seq": "", "xlsx_row": pos + 3, "csv_row": pos + 2, "name": "",
                              "expected_status": "blank", "county_code": "", "township_code": "",
                              "village_code": "", "category": "", "candidates": "", "address_style": "",
                              "note": "blank row"})
                continue
            seq += 1
            seq_of[id(r)] = seq
            note = r.note
            if r is dup:
                note = f"duplicate of 序号 {seq_of[id(original)]}"
            table.append([str(seq), r.name, r.type_label or TYPE_LABEL.get(r.category, ""), r.address,
                          r.township_field, r.beds, r.nursing_beds, r.lng, r.lat, r.phone, r.remark])
            status = "matched" if r.status == "county_only" else r.status
            if r.style.startswith("name_only") and status == "matched":
                word = self.town_short.get(self.g.name_of(r.township_code), "")
                if word in self.village_words:
                    status = "ambiguous"
                    r.candidates = ";".join(sorted({r.township_code, *self.village_words[word]}))
                    note = note or f"“{word}”既是乡镇简称又是村(社区)名 / '{word}' is a township short name and a village name"
            truth.append({"seq": str(seq), "xlsx_row": pos + 3, "csv_row": pos + 2, "name": r.name,
                          "expected_status": status, "county_code": r.county_code,
                          "township_code": r.township_code if status == "matched" else "",
                          "village_code": r.village_code if status == "matched" else "",
                          "category": r.category, "candidates": r.candidates, "address_style": r.style,
                          "note": note})
        return table, pd.DataFrame(truth)


def _write_xlsx(path: Path, title: str, table: list[list[str]]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "设施名录"
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.cell(1, 1).font = Font(bold=True, size=14)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    ws.append(HEADER)
    numeric = {HEADER.index(h) for h in ("序号", "床位数", "护理型床位数", "经度", "纬度")}
    for row in table:
        ws.append([float(v) if i in numeric and v and _is_number(v) else (v or None) for i, v in enumerate(row)])
    for col, width in zip("ABCDEFGHIJK", (6, 30, 22, 42, 12, 8, 12, 12, 12, 15, 34), strict=True):
        ws.column_dimensions[col].width = width
    wb.properties.creator = "towncover data/build_demo.py (synthetic)"
    wb.save(path)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _write_csv(path: Path, table: list[list[str]], encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(table)


def _population(code: str, name: str) -> None:
    g = load_gazetteer()
    towns = g.townships_in(code, include_special=False)
    rng = np.random.default_rng(zlib.crc32(f"towncover-pop-{code}".encode()))
    weight = rng.lognormal(0.0, 0.35, len(towns)) * np.where(towns["kind"].eq("street"), 4.0, 1.0)
    total = 950_000
    pop = np.round(weight / weight.sum() * total / 10).astype(int) * 10
    elderly = np.round(pop * rng.uniform(0.24, 0.33, len(towns))).astype(int)
    frame = pd.DataFrame({"乡镇代码": towns["code"], "乡镇名称": towns["name"], "常住人口": pop,
                          "60岁以上老年人口": elderly, "数据说明": "合成演示数据 / SYNTHETIC"})
    frame.to_csv(OUT / f"{code}_{name}_population_synthetic.csv", index=False, encoding="utf-8-sig")


def main() -> None:
    """Write all demo files to data/demo/."""
    OUT.mkdir(parents=True, exist_ok=True)
    for code, name in REGIONS:
        table, truth = _Builder(code, name).build()
        stem = OUT / f"{code}_{name}_synthetic"
        title = f"{name}民政服务设施名录(合成演示数据 / SYNTHETIC DEMO DATA)"
        _write_xlsx(stem.with_suffix(".xlsx"), title, table)
        _write_csv(stem.with_suffix(".csv"), table, "gb18030" if code in GBK_REGIONS else "utf-8-sig")
        truth.to_csv(f"{stem}.truth.csv", index=False, encoding="utf-8")
        counts = truth["expected_status"].value_counts().to_dict()
        print(f"{code} {name}: {len(table)} rows {counts}")
    _population("512021", "安岳县")


if __name__ == "__main__":
    main()
