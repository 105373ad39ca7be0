"""Name forms of divisions and the words of the address rules, each written once.

Both matchers read these: the one-row matcher (:mod:`geo.matching`) through the regular expressions,
the array matcher (:mod:`geo.batch`) through the character sets derived from the same words.
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------------------------------
# Suffixes of division names
# --------------------------------------------------------------------------------------------------

# The 55 minority nationalities, as division names write them before 族 (金坡苗族彝族满族乡). A short name
# ends where an ethnic part begins (孜热甫夏提塔吉克族乡 → 孜热甫夏提, not 孜热甫夏 + 提塔吉克族), so the names are
# listed, not guessed as "up to four characters, then 族".
ETHNIC_GROUPS = (
    "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼", "哈萨克",
    "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬",
    "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克",
    "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)
_ETHNIC = "(?:(?:" + "|".join(sorted(ETHNIC_GROUPS, key=len, reverse=True)) + ")族)+"
_ADMIN_SUFFIX = re.compile(
    rf"^(?P<stem>[\u4e00-\u9fff]{{2,}}?)(?:{_ETHNIC}自治(?:州|县|旗)|壮族自治区|回族自治区|维吾尔自治区|自治区"
    r"|特别行政区|省|市|自治州|地区|盟|县|区|旗|特区|林区)$"
)
_TOWN_SUFFIX = re.compile(
    rf"^(?P<stem>[\u4e00-\u9fff0-9]{{2,}}?)(?:街道办事处|街道办|街道|办事处|{_ETHNIC}乡|民族乡|镇|乡|苏木)$"
)
_VILLAGE_SUFFIX = re.compile(
    r"(?:村民委员会|村民委会|村委会|社区居民委员会|社区居民委会|社区居委会|社区居委会会|居民委员会|居委会|委员会|村|社区|嘎查)$"
)
_ORDINAL = re.compile("第(?=[一二三四五六七八九十]+(?:社区|村|居委))")
# Gazetteer entries that name no place.
PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
# How a division's own name ends (an address that is only 安岳县 may leave the facility name to decide).
DIVISION_ENDS = ("省", "市", "县", "区", "旗", "州", "盟")

# --------------------------------------------------------------------------------------------------
# The words of the matching rules
# --------------------------------------------------------------------------------------------------

# What may not follow a township or county short name: it is then part of another name (a road, a
# former township...).
NOT_AFTER_SHORT = ("镇", "乡", "村", "街", "路", "巷", "道", "区", "县", "市", "社区", "居委", "大道", "大街", "院",
                   "东路", "西路", "南路", "北路")  # 中和西路: a road (筠门岭西街社区 is a community)
# A short name followed by one or two characters and one of these is part of an unknown township name
# (安岳县石羊镇 is not 石羊 + 羊镇), except this one word (场镇: "the market town").
UNKNOWN_TOWN_ENDS = ("镇", "乡", "街道")
UNKNOWN_TOWN_EXCEPT = "场镇"
UNKNOWN_TOWN = re.compile(r"^[\u4e00-\u9fff]{1,2}(?:" + "|".join(UNKNOWN_TOWN_ENDS) + ")")
# A village form followed by one of these names a township (五里村镇), not the village.
VILLAGE_NOT_BEFORE = ("镇", "乡")  # (tuples: "" at the text's end is none of them)
# A village stem followed by one of these names a road or a town (西街115号), not the village.
STEM_NOT_BEFORE = ("镇", "乡", "街", "路", "巷", "道")
# A village stem followed by a number and 社区/村 names another, numbered committee (新街坊二社区 is not 新街坊社区).
NUMBERED_COMMITTEE = re.compile("第?[一二三四五六七八九十]+(?:社区|村|居委)")
# Institutions whose words hold a village stem (中心小学, 便民服务中心: not 中心村): never read as a village.
INSTITUTION_WORDS = ("中心小学", "中心学校", "中心校", "中心幼儿园", "中心卫生院", "中心医院", "卫生院", "服务中心",
                     "活动中心", "文化中心", "养老中心", "照料中心")
# A township-like name that is not a current township (an old name right after the county).
TOWN_TOKEN_SUFFIXES = ("街道办事处", "街道", "镇", "乡")
TOWN_TOKEN_SPAN = (2, 5)  # characters before the suffix
TOWN_TOKEN = re.compile(r"^([\u4e00-\u9fff]{" + "{},{}".format(*TOWN_TOKEN_SPAN) + "}?(?:"
                        + "|".join(TOWN_TOKEN_SUFFIXES) + "))")
# Every full village form holds one of these (村, 社区, 居委会, 嘎查, or the official ...委员会).
VILLAGE_WORDS = ("村", "社区", "居委", "嘎查", "委员会")
NAMES_A_VILLAGE = re.compile("|".join(VILLAGE_WORDS))
# What may follow a bare village stem for it to be read as one (青龙3组, 青龙互助养老服务点).
AFTER_BARE_STEM = re.compile(r"(?:$|[0-9一二三四五六七八九十]+(?:组|社|队)|组|互助|农村|幸福院|党群|综合服务|日间照料"
                             r"|居家养老|儿童之家|老年活动)")
# A house number (12号, 3弄, 5栋): the name before it is a road's (山林8组 is a village group: kept).
HOUSE_UNITS = ("号", "弄", "栋", "幢", "号楼")
HOUSE_NUMBER = re.compile(r"\d+(?:" + "|".join(HOUSE_UNITS) + ")")
# 区域 ("regional", 泉港区域养老服务中心) must not complete a district name (泉港区).
REGIONAL = "区域"


# --------------------------------------------------------------------------------------------------
# Name forms
# --------------------------------------------------------------------------------------------------


def admin_short(name: str) -> str | None:
    """The short form of a province, city or county name (四川省 → 四川), None when it has none."""
    m = _ADMIN_SUFFIX.match(name)
    return m.group("stem") if m and len(m.group("stem")) >= 2 else None


def town_forms(name: str) -> tuple[list[str], str | None]:
    """Full forms (name, 街道办事处 variants) and the short stem of a township name."""
    full = [name]
    m = _TOWN_SUFFIX.match(name)
    stem = m.group("stem") if m else None
    if name.endswith("街道"):
        full += [name + "办事处", name[:-2] + "办事处", name[:-2] + "街办", name + "办"]
    elif name.endswith("办事处"):
        full += [name[:-3] + "街道", name[:-3] + "街道办事处"]
    if stem is not None and len(stem) < 2:
        stem = None
    return full, stem


_ETHNIC_TOWN = re.compile(rf"^(?P<stem>[\u4e00-\u9fff0-9]{{2,}}?)(?:{_ETHNIC}|民族)(?P<end>乡|镇)$")


def town_aliases(name: str) -> tuple[list[str], list[str]]:
    """Forms a county writes a township in that are not its name: the leading name of an ethnic township
    with 乡/镇 (金坡苗族彝族满族乡 → 金坡乡), and the other of 乡/镇 (石门镇 → 石门乡: 撤乡设镇).

    Returns
    -------
    ethnic, swapped : list of str
    """
    m = _ETHNIC_TOWN.match(name)
    if m:
        return [m.group("stem") + m.group("end")], []
    if len(name) >= 3 and name[-1] in _SWAPS:
        return [], [name[:-1] + _SWAPS[name[-1]]]
    return [], []


_SWAPS = {"乡": "镇", "镇": "乡"}


def town_short_name(name: str) -> str:
    """The short name of a township (石羊镇 → 石羊), or the name itself when it has none."""
    return town_forms(name)[1] or name


def village_forms(name: str, kind: str) -> tuple[list[str], str]:
    """Forms of a committee name (official, 村/社区 form, 居委会 form) and its bare stem."""
    stem = name
    stems = []
    for _ in range(3):
        new = _VILLAGE_SUFFIX.sub("", stem)
        if new == stem or len(new) < 1:
            break
        stem = new
        stems.append(stem)
    forms = {name}
    if kind == "community" or "社区" in name:
        # Every stripping stage of a community: 孔雀村社区居民委员会 is written 孔雀村社区 as well as 孔雀社区.
        for s in stems or [stem]:
            forms |= {s + "社区", s + "居委会", s + "社区居委会"}
    elif "嘎查" in name:
        forms |= {stem + "嘎查"}
    elif "村" in name:
        forms |= {stem + "村", stem + "村委会"}
    else:
        forms |= {stem}
    # 新街坊第二社区 is written 新街坊二社区 as well.
    forms |= {_ORDINAL.sub("", f) for f in forms if _ORDINAL.search(f)}
    return sorted(forms), stem
