"""Offline geocoding of facility sheets to township (乡镇/街道) and village codes.

Every input row comes out exactly once, in input order, with its original columns and:
``row``, ``county_code``, ``township_code``, ``township_name``, ``village_code``, ``village_name``,
``match_status`` (matched | ambiguous | unmatched | out_of_region | rejected), ``match_method``
(code | coordinates | address | name | ""), ``match_note`` (Chinese / English), ``lng_wgs84``,
``lat_wgs84`` and ``candidates`` (township codes that tied, semicolon-joined).

Evidence is used in this order: a division-code column (method "code"), the sheet's 乡镇/村 columns
(method "name"), the address (method "address"), the facility name (method "name"), then coordinates
(method "coordinates", only with real township boundaries). A wrong township is worse than none:
ties are reported as ambiguous with their candidates, old (pre-merger) names are left unmatched, and
where address and coordinates disagree both answers are given and the row is not counted as matched.
"""

from __future__ import annotations

import functools
import gc
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from geo.address import (
    ANSWER_FIELDS,
    AddressMatch,
    BatchAnswers,
    RegionIndex,
    normalise,
    normalise_many,
    parse_address,
    parse_normalised,
    prepare_batch,
    quick_answers,
    region_index,
    village_in_township,
)
from geo.crs import check_crs
from geo.gazetteer import Region, load_gazetteer
from geo.matching import combine
from geo.notes import COLUMNS_AND_ADDRESS
from towncover import settings
from towncover.errors import TowncoverError

__all__ = ["OUTPUT_COLUMNS", "AddressMatch", "geocode", "parse_address"]

OUTPUT_COLUMNS = ("row", "county_code", "township_code", "township_name", "village_code", "village_name",
                  "match_status", "match_method", "match_note", "lng_wgs84", "lat_wgs84", "candidates")


class LoadedSheet(Protocol):
    """What the geocoder reads of a loaded sheet (``facilities.sheets.Sheet``; geo/ never imports it)."""

    @property
    def frame(self) -> pd.DataFrame: ...
    @property
    def roles(self) -> dict[str, str]: ...
    @property
    def source_rows(self) -> Sequence[int]: ...
    @property
    def rejected(self) -> pd.DataFrame: ...
    @property
    def problems(self) -> pd.DataFrame: ...
    @property
    def numbers(self) -> pd.DataFrame: ...


_SCHEMATIC_NOTE = ("示意边界:坐标不能确定乡镇", "schematic boundaries: coordinates cannot decide the township")


def geocode(
    sheet: LoadedSheet | pd.DataFrame,
    region: str | Region,
    *,
    roles: dict[str, str] | None = None,
    crs: str = settings.DEFAULT_SHEET_CRS,
    boundaries: Any = None,
) -> pd.DataFrame:
    """Place every row of a facility sheet on a township and village of ``region``, offline.

    Parameters
    ----------
    sheet : facilities.sheets.Sheet or pandas.DataFrame
        A sheet as read by ``facilities.sheets.read_sheet`` (its ``frame``, ``roles``,
        ``source_rows`` and ``rejected`` rows are used), or a plain DataFrame with ``roles``.
    region : str or Region
        The region (province, city, county or township) the sheet is about: code or name.
    roles : dict, optional
        Role → column (``name``, ``address``, ``township``, ``village``, ``county``,
        ``division_code``, ``lng``, ``lat``) when ``sheet`` is a DataFrame; overrides the sheet's.
    crs : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        Datum of the coordinate columns.
    boundaries : geopandas.GeoDataFrame, optional
        Township polygons (``code``, ``schematic``, geometry, EPSG:4326). Real polygons let
        coordinates decide a township; schematic ones (``schematic`` True) never do.

    Returns
    -------
    pandas.DataFrame
        Original columns plus :data:`OUTPUT_COLUMNS`, one row per input row (rejected rows
        included with status "rejected"), in input (file) order.

    Raises
    ------
    TowncoverError
        Unknown region or CRS, or a role naming a column the sheet does not have.
    """
    # Geocoding makes many small acyclic objects: the cyclic collector would only rescan them.
    collect = gc.isenabled()
    gc.disable()
    try:
        return _geocode(sheet, region, roles, crs, boundaries)
    finally:
        if collect:
            gc.enable()


def _geocode(sheet: LoadedSheet | pd.DataFrame, region: str | Region, roles: dict[str, str] | None, crs: str,
             boundaries: Any) -> pd.DataFrame:
    gaz = load_gazetteer()
    reg = region if isinstance(region, Region) else gaz.region(region)
    crs = check_crs(crs)
    frame, role_map, rows, rejected = _unpack(sheet, roles)
    present = set(frame.columns)
    for role, header in role_map.items():
        if header not in present:
            raise TowncoverError(f"列“{header}”(用作 {role})不在表中",
                                 f"column '{header}' (for {role}) is not in the sheet", column=header)
    n = len(frame)
    idx = region_index(reg.code)

    def col(role: str) -> list[str]:
        if role not in role_map:
            return [""] * n
        values = frame[role_map[role]]
        if isinstance(values.dtype, pd.StringDtype):  # already text: only the missing cells to fill
            return values.to_numpy(dtype=object, na_value="").tolist()
        return values.astype("string").fillna("").tolist()

    cols = [col(r) for r in ("division_code", "township", "village", "county", "address", "name")]
    out = _answers(reg, idx, cols, n)
    status = out.pop("match_status")

    problems = None if isinstance(sheet, pd.DataFrame) else sheet.problems
    if problems is not None and len(problems) and n:
        _note_problems(out["match_note"], rows, problems)
    lng = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if "lng" in role_map and "lat" in role_map and n:
        x, y = _coordinate_numbers(sheet, frame, role_map)
        lng, lat = _coordinates(x, y, crs, reg, boundaries, status, out, rows)
        _match_in_point_county(reg, cols, lng, lat, status, out)

    if (rejected is None or not len(rejected)) and not present.intersection(OUTPUT_COLUMNS):
        # The common case in one construction (no column-by-column inserts).
        new: dict[str, Any] = {"row": np.asarray(rows, dtype=int)}
        for k in OUTPUT_COLUMNS[1:]:
            if k == "lng_wgs84":
                new[k] = lng
            elif k == "lat_wgs84":
                new[k] = lat
            else:
                new[k] = _string_array(status if k == "match_status" else out[k])
        if frame.columns.is_unique:  # one construction, the sheet's columns first
            return pd.DataFrame({**{c: frame[c].array for c in frame.columns}, **new}, copy=False)
        return pd.concat([frame, pd.DataFrame(new, index=frame.index)], axis=1).reset_index(drop=True)
    result = frame.copy()
    result["row"] = np.asarray(rows, dtype=int)
    for k in ("county_code", "township_code", "township_name", "village_code", "village_name"):
        result[k] = out[k]
    result["match_status"] = status
    result["match_method"] = out["match_method"]
    result["match_note"] = out["match_note"]
    result["lng_wgs84"] = lng
    result["lat_wgs84"] = lat
    result["candidates"] = out["candidates"]
    if rejected is not None and len(rejected):
        result = _with_rejected(result, rejected, frame.columns)
    for k in OUTPUT_COLUMNS:
        if k not in ("row", "lng_wgs84", "lat_wgs84"):
            result[k] = result[k].astype("string").fillna("")
    return result.reset_index(drop=True)


# --------------------------------------------------------------------------------------------------


def _note_problems(notes: np.ndarray, rows: list[int], problems: pd.DataFrame) -> None:
    """Append each row's cell problems (第 12 行“经度”不是数字 / row 12: ...) to its note, in place.

    A row's problems are joined with "; " in the order listed; as array work (a stable sort by row and
    one concatenation per problem a row has beyond its first), not a Python call per row.
    """
    text = (problems["message_zh"].astype(str) + " / " + problems["message_en"].astype(str)).to_numpy(dtype=object)
    problem_row = problems["row"].astype(int).to_numpy()
    order = np.argsort(problem_row, kind="stable")
    problem_row, text = problem_row[order], text[order]
    starts = np.flatnonzero(np.r_[True, problem_row[1:] != problem_row[:-1]])
    sizes = np.diff(np.r_[starts, len(problem_row)])
    joined = text[starts].copy()
    for k in range(1, int(sizes.max(initial=1))):
        more = sizes > k
        joined[more] = joined[more] + "; " + text[starts[more] + k]
    keys = problem_row[starts]
    row = np.asarray(rows, dtype=int)
    at = np.minimum(np.searchsorted(keys, row), len(keys) - 1)
    has = keys[at] == row
    if has.any():
        extra_text = joined[at[has]]
        current = notes[has]
        notes[has] = np.where(current == "", extra_text, current + "; " + extra_text)


def _unpack(sheet: LoadedSheet | pd.DataFrame, roles: dict[str, str] | None
            ) -> tuple[pd.DataFrame, dict[str, str], list[int], pd.DataFrame | None]:
    if isinstance(sheet, pd.DataFrame):
        frame = sheet if _numbered_from_zero(sheet.index) else sheet.reset_index(drop=True)
        return frame, dict(roles or {}), list(range(2, len(frame) + 2)), None
    frame = sheet.frame if _numbered_from_zero(sheet.frame.index) else sheet.frame.reset_index(drop=True)
    return frame, {**sheet.roles, **(roles or {})}, list(sheet.source_rows), sheet.rejected


def _numbered_from_zero(index: pd.Index) -> bool:
    """Whether an index is 0, 1, 2, ... (a RangeIndex from 0 by 1), as ``reset_index`` would make it."""
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _with_rejected(result: pd.DataFrame, rejected: pd.DataFrame, columns: pd.Index) -> pd.DataFrame:
    rej = pd.DataFrame({c: rejected[c] if c in rejected.columns else "" for c in columns})
    rej["row"] = rejected["row"].astype(int).to_numpy()
    for k in OUTPUT_COLUMNS:
        if k not in rej.columns:
            rej[k] = np.nan if k in ("lng_wgs84", "lat_wgs84") else ""
    rej["match_status"] = "rejected"
    zh = rejected.get("reason_zh", pd.Series("", index=rejected.index)).astype("string").fillna("")
    en = rejected.get("reason_en", pd.Series("", index=rejected.index)).astype("string").fillna("")
    rej["match_note"] = (zh + " / " + en).to_numpy()
    both = pd.concat([result, rej[result.columns]], ignore_index=True)
    return both.sort_values("row", kind="stable")


def _string_array(values: np.ndarray) -> Any:
    """An object array of ``str`` as pandas' "string" dtype (built by pyarrow in one call when it stores it)."""
    if pd.StringDtype().storage == "pyarrow":
        import pyarrow as pa

        return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string()))
    return pd.array(values, dtype="string")


def _answers(reg: Region, idx: RegionIndex, cols: list[list[str]], n: int) -> dict[str, np.ndarray]:
    """Each row's answer, as object arrays keyed by :data:`geo.batch.ANSWER_FIELDS`.

    Rows with only address/name text are keyed on their normalised texts (one vectorised
    normalisation per column); rows with code/乡镇/村/县 cells go through :func:`_place_row`.
    """
    code, town, village, county, address, name = cols
    if any(map(any, (code, town, village, county))):
        plain = [not (a or b or c or d) for a, b, c, d in zip(code, town, village, county, strict=True)]
    else:  # address and name only: every row
        plain = [True] * n
    # Digit runs fold to "0" where no name of the region holds a digit (see geo.normalise.normalise_many).
    fold = functools.partial(normalise_many, fold_digits=not idx.names_hold_digits)
    if all(plain):
        addr_n = fold(address)
    else:
        addr_n = [""] * n
        sel = [i for i in range(n) if plain[i]]
        for i, a in zip(sel, fold([address[i] for i in sel]), strict=True):
            addr_n[i] = a
    # Facility names are folded only where read (see geo.batch.quick_answers).
    return _answer_rows(reg, idx, cols, n, plain, addr_n, fold)


def _answer_rows(reg: Region, idx: RegionIndex, cols: list[list[str]], n: int, plain: list[bool], addr_n: list[str],
                 fold: Callable[[list[str]], list[str]]) -> dict[str, np.ndarray]:
    """Each row's answer as columns; large sheets are split over forked worker processes.

    Forking shares the region index (built once, read-only) and the rows with the workers, which send
    back codes, not text. It is used only in a single-threaded process (the CLI, the benchmark), where
    fork is safe; a server with threads (Streamlit) answers in-process.
    """
    rows = (reg, idx, cols, plain, addr_n, fold)
    workers = _workers(n)
    if workers < 2:
        parts = [_answer_part(rows, 0, n)]
    else:
        prepare_batch(idx)  # built once, before forking, and shared
        bounds = np.linspace(0, n, workers + 1).astype(int).tolist()
        _ROWS[:] = rows
        try:
            with multiprocessing.get_context("fork").Pool(workers - 1) as pool:
                pending = pool.starmap_async(_answer_forked, list(zip(bounds[1:-1], bounds[2:], strict=True)))
                parts = [_answer_part(rows, 0, bounds[1]), *pending.get()]
        finally:
            _ROWS.clear()
    first = parts[0][1]
    whole = len(parts) == 1 and first is not None and len(parts[0][0]) == n
    out = first.columns(idx) if whole and first is not None else {k: np.full(n, "", dtype=object)
                                                                   for k in ANSWER_FIELDS}
    for batch_rows, batch, other_rows, answers in parts:
        if batch is not None and not whole:
            for k, values in batch.columns(idx).items():
                out[k][batch_rows] = values
        if answers:
            where = np.asarray(other_rows, dtype=np.int64)
            for k, answered in zip(ANSWER_FIELDS, zip(*answers, strict=True), strict=True):
                column = np.empty(len(answered), dtype=object)
                column[:] = answered
                out[k][where] = column
    return out


# The rows being answered, visible to forked workers without pickling (set only in _answer_rows).
_ROWS: list[Any] = []


def _workers(n: int) -> int:
    """Processes for ``n`` rows: at least settings.GEOCODE_PARALLEL_MIN each, only where forking is
    safe (a single-threaded process with fork) and pays for copying this process (see settings)."""
    workers = min(settings.GEOCODE_WORKERS, max(1, n // settings.GEOCODE_PARALLEL_MIN))
    if workers < 2 or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return workers if n >= settings.GEOCODE_ROWS_PER_GB * _resident_gb() else 1


def _resident_gb() -> float:
    """This process's resident memory in GB (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def _answer_forked(start: int, stop: int) -> tuple[Any, ...]:
    return _answer_part(tuple(_ROWS), start, stop)


def _answer_part(rows: tuple[Any, ...], start: int, stop: int
                 ) -> tuple[np.ndarray, BatchAnswers | None, list[int], list[tuple[str, ...]]]:
    """Rows ``start:stop``: plain rows (address/name only) as one array computation
    (:func:`geo.batch.quick_answers`), the rest row by row, each distinct input once.

    Returns the rows given to the array computation and its answers, and the other rows with theirs.
    """
    reg, idx, cols, plain, addr_n, fold = rows
    code, town, village, county, address, name = cols
    batch_rows = np.zeros(0, dtype=np.int64)
    batch = None
    done = np.zeros(stop - start, dtype=bool)
    if len(reg.code) <= 6:  # township regions need the general path (geo.matching._finish)
        if all(plain[start:stop]):
            batch_rows = np.arange(start, stop, dtype=np.int64)
            batch = quick_answers(idx, addr_n[start:stop], name[start:stop], fold)
        else:
            picked = [i for i in range(start, stop) if plain[i]]
            batch_rows = np.asarray(picked, dtype=np.int64)
            batch = quick_answers(idx, [addr_n[i] for i in picked], [name[i] for i in picked], fold)
        done[batch_rows - start] = batch.answered
    left = (np.flatnonzero(~done) + start).tolist()
    left_plain = [i for i in left if plain[i]]
    name_n = dict(zip(left_plain, fold([name[i] for i in left_plain]), strict=True))
    keys: dict[tuple[str, ...], int] = {}
    jobs: list[tuple[Any, ...]] = []
    other_rows: list[int] = []
    of_row: list[int] = []
    for i in left:
        if plain[i]:
            key: tuple[str, ...] = (addr_n[i], name_n[i])
        else:
            key = ("\x00", code[i], town[i], village[i], county[i], address[i], name[i])
        j = keys.get(key)
        if j is None:
            j = keys[key] = len(jobs)
            jobs.append(key if plain[i] else key[1:])
        other_rows.append(i)
        of_row.append(j)
    solved = [_row_answer(parse_normalised(idx, *job), "") if len(job) == 2 else _row_answer(*_place_row(reg, idx, *job))
              for job in jobs]
    return batch_rows, batch, other_rows, [solved[j] for j in of_row]


def _row_answer(m: AddressMatch, extra: str) -> tuple[str, ...]:
    placed = m.status in ("matched", "out_of_region") and bool(m.township_code)
    note = f"{m.note}; {extra}" if m.note and extra else (m.note or extra)
    return (m.status, m.county_code, m.township_code if placed else "", m.township_name if placed else "",
            m.village_code if placed else "", m.village_name if placed else "", m.method, note,
            ";".join(m.candidates) if m.status != "matched" else "")


def _place_row(reg: Region, idx: RegionIndex, code: str, town: str, village: str, county: str,
               address: str, name: str) -> tuple[AddressMatch, str]:
    """One row's answer from its text cells (code column, 乡镇/村 columns, address, name)."""
    if not (code or town or village or county):
        return parse_address(address, reg, name=name), ""
    notes: list[str] = []
    code = normalise(code)
    if code:
        m = _by_code(reg, code)
        if m.status != "unmatched":
            return m, ""
        notes.append(m.note)
    county_hint: tuple[str, ...] = ()
    if normalise(county):
        cm = parse_address(county, reg)
        if cm.status == "out_of_region":
            cm.method = "name"
            return cm, ""
        county_hint = (cm.county_code,) if cm.county_code else ()
    if normalise(town) or normalise(village):
        m = parse_address(f"{town}|{village}", reg, county_hint=county_hint)
        if m.status != "unmatched" or m.unknown_town:
            m.method = "name"
            if m.status == "matched":
                conflict = _address_disagrees(m, reg, idx, address, county_hint)
                if conflict is not None:
                    return conflict, "; ".join(notes)
                _village_from_texts(m, idx, village, address, name)
            elif m.status == "ambiguous" and (normalise(address) or normalise(name)):
                # The columns leave candidates: the address's (or the name's) may settle them.
                a = parse_address(address, reg, name=name, county_hint=county_hint)
                texts = [(normalise(village), True), (normalise(address), True), (normalise(name), False)]
                both = combine(idx, m, a, texts, COLUMNS_AND_ADDRESS)
                if both is not None:
                    both.method = "name"
                    return both, "; ".join(notes)
            if m.status != "unmatched":
                return m, "; ".join(notes)
            # An old township name in the column: let the address speak, but keep the note.
            a = parse_address(address, reg, name=None, county_hint=county_hint)
            if a.status in ("matched", "ambiguous", "out_of_region"):
                return a, "; ".join([*notes, m.note])
            return m, "; ".join(notes)
    m = parse_address(address, reg, name=name, county_hint=county_hint)
    return m, "; ".join(notes)


def _address_disagrees(m: AddressMatch, reg: Region, idx: RegionIndex, address: str,
                       county_hint: tuple[str, ...]) -> AddressMatch | None:
    """An ambiguous answer when the address names another township than the 乡镇 column, else None."""
    if not normalise(address):
        return None
    a = parse_address(address, reg, county_hint=county_hint)
    if a.status != "matched" or not a.township_code or a.township_code == m.township_code:
        return None
    both = [m.township_code, a.township_code]
    county = m.county_code if m.county_code == a.county_code else ""
    out = AddressMatch(status="ambiguous", method="name", county_code=county, candidates=both)
    out.note_zh = (f"乡镇列为{m.township_name}({m.township_code}),地址却指向{a.township_name}({a.township_code}),"
                   "请核实")
    out.note_en = (f"the township column says {m.township_code}, the address says {a.township_code}: "
                   "please resolve")
    return out


def _village_from_texts(m: AddressMatch, idx: RegionIndex, village: str, address: str, name: str) -> None:
    """Fill the village of a township found from the 乡镇 column: the 村 column, the address, the name."""
    if m.village_code:
        return
    for text, stems_too in ((village, True), (address, True), (name, False)):
        code, vname = village_in_township(idx, m.township_code, normalise(text), stems_too=stems_too)
        if code:
            m.village_code, m.village_name = code, vname
            return


def _by_code(reg: Region, raw: str) -> AddressMatch:
    gaz = load_gazetteer()
    m = AddressMatch(method="code")
    digits = raw.split(".")[0]
    if not digits.isdigit() or len(digits) not in (9, 12):
        m.note_zh = f"区划代码“{raw}”不是 9 位或 12 位数字,已忽略"
        m.note_en = f"division code '{raw}' is not 9 or 12 digits; ignored"
        return m
    town = digits[:9]
    village = digits if len(digits) == 12 and not digits.endswith("000") else ""
    known_town = _is_township(town)
    if not known_town or (village and not _is_village(village)):
        m.note_zh = f"区划代码 {digits} 不在 2023 年统计用区划代码中,已忽略"
        m.note_en = f"division code {digits} is not in the 2023 NBS codes; ignored"
        return m
    m.county_code = town[:6]
    m.township_code = town
    m.township_name = gaz.name_of(town)
    if village:
        m.village_code, m.village_name = village, _village_name(village)
    if not town.startswith(reg.code):
        m.status = "out_of_region"
        m.note_zh = f"区划代码 {digits}({gaz.full_name(town)})不在区域{reg.name}({reg.code})内"
        m.note_en = f"division code {digits} is outside the region {reg.code}"
    else:
        m.status = "matched"
    return m


def _is_township(code: str) -> bool:
    return code in _code_sets()[0]


def _is_village(code: str) -> bool:
    return code in _code_sets()[1]


def _village_name(code: str) -> str:
    return str(_code_sets()[2].get(code, ""))


_SETS: list[Any] = []


def _code_sets() -> tuple[set[str], set[str], pd.Series]:
    if not _SETS:
        gaz = load_gazetteer()
        villages = gaz.villages.set_index("code")["name"]
        _SETS.extend([set(gaz.townships["code"]), set(gaz.villages["code"]), villages])
    return _SETS[0], _SETS[1], _SETS[2]


def _coordinate_numbers(sheet: LoadedSheet | pd.DataFrame, frame: pd.DataFrame, role_map: dict[str, str]
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude as floats: the loader's parsed numbers (``sheet.numbers``) when it has them.

    The loader owns number parsing (degrees-minutes-seconds, 东经/北纬, units); text is never
    re-parsed here. A plain DataFrame's columns are taken as numbers (anything else is NaN).
    """
    if not isinstance(sheet, pd.DataFrame):
        numbers, roles = sheet.numbers, sheet.roles
        if ({"lng", "lat"} <= set(numbers.columns) and len(numbers) == len(frame)
                and role_map.get("lng") == roles.get("lng") and role_map.get("lat") == roles.get("lat")):
            return numbers["lng"].to_numpy(dtype=float), numbers["lat"].to_numpy(dtype=float)
    lng, lat = (pd.to_numeric(frame[role_map[r]].astype("string").str.strip(), errors="coerce")
                .to_numpy(dtype=float, na_value=np.nan) for r in ("lng", "lat"))
    return lng, lat


def _coordinates(x: np.ndarray, y: np.ndarray, crs: str, reg: Region, boundaries: Any,
                 status: np.ndarray, out: dict[str, np.ndarray], rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Convert, un-swap, check and (with real boundaries) assign coordinates; updates status/out in place.

    ``x`` and ``y`` are numbers in the datum ``crs`` (NaN where missing).
    """
    from geo import crs as _crs

    has = np.isfinite(x) & np.isfinite(y) & ~((x == 0) & (y == 0))
    swapped = has & (y >= 70) & (y <= 140) & (x >= 3) & (x <= 60)
    x, y = np.where(swapped, y, x), np.where(swapped, x, y)
    lng = np.full(len(x), np.nan)
    lat = np.full(len(x), np.nan)
    if has.any():
        wx, wy = _crs.to_wgs84(x[has], y[has], crs)
        lng[has], lat[has] = wx, wy
    china = np.zeros(len(x), dtype=bool)
    if has.any():
        china[has] = np.asarray(_crs.in_china(lng[has], lat[has]), dtype=bool)
    inside, how = _inside_region(lng, lat, has & china, reg)

    def note(i: int, zh: str, en: str) -> None:
        text = f"{zh} / {en}"
        out["match_note"][i] = f"{out['match_note'][i]}; {text}" if out["match_note"][i] else text

    real = boundaries is not None and len(boundaries) and not bool(
        np.asarray(boundaries.get("schematic", pd.Series(False, index=boundaries.index)), dtype=bool).any())
    assigned = np.full(len(x), "", dtype=object)
    if real and has.any():
        from geo.assign import assign_points

        got = assign_points(lng[has], lat[has], boundaries)
        assigned[has] = pd.Series(got).astype("string").fillna("").to_numpy(dtype=object)
    names = region_index(reg.code).town_name
    gaz = load_gazetteer()
    for i in np.flatnonzero(has).tolist():
        if swapped[i]:
            note(i, "经纬度填反,已对调", "latitude and longitude were swapped; corrected")
        if not china[i]:
            note(i, "坐标不在中国境内,未使用", "coordinates are outside China; not used")
            continue
        if inside is not None and not inside[i]:
            note(i, f"坐标在区域{reg.name}外({how})", f"coordinates fall outside the region {reg.code} ({how})")
            if status[i] == "unmatched" and not out["match_method"][i]:
                status[i] = "out_of_region"
                out["match_method"][i] = "coordinates"
            elif status[i] == "matched" and real:
                status[i] = "ambiguous"
                out["candidates"][i] = out["township_code"][i]
                out["township_code"][i] = out["township_name"][i] = ""
                out["village_code"][i] = out["village_name"][i] = ""
            continue
        if not real:
            if status[i] != "matched":
                note(i, *_SCHEMATIC_NOTE)
            continue
        got = assigned[i]
        if not got:
            note(i, "坐标不在所给乡镇边界内", "coordinates fall in none of the township boundaries given")
            continue
        gname = names.get(got) or (gaz.name_of(got) if len(got) == 9 and _is_township(got) else got)
        if status[i] == "matched":
            if out["township_code"][i] == got:
                note(i, "坐标与地址一致", "coordinates agree with the address")
            else:
                addr = out["township_code"][i]
                note(i, f"地址指向{out['township_name'][i]}({addr}),坐标落在{gname}({got}),请核实",
                     f"address says {addr}, coordinates say {got}: please resolve")
                status[i] = "ambiguous"
                out["candidates"][i] = f"{addr};{got}"
                out["township_code"][i] = out["township_name"][i] = ""
                out["village_code"][i] = out["village_name"][i] = ""
        elif status[i] == "ambiguous" and got in out["candidates"][i].split(";"):
            note(i, f"坐标落在候选{gname}({got})内,仍请核实", f"coordinates fall in candidate {got}; please confirm")
        elif status[i] == "unmatched" and got.startswith(reg.code):
            status[i] = "matched"
            out["match_method"][i] = "coordinates"
            out["township_code"][i], out["township_name"][i] = got, gname
            out["county_code"][i] = got[:6]
            note(i, "由坐标落点确定乡镇", "township from the point's position in the boundaries")
        elif status[i] == "out_of_region":
            note(i, f"坐标落在{gname}({got})", f"coordinates fall in {got}")
    return lng, lat


def _inside_region(lng: np.ndarray, lat: np.ndarray, ok: np.ndarray, reg: Region) -> tuple[np.ndarray | None, str]:
    """Whether points lie in the region's outline (when it has a map), else no check (None)."""
    try:
        from geo import boundaries as _b
    except ImportError:
        return None, ""
    try:
        has_map = _b.has_map(reg.code)
    except Exception:  # noqa: BLE001 - no map data installed for this region
        has_map = False
    if not has_map:
        return None, ""
    import shapely

    outlines = _b.county_outlines(reg.code)
    if len(reg.code) > 6:
        return None, ""
    shape = shapely.union_all(outlines.geometry.to_numpy())
    shapely.prepare(shape)
    inside = np.ones(len(lng), dtype=bool)
    if ok.any():
        # 2 km tolerance: outlines are generalised and sheets' coordinates are copied by hand.
        inside[ok] = shapely.contains_xy(shape.buffer(0.02), lng[ok], lat[ok])
    return inside, "县界 county outline"


def _match_in_point_county(reg: Region, cols: list[list[str]], lng: np.ndarray, lat: np.ndarray,
                           status: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """Rows of a multi-county region left ambiguous or unmatched, with a point and no county named:
    matched again by name within the county whose outline holds the point (``geo.assign.county_of_points``);
    kept only when that gives one township (one of the row's candidates, if it had any). In place."""
    todo = np.flatnonzero(np.isin(status, ("ambiguous", "unmatched")) & np.isfinite(lng) & np.isfinite(lat)
                          & (out["county_code"] == "") & (np.asarray(cols[3], dtype=object) == ""))
    if len(reg.code) >= 6 or not len(todo):
        return
    from geo.assign import county_of_points

    counties = county_of_points(lng[todo], lat[todo], reg.code).to_numpy(dtype=object, na_value="")
    gaz = load_gazetteer()
    for county in sorted(set(counties) - {""}):
        rows = todo[counties == county]
        sub = _answers(gaz.region(county), region_index(county), [[c[i] for i in rows] for c in cols], len(rows))
        for j, i in enumerate(rows):
            candidates = out["candidates"][i].split(";") if out["candidates"][i] else []
            if sub["match_status"][j] != "matched" or (candidates and sub["township_code"][j] not in candidates):
                continue
            for k in ANSWER_FIELDS[1:]:
                out[k][i] = sub[k][j]
            status[i] = "matched"
            here = f"坐标落在{gaz.name_of(county)}({county})县界内,在该县内按名称匹配"
            out["match_note"][i] = "; ".join(filter(None, (
                f"{here} / the point lies in county {county}'s outline; matched by name within it",
                out["match_note"][i])))
