"""One pipeline for the CLI and the app: sheet → loader → geocoder → categories → ready for coverage.

Data flows one way. :func:`analyse` reads a facility sheet, places every row on township and village
codes for a region, classifies each row's category and returns an :class:`Analysis` that coverage,
maps and exports read from.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
import pandas as pd

from facilities import categories as _categories
from facilities import sheets as _sheets
from facilities.corrections import apply_corrections
from facilities.plan_template import plan_or_template
from geo import geocoder as _geocoder
from geo.gazetteer import Region, load_gazetteer
from towncover import settings
from towncover.vocabulary import MATCH_STATUSES

if TYPE_CHECKING:  # geometry libraries are imported where polygons are used: geocoding needs none
    import geopandas as gpd

    from facilities.sheets import Sheet
    from facilities.targets import Plan

STATUSES = tuple(MATCH_STATUSES)


@dataclass
class Analysis:
    """Everything derived from one sheet for one region.

    Attributes
    ----------
    region : Region
    sheet : facilities.sheets.Sheet
    placed : pandas.DataFrame
        Every input row exactly once, in input order: the geocoder's columns plus ``category``,
        ``category_label`` and numeric ``beds`` / ``nursing_beds`` where the sheet has them.
    boundaries : geopandas.GeoDataFrame or None
        The user's township polygons, if given.
    plan : facilities.targets.Plan or None
        The region's plan, when one is known.
    geocoded : pandas.DataFrame
        ``placed`` before the planner's corrections (kept so corrections re-apply without re-geocoding).
    notes : list of str
        Assumptions made on the way (CRS, boundary repairs), Chinese / English.
    """

    region: Region
    sheet: Sheet
    placed: pd.DataFrame
    boundaries: gpd.GeoDataFrame | None
    plan: Plan | None
    geocoded: pd.DataFrame
    crs: str = settings.DEFAULT_SHEET_CRS
    notes: list[str] = field(default_factory=list)

    @functools.cached_property
    def units(self) -> gpd.GeoDataFrame | None:
        """Township polygons for maps and radius rules: the user's boundaries, else schematic cells, else None.

        Built when first asked for: a province's cells take seconds the first time, and geocoding or
        counting by code never needs them.
        """
        if self.boundaries is not None:
            return self.boundaries
        from geo import boundaries as _boundaries

        return _boundaries.township_cells(self.region.code) if _boundaries.has_map(self.region.code) else None

    @property
    def schematic(self) -> bool:
        """True when :attr:`units` are schematic cells (示意边界), never real boundaries."""
        from geo.boundaries import has_map

        return self.boundaries is None and has_map(self.region.code)

    def summary(self) -> dict[str, int]:
        """Row accounting: rows read, then each status; they add up to the rows in the file."""
        counts = self.placed["match_status"].value_counts()
        out = {"rows_read": int(self.sheet.summary()["rows_read"])}
        out["blank"] = int(self.sheet.summary().get("blank", 0))
        for status in STATUSES:
            out[status] = int(counts.get(status, 0))
        return out

    def check_accounting(self) -> None:
        """Raise AssertionError if any input row was lost or doubled (checked on every run)."""
        s = self.summary()
        accounted = s["blank"] + sum(s[k] for k in STATUSES)
        assert accounted == s["rows_read"], f"row accounting broken: {s}"
        assert self.placed["row"].is_unique, "a row came out twice"


def analyse(
    source: str | Path | bytes | IO[bytes],
    region: str | Region,
    *,
    filename: str | None = None,
    columns: dict[str, str] | None = None,
    crs: str = settings.DEFAULT_SHEET_CRS,
    boundaries: gpd.GeoDataFrame | str | os.PathLike[str] | None = None,
    corrections: pd.DataFrame | None = None,
    plan: Plan | None = None,
    with_plan: bool = True,
) -> Analysis:
    """Read a facility sheet and place every row on township and village codes.

    Parameters
    ----------
    source : path, bytes or file-like
        The facility sheet (.csv, .xlsx, .xls).
    region : str or Region
        Division code (2, 4, 6 or 9 digits) or name (安岳县, 宜春市).
    filename : str, optional
        The file's name, needed when ``source`` is bytes (uploads).
    columns : dict, optional
        Role → header overrides (``{"address": "详细住址"}``).
    crs : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        Datum of the sheet's coordinates.
    boundaries : GeoDataFrame or path, optional
        Real township polygons; without them the schematic cells are used for display only.
    corrections : pandas.DataFrame, optional
        Planner corrections (row → township code) applied after geocoding.
    plan : facilities.targets.Plan, optional
        Plan to evaluate; by default the region's own plan, else the template (模板).
    with_plan : bool, default True
        False when only placing rows (``towncover geocode``): no plan is looked up (reading the
        shipped plans takes a third of a second) and ``plan`` is None unless given.

    Returns
    -------
    Analysis
    """
    gaz = load_gazetteer()
    region = region if isinstance(region, Region) else gaz.region(region)
    sheet = _sheets.read_sheet(source, filename=filename, columns=columns)
    notes: list[str] = []
    real = None
    if boundaries is not None:
        import geopandas as gpd

        from geo import boundaries as _boundaries

        real = boundaries if isinstance(boundaries, gpd.GeoDataFrame) else _boundaries.load_boundaries(boundaries)
        notes.extend(real.attrs.get("notes", []))
    geocoded = _geocoder.geocode(sheet, region, crs=crs, boundaries=real)
    geocoded = _add_numbers(_add_categories(geocoded, sheet), sheet)
    placed = apply_corrections(geocoded, corrections, gaz, region.code)
    if plan is None and with_plan:
        plan = plan_or_template(region.code)
    analysis = Analysis(region=region, sheet=sheet, placed=placed, boundaries=real, plan=plan,
                        geocoded=geocoded, crs=crs, notes=notes)
    analysis.check_accounting()
    return analysis


def reapply(analysis: Analysis, corrections: pd.DataFrame | None) -> Analysis:
    """The same analysis with a new set of corrections (no re-reading, no re-geocoding of the sheet)."""
    placed = apply_corrections(analysis.geocoded, corrections, load_gazetteer(), analysis.region.code)
    new = dataclasses.replace(analysis, placed=placed)
    if "units" in analysis.__dict__:  # cells already built are shared, not built again
        new.__dict__["units"] = analysis.units
    new.check_accounting()
    return new


def _add_categories(placed: pd.DataFrame, sheet: Sheet) -> pd.DataFrame:
    roles = sheet.roles
    blank = pd.Series("", index=placed.index, dtype="string")
    types = placed[roles["category"]].astype("string") if "category" in roles else blank
    names = placed[roles["name"]].astype("string") if "name" in roles else blank
    out = placed.copy()
    out["category"] = _categories.classify(types.fillna(""), names.fillna("")).to_numpy()
    labels = {c: _categories.label(c, "zh") for c in out["category"].unique()}
    out["category_label"] = out["category"].map(labels)
    return out


def _add_numbers(placed: pd.DataFrame, sheet: Sheet) -> pd.DataFrame:
    # Aligned on the file's row numbers: rejected rows are in `placed` but not in `sheet.frame`.
    at = pd.Index(np.asarray(sheet.source_rows, dtype=np.int64)).get_indexer(pd.Index(placed["row"], dtype=np.int64))
    missing = at < 0
    for role in ("beds", "nursing_beds"):
        if role in sheet.roles:
            placed[role] = _taken(_sheets.numeric_column(sheet, role).to_numpy(dtype="float64"), at, np.nan)
    # The loader's status (operating / under_construction / closed) and why; "" for rejected rows.
    for col in sheet.status.columns:
        text = _taken(sheet.status[col].to_numpy(dtype=object), at, "")
        text[missing | pd.isna(text)] = ""
        placed[col] = text
    return placed


def _taken(values: np.ndarray, at: np.ndarray, fill: object) -> np.ndarray:
    """``values[at]``, ``fill`` where ``at`` is -1 (also when ``values`` is empty: every row rejected)."""
    out = np.full(len(at), fill, dtype=values.dtype)
    found = at >= 0
    out[found] = values[at[found]]
    return out
