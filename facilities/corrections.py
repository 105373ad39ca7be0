"""Planner corrections from the review queue: apply them, save them, load them back.

A correction says "input row N belongs to township T (and village V)". Corrections are keyed by the
row number in the user's file, so they survive re-running the analysis on the same sheet.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from geo.gazetteer import Gazetteer
from towncover.errors import TowncoverError
from towncover.files import atomic_write, neutralise_cells, restore_cells

COLUMNS = ["row", "township_code", "village_code", "note"]
#: The largest row number a correction may name (an Excel sheet's last row).
MAX_ROW = 1_048_576


def empty() -> pd.DataFrame:
    """An empty corrections table."""
    return pd.DataFrame({c: pd.Series(dtype="string") for c in COLUMNS}).astype({"row": "int64"})


def apply_corrections(placed: pd.DataFrame, corrections: pd.DataFrame | None, gazetteer: Gazetteer,
                      region_code: str | None = None) -> pd.DataFrame:
    """Return ``placed`` with corrected rows set to the chosen township (and village).

    Parameters
    ----------
    placed : pandas.DataFrame
        Geocoded rows with ``row``, ``township_code``, ``match_status`` ... columns.
    corrections : pandas.DataFrame or None
        Columns ``row``, ``township_code``, optional ``village_code`` and ``note``.
    gazetteer : geo.gazetteer.Gazetteer
        To name the chosen units and to refuse codes that do not exist.
    region_code : str, optional
        The analysis' region: a township outside it is refused (see :func:`validate_corrections`).

    Returns
    -------
    pandas.DataFrame
        A copy; corrected rows get ``match_status="matched"``, ``match_method="corrected"``.
    """
    out = placed.copy()
    if corrections is None or corrections.empty:
        return out
    corr = validate_corrections(corrections, gazetteer, region_code, rows=out["row"])
    corr = corr.drop_duplicates("row", keep="last").set_index("row")
    township_names = gazetteer.townships.set_index("code")["name"]
    village_names = _named(gazetteer.villages, corr["village_code"] if "village_code" in corr else [])
    hit = out["row"].isin(corr.index)
    rows = out.loc[hit, "row"]
    township = corr["township_code"].reindex(rows).to_numpy()
    village = (
        corr["village_code"].reindex(rows).fillna("").astype(str).to_numpy()
        if "village_code" in corr
        else [""] * len(rows)
    )
    out.loc[hit, "township_code"] = township
    out.loc[hit, "township_name"] = township_names.reindex(township).to_numpy()
    out.loc[hit, "county_code"] = [str(c)[:6] for c in township]
    out.loc[hit, "village_code"] = village
    out.loc[hit, "village_name"] = village_names.reindex(village).fillna("").to_numpy()
    previous = out.loc[hit, "match_status"].astype(str).to_numpy()
    out.loc[hit, "match_status"] = "matched"
    out.loc[hit, "match_method"] = "corrected"
    out.loc[hit, "match_note"] = [
        f"人工更正(原状态 {p}) / corrected by planner (was {p})" for p in previous
    ]
    return out


def validate_corrections(corrections: pd.DataFrame, gazetteer: Gazetteer, region_code: str | None = None,
                         rows: pd.Series | None = None) -> pd.DataFrame:
    """Check a corrections table before it is used: the one place corrections are validated.

    Parameters
    ----------
    corrections : pandas.DataFrame
        Columns ``row``, ``township_code``, optional ``village_code`` and ``note`` (as loaded by
        :func:`load_corrections` or made in the review queue).
    gazetteer : geo.gazetteer.Gazetteer
    region_code : str, optional
        Division code of the analysis' region; every township must lie in it.
    rows : pandas.Series, optional
        The sheet's row numbers; every corrected row must be one of them.

    Returns
    -------
    pandas.DataFrame
        ``corrections`` with ``row`` as int64 and codes as text (``village_code`` "" when absent).

    Raises
    ------
    TowncoverError
        One line in Chinese and English naming the first bad row (``row`` set): a row that is not
        a whole number or not in the sheet, a township code not in the gazetteer or outside the
        region, a village code not in the gazetteer or not in its township.
    """
    frame = corrections.reindex(columns=COLUMNS).copy()
    for col in COLUMNS[1:]:
        text = frame[col].astype("string").fillna("")
        frame[col] = (text if col == "note" else text.str.strip()).astype(str)
    frame["row"] = _row_numbers(frame["row"], "row")
    known_rows = None if rows is None else set(pd.Series(rows).astype("int64").tolist())
    towns = set(gazetteer.townships["code"].astype(str))
    villages = set(_named(gazetteer.villages, frame["village_code"]).index)
    for row, town, village in zip(frame["row"], frame["township_code"], frame["village_code"], strict=True):
        row = int(row)
        if known_rows is not None and row not in known_rows:
            _refuse(row, "row", f"表格中没有第 {row} 行", f"the sheet has no row {row}")
        if town not in towns:
            _refuse(row, "township_code", f"乡镇代码“{town}”不在区划库中",
                    f"township code '{town}' is not in the gazetteer")
        if region_code and not town.startswith(str(region_code)):
            _refuse(row, "township_code", f"乡镇 {gazetteer.name_of(town)}({town})不在本区域 {region_code} 内",
                    f"township {town} is not in the region {region_code}")
        if village and village not in villages:
            _refuse(row, "village_code", f"村(社区)代码“{village}”不在区划库中",
                    f"village code '{village}' is not in the gazetteer")
        if village and village[:9] != town:
            _refuse(row, "village_code", f"村(社区)代码 {village} 不属于乡镇 {town}",
                    f"village code {village} does not belong to township {town}")
    return frame


def _named(units: pd.DataFrame, codes: Any) -> pd.Series:
    """Code → name of the ``units`` among ``codes`` only: the 600,000 villages are filtered, never indexed whole."""
    wanted = {str(c) for c in codes if isinstance(c, str) and c}
    if not wanted:
        return pd.Series([], index=pd.Index([], dtype=object), dtype=object)
    return units.loc[units["code"].isin(wanted)].set_index("code")["name"]


def _refuse(row: int, column: str, zh: str, en: str) -> None:
    raise TowncoverError(f"更正第 {row} 行:{zh}", f"correction for row {row}: {en}", row=row, column=column)


def _row_numbers(values: pd.Series, column: str) -> pd.Series:
    """Row numbers as int64: whole numbers from 1 to a sheet's largest (Excel's 1,048,576 rows)."""
    text = values.astype("string").fillna("").str.strip().str.replace(r"\.0+$", "", regex=True)
    whole = text.str.fullmatch(r"\d+").fillna(False).to_numpy(dtype=bool)
    if not whole.all():
        i = int(np.flatnonzero(~whole)[0])
        raise TowncoverError(f"更正表第 {i + 2} 行 \"{column}\" 不是整数(“{text.iloc[i][:20]}”)",
                             f"corrections row {i + 2}: \"{column}\" is not a whole number",
                             row=i + 2, column=column)
    too_big = (text.str.len() > 7).to_numpy(dtype=bool)
    numbers = np.zeros(len(text), dtype="int64")
    if (~too_big).any():
        numbers[~too_big] = text[~too_big].astype("int64").to_numpy()
    bad = too_big | (numbers < 1) | (numbers > MAX_ROW)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TowncoverError(f"更正表第 {i + 2} 行 \"{column}\" 不是表格中的行号(1–{MAX_ROW:,})",
                             f"corrections row {i + 2}: \"{column}\" is not a row of a sheet (1–{MAX_ROW:,})",
                             row=i + 2, column=column)
    return pd.Series(numbers, index=values.index, dtype="int64")


def save_corrections(corrections: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write corrections to CSV atomically (the bytes of :func:`corrections_csv`)."""
    data = corrections_csv(corrections)
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def corrections_csv(corrections: pd.DataFrame) -> bytes:
    """Corrections as CSV bytes (UTF-8 with BOM), text a spreadsheet would run as a formula neutralised."""
    return neutralise_cells(corrections.reindex(columns=COLUMNS)).to_csv(index=False).encode("utf-8-sig")


def load_corrections(source: str | os.PathLike[str] | IO[str] | IO[bytes]) -> pd.DataFrame:
    """Read a corrections file written by :func:`save_corrections`."""
    try:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file, said plainly
        raise TowncoverError(f"更正文件无法读取:{exc}", f"corrections file cannot be read: {exc}") from None
    missing = {"row", "township_code"} - set(frame.columns)
    if missing:
        raise TowncoverError(
            f"更正文件缺少列:{'、'.join(sorted(missing))}", f"corrections file lacks columns: {', '.join(sorted(missing))}"
        )
    out = frame.reindex(columns=COLUMNS)
    out = restore_cells(out.astype(object).where(out.notna(), ""))
    out["row"] = _row_numbers(out["row"], "row")
    return out
