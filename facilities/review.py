"""The review queue and the planner's corrections: rows to resolve, the choices for each, the workspace file.

Plain pandas, no UI: the app lays these out, the tests call them directly. A correction puts a row on a
township of the region, or says the row is a county-level facility (:data:`COUNTY_ONLY`) or not a
facility at all (:data:`EXCLUDE`); every row stays in the accounting either way.
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from facilities import categories as _categories
from facilities import corrections as _corrections
from facilities.pipeline import Analysis, reapply
from geo.gazetteer import Gazetteer, load_gazetteer
from geo.history import load_history
from towncover.errors import TowncoverError
from towncover.files import atomic_write

#: Rows the planner must look at: the geocoder could not place them on one township.
REVIEW_STATUSES = ("ambiguous", "unmatched", "out_of_region")
WORKSPACE_LAYERS = ("townships", "facilities", "corrections", "placed")
#: ``township_code`` of a correction that keeps a row at county level (a county-wide facility).
COUNTY_ONLY = "county"
#: ``township_code`` of a correction that takes a row out of the count (not a facility).
EXCLUDE = "exclude"
SPECIAL_CHOICES: dict[str, tuple[str, str]] = {
    COUNTY_ONLY: ("仅县级(不归属乡镇)", "county level only (no township)"),
    EXCLUDE: ("排除(不是设施)", "exclude (not a facility)"),
}
_SPECIAL_NOTES: dict[str, str] = {
    COUNTY_ONLY: "人工更正:县级设施,不归属乡镇 / corrected by planner: county-level facility, no township",
    EXCLUDE: "人工排除:不是设施 / excluded by planner: not a facility",
}
#: Village-name endings dropped before looking for a village's name in a row's text (hints).
_VILLAGE_ENDINGS = r"(?:村民委员会|居民委员会|社区居委会|村委会|居委会|社区|村)$"
_TOWNSHIP_ENDINGS = r"(?:街道办事处|街道|镇|乡)$"


class HasRoles(Protocol):
    """What the review queue reads of a sheet: which column holds each role (``facilities.sheets.Sheet``)."""

    @property
    def roles(self) -> dict[str, str]: ...


def _role_column(placed: pd.DataFrame, sheet: HasRoles | None, role: str) -> pd.Series:
    column = sheet.roles.get(role) if sheet is not None else None
    if column is not None and column in placed.columns:
        return placed[column].astype("string").fillna("")
    return pd.Series("", index=placed.index, dtype="string")


def review_queue(placed: pd.DataFrame, sheet: HasRoles | None = None, region_code: str | None = None,
                 lang: str = "zh") -> pd.DataFrame:
    """Rows the geocoder could not put on exactly one township, for the planner to resolve.

    Parameters
    ----------
    placed : pandas.DataFrame
        ``Analysis.placed``.
    sheet : facilities.sheets.Sheet, optional
        To find the name, address and township columns.
    region_code : str, optional
        The region: with it, rows without candidates get hints (:func:`name_hints`).
    lang : {"zh", "en"}
        Language of ``category_label``.

    Returns
    -------
    pandas.DataFrame
        ``row, name, address, category_label, match_status, candidates, candidate_names, hints,
        match_note`` for every row whose status is ambiguous, unmatched or out of region, in file order.
        ``candidates`` and ``hints`` are semicolon-joined township codes; ``candidate_names`` names
        the candidates and hints as ``name (code)``.
    """
    keep = placed["match_status"].astype("string").isin(REVIEW_STATUSES).fillna(False).to_numpy()
    rows = placed.loc[keep]

    def column(name: str) -> np.ndarray:
        return rows.get(name, pd.Series("", index=rows.index)).astype("string").fillna("").to_numpy()

    out = pd.DataFrame(
        {
            "row": rows["row"].astype("int64").to_numpy(),
            "name": _role_column(rows, sheet, "name").to_numpy(),
            "address": _role_column(rows, sheet, "address").to_numpy(),
            "category_label": [_categories.label(c, lang) if c in _categories.CATEGORIES else label
                               for c, label in zip(column("category"), column("category_label"), strict=True)],
            "match_status": column("match_status"),
            "candidates": column("candidates"),
            "match_note": column("match_note"),
        }
    )
    out["hints"] = ""
    if region_code is not None and len(out):
        text = out["name"] + " " + out["address"] + " " + _role_column(rows, sheet, "township").to_numpy()
        hints = name_hints(text, str(region_code))
        out["hints"] = np.where(out["candidates"] == "", hints.to_numpy(), "")
    names = _township_names()
    out["candidate_names"] = [
        "; ".join(f"{names.get(c, c)} ({c})" for c in (c1 or c2).split(";") if c)
        for c1, c2 in zip(out["candidates"], out["hints"], strict=True)
    ]
    columns = ["row", "name", "address", "category_label", "match_status", "candidates", "candidate_names",
               "hints", "match_note"]
    return out[columns].sort_values("row").reset_index(drop=True)


def _township_names() -> dict[str, str]:
    return _names_in(load_gazetteer())


@functools.lru_cache(maxsize=1)
def _names_in(gaz: Gazetteer) -> dict[str, str]:
    """Township code → name (made once per gazetteer: 40,000 of them, asked for on every page)."""
    return dict(zip(gaz.townships["code"].astype(str), gaz.townships["name"].astype(str), strict=True))


def name_hints(text: pd.Series, region_code: str) -> pd.Series:
    """Townships a row's text points at through a village or township name of the region (old names too).

    A township renamed or merged away leaves its successors in the division history
    (:mod:`geo.history`) and often its name in its villages (东朗村); a village named in an address
    belongs to one township: all are hints, never decisions.

    Parameters
    ----------
    text : pandas.Series of str
        Name, address and township cell of each row.
    region_code : str

    Returns
    -------
    pandas.Series of str
        Semicolon-joined township codes (sorted), "" where nothing is found; same index as ``text``.
    """
    stems = _hint_stems(load_gazetteer(), str(region_code))
    out = []
    for value in text.astype("string").fillna(""):
        hit = {code for stem, code in stems if stem in value}
        out.append(";".join(sorted(hit)) if len(hit) <= 5 else "")
    return pd.Series(out, index=text.index, dtype=object)


@functools.lru_cache(maxsize=8)
def _hint_stems(gaz: Gazetteer, region_code: str) -> tuple[tuple[str, str], ...]:
    """(name stem, township code) of the region's villages, townships and old township names (once per region)."""
    villages = gaz.villages_in(region_code)[["name", "township_code"]]
    towns = gaz.townships_in(region_code)[["name", "code"]].rename(columns={"code": "township_code"})
    history = load_history().townships
    old = history.loc[history["county_code"].astype(str).str.startswith(region_code[:6]),
                      ["old_name", "township_code"]].rename(columns={"old_name": "name"})
    stems = pd.concat([
        villages.assign(stem=villages["name"].astype(str).str.replace(_VILLAGE_ENDINGS, "", regex=True)),
        towns.assign(stem=towns["name"].astype(str).str.replace(_TOWNSHIP_ENDINGS, "", regex=True)),
        old.assign(stem=old["name"].astype(str)),  # a township name since merged away: its successors
    ])
    stems = stems[stems["stem"].str.len() >= 2]
    return tuple(zip(stems["stem"].astype(str), stems["township_code"].astype(str), strict=True))


def township_choices(region_code: str, candidates: str = "", lang: str = "zh") -> list[tuple[str, str]]:
    """What a planner may choose for a row: candidates or hints first, the two special choices, every township.

    Parameters
    ----------
    region_code : str
    candidates : str
        Semicolon-joined township codes (the queue's ``candidates``, else its ``hints``).
    lang : {"zh", "en"}

    Returns
    -------
    list of (code, label)
        Labels ``name (code)``, candidates marked ★; then :data:`COUNTY_ONLY` and :data:`EXCLUDE`;
        then every township of the region exactly once. No entry is a default: the app shows none
        selected until the planner picks one.
    """
    gaz = load_gazetteer()
    towns = gaz.townships_in(str(region_code), include_special=True)[["code", "name"]]
    names = dict(zip(towns["code"].astype(str), towns["name"].astype(str), strict=False))
    cand = [c for c in str(candidates or "").split(";") if c]
    out: list[tuple[str, str]] = []
    for code in cand:
        name = names.get(code) or gaz.name_of(code) or code
        out.append((code, f"★ {name} ({code})"))
    out += [(code, labels[lang == "en"]) for code, labels in SPECIAL_CHOICES.items()]
    seen = set(cand)
    for code in sorted(names):
        if code not in seen:
            out.append((code, f"{names[code]} ({code})"))
    return out


def add_correction(corrections: pd.DataFrame | None, row: int, township_code: str, note: str = "") -> pd.DataFrame:
    """A corrections table with ``row`` set to ``township_code`` (replacing an earlier choice for it).

    Parameters
    ----------
    corrections : pandas.DataFrame or None
        Columns ``row, township_code, village_code, note``.
    row : int
        File row number.
    township_code : str
        A 9-digit township code of the gazetteer, :data:`COUNTY_ONLY` or :data:`EXCLUDE`.
    note : str

    Returns
    -------
    pandas.DataFrame
        Sorted by row.
    """
    base = _corrections.empty() if corrections is None else corrections.reindex(columns=_corrections.COLUMNS)
    base = base[base["row"].astype("int64") != int(row)]
    new = pd.DataFrame({"row": [int(row)], "township_code": [str(township_code)], "village_code": [""],
                        "note": [note]})
    out = pd.concat([base.astype(object), new.astype(object)], ignore_index=True)
    out["row"] = out["row"].astype("int64")
    for col in ("township_code", "village_code", "note"):
        out[col] = out[col].fillna("").astype(str)
    return out.sort_values("row").reset_index(drop=True)


def corrections_key(corrections: pd.DataFrame | None) -> tuple[tuple[int, str, str], ...]:
    """A hashable form of a corrections table (for caching)."""
    if corrections is None or corrections.empty:
        return ()
    frame = corrections.reindex(columns=_corrections.COLUMNS).fillna("")
    return tuple(
        (int(r), str(t), str(v))
        for r, t, v in zip(frame["row"], frame["township_code"], frame["village_code"], strict=False)
    )


def corrections_from_key(key: tuple[tuple[int, str, str], ...]) -> pd.DataFrame | None:
    """Inverse of :func:`corrections_key` (notes are not part of the key)."""
    if not key:
        return None
    frame = pd.DataFrame(list(key), columns=["row", "township_code", "village_code"])
    frame["note"] = ""
    frame["row"] = frame["row"].astype("int64")
    return frame



def apply_review(analysis: Analysis, corrections: pd.DataFrame | None) -> Analysis:
    """The analysis with the planner's corrections: townships chosen, county-level rows, excluded rows.

    Parameters
    ----------
    analysis : facilities.pipeline.Analysis
    corrections : pandas.DataFrame or None
        Columns ``row, township_code, village_code, note``; ``township_code`` may be :data:`COUNTY_ONLY`
        or :data:`EXCLUDE`.

    Returns
    -------
    facilities.pipeline.Analysis
        Township choices applied by :func:`facilities.pipeline.reapply`; a county-level row stays
        ``matched`` on the county with no township (so it covers no township and is listed as
        unplaced at township levels); an excluded row becomes ``rejected``. Each says so in
        ``match_note``; every row is still counted once.

    Raises
    ------
    TowncoverError
        A row number not in the sheet, or a township code the gazetteer does not know (one line).
    """
    if corrections is None or corrections.empty:
        return reapply(analysis, None)
    frame = corrections.reindex(columns=_corrections.COLUMNS)
    codes = frame["township_code"].astype(str)
    geocoded = analysis.geocoded if analysis.geocoded is not None else analysis.placed
    unknown_rows = ~frame["row"].astype("int64").isin(geocoded["row"])
    if unknown_rows.any():
        row = int(frame.loc[unknown_rows, "row"].iloc[0])
        raise TowncoverError(f"更正表:第 {row} 行不在表格中", f"corrections: row {row} is not in the sheet",
                             row=row, column="row")
    special = codes.isin(list(SPECIAL_CHOICES)).to_numpy()
    out = reapply(analysis, frame.loc[~special] if (~special).any() else None)
    if not special.any():
        return out
    placed = out.placed.copy()
    by_row = dict(zip(frame.loc[special, "row"].astype("int64"), codes[special], strict=True))
    for code in SPECIAL_CHOICES:
        hit = placed["row"].map(by_row).eq(code).fillna(False).to_numpy()
        if code == COUNTY_ONLY:
            placed.loc[hit, "match_status"] = "matched"
            placed.loc[hit, "county_code"] = analysis.region.code[:6]
        else:
            placed.loc[hit, "match_status"] = "rejected"
        for column in ("township_code", "township_name", "village_code", "village_name"):
            if column in placed:
                placed.loc[hit, column] = pd.NA if column.endswith("code") else ""
        placed.loc[hit, "match_method"] = "corrected"
        placed.loc[hit, "match_note"] = _SPECIAL_NOTES[code]
    return Analysis(**{**out.__dict__, "placed": placed})


def corrections_table(corrections: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The corrections for display: each code with its name beside it.

    Returns
    -------
    pandas.DataFrame
        ``row, township_code, township_name, village_code, village_name, note``; the special choices
        named in ``lang``.
    """
    gaz = load_gazetteer()
    out = corrections.reindex(columns=_corrections.COLUMNS).copy()
    towns = _township_names()
    wanted = set(out["village_code"].fillna("").astype(str)) - {""}
    chosen = gaz.villages[gaz.villages["code"].isin(wanted)] if wanted else gaz.villages.iloc[:0]
    villages = dict(zip(chosen["code"].astype(str), chosen["name"].astype(str), strict=True))
    special = {code: labels[lang == "en"] for code, labels in SPECIAL_CHOICES.items()}
    out["township_name"] = [special.get(c) or towns.get(c, "") for c in out["township_code"].astype(str)]
    out["village_name"] = [villages.get(c, "") for c in out["village_code"].fillna("").astype(str)]
    return out[["row", "township_code", "township_name", "village_code", "village_name", "note"]]


# ---------------------------------------------------------------------------------------------
# Workspace
# ---------------------------------------------------------------------------------------------
def save_workspace(path: str | os.PathLike[str], layers: dict[str, gpd.GeoDataFrame], corrections: pd.DataFrame | None,
                   placed: pd.DataFrame | None = None) -> Path:
    """Save the map layers, the planner's corrections and the placed rows in one GeoPackage.

    Parameters
    ----------
    path : str or PathLike
        Target ``.gpkg``; written to a temporary file first, then renamed.
    layers : dict
        ``townships`` / ``facilities`` GeoDataFrames (EPSG:4326); None values are skipped.
    corrections : pandas.DataFrame or None
        Columns ``row, township_code, village_code, note`` (an empty table when None).
    placed : pandas.DataFrame, optional
        ``Analysis.placed`` without the geometry columns (kept so the workspace shows every row).

    Returns
    -------
    pathlib.Path
    """
    def write(tmp: Path) -> None:
        for name, frame in layers.items():
            if frame is not None and len(frame):
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG")
        corr = _corrections.empty() if corrections is None else corrections.reindex(columns=_corrections.COLUMNS)
        corr = corr.astype({"row": "int64"}).astype({c: str for c in _corrections.COLUMNS[1:]})
        pyogrio.write_dataframe(pd.DataFrame(corr), tmp, layer="corrections", driver="GPKG")
        if placed is not None:
            plain = pd.DataFrame({c: placed[c].astype("string").fillna("").astype(str) for c in placed.columns})
            pyogrio.write_dataframe(plain, tmp, layer="placed", driver="GPKG")

    return atomic_write(path, write)


def load_workspace_corrections(source: str | os.PathLike[str] | bytes) -> pd.DataFrame:
    """The corrections saved in a workspace GeoPackage (or a corrections CSV).

    Parameters
    ----------
    source : path or bytes
        A ``.gpkg`` written by :func:`save_workspace`, or CSV bytes / path from
        :func:`facilities.corrections.save_corrections`.

    Returns
    -------
    pandas.DataFrame
        ``row, township_code, village_code, note``.

    Raises
    ------
    TowncoverError
        If the file is neither a workspace nor a corrections file.
    """
    data = Path(source).read_bytes() if not isinstance(source, bytes | bytearray) else bytes(source)
    if not data.startswith(b"SQLite format 3"):
        return _corrections.load_corrections(io.BytesIO(data))
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "workspace.gpkg"
        file.write_bytes(data)
        try:
            layers = [str(n) for n, _ in pyogrio.list_layers(file)]
            frame = (pyogrio.read_dataframe(file, layer="corrections", read_geometry=False)
                     if "corrections" in layers else None)
        except Exception as exc:  # noqa: BLE001 - DataSourceError and the like: a damaged file, said plainly
            raise TowncoverError(f"工作空间文件已损坏或被截断,无法读取({type(exc).__name__})",
                                 f"the workspace file is damaged or truncated and cannot be read "
                                 f"({type(exc).__name__})") from None
    if frame is None:
        raise TowncoverError("工作空间文件中没有更正表(corrections 图层)",
                             "the workspace file has no corrections layer")
    frame = pd.DataFrame(frame).reindex(columns=_corrections.COLUMNS)
    for col in _corrections.COLUMNS[1:]:
        frame[col] = frame[col].fillna("").astype(str)
    # Row numbers checked by the corrections file's own rule (one rule for both files).
    frame["row"] = _corrections.load_corrections(io.StringIO(frame.to_csv(index=False)))["row"].to_numpy()
    return frame
