"""towncover — the planner's browser app (Streamlit). The UI only: state in, library calls, drawing out.

Run with ``make app`` (or ``streamlit run app.py``). Chinese by default, English by a switch.

Every choice the planner makes is kept in session state under a language-independent key
(``sel:<name>``); each widget is keyed per language and seeded from that choice, so the English switch
changes labels only. Each tab is one function taking the :class:`Page` built once per run; a failure
inside a tab is shown in one line there (the last line of defence, logged), never as a traceback.
"""

from __future__ import annotations

import functools
import hashlib
import html
import logging
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from facilities import categories as _categories
from facilities import corrections as _corrections
from facilities import coverage as _coverage
from facilities import evaluation as _evaluation
from facilities import inputs as _inputs
from facilities import review, session, views
from facilities.i18n import text
from facilities.layers import build_layers, facility_points, labelled, rows_table, write_layers
from facilities.pipeline import Analysis, analyse
from facilities.plan_template import is_template
from geo import boundaries as _boundaries
from geo import export as _export
from geo import webmap
from geo.archive import upload_name, write_upload
from geo.gazetteer import load_gazetteer
from towncover import settings
from towncover.errors import TowncoverError
from towncover.vocabulary import COMPARATORS, LEVELS, METRICS

st.set_page_config(page_title="towncover 乡镇设施覆盖核查", page_icon="🗺️", layout="wide")
LOG = logging.getLogger("towncover.app")
LANG = "en" if st.session_state.get("lang_en") else "zh"
CRS_LABELS = {"gcj02": ("GCJ-02(高德/腾讯)", "GCJ-02 (Amap, Tencent)"), "wgs84": ("WGS-84(GPS)", "WGS-84 (GPS)"),
              "cgcs2000": ("CGCS2000", "CGCS2000"), "bd09": ("BD-09(百度)", "BD-09 (Baidu)")}
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def T(key: str, **kwargs: object) -> str:  # noqa: N802 - short name for the many UI strings
    return text(key, LANG, **kwargs)


def plain(value: object) -> str:
    """User text made inert for ``st.markdown``/``st.error``: HTML escaped, Markdown marks backslashed."""
    return _MARKDOWN.sub(r"\\\1", html.escape(str(value), quote=False))


def _digest(data: bytes | None) -> str:
    return hashlib.sha256(data).hexdigest()[:16] if data else ""


def choose(where: Any, widget: str, name: str, label: str, options: list, default: Any,
           fmt: Callable[[Any], str], **kwargs: Any) -> Any:
    """A radio or selectbox whose choice lives under ``sel:<name>``, whatever the language.

    The widget is keyed per language (its labels differ) and seeded from the kept choice; a change
    is copied back by its callback. A kept choice no longer among ``options`` falls back to ``default``.
    """
    kept = f"sel:{name}"
    value = st.session_state.get(kept, default)
    if value not in options:
        value = default if default in options else options[0]
    st.session_state[kept] = value
    key = f"w:{name}:{LANG}"
    st.session_state[key] = value

    def keep() -> None:
        st.session_state[kept] = st.session_state[key]

    return getattr(where, widget)(label, options, key=key, format_func=fmt, on_change=keep, **kwargs)


# ---------------------------------------------------------------------------------------------
# Cached library calls (keyed on file bytes, region, crs, boundaries, corrections, plan)
# ---------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False)
def _regions_with_maps() -> pd.DataFrame:
    return _boundaries.regions_with_maps()


@st.cache_data(show_spinner=False)
def _all_counties() -> pd.DataFrame:
    gaz = load_gazetteer()
    counties = gaz.counties[["code", "name"]].copy()
    counties["label"] = [f"{gaz.full_name(c)} ({c})" for c in counties["code"]]
    return counties.sort_values("code").reset_index(drop=True)


@st.cache_resource(show_spinner=False, max_entries=12)
def _boundaries_frame(data: bytes, name: str) -> gpd.GeoDataFrame:
    with tempfile.TemporaryDirectory() as folder:
        return _boundaries.load_boundaries(write_upload(folder, data, name))


@st.cache_resource(show_spinner=False, max_entries=12)
def _analysis(data: bytes, filename: str, region: str, crs: str, bnd: bytes | None, bnd_name: str) -> Analysis:
    boundaries = _boundaries_frame(bnd, bnd_name) if bnd else None
    return analyse(data, region, filename=filename, crs=crs, boundaries=boundaries)


@st.cache_resource(show_spinner=False, max_entries=32)
def _corrected(data: bytes, filename: str, region: str, crs: str, bnd: bytes | None, bnd_name: str,
               corr: tuple) -> Analysis:
    base = _analysis(data, filename, region, crs, bnd, bnd_name)
    return review.apply_review(base, review.corrections_from_key(corr))


@st.cache_resource(show_spinner=False, max_entries=32)
def _evaluate(key: tuple, plan_key: str, extra_key: tuple, _analysis_obj, _plan, _population, _planned):
    # Cached as one object: its gaps (an integer programme under a radius rule) are closed once, inside it.
    return _evaluation.evaluate(_analysis_obj, population=_population, planned=_planned, plan=_plan)


@st.cache_data(show_spinner=False, max_entries=16)
def _table_upload(data: bytes, name: str, kind: str, region: str) -> pd.DataFrame:
    """A population table or a planned-projects sheet from an upload (read by facilities.coverage)."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_upload(folder, data, name)
        if kind == "population":
            return _inputs.read_population(path)
        return _inputs.read_planned(path, region)


@st.cache_resource(show_spinner=False, max_entries=64)
def _measure(key: tuple, plan_key: str, category: str, level: str, _analysis_obj, _plan):
    return session.measure_choice(_analysis_obj, _plan, category, level)


@st.cache_resource(show_spinner=False, max_entries=64)
def _shown(key: tuple, plan_key: str, category: str, level: str, _analysis_obj: Analysis,
           _result: _coverage.CoverageResult) -> dict[str, gpd.GeoDataFrame]:
    """The map's township layer and facility points for one category and level (read, never changed)."""
    return build_layers(_analysis_obj, category, level, result=_result)


@st.cache_data(show_spinner=False, max_entries=16)
def _other_region(key: tuple, _analysis_obj) -> tuple[str, int] | None:
    return session.other_region_hint(_analysis_obj, load_gazetteer())


def _demo_sheet(code: str) -> Path | None:
    for n in (len(code), 6, 4, 2):
        found = sorted(settings.DEMO_DIR.glob(f"{code[:n]}_*_synthetic.xlsx"))
        if found:
            return found[0]
    return None


def _plan_key(plan) -> str:
    return "" if plan is None else _digest(session.plan_frame(plan).to_json().encode())


# ---------------------------------------------------------------------------------------------
# The state one run works on
# ---------------------------------------------------------------------------------------------
@dataclass
class Inputs:
    """What the sidebar gave: region, the sheet (or the demo's), optional files, display choices."""

    region_code: str
    sheet_bytes: bytes
    sheet_name: str
    is_demo: bool
    crs: str
    bnd_bytes: bytes | None
    bnd_name: str
    corr_upload: Any
    pop_upload: Any
    planned_upload: Any
    basemap: str
    pickers: Any

    @property
    def scope(self) -> str:
        """Corrections, plan edits and choices belong to one sheet in one region."""
        return f"{_digest(self.sheet_bytes)}:{self.region_code}"


@dataclass
class Page:
    """Everything the tabs draw from, computed once per run."""

    inputs: Inputs
    analysis: Analysis
    corrections: pd.DataFrame | None
    key: tuple
    plan: Any
    judge: Callable[[], _evaluation.Evaluation | None]
    category: str
    level: str
    map_value: str
    result: _coverage.CoverageResult
    map_units: gpd.GeoDataFrame | None
    points: gpd.GeoDataFrame

    @functools.cached_property
    def evaluation(self) -> _evaluation.Evaluation | None:
        """The plan judged (cached across runs), made when a tab asks: the map and the review need none."""
        return self.judge()

    @property
    def region(self):
        return self.analysis.region

    @property
    def noun(self) -> str:
        return LEVELS[self.level][LANG == "en"]

    @property
    def category_name(self) -> str:
        return _categories.label(self.category, LANG)

    @property
    def stem(self) -> str:
        return f"{self.region.code}_{self.region.name}_{self.category}_{self.level}"


# ---------------------------------------------------------------------------------------------
# Sidebar
# ---------------------------------------------------------------------------------------------
def sidebar() -> Inputs | None:
    """Language, region, the category/level pickers' place, files, basemap. None: no sheet to show."""
    sb = st.sidebar
    sb.toggle("English", key="lang_en")
    sb.subheader(T("title"))
    sb.caption(T("subtitle"))
    mode = choose(sb, "radio", "region_mode", T("region_mode"), ["maps", "any"], "maps",
                  lambda m: T("mode_maps") if m == "maps" else T("mode_any"))
    if mode == "maps":
        frame = _regions_with_maps()
        codes = frame["code"].astype(str).tolist()
        labels = dict(zip(codes, [f"{n} ({c})" for c, n in zip(codes, frame["name"], strict=True)], strict=True))
    else:
        frame = _all_counties()
        codes = frame["code"].astype(str).tolist()
        labels = dict(zip(codes, frame["label"], strict=True))
    region_code = choose(sb, "selectbox", f"region_{mode}", T("region" if mode == "maps" else "county"), codes,
                         settings.DEFAULT_REGION, labels.get)
    pickers = sb.container()
    sb.caption(T("limit", mb=settings.MAX_UPLOAD_MB))
    upload = sb.file_uploader(T("sheet"), type=["csv", "xlsx", "xls"], key="sheet_upload", help=T("sheet_help"))
    crs = choose(sb, "selectbox", "crs", T("crs"), list(CRS_LABELS), "gcj02", lambda c: CRS_LABELS[c][LANG == "en"])
    bnd = sb.file_uploader(T("boundaries"), type=["zip", "gpkg", "geojson", "json", "kml"], key="bnd_upload")
    corr = sb.file_uploader(T("corr_upload"), type=["csv", "gpkg"], key="corr_upload")
    pop = sb.file_uploader(T("pop_upload"), type=["csv", "xlsx", "xls"], key="pop_upload", help=T("pop_help"))
    planned = sb.file_uploader(T("planned_upload"), type=["csv", "xlsx", "xls"], key="planned_upload",
                               help=T("planned_help"))
    # The offline background always draws; tiles, when chosen, lie over it (the server's own, when configured).
    tiles = ["none", "osm", "amap"] + (["server"] if settings.TILES not in ("none", "osm", "amap") else [])
    default = "server" if "server" in tiles else settings.TILES
    choice = choose(sb, "radio", "basemap", T("basemap"), tiles, default, lambda k: T(f"tiles_{k}"))
    basemap = settings.TILES if choice == "server" else choice
    if upload is not None:
        sheet_bytes, sheet_name, is_demo = upload.getvalue(), upload_name(upload.name), False
    else:
        demo = _demo_sheet(region_code)
        if demo is None:
            return None
        sheet_bytes, sheet_name, is_demo = demo.read_bytes(), demo.name, True
    return Inputs(region_code, sheet_bytes, sheet_name, is_demo, crs, bnd.getvalue() if bnd is not None else None,
                  upload_name(bnd.name) if bnd is not None else "", corr, pop, planned, basemap, pickers)


def session_corrections(inputs: Inputs, base: Analysis) -> pd.DataFrame | None:
    """The session's corrections for this sheet; a newly loaded file replaces them only if it applies."""
    store = st.session_state.setdefault("corrections", {})
    upload = inputs.corr_upload
    if upload is not None and st.session_state.get("corr_loaded") != (inputs.scope, upload.file_id):
        st.session_state["corr_loaded"] = (inputs.scope, upload.file_id)
        try:
            loaded = review.load_workspace_corrections(upload.getvalue())
            review.apply_review(base, loaded)  # refused here, never stored: a bad file cannot lock the session
            store[inputs.scope] = loaded
            st.toast(T("corrections_loaded", n=len(loaded)))
        except TowncoverError as exc:
            st.error(plain(T("corrections_bad", msg=exc.message)))
    return store.get(inputs.scope)


def _extras(inputs: Inputs) -> tuple[pd.DataFrame | None, pd.DataFrame | None, tuple]:
    """Population (per-1,000 targets, gap ranking) and planned projects: uploads, else the demo's population."""
    population = planned = None
    key: tuple = ()
    try:
        if inputs.pop_upload is not None:
            data = inputs.pop_upload.getvalue()
            population = _table_upload(data, upload_name(inputs.pop_upload.name), "population", inputs.region_code)
            key += ("pop", _digest(data))
        elif inputs.is_demo:
            demo = sorted(settings.DEMO_DIR.glob(f"{inputs.region_code}_*_population_synthetic.csv"))
            if demo:
                population = _table_upload(demo[0].read_bytes(), demo[0].name, "population", inputs.region_code)
                key += ("demo_pop",)
                st.sidebar.caption(T("demo_population"))
        if inputs.planned_upload is not None:
            data = inputs.planned_upload.getvalue()
            planned = _table_upload(data, upload_name(inputs.planned_upload.name), "planned", inputs.region_code)
            key += ("planned", _digest(data))
    except TowncoverError as exc:
        st.error(plain(f"{T('error')}:{exc.message}"))
    return population, planned, key


def build_page(inputs: Inputs) -> Page:
    """Read, place, correct, evaluate and measure (all cached), then the choices the pickers hold."""
    base = _analysis(inputs.sheet_bytes, inputs.sheet_name, inputs.region_code, inputs.crs, inputs.bnd_bytes,
                     inputs.bnd_name)
    corrections = session_corrections(inputs, base)
    corr_key = review.corrections_key(corrections)
    try:
        analysis = _corrected(inputs.sheet_bytes, inputs.sheet_name, inputs.region_code, inputs.crs,
                              inputs.bnd_bytes, inputs.bnd_name, corr_key)
    except TowncoverError as exc:  # corrections made earlier that no longer apply: dropped, said once
        st.session_state["corrections"].pop(inputs.scope, None)
        st.error(plain(T("corrections_bad", msg=exc.message)))
        corrections, corr_key, analysis = None, (), review.apply_review(base, None)
    key = (inputs.scope, inputs.crs, _digest(inputs.bnd_bytes), corr_key)
    population, planned, extra_key = _extras(inputs)
    plan = st.session_state.setdefault("plans", {}).get(inputs.scope, analysis.plan)
    plan_key = _plan_key(plan)  # once per run: it digests the whole plan table

    def judge() -> _evaluation.Evaluation | None:
        if plan is None:
            return None
        return _evaluate(key, plan_key, extra_key, analysis, plan, population, planned)

    listed = session.category_counts(analysis).index.tolist()
    view = _evaluation.default_view(analysis.placed, plan)
    box = inputs.pickers
    category = choose(box, "selectbox", f"category:{inputs.scope}", T("category"),
                      session.category_options(analysis, plan), view.category,
                      lambda c: _categories.label(c, LANG) + ("" if c in listed else T("not_listed")))
    level = choose(box, "selectbox", f"level:{inputs.scope}:{category}", T("level"), session.level_options(),
                   view.level if category == view.category else session.default_level(plan, category), lambda lv: LEVELS[lv][LANG == "en"])
    map_value = choose(box, "radio", "map_value", T("map_value"), ["covered", "n_facilities"], "covered",
                       lambda v: T("by_covered") if v == "covered" else T("by_count"))
    result = _measure(key, plan_key, category, level, analysis, plan)
    if analysis.units is not None:
        shown = _shown(key, plan_key, category, level, analysis, result)
        map_units, points = shown["townships"], shown["facilities"]
    else:
        map_units, points = None, facility_points(analysis)
    return Page(inputs, analysis, corrections, key, plan, judge, category, level, map_value, result, map_units,
                points)


# ---------------------------------------------------------------------------------------------
# Pieces several tabs draw
# ---------------------------------------------------------------------------------------------
def coverage_metrics(page: Page) -> None:
    result = page.result
    c1, c2, c3 = st.columns(3)
    c1.metric(T("covered_units", noun=page.noun, cat=page.category_name), f"{result.covered} / {result.total}")
    c2.metric(T("coverage_rate"), "—" if result.rate is None else f"{result.rate:.1f}%")
    c3.metric(T("unplaced_rows"), f"{result.unplaced_rows}")


def _cat_labels() -> dict[str, str]:
    return {c: _categories.label(c, LANG) for c in _categories.CATEGORIES}


def coverage_map(page: Page, proposed: pd.DataFrame | None = None):
    units = page.map_units if page.map_units is not None else gpd.GeoDataFrame(
        {"code": [], "name": []}, geometry=[], crs="EPSG:4326")
    value = page.map_value
    if page.map_units is not None and page.level in _coverage.VILLAGE_LEVELS and value == "covered":
        value = "covered_share"
    title = f"{page.region.name} · {page.category_name} · {page.noun}"
    fmap = webmap.coverage_map(units, page.points, value_column=value, schematic=page.analysis.schematic,
                               title=title, lang=LANG, categories=_cat_labels(), radius_km=page.result.radius_km,
                               basemap=page.inputs.basemap, category=page.category)
    if proposed is not None:
        webmap.add_proposals(fmap, page.analysis.units, proposed, LANG)
    return fmap


def _layers(page: Page) -> dict[str, gpd.GeoDataFrame]:
    if page.map_units is not None:
        return {"townships": page.map_units, "facilities": page.points}
    return {"facilities": page.points}


def export_bytes(page: Page, fmt: str, encoding: str = "UTF-8") -> bytes:
    """One download, written by the library into a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"{page.region.code}_{page.category}"
        if fmt == "html":
            html_page = webmap.standalone_html(coverage_map(page))
            path = _export.export_layers(_layers(page), target, "html", schematic=page.analysis.schematic,
                                         map_html=html_page)
        elif fmt == "workspace":
            path = review.save_workspace(Path(folder) / "workspace.gpkg", _layers(page), page.corrections,
                                         page.analysis.placed)
        elif fmt == "report":
            from facilities.report import write_report

            path = write_report(page.evaluation, Path(folder) / "report.xlsx")
        elif fmt in ("report_docx", "report_pdf"):
            from facilities.document import write_document

            path = write_document(page.evaluation, page.analysis, Path(folder) / f"report.{fmt[7:]}", lang=LANG)
        elif fmt in ("units_xlsx", "units_csv", "rows_xlsx", "rows_csv"):
            frame = (views.unit_table(page.result, LANG) if fmt.startswith("units")
                     else labelled(rows_table(page.analysis), LANG))
            path = _export.export_table(frame, target, fmt.split("_")[1])
        else:
            path = write_layers(_layers(page), target, fmt, encoding=encoding, schematic=page.analysis.schematic,
                                lang=LANG)
        return Path(path).read_bytes()


# ---------------------------------------------------------------------------------------------
# Tabs: one function each, taking the page
# ---------------------------------------------------------------------------------------------
def _card(card: dict) -> None:
    colour = {"met": "#1a7f37", "short": "#c0392b", "na": "#6e7781"}[card["state"]]
    with st.container(border=True, key=f"card_{card['id']}"):
        st.markdown(f"**{plain(card['title'])}**")
        year = f" · {T('year')} {card['year']}" if card["year"] else ""
        detail = (f'<br><span style="color:#555;font-size:0.9em">{plain(card["detail"])}</span>'
                  if card["detail"] else "")
        st.markdown(f'<span style="font-size:1.6em">{plain(card["measured"])}</span> '
                    f'<span style="color:#555">{T("target")} {plain(card["target"])}</span><br>'
                    f'<span style="color:{colour};font-weight:bold">{plain(card["status"])}</span>{year}{detail}',
                    unsafe_allow_html=True)


def _chart(evaluation: pd.DataFrame) -> None:
    chart = views.coverage_chart_frame(evaluation, LANG)
    if not len(chart):
        return
    st.subheader(T("chart_header"))
    base = alt.Chart(chart).encode(y=alt.Y("label:N", title=None, sort=None))
    bars = base.mark_bar().encode(
        x=alt.X("measured:Q", title=T("chart_measured"), scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("met:N", scale=alt.Scale(domain=[True, False], range=["#1f78b4", "#e6550d"]), legend=None),
        tooltip=[alt.Tooltip("label:N", title=T("targets_header")),
                 alt.Tooltip("measured:Q", title=T("chart_measured")),
                 alt.Tooltip("target:Q", title=T("chart_target"))],
    )
    ticks = base.mark_tick(color="black", thickness=3, size=22).encode(x="target:Q")
    st.altair_chart(bars + ticks, width="stretch")


def tab_overview(page: Page) -> None:
    summary = page.analysis.summary()
    hint = _other_region(page.key, page.analysis)
    if hint is not None:
        st.warning(plain(T("wrong_region", n=hint[1], county=hint[0])))
    for col, k in zip(st.columns(6), ("rows_read", "matched", "ambiguous", "unmatched", "out_of_region", "rejected"),
                      strict=True):
        col.metric(T(k), f"{summary.get(k, 0):,}")
    for zh, en in session.sheet_lines(page.analysis):
        st.caption(plain(en if LANG == "en" else zh))
    coverage_metrics(page)
    st.subheader(T("targets_header"))
    template_warning(page)
    ev = page.evaluation
    if ev is None or ev.table.empty:
        st.info(T("no_plan"))
    else:
        groups = ev.not_evaluable_groups()
        set_aside = {tid for _, ids in groups for tid in ids}
        ordered = ev.ordered()
        cards = views.target_cards(ordered[~ordered["id"].isin(set_aside)], LANG)
        for start in range(0, len(cards), 3):
            for col, card in zip(st.columns(3), cards[start:start + 3], strict=False):
                with col:
                    _card(card)
        _chart(ev.table)
        if groups:
            labels = ev.table.set_index("id")["label_en" if LANG == "en" else "label_zh"]
            with st.expander(T("not_evaluable_header", n=len(set_aside))):
                for reason, ids in groups:
                    zh, _, en = reason.partition(" / ")
                    st.markdown(f"**{plain(en if LANG == 'en' and en else zh)}**")
                    st.text("\n".join(f"· {labels[t]}" for t in ids))
    notes = [*page.analysis.notes, *page.result.notes]
    if notes:
        with st.expander(T("notes")):
            st.text("\n".join(f"· {n}" for n in notes))
    problems = page.analysis.sheet.problems
    if len(problems):
        with st.expander(T("sheet_problems", n=len(problems))):
            st.dataframe(views.display_table(problems, LANG), hide_index=True, width="stretch")


def tab_map(page: Page) -> None:
    coverage_metrics(page)
    if page.result.radius_km:
        st.caption(T("radius_note", r=f"{page.result.radius_km:g}"))
    # render=False: st_folium renders the map once more anyway; the figure's own render is the same work twice.
    st_folium(coverage_map(page), key="coverage_map", height=600, use_container_width=True,
              returned_objects=[], render=False)
    if page.corrections is not None and len(page.corrections):
        st.download_button(T("workspace"), lambda: export_bytes(page, "workspace"),
                           file_name=f"{page.region.code}_workspace.gpkg", key="dl_workspace_map", on_click="ignore")


def _units(page: Page) -> None:
    st.subheader(T("units_header"))
    table = views.unit_table(page.result, LANG)
    f1, f2 = st.columns([2, 1])
    needle = f1.text_input(T("filter_text"), key="units_filter")
    status = choose(f2, "selectbox", "units_status", T("filter_status"), ["all", "covered", "uncovered"], "all", T)
    if needle:
        table = table[table["code"].str.contains(needle, regex=False)
                      | table["name"].str.contains(needle, regex=False)]
    if status != "all":
        table = table[table["covered"] == (status == "covered")]
    st.dataframe(views.display_table(table, LANG), width="stretch", hide_index=True, key="units_table")


def _review(page: Page) -> None:
    st.subheader(T("review_header"))
    queue = review.review_queue(page.analysis.placed, page.analysis.sheet, page.region.code, LANG)
    if queue.empty:
        st.success(T("review_empty"))
        return
    shown = queue.drop(columns=["candidates", "hints"])
    st.dataframe(views.display_table(shown, LANG), width="stretch", hide_index=True, height=240)
    info = queue.set_index("row")
    statuses = views.display_table(queue[["match_status"]], LANG).iloc[:, 0].tolist()
    status_of = dict(zip(queue["row"], statuses, strict=True))
    r1, r2, r3 = st.columns([2, 3, 1])
    pick = choose(r1, "selectbox", f"review_row:{page.inputs.scope}", T("review_row"), queue["row"].tolist(),
                  int(queue["row"].iloc[0]), lambda r: f"{r} · {info.at[r, 'name']} · {status_of[r]}")
    hints = str(info.at[pick, "candidates"] or info.at[pick, "hints"] or "")
    choices = dict(review.township_choices(page.region.code, hints, LANG))
    town = r2.selectbox(T("review_town"), list(choices), index=None, placeholder=T("choose"),
                        key=f"review_town:{pick}:{LANG}", format_func=choices.get)

    def apply() -> None:  # a callback: the click's own run already has the correction (no second run)
        store = st.session_state.setdefault("corrections", {})
        store[page.inputs.scope] = review.add_correction(page.corrections, int(pick), town, note="app")
        st.session_state["last_fix"] = (int(pick), town)

    r3.button(T("review_apply"), key="review_apply", type="primary", disabled=town is None,
              help=T("review_pick_first"), on_click=apply)


def _corrections_made(page: Page) -> None:
    fixed = st.session_state.get("last_fix")
    if fixed:
        names = dict(review.township_choices(page.region.code, "", LANG))
        st.success(T("review_applied", row=fixed[0], name=names.get(fixed[1], fixed[1])))
    if page.corrections is None or not len(page.corrections):
        return
    st.subheader(T("corrections_header"))
    st.dataframe(views.display_table(review.corrections_table(page.corrections, LANG), LANG), width="stretch",
                 hide_index=True)
    k1, _, k3 = st.columns(3)
    k1.download_button(T("corrections_csv"), _corrections.corrections_csv(page.corrections),
                       file_name=f"{page.region.code}_corrections.csv", mime="text/csv", key="dl_corrections",
                       on_click="ignore")
    if k3.button(T("corrections_clear"), key="corrections_clear"):
        st.session_state["corrections"].pop(page.inputs.scope, None)
        st.session_state.pop("last_fix", None)
        st.rerun()


def tab_tables(page: Page) -> None:
    _units(page)
    _review(page)
    _corrections_made(page)


def _editor_columns() -> dict[str, Any]:
    """Column headers in the interface language; choices from the plan's vocabulary."""
    from facilities import targets as _targets

    en = LANG == "en"
    label = {k: v[en] for k, v in session.EDITABLE.items()}
    cc = st.column_config
    return {
        "id": cc.TextColumn(label["id"], disabled=True),
        "label_zh": cc.TextColumn(label["label_zh"]),
        "label_en": cc.TextColumn(label["label_en"]),
        "metric": cc.SelectboxColumn(label["metric"], options=list(METRICS)),
        "category": cc.SelectboxColumn(label["category"], options=list(_categories.CATEGORIES)),
        "level": cc.SelectboxColumn(label["level"], options=list(LEVELS)),
        "comparator": cc.SelectboxColumn(label["comparator"], options=list(COMPARATORS)),
        "value": cc.NumberColumn(label["value"]),
        "unit": cc.SelectboxColumn(label["unit"], options=list(_targets.UNITS)),
        "year": cc.NumberColumn(label["year"], min_value=2000, max_value=2100, step=1, format="%d"),
        "include_special": cc.CheckboxColumn(label["include_special"]),
        "radius_km": cc.NumberColumn(label["radius_km"], min_value=0.0),
        "evaluable": cc.CheckboxColumn(label["evaluable"]),
    }


def template_warning(page: Page) -> None:
    """Say so wherever a template's targets are shown: they are no bureau's plan (a wrong plan is worse than none)."""
    if page.plan is not None and is_template(page.plan):
        st.warning(plain(T("template_plan", region=page.region.name)))


def tab_targets(page: Page) -> None:
    template_warning(page)
    st.caption(T("targets_edit"))
    plans = st.session_state.setdefault("plans", {})
    version = st.session_state.get(f"plan_version:{page.inputs.scope}", 0)
    edited = st.data_editor(session.plan_frame(page.plan), num_rows="dynamic", width="stretch", hide_index=True,
                            key=f"targets_editor:{page.inputs.scope}:{version}:{LANG}",
                            column_config=_editor_columns())
    b1, b2 = st.columns(2)
    if b1.button(T("targets_apply"), key="targets_apply", type="primary"):
        try:
            plans[page.inputs.scope] = session.plan_from_frame(page.plan, edited, page.region.code, page.region.name)
            st.session_state["targets_msg"] = True
            st.rerun()
        except TowncoverError as exc:
            st.error(plain(exc.message))
    if b2.button(T("targets_reset"), key="targets_reset"):
        plans.pop(page.inputs.scope, None)
        st.session_state[f"plan_version:{page.inputs.scope}"] = version + 1
        st.rerun()
    if st.session_state.pop("targets_msg", None):
        st.success(T("targets_applied"))


def tab_gaps(page: Page) -> None:
    ev = page.evaluation
    if ev is None or ev.table.empty:
        st.info(T("no_plan"))
        return
    unmet = ev.unmet()
    if not unmet:
        st.success(T("gap_none"))
        return
    labels = dict(zip(ev.table["id"], ev.table["label_en" if LANG == "en" else "label_zh"], strict=True))
    gap_id = choose(st, "selectbox", f"gap_target:{page.inputs.scope}", T("gap_target"), list(unmet),
                    next(iter(unmet)), lambda i: str(labels.get(i, i)))
    res = unmet[gap_id]
    gap = ev.gap(gap_id)
    noun = LEVELS[res.level][LANG == "en"]
    st.metric(T("gap_needed_label", noun=noun), f"{gap.attrs.get('needed', len(gap))}")
    for k in ("criterion", "method"):
        zh, _, en = str(gap.attrs.get(k) or "").partition(" / ")
        if zh:
            st.caption(plain(f"{T('gap_' + k)}:{en if LANG == 'en' and en else zh}"))
    st.dataframe(views.display_table(gap, LANG), width="stretch", hide_index=True)
    if page.analysis.units is not None and res.level in _coverage.TOWNSHIP_LEVELS:
        units = build_layers(page.analysis, res.category, res.level, result=res)["townships"]
        gap_map = webmap.coverage_map(units, page.points, value_column="covered", schematic=page.analysis.schematic,
                                      title=str(labels.get(gap_id, gap_id)), lang=LANG, categories=_cat_labels(),
                                      radius_km=res.radius_km, basemap=page.inputs.basemap)
        webmap.add_proposals(gap_map, page.analysis.units, gap, LANG)
        st_folium(gap_map, key="gap_map", height=480, use_container_width=True,
                  returned_objects=[], render=False)


def _download(col: Any, label_key: str, page: Page, fmt: str, file_name: str, encoding: str = "UTF-8") -> None:
    col.download_button(T(label_key), lambda: export_bytes(page, fmt, encoding), file_name=file_name,
                        key=f"dl_{fmt}", on_click="ignore")


def tab_exports(page: Page) -> None:
    stem, code = page.stem, page.region.code
    st.subheader(T("export_layers"))
    encoding = choose(st, "radio", "shp_encoding", T("shp_encoding"), ["UTF-8", "GBK"], "UTF-8", str,
                      horizontal=True)
    e = st.columns(4)
    _download(e[0], "dl_geojson", page, "geojson", f"{stem}.zip" if len(_layers(page)) > 1 else f"{stem}.geojson")
    _download(e[1], "dl_gpkg", page, "gpkg", f"{stem}.gpkg")
    _download(e[2], "dl_shp", page, "shp", f"{stem}_shp.zip", encoding)
    _download(e[3], "dl_kml", page, "kml", f"{stem}.kml")
    st.subheader(T("export_tables"))
    for col, fmt in zip(st.columns(4), ("units_xlsx", "units_csv", "rows_xlsx", "rows_csv"), strict=True):
        kind, ext = fmt.split("_")
        _download(col, f"dl_{fmt}", page, fmt, f"{stem}_{kind}.{ext}")
    st.subheader(T("export_map_report"))
    e = st.columns(4)
    _download(e[0], "dl_html", page, "html", f"{stem}.html")
    if page.evaluation is not None and not page.evaluation.table.empty:
        _download(e[1], "dl_report", page, "report", f"{code}_report.xlsx")
    _download(e[2], "workspace", page, "workspace", f"{code}_workspace.gpkg")
    if page.evaluation is not None and not page.evaluation.table.empty:
        st.subheader(T("export_document"))
        d = st.columns(4)
        _download(d[0], "dl_report_docx", page, "report_docx", f"{code}_规划指标完成情况评估.docx")
        _download(d[1], "dl_report_pdf", page, "report_pdf", f"{code}_规划指标完成情况评估.pdf")


TABS: list[tuple[str, Callable[[Page], None]]] = [
    ("tab_overview", tab_overview), ("tab_map", tab_map), ("tab_tables", tab_tables),
    ("tab_targets", tab_targets), ("tab_gaps", tab_gaps), ("tab_exports", tab_exports),
]


def guarded(draw: Callable[[Page], None], page: Page) -> None:
    """Draw one tab; a bad input says why in one line, anything else is logged and said in one line."""
    try:
        draw(page)
    except TowncoverError as exc:
        st.error(plain(T("tab_failed", msg=exc.message)))
    except Exception:  # noqa: BLE001 - the last line of defence: the page never shows a traceback
        LOG.exception("tab %s failed", draw.__name__)
        st.error(f"{text('unexpected', 'zh')} / {text('unexpected', 'en')}")


def main() -> None:
    inputs = sidebar()
    if inputs is None:
        st.title(T("title"))
        st.info(T("no_demo"))
        return
    try:
        with st.spinner(T("working")):
            page = build_page(inputs)
    except TowncoverError as exc:
        st.title(T("title"))
        st.error(plain(f"{T('error')}:{exc.message}"))
        return
    st.title(f"{T('title')} · {page.region.full_name}")
    if inputs.is_demo:
        st.warning(plain(T("demo_note", name=inputs.sheet_name)))
    if page.analysis.schematic:
        st.markdown(f'<div data-testid="schematic-label" style="color:#b30000;font-weight:bold">{T("schematic")}'
                    "</div>", unsafe_allow_html=True)
    elif page.analysis.units is None:
        st.info(T("no_map"))
    for tab, (_, draw) in zip(open_tabs(), TABS, strict=True):
        if getattr(tab, "open", None) is not False:  # only the open tab computes (None: every tab, as before)
            with tab:
                guarded(draw, page)


def open_tabs() -> Sequence[Any]:
    """The tabs, the open one kept under ``sel:tab`` whatever the language (like :func:`choose`)."""
    names = [name for name, _ in TABS]
    kept = st.session_state.get("sel:tab", names[0])
    key = f"w:tab:{LANG}"
    st.session_state[key] = T(kept if kept in names else names[0])

    def keep() -> None:
        st.session_state["sel:tab"] = next((n for n in names if T(n) == st.session_state[key]), names[0])

    labels = [T(name) for name in names]
    try:
        return st.tabs(labels, key=key, on_change=keep)
    except TypeError:  # a Streamlit before tabs kept state: every tab computes
        return st.tabs(labels)


try:
    main()
except Exception:  # noqa: BLE001 - outside every tab (Streamlit's rerun/stop are BaseExceptions): logged, one line
    LOG.exception("the page failed")
    st.error(f"{text('unexpected', 'zh')} / {text('unexpected', 'en')}")
