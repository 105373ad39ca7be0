"""Planner corrections from the review queue: apply them, save them, load them back.

A correction says "input row N belongs to township T (and village V)". Corrections are keyed by the
row number in the user's file, so they survive re-running the analysis on the same sheet.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from towncover.errors import TowncoverError
from towncover.files import atomic_write, neutralise_cells, restore_cells

COLUMNS = ["row", "township_code", "village_code", "note"]


def empty() -> pd.DataFrame:
    """An empty corrections table."""
    return pd.DataFrame({c: pd.Series(dtype="string") for c in COLUMNS}).astype({"row": "int64"})


def apply_corrections(placed: pd.DataFrame, corrections: pd.DataFrame | None, gazetteer) -> pd.DataFrame:
    """Return ``placed`` with corrected rows set to the chosen township (and village).

    Parameters
    ----------
    placed : pandas.DataFrame
        Geocoded rows with ``row``, ``township_code``, ``match_status`` ... columns.
    corrections : pandas.DataFrame or None
        Columns ``row``, ``township_code``, optional ``village_code`` and ``note``.
    gazetteer : geo.gazetteer.Gazetteer
        To name the chosen units and to refuse codes that do not exist.

    Returns
    -------
    pandas.DataFrame
        A copy; corrected rows get ``match_status="matched"``, ``match_method="corrected"``.
    """
    out = placed.copy()
    if corrections is None or corrections.empty:
        return out
    corr = corrections.drop_duplicates("row", keep="last").set_index("row")
    township_names = gazetteer.townships.set_index("code")["name"]
    village_names = gazetteer.villages.set_index("code")["name"]
    unknown = ~corr["township_code"].isin(township_names.index)
    if unknown.any():
        row = int(corr.index[unknown.to_numpy()][0])
        code = corr["township_code"][unknown].iloc[0]
        raise TowncoverError(
            f"更正表第 {row} 行:乡镇代码 {code} 不存在", f"corrections for row {row}: township code {code} does not exist"
        )
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


def save_corrections(corrections: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write corrections to CSV atomically (the bytes of :func:`corrections_csv`)."""
    data = corrections_csv(corrections)
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def corrections_csv(corrections: pd.DataFrame) -> bytes:
    """Corrections as CSV bytes (UTF-8 with BOM), text a spreadsheet would run as a formula neutralised."""
    return neutralise_cells(corrections.reindex(columns=COLUMNS)).to_csv(index=False).encode("utf-8-sig")


def load_corrections(source) -> pd.DataFrame:
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
    bad = ~frame["row"].str.fullmatch(r"\d+")
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise TowncoverError(
            f"更正文件第 {line} 行 \"row\" 不是整数", f"corrections file row {line}: \"row\" is not a whole number",
            row=line, column="row",
        )
    out = restore_cells(frame.reindex(columns=COLUMNS).fillna(""))
    out["row"] = out["row"].astype("int64")
    return out
