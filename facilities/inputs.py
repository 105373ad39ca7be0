"""Side tables a plan is measured with: the population table and the planned-projects sheet.

:func:`read_population` gives per-thousand targets their denominator and ranks gaps by people;
:func:`read_planned` and :func:`apply_planned` add the projects a plan will build (a target-year
scenario). Headers are matched as the facility sheet's are (:func:`facilities.sheets.normalise_header`:
full-width or half-width, spaces and brackets ignored); division codes come to their natural length
(:func:`towncover.vocabulary.natural_code`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from facilities.sheets import normalise_header, read_table
from geo.gazetteer import load_gazetteer
from towncover.errors import TowncoverError
from towncover.vocabulary import natural_code

__all__ = ["read_population", "population_total", "population_column", "read_planned", "apply_planned"]

_CODE_HEADERS = ("code", "区划代码", "代码", "行政区划代码", "统计用区划代码", "乡镇代码", "乡镇(街道)代码", "单位代码")
_NAME_HEADERS = ("name", "名称", "单位名称", "乡镇", "乡镇(街道)", "地区", "区域")
_POPULATION_ALIASES = {
    "population": ("population", "人口", "总人口", "常住人口", "户籍人口", "人口数"),
    "elderly_population": ("elderly_population", "elderly", "老年人口", "60岁以上人口", "60周岁以上人口", "60岁及以上人口", "60周岁及以上人口",
                "老年人数", "老年人口数"),
}


_POPULATION_PATTERNS = {"population": r"人口", "elderly_population": r"老年|老人|[6-8]0周?岁|65周?岁"}
_POPULATION_EXCLUDE = {"population": r"老年|老人|周?岁|儿童|户", "elderly_population": r"^$"}


def find_header(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    """The first column whose header reads as one of ``candidates`` (in candidate order), or None."""
    normed = {normalise_header(c): c for c in columns}
    for cand in candidates:
        if normalise_header(cand) in normed:
            return normed[normalise_header(cand)]
    return None


def _read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise TowncoverError(f"找不到文件 {path}", f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):  # the facility sheet's bounded readers: damage is one line
        return read_table(path)
    if suffix == ".csv":
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False)
            except UnicodeDecodeError:
                continue
    raise TowncoverError(f"不支持的文件类型:{path.name}(请用 .csv 或 .xlsx)",
                         f"unsupported file type: {path.name} (use .csv or .xlsx)")


def read_population(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read a population table: a division code per row and one or more population columns.

    Parameters
    ----------
    source : path or pandas.DataFrame
        .csv/.xlsx with a code column (区划代码/乡镇代码/code) and numeric columns. Columns headed
        人口/总人口/常住人口 are also available as ``population``, 老年人口/60岁以上人口 as
        ``elderly_population``.

    Returns
    -------
    pandas.DataFrame
        ``code`` (natural length) plus every numeric column (floats), original headers kept.

    Raises
    ------
    TowncoverError
        No code column, a bad code or a non-numeric value (row and column named).
    """
    frame = source.copy() if isinstance(source, pd.DataFrame) else _read_table(source)
    frame.columns = [str(c).strip() for c in frame.columns]
    code_col = find_header(list(frame.columns), _CODE_HEADERS)
    if code_col is None:
        raise TowncoverError("人口表缺少区划代码列(区划代码/乡镇代码/code)",
                             "the population table has no division-code column (区划代码/code)", column="code")
    codes = natural_code(frame[code_col])
    bad = codes.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise TowncoverError(f"人口表第 {i + 2} 行的区划代码“{frame[code_col].iloc[i]}”无效",
                             f"row {i + 2} of the population table has an invalid division code",
                             row=i + 2, column=code_col)
    out = pd.DataFrame({"code": codes.astype(str).to_numpy()})
    name_col = find_header(list(frame.columns), _NAME_HEADERS)
    if name_col is not None and name_col != code_col:
        out["name"] = frame[name_col].astype("string").to_numpy()
    for col in frame.columns:
        if col in (code_col, name_col):
            continue
        text = frame[col].astype("string").str.replace(",", "", regex=False).str.strip()
        values = pd.to_numeric(text.replace("", pd.NA), errors="coerce")  # type: ignore[call-overload]  # stubs lack NA
        if values.isna().all():
            continue
        wrong = values.isna() & text.fillna("").ne("")
        if wrong.any():
            i = int(np.flatnonzero(wrong.to_numpy())[0])
            raise TowncoverError(f"人口表第 {i + 2} 行“{col}”列不是数字:{text.iloc[i]}",
                                 f"row {i + 2} of the population table: column '{col}' is not a number",
                                 row=i + 2, column=col)
        out[col] = values.astype(float).to_numpy()
    numeric = [c for c in out.columns if c not in ("code", "name")]
    for alias, headers in _POPULATION_ALIASES.items():
        found = find_header(numeric, headers)
        if found is None:  # 60岁以上老年人口, 65周岁及以上人口数…: by pattern, when exactly one column fits
            fits = [c for c in numeric if re.search(_POPULATION_PATTERNS[alias], normalise_header(c))
                    and not re.search(_POPULATION_EXCLUDE[alias], normalise_header(c))]
            found = fits[0] if len(fits) == 1 else None
        if found is not None and alias not in out.columns:
            out[alias] = out[found]
    return out


def population_total(population: pd.DataFrame, region_code: str, column: str) -> float | None:
    """The region's population in ``column``: its own row, else the sum of the finest rows inside it."""
    codes = population["code"].astype(str)
    values = pd.to_numeric(population[column], errors="coerce")
    own = values[codes == region_code]
    if len(own) and own.notna().all():
        return float(own.sum())
    inside = codes.str.startswith(region_code) & (codes.str.len() > len(region_code))
    if not inside.any():
        return None
    shortest = codes[inside].str.len().min()
    chosen = values[inside & (codes.str.len() == shortest)]
    return float(chosen.sum()) if chosen.notna().any() else None


def population_column(population: pd.DataFrame, wanted: str | None) -> str | None:
    """The population table's column for ``wanted`` (its header or an alias), or its only column; else None."""
    numeric = [c for c in population.columns if c not in ("code", "name")]
    if wanted:
        if wanted in population.columns:
            return wanted
        found = find_header(numeric, (wanted,) + _POPULATION_ALIASES.get(wanted, ()))
        return found
    return "population" if "population" in numeric else (numeric[0] if len(numeric) == 1 else None)


_PLANNED_HEADERS = {
    "name": ("name", "名称", "项目名称", "设施名称", "机构名称"),
    "category": ("category", "类别", "类型", "设施类型", "项目类型", "机构类型"),
    "township_code": ("township_code", "乡镇代码", "乡镇(街道)代码", "乡镇街道代码"),
    "township": ("township", "乡镇", "乡镇(街道)", "乡镇街道", "所在乡镇"),
    "village_code": ("village_code", "村代码", "村(社区)代码", "村社区代码"),
    "village": ("village", "村", "村(社区)", "村社区", "社区", "所在村"),
    "year": ("year", "年份", "年度", "计划年份", "建成年份", "计划建成年份", "完成年份"),
    "beds": ("beds", "床位", "床位数", "床位(张)"),
    "nursing_beds": ("nursing_beds", "护理型床位", "护理型床位数"),
}


def read_planned(source: str | Path | pd.DataFrame, region_code: str) -> pd.DataFrame:
    """Read a sheet of planned projects and place each on township (and village) codes.

    Parameters
    ----------
    source : path or pandas.DataFrame
        Columns (Chinese or English headers): name 项目名称, category 类型 (a category id or any
        text :func:`facilities.categories.classify` understands), township code 乡镇代码 or township
        name 乡镇, optionally village code/name 村(社区), year 计划年份, beds 床位, nursing beds.
    region_code : str
        The region the projects lie in (names are resolved within it).

    Returns
    -------
    pandas.DataFrame
        ``row, name, category, township_code, village_code, year, beds, nursing_beds`` (row = the
        row number in the file, header on row 1).

    Raises
    ------
    TowncoverError
        A missing column, an unknown category, or a township/village not found (row and column named).
    """
    frame = source.copy() if isinstance(source, pd.DataFrame) else _read_table(source)
    if {"row", "township_code", "category"} <= set(frame.columns) and frame.attrs.get("towncover_planned"):
        return frame
    frame.columns = [str(c).strip() for c in frame.columns]
    cols = {role: find_header(list(frame.columns), heads) for role, heads in _PLANNED_HEADERS.items()}
    if cols["category"] is None:
        raise TowncoverError("规划项目表缺少“类型”列", "the planned-projects sheet has no category column",
                             column="类型")
    if cols["township_code"] is None and cols["township"] is None:
        raise TowncoverError("规划项目表缺少“乡镇”或“乡镇代码”列",
                             "the planned-projects sheet has no township or township-code column", column="乡镇")
    gaz = load_gazetteer()
    region_code = str(region_code)
    towns = gaz.townships_in(region_code)
    villages = gaz.villages_in(region_code)
    rows = np.arange(len(frame)) + 2

    def text(role: str) -> pd.Series:
        if cols[role] is None:
            return pd.Series("", index=frame.index, dtype="string")
        return frame[cols[role]].astype("string").fillna("").str.strip()

    category = _planned_categories(text("category"), text("name"), cols["category"], rows)
    township = _resolve_codes(text("township_code"), text("township"), towns, None, rows,
                              (cols["township_code"], cols["township"]), "乡镇", "township")
    village = _resolve_codes(text("village_code"), text("village"), villages, township, rows,
                             (cols["village_code"], cols["village"]), "村(社区)", "village")
    # A village fixes its township.
    township = township.where(village.isna(), village.str[:9])
    missing = township.isna()
    if missing.any():
        i = int(np.flatnonzero(missing.to_numpy())[0])
        raise TowncoverError(f"规划项目表第 {rows[i]} 行没有乡镇", f"planned project on row {rows[i]} has no township",
                             row=int(rows[i]), column=cols["township"] or cols["township_code"])
    years = pd.to_numeric(text("year").str.extract(r"(\d{4})", expand=False), errors="coerce")
    out = pd.DataFrame({
        "row": rows,
        "name": text("name").to_numpy(),
        "category": category.to_numpy(),
        "township_code": township.astype("string").to_numpy(),
        "village_code": village.astype("string").to_numpy(),
        "year": years.astype("Int64").to_numpy(),
    })
    for role in ("beds", "nursing_beds"):
        if cols[role] is not None:
            out[role] = pd.to_numeric(text(role), errors="coerce").to_numpy()
    out.attrs["towncover_planned"] = True
    return out


def _planned_categories(types: pd.Series, names: pd.Series, column: str, rows: np.ndarray) -> pd.Series:
    from facilities import categories as cats

    known = set(cats.CATEGORIES)
    direct = types.where(types.isin(known))
    classified = cats.classify(types.where(~types.isin(known), ""), names)
    out = direct.fillna(classified.astype("string"))
    bad = out.isna() | (out == cats.UNCLASSIFIED)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise TowncoverError(f"规划项目表第 {rows[i]} 行的类型“{types.iloc[i]}”无法识别",
                             f"planned project on row {rows[i]}: category '{types.iloc[i]}' not recognised",
                             row=int(rows[i]), column=column)
    return out


def _resolve_codes(
    codes: pd.Series, names: pd.Series, units: pd.DataFrame, township: pd.Series | None,
    rows: np.ndarray, columns: tuple[str | None, str | None], noun_zh: str, noun_en: str,
) -> pd.Series:
    """Codes given directly or by unique name (within the township when one is known)."""
    code_column, name_column = columns
    valid = set(units["code"])
    by_code = natural_code(codes.where(codes != "", pd.NA))
    given_code = codes != ""
    bad_code = given_code & ~by_code.isin(valid).fillna(False)
    if bad_code.any():
        i = int(np.flatnonzero(bad_code.to_numpy())[0])
        raise TowncoverError(f"规划项目表第 {rows[i]} 行的{noun_zh}代码“{codes.iloc[i]}”不在本区域",
                             f"planned project on row {rows[i]}: {noun_en} code '{codes.iloc[i]}' is not in the region",
                             row=int(rows[i]), column=code_column)
    out = by_code.where(given_code, pd.NA).astype("string")
    need = ~given_code & (names != "")
    for i in np.flatnonzero(need.to_numpy()).tolist():
        name = names.iloc[i]
        cands = units[units["name"] == name]
        if township is not None and not pd.isna(township.iloc[i]):
            cands = cands[cands["code"].str.startswith(str(township.iloc[i]))]
        if len(cands) != 1:
            why_zh = "找不到" if cands.empty else "有多个同名"
            why_en = "not found" if cands.empty else "ambiguous"
            raise TowncoverError(f"规划项目表第 {rows[i]} 行的{noun_zh}“{name}”{why_zh}(请填写区划代码)",
                                 f"planned project on row {rows[i]}: {noun_en} '{name}' {why_en} (give its code)",
                                 row=int(rows[i]), column=name_column)
        out.iloc[i] = cands["code"].iloc[0]
    return out


def apply_planned(geocoded: pd.DataFrame, planned: pd.DataFrame, region_code: str | None = None,
                  *, until_year: int | None = None) -> pd.DataFrame:
    """Append planned projects to a geocoded frame as placed rows (a scenario).

    Parameters
    ----------
    geocoded : pandas.DataFrame
        The geocoded facilities.
    planned : pandas.DataFrame
        Planned projects, raw (then ``region_code`` is needed to resolve them) or from
        :func:`read_planned`.
    region_code : str, optional
        Region for resolving township/village names and codes in a raw sheet.
    until_year : int, optional
        Only projects due by this year (projects without a year are always included).

    Returns
    -------
    pandas.DataFrame
        ``geocoded`` with a ``source`` column (``sheet``; its rows under construction counted as operating),
        followed by one row per planned project
        with ``match_status="matched"``, ``match_method="planned"``, ``source="planned"`` and
        ``planned_year``.
    """
    if not planned.attrs.get("towncover_planned"):
        if region_code is None:
            raise TowncoverError("解析规划项目表需要指定区域", "reading a planned-projects sheet needs the region")
        planned = read_planned(planned, region_code)
    chosen = planned
    if until_year is not None:
        chosen = planned[planned["year"].isna() | (planned["year"] <= int(until_year))]
    base = geocoded.copy()
    if "source" not in base.columns:
        base["source"] = "sheet"
    if "operating_status" in base.columns:
        # Facilities under construction are built by the target year, like planned projects.
        building = base["operating_status"].astype("string") == "under_construction"
        base.loc[building.fillna(False).to_numpy(), "operating_status"] = "operating"
    add = pd.DataFrame({
        "row": chosen["row"].to_numpy(),
        "township_code": chosen["township_code"].to_numpy(),
        "village_code": chosen["village_code"].to_numpy(),
        "county_code": chosen["township_code"].astype("string").str[:6].to_numpy(),
        "match_status": "matched",
        "match_method": "planned",
        "match_note": "规划项目 / planned project",
        "lng_wgs84": np.nan,
        "lat_wgs84": np.nan,
        "category": chosen["category"].to_numpy(),
        "source": "planned",
        "planned_year": chosen["year"].to_numpy(),
        "planned_name": chosen["name"].to_numpy(),
    })
    for role in ("beds", "nursing_beds"):
        if role in chosen.columns:
            add[role] = chosen[role].to_numpy()
    combined = pd.concat([base.reset_index(drop=True), add], ignore_index=True)
    return combined

