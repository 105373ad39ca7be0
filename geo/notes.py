"""The notes the address matcher writes beside an answer, in Chinese and English, each worded once.

Every function returns a :class:`Note`; the one-row matcher (:mod:`geo.matching`) keeps its two
halves, the array matcher (:mod:`geo.batch`) writes :meth:`Note.text`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from geo.gazetteer import load_gazetteer


class Note(NamedTuple):
    """One note: what a planner reads (Chinese) and its English."""

    zh: str
    en: str

    def text(self) -> str:
        """Both halves in one string, as the geocoder's ``match_note`` holds them."""
        return joined(self.zh, self.en)

    def then(self, more: Note) -> Note:
        """This note followed by ``more`` (";" between)."""
        return Note(f"{self.zh};{more.zh}", f"{self.en}; {more.en}")


def joined(zh: str, en: str) -> str:
    """A note's two halves in one string ("" when there is no note)."""
    return f"{zh} / {en}" if zh else ""


@lru_cache(maxsize=4096)
def full_name(code: str) -> str:
    """A division's name with its ancestors' (四川省资阳市安岳县)."""
    return load_gazetteer().full_name(code)


def listing(names: Mapping[str, str], codes: Sequence[str], limit: int = 8) -> str:
    """Names with their codes, 、-separated, the first ``limit`` of them."""
    shown = "、".join(f"{names.get(c, c)}({c})" for c in codes[:limit])
    return shown + ("…" if len(codes) > limit else "")


def out_of_region(code: str, region_name: str, region_code: str) -> Note:
    """The address leads with a division outside the region."""
    full = full_name(code)
    return Note(f"地址属于区域外的“{full}”({code}),不在{region_name}",
                f"address names {code} ({full}), outside the region {region_code}")


def township_outside_region(town_name: str, code: str, region_name: str, region_code: str) -> Note:
    """A township-level region: the township found is another of the same county."""
    return Note(f"属于{town_name}({code}),不在区域{region_name}({region_code})内",
                f"belongs to township {code}, outside the region {region_code}")


def township_not_in_county(town_names: Mapping[str, str], named: Sequence[str], county_names: str) -> Note:
    """The townships named all lie outside the county named."""
    return Note(f"乡镇“{listing(town_names, named)}”不在所给县“{county_names}”内",
                f"township {', '.join(named)} is not in the county named")


def township_tie(town_names: Mapping[str, str], codes: Sequence[str]) -> Note:
    """A township name that several townships of the scope share."""
    return Note(f"乡镇名在 {len(codes)} 处重复或相互矛盾:{listing(town_names, codes)};请给出县或村",
                f"township name matches {len(codes)} townships: {', '.join(codes)}; give the county or village")


def by_short_name(short: str, code: str) -> Note:
    """Placed on a township written by its short name."""
    return Note(f"按乡镇简称“{short}”匹配", f"matched on the township's short name ({code})")


def by_ethnic_short_name(form: str, town_name: str, code: str) -> Note:
    """Placed on an ethnic township written by its leading name + 乡/镇."""
    return Note(f"按民族乡镇简称“{form}”匹配为{town_name}",
                f"matched on the ethnic township's short form '{form}' ({code})")


def swapped_confirmed(form: str, town_name: str, code: str, village: str) -> Note:
    """Placed on a township written with 乡/镇 swapped, a village of it named too."""
    return Note(f"“{form}”按乡/镇互换匹配为{town_name}({code}),由其村名“{village}”确认",
                f"'{form}' read as {code} (乡/镇 swapped), confirmed by its village '{village}'")


def swapped_unconfirmed(form: str, town_name: str, code: str) -> Note:
    """A township written with 乡/镇 swapped and no village of it named: the one candidate, not placed."""
    return Note(f"“{form}”可能是{town_name}({code})(乡/镇互换),未写出该乡镇的村名,请核实",
                f"'{form}' may be {code} (乡/镇 swapped); no village of it named: please check")


def old_township(name: str) -> Note:
    """A township-like name right after the county that is no current township."""
    return Note(f"乡镇名“{name}”不在 2023 年区划中(可能已撤并)",
                f"township name '{name}' is not in the 2023 divisions (possibly merged away)")


def village_belongs(town_names: Mapping[str, str], form: str, towns: Sequence[str]) -> Note:
    """Whose the village named beside an old township name is (appended to :func:`old_township`)."""
    return Note(f"村名“{form}”属于 {listing(town_names, towns)},请核实",
                f"village '{form}' belongs to {', '.join(towns)}: please check")


# The notes of the division history (geo.old_towns): each says that the answer was inferred from it.
HISTORY_SOURCE = Note("据 2017–2023 年统计用区划代码的区划沿革", "from the division history of the NBS editions 2017–2023")


def renamed_township(old: str, new: str, code: str) -> Note:
    """Placed on a township written by the name it had before it was renamed (same unit)."""
    return Note(f"原名{old},2023 年为{new}({code});{HISTORY_SOURCE.zh}",
                f"formerly '{old}', {code} in 2023 (renamed; {HISTORY_SOURCE.en})")


def merged_township(old: str, new: str, code: str) -> Note:
    """Placed on the one township that took in every surviving village of an abolished one."""
    return Note(f"{old}已撤并,其村(社区)均并入{new}({code});{HISTORY_SOURCE.zh}",
                f"'{old}' was abolished; all its surviving villages went to {code} ({HISTORY_SOURCE.en})")


def old_village_now(old: str, village: str, new: str, code: str) -> Note:
    """Placed by a village of an abolished township (原X乡Y村): the township that holds it in 2023."""
    return Note(f"{old}已撤并,其{village} 2023 年属于{new}({code});{HISTORY_SOURCE.zh}",
                f"'{old}' was abolished; its village '{village}' is in {code} in 2023 ({HISTORY_SOURCE.en})")


def split_settled(old: str, town_names: Mapping[str, str], codes: Sequence[str], village: str, code: str) -> Note:
    """Placed where an abolished township was split and the village named lies in one of its successors."""
    return Note(f"{old}已撤并,分入{listing(town_names, codes)};村名“{village}”属于其中的{town_names[code]}({code});"
                f"{HISTORY_SOURCE.zh}",
                f"'{old}' was abolished and split between {', '.join(codes)}; the village '{village}' named lies in "
                f"{code} ({HISTORY_SOURCE.en})")


def split_township(old: str, town_names: Mapping[str, str], codes: Sequence[str], shares: Sequence[float]) -> Note:
    """An abolished township split between several townships (or old villages in several): not placed."""
    shown = "、".join(f"{town_names.get(c, c)}({c},{s:.0%})" for c, s in zip(codes, shares, strict=True))
    return Note(f"{old}已撤并,分入 {len(codes)} 个乡镇:{shown};请核实;{HISTORY_SOURCE.zh}",
                f"'{old}' was abolished and split between {len(codes)} townships: {', '.join(codes)}; please check "
                f"({HISTORY_SOURCE.en})")


def history_disagrees(old: str, town_names: Mapping[str, str], codes: Sequence[str], village: str,
                      towns: Sequence[str]) -> Note:
    """An old township whose successors hold none of the village named beside it: not placed."""
    return Note(f"{old}据区划沿革并入{listing(town_names, codes)},但村名“{village}”属于{listing(town_names, towns)};"
                "请核实",
                f"'{old}' went to {', '.join(codes)} by the division history, but the village '{village}' lies in "
                f"{', '.join(towns)}: please check")


def unique_village(form: str) -> Note:
    """Placed by a village name only one township of the scope has."""
    return Note(f"未给出乡镇,由唯一的村名“{form}”确定", f"no township given; placed by the unique village name '{form}'")


def shared_village(town_names: Mapping[str, str], form: str, towns: Sequence[str]) -> Note:
    """A village name that several townships share, and no township given."""
    return Note(f"村名“{form}”在 {len(towns)} 个乡镇重复:{listing(town_names, towns)};未给出乡镇",
                f"village name '{form}' shared by {len(towns)} townships: {', '.join(towns)}; no township given")


def village_or_short_name(town_names: Mapping[str, str], form: str, towns: Sequence[str]) -> Note:
    """A text that is both a village form and a township's short name."""
    return Note(f"“{form}”既是村名又是乡镇简称,对应 {len(towns)} 个乡镇:{listing(town_names, towns)};未给出乡镇",
                f"'{form}' is both a village name and a township's short name "
                f"({len(towns)} townships: {', '.join(towns)}); no township given")


def bare_stem_shared(stem: str, towns: Sequence[str], villages: str) -> Note:
    """A bare village stem (no 村/社区) that villages of several townships have."""
    return Note(f"“{stem}”可能是 {len(towns)} 个乡镇的村(社区):{villages};未写明村或社区,也未给出乡镇",
                f"'{stem}' may be a village of {len(towns)} townships ({', '.join(towns)}); "
                "no 村/社区 and no township given")


def bare_stem(stem: str, town: str, villages: str, codes: Sequence[str]) -> Note:
    """A bare village stem of one township: not placed, named for a check by hand."""
    return Note(f"“{stem}”可能是{town}的{villages},未写明村或社区,请核实",
                f"'{stem}' may be village {', '.join(codes)}; no 村/社区 written: please check")


def evidence_agrees(sources: Note, town_name: str, code: str) -> Note:
    """Placed where the candidate townships of several texts (``sources``: which) share one township."""
    return Note(f"{sources.zh}的候选乡镇共同指向{town_name}({code})",
                f"the {sources.en} together give township {code} (the one their candidates share)")


def evidence_narrowed(sources: Note, town_names: Mapping[str, str], codes: Sequence[str]) -> Note:
    """The candidate townships several texts share are still several."""
    return Note(f"{sources.zh}的候选乡镇之交仍有 {len(codes)} 个:{listing(town_names, codes)};请核实",
                f"the {sources.en} together still leave {len(codes)} townships: {', '.join(codes)}")


def evidence_sources(sources: Note, by_history: bool) -> Note:
    """The texts whose candidate townships were intersected, saying so when the division history gave some."""
    return Note(f"{sources.zh}(乡镇据区划沿革)", f"{sources.en} (townships from the division history)") if by_history \
        else sources


ADDRESS_AND_NAME = Note("地址与名称", "address and name")
COLUMNS_AND_ADDRESS = Note("乡镇/村列与地址、名称", "township/village columns, address and name")


def county_only(county_names: str) -> Note:
    """Only a county was found."""
    return Note(f"只识别到县级“{county_names}”,未找到乡镇或村名",
                "only the county was recognised; no township or village name found")


NOTHING_FOUND = Note("地址中未找到本区域的乡镇或村名", "no township or village name of the region found")
EMPTY = Note("地址为空", "empty address")
