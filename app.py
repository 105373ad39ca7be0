"""towncover — the planner's browser app (Streamlit). Layout only: all analysis is in geo/ and facilities/.

Run with ``make app`` (or ``streamlit run app.py``). Chinese by default, English by a switch.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import Path

import altair as alt
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from facilities import categories as _categories
from facilities import corrections as _corrections
from facilities import coverage as _coverage
from facilities import targets as _targets
from facilities import views
from facilities.i18n import COLUMN_LABELS, STATUS_LABELS, text
from facilities.layers import build_layers, facility_points
from facilities.pipeline import analyse, reapply
from geo import boundaries as _boundaries
from geo import export as _export
from geo import webmap
from geo.archive import upload_name, write_upload
from geo.gazetteer import load_gazetteer
from towncover import settings
from towncover.errors import TowncoverError

st.set_page_config(page_title="towncover 乡镇设施覆盖核查", page_icon="🗺️", layout="wide")

LANG = "en" if st.session_state.get("lang_en") else "zh"


def T(key: str, **kwargs: object) -> str:  # noqa: N802 - short name for the many UI strings
    return text(key, LANG, **kwargs)


def _digest(data: bytes | None) -> str:
    return hashlib.sha256(data).hexdigest()[:16] if data else ""


# ---------------------------------------------------------------------------------------------
# Cached work (keyed on file bytes + region + crs + boundaries + corrections + plan)
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
def _analysis(data: bytes, filename: str, region: str, crs: str, bnd: bytes | None, bnd_name: str):
    boundaries = _boundaries_frame(bnd, bnd_name) if bnd else None
    return analyse(data, region, filename=filename, crs=crs, boundaries=boundaries)


@st.cache_resource(show_spinner=False, max_entries=32)
def _corrected(data: bytes, filename: str, region: str, crs: str, bnd: bytes | None, bnd_name: str, corr: tuple):
    base = _analysis(data, filename, region, crs, bnd, bnd_name)
    return reapply(base, views.corrections_from_key(corr)) if corr else base


@st.cache_resource(show_spinner=False, max_entries=32)
def _evaluation(key: tuple, plan_key: str, extra_key: tuple, _analysis_obj, _plan, _population, _planned):
    return _coverage.evaluate_plan_details(_analysis_obj.placed, _plan, _analysis_obj.region.code,
                                           units=_analysis_obj.units, population=_population, planned=_planned)


@st.cache_data(show_spinner=False, max_entries=16)
def _table_upload(data: bytes, name: str, kind: str, region: str) -> pd.DataFrame:
    """A population table or a planned-projects sheet from an upload (read by facilities.coverage)."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_upload(folder, data, name)
        if kind == "population":
            return _coverage.read_population(path)
        return _coverage.read_planned(path, region)


@st.cache_resource(show_spinner=False, max_entries=64)
def _measure(key: tuple, category: str, level: str, include_special: bool, radius: float | None, _analysis_obj):
    return _coverage.measure(_analysis_obj.placed, _analysis_obj.region.code, category, level,
                             include_special=include_special, radius_km=radius,
                             units=_analysis_obj.units if radius else None)


def _demo_sheet(code: str) -> Path | None:
    for n in (len(code), 6, 4, 2):
        found = sorted(settings.DEMO_DIR.glob(f"{code[:n]}_*_synthetic.xlsx"))
        if found:
            return found[0]
    return None


def _plan_key(plan) -> str:
    if plan is None:
        return ""
    return _digest(views.plan_frame(plan).to_json().encode())


# ---------------------------------------------------------------------------------------------
# Sidebar: language, region, files
# ---------------------------------------------------------------------------------------------
sb = st.sidebar
sb.toggle("English", key="lang_en")
sb.subheader(T("title"))
sb.caption(T("subtitle"))
mode = sb.radio(T("region_mode"), ["maps", "any"], key="region_mode",
                format_func=lambda m: T("mode_maps") if m == "maps" else T("mode_any"))
if mode == "maps":
    with_maps = _regions_with_maps()
    codes = with_maps["code"].astype(str).tolist()
    labels = dict(zip(codes, [f"{n} ({c})" for c, n in zip(codes, with_maps["name"], strict=False)], strict=False))
    default = codes.index(settings.DEFAULT_REGION) if settings.DEFAULT_REGION in codes else 0
    region_code = sb.selectbox(T("region"), codes, index=default, key="region_map", format_func=labels.get)
else:
    counties = _all_counties()
    ccodes = counties["code"].astype(str).tolist()
    clabels = dict(zip(ccodes, counties["label"], strict=False))
    default = ccodes.index(settings.DEFAULT_REGION) if settings.DEFAULT_REGION in ccodes else 0
    region_code = sb.selectbox(T("county"), ccodes, index=default, key="region_any", format_func=clabels.get)

sb.caption(T("limit", mb=settings.MAX_UPLOAD_MB))
upload = sb.file_uploader(T("sheet"), type=["csv", "xlsx", "xls"], key="sheet_upload", help=T("sheet_help"))
crs = sb.selectbox(T("crs"), ["gcj02", "wgs84", "cgcs2000", "bd09"], key="crs",
                   format_func=lambda c: {"gcj02": "GCJ-02(高德/腾讯)", "wgs84": "WGS-84(GPS)",
                                          "cgcs2000": "CGCS2000", "bd09": "BD-09(百度)"}[c])
bnd_upload = sb.file_uploader(T("boundaries"), type=["zip", "gpkg", "geojson", "json", "kml"], key="bnd_upload")
corr_upload = sb.file_uploader(T("corr_upload"), type=["csv", "gpkg"], key="corr_upload")
pop_upload = sb.file_uploader(T("pop_upload"), type=["csv", "xlsx", "xls"], key="pop_upload", help=T("pop_help"))
planned_upload = sb.file_uploader(T("planned_upload"), type=["csv", "xlsx", "xls"], key="planned_upload",
                                  help=T("planned_help"))
basemap = sb.radio(T("basemap"), ["osm", "amap"], key="basemap", format_func=T, horizontal=False)

# The sheet: the upload, else the region's synthetic demo sheet.
if upload is not None:
    sheet_bytes, sheet_name, is_demo = upload.getvalue(), upload_name(upload.name), False
else:
    demo = _demo_sheet(region_code)
    if demo is None:
        st.title(T("title"))
        st.info(T("no_demo"))
        st.stop()
    sheet_bytes, sheet_name, is_demo = demo.read_bytes(), demo.name, True
bnd_bytes = bnd_upload.getvalue() if bnd_upload is not None else None
bnd_name = bnd_upload.name if bnd_upload is not None else ""

# Corrections live in the session, per sheet and region; a loaded file replaces them once.
scope = f"{_digest(sheet_bytes)}:{region_code}"
store = st.session_state.setdefault("corrections", {})
if corr_upload is not None and st.session_state.get("corr_loaded") != (scope, corr_upload.file_id):
    try:
        store[scope] = views.load_workspace_corrections(corr_upload.getvalue())
        st.session_state["corr_loaded"] = (scope, corr_upload.file_id)
        st.toast(T("corrections_loaded", n=len(store[scope])))
    except TowncoverError as exc:
        st.error(exc.message)
corrections = store.get(scope)
corr_key = views.corrections_key(corrections)

# ---------------------------------------------------------------------------------------------
# Analysis (cached; a progress bar while it runs)
# ---------------------------------------------------------------------------------------------
progress = st.progress(0, text=T("progress_read"))
try:
    analysis = _corrected(sheet_bytes, sheet_name, region_code, crs, bnd_bytes, bnd_name, corr_key)
except TowncoverError as exc:
    progress.empty()
    st.error(f"{T('error')}:{exc.message}")
    st.stop()
key = (scope, crs, _digest(bnd_bytes), corr_key)
progress.progress(40, text=T("progress_eval"))

# Population (for per-1,000 targets and gap ranking) and planned projects (a scenario): uploads, else
# the demo's synthetic population table when the demo sheet is shown.
population = planned = None
extra_key: tuple = ()
try:
    if pop_upload is not None:
        population = _table_upload(pop_upload.getvalue(), pop_upload.name, "population", region_code)
        extra_key += ("pop", _digest(pop_upload.getvalue()))
    elif is_demo:
        demo_pop = sorted(settings.DEMO_DIR.glob(f"{region_code}_*_population_synthetic.csv"))
        if demo_pop:
            population = _table_upload(demo_pop[0].read_bytes(), demo_pop[0].name, "population", region_code)
            extra_key += ("demo_pop",)
            sb.caption(T("demo_population"))
    if planned_upload is not None:
        planned = _table_upload(planned_upload.getvalue(), planned_upload.name, "planned", region_code)
        extra_key += ("planned", _digest(planned_upload.getvalue()))
except TowncoverError as exc:
    st.error(f"{T('error')}:{exc.message}")

plans = st.session_state.setdefault("plans", {})
plan = plans.get(region_code, analysis.plan)
if plan is not None:
    evaluation, details = _evaluation(key, _plan_key(plan), extra_key, analysis, plan, population, planned)
else:
    evaluation, details = None, {}

region = analysis.region
summary = analysis.summary()

# Category and level shown on the map, in the tables and in exports.
coverage_targets = [t for t in (getattr(plan, "targets", None) or [])
                    if t.metric == "coverage_rate" and t.category and t.level]
present = analysis.placed["category"].astype(str).unique().tolist()
cat_ids = list(dict.fromkeys([t.category for t in coverage_targets] +
                             [c for c in _categories.CATEGORIES if c in present]))
if not cat_ids:
    cat_ids = list(_categories.CATEGORIES)
category = sb.selectbox(T("category"), cat_ids, key="category",
                        format_func=lambda c: _categories.label(c, LANG))
levels = [lv for lv in _coverage.LEVELS if lv != "county"]
level_default = levels.index("township_and_street")
level = sb.selectbox(T("level"), levels, index=level_default, key=f"level_{category}",
                     format_func=lambda lv: _coverage.LEVEL_NOUNS[lv][0 if LANG == "zh" else 1])
map_value = sb.radio(T("map_value"), ["covered", "n_facilities"], key="map_value",
                     format_func=lambda v: T("by_covered") if v == "covered" else T("by_count"))
rule = next((t for t in coverage_targets if t.category == category and t.level == level), None)
radius = (rule.radius_km if rule is not None and rule.radius_km and analysis.units is not None
          and level not in _coverage.VILLAGE_LEVELS else None)
include_special = bool(rule.include_special) if rule is not None else False
try:
    result = _measure(key, category, level, include_special, radius, analysis)
except TowncoverError as exc:
    st.error(exc.message)
    st.stop()
noun = _coverage.LEVEL_NOUNS[level][0 if LANG == "zh" else 1]
cat_name = _categories.label(category, LANG)
if analysis.units is not None:
    _shown = build_layers(analysis, category, level, result=result)
    map_units, points = _shown["townships"], _shown["facilities"]
else:
    map_units, points = None, facility_points(analysis)
cat_labels = {c: _categories.label(c, LANG) for c in _categories.CATEGORIES}
map_title = f"{region.name} · {_categories.label(category, LANG)} · {noun}"


def _coverage_map(proposed: pd.DataFrame | None = None):
    units = map_units if map_units is not None else gpd.GeoDataFrame({"code": [], "name": []}, geometry=[],
                                                                         crs="EPSG:4326")
    value = map_value
    if map_units is not None and result.level in _coverage.VILLAGE_LEVELS and map_value == "covered":
        value = "covered_share"
    fmap = webmap.coverage_map(units, points, value_column=value, schematic=analysis.schematic, title=map_title,
                               lang=LANG, categories=cat_labels, radius_km=radius, basemap=basemap, category=category)
    if proposed is not None:
        webmap.add_proposals(fmap, analysis.units, proposed, LANG)
    return fmap


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    """A table with headers (and match statuses) in the interface language, for display only."""
    out = frame.copy()
    if "match_status" in out:
        out["match_status"] = out["match_status"].map(lambda v: STATUS_LABELS.get(v, (v, v))[LANG == "en"])
    return out.rename(columns={c: COLUMN_LABELS[c][LANG == "en"] for c in out.columns if c in COLUMN_LABELS})


# ---------------------------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------------------------
st.title(f"{T('title')} · {region.full_name if hasattr(region, 'full_name') else region.name}")
if is_demo:
    st.warning(T("demo_note", name=sheet_name))
if analysis.schematic:
    st.markdown(f'<div data-testid="schematic-label" style="color:#b30000;font-weight:bold">{T("schematic")}</div>',
                unsafe_allow_html=True)
elif analysis.units is None:
    st.info(T("no_map"))

tabs = st.tabs([T("tab_overview"), T("tab_map"), T("tab_tables"), T("tab_targets"), T("tab_gaps"),
                T("tab_exports")])

# --- Overview ---------------------------------------------------------------------------------
with tabs[0]:
    cols = st.columns(6)
    for col, k in zip(cols, ("rows_read", "matched", "ambiguous", "unmatched", "out_of_region", "rejected"),
                      strict=False):
        col.metric(T(k), f"{summary.get(k, 0):,}")
    c1, c2, c3 = st.columns(3)
    c1.metric(T("covered_units", noun=noun, cat=cat_name), f"{result.covered} / {result.total}")
    c2.metric(T("coverage_rate"), "—" if result.rate is None else f"{result.rate:.1f}%")
    c3.metric(T("unplaced_rows"), f"{result.unplaced_rows}")
    st.subheader(T("targets_header"))
    if evaluation is None or evaluation.empty:
        st.info(T("no_plan"))
    else:
        cards = views.target_cards(evaluation, LANG)
        for start in range(0, len(cards), 3):
            row_cols = st.columns(3)
            for col, card in zip(row_cols, cards[start:start + 3], strict=False):
                colour = {"met": "#1a7f37", "short": "#c0392b", "na": "#6e7781"}[card["state"]]
                with col.container(border=True, key=f"card_{card['id']}"):
                    st.markdown(f"**{card['title']}**")
                    st.markdown(
                        f'<span style="font-size:1.6em">{card["measured"]}</span> '
                        f'<span style="color:#555">{T("target")} {card["target"]}</span><br>'
                        f'<span style="color:{colour};font-weight:bold">{card["status"]}</span>'
                        + (f' · {T("year")} {card["year"]}' if card["year"] else "")
                        + (f'<br><span style="color:#555;font-size:0.9em">{card["detail"]}</span>'
                           if card["detail"] else ""),
                        unsafe_allow_html=True,
                    )
        chart = views.coverage_chart_frame(evaluation, LANG)
        if len(chart):
            st.subheader(T("chart_header"))
            base = alt.Chart(chart).encode(y=alt.Y("label:N", title=None, sort=None))
            bars = base.mark_bar().encode(
                x=alt.X("measured:Q", title=T("chart_measured"), scale=alt.Scale(domain=[0, 100])),
                color=alt.Color("met:N", scale=alt.Scale(domain=[True, False], range=["#1f78b4", "#e6550d"]),
                                legend=None),
                tooltip=[alt.Tooltip("label:N"), alt.Tooltip("measured:Q", title=T("chart_measured")),
                         alt.Tooltip("target:Q", title=T("chart_target"))],
            )
            ticks = base.mark_tick(color="black", thickness=3, size=22).encode(x="target:Q")
            st.altair_chart(bars + ticks, width="stretch")
    if analysis.notes or result.notes:
        with st.expander(T("notes")):
            for note in [*analysis.notes, *result.notes]:
                st.markdown(f"- {note}")
    problems = analysis.sheet.problems
    if len(problems):
        with st.expander(T("sheet_problems", n=len(problems))):
            st.dataframe(problems[["row", "column", "message_zh" if LANG == "zh" else "message_en"]],
                         hide_index=True, width="stretch")

# --- Map ----------------------------------------------------------------------------------------
with tabs[1]:
    m1, m2, m3 = st.columns(3)
    m1.metric(T("covered_units", noun=noun, cat=cat_name), f"{result.covered} / {result.total}")
    m2.metric(T("coverage_rate"), "—" if result.rate is None else f"{result.rate:.1f}%")
    m3.metric(T("unplaced_rows"), f"{result.unplaced_rows}")
    progress.progress(70, text=T("progress_map"))
    fmap = _coverage_map()
    st_folium(fmap, key="coverage_map", height=600, use_container_width=True, returned_objects=[])

# --- Tables and review queue -----------------------------------------------------------------------
with tabs[2]:
    st.subheader(T("units_header"))
    table = views.unit_table(result, LANG)
    f1, f2 = st.columns([2, 1])
    needle = f1.text_input(T("filter_text"), key="units_filter")
    status_filter = f2.selectbox(T("filter_status"), ["all", "covered", "uncovered"], key="units_status",
                                 format_func=T)
    shown = table
    if needle:
        shown = shown[shown["code"].str.contains(needle, regex=False) | shown["name"].str.contains(needle,
                                                                                                 regex=False)]
    if status_filter != "all":
        shown = shown[shown["covered"] == (status_filter == "covered")]
    st.dataframe(_display(shown), width="stretch", hide_index=True, key="units_table")

    st.subheader(T("review_header"))
    queue = views.review_queue(analysis.placed, analysis.sheet)
    if queue.empty:
        st.success(T("review_empty"))
    else:
        st.dataframe(_display(queue), width="stretch", hide_index=True, height=240)
        rows = queue["row"].tolist()
        info = queue.set_index("row")
        r1, r2, r3 = st.columns([2, 3, 1])
        pick = r1.selectbox(T("review_row"), rows, key="review_row",
                            format_func=lambda r: f"{r} · {info.at[r, 'name']} · {info.at[r, 'match_status']}")
        choices = views.township_choices(region.code, str(info.at[pick, "candidates"] or ""))
        choice_labels = dict(choices)
        town = r2.selectbox(T("review_town"), [c for c, _ in choices], key=f"review_town_{pick}",
                            format_func=choice_labels.get)
        if r3.button(T("review_apply"), key="review_apply", type="primary"):
            store[scope] = views.add_correction(corrections, int(pick), town, note="app")
            st.session_state["last_fix"] = T("review_applied", row=pick, name=choice_labels[town])
            st.rerun()
    if st.session_state.get("last_fix"):
        st.success(st.session_state["last_fix"])
    if corrections is not None and len(corrections):
        st.subheader(T("corrections_header"))
        st.dataframe(_display(corrections), width="stretch", hide_index=True)
        k1, k2, k3 = st.columns(3)
        buffer = io.StringIO()
        corrections.reindex(columns=_corrections.COLUMNS).to_csv(buffer, index=False)
        k1.download_button(T("corrections_csv"), ("\ufeff" + buffer.getvalue()).encode("utf-8"),
                           file_name=f"{region.code}_corrections.csv", mime="text/csv", key="dl_corrections",
                           on_click="ignore")
        if k3.button(T("corrections_clear"), key="corrections_clear"):
            store.pop(scope, None)
            st.session_state.pop("last_fix", None)
            st.rerun()


def _layers() -> dict[str, gpd.GeoDataFrame]:
    out = {"facilities": points}
    if map_units is not None:
        out = {"townships": map_units, "facilities": points}
    return out


def _export_bytes(fmt: str, encoding: str = "UTF-8") -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"{region.code}_{category}"
        if fmt == "html":
            page = webmap.standalone_html(_coverage_map())
            path = _export.export_layers(_layers(), target, "html", schematic=analysis.schematic, map_html=page)
        elif fmt == "workspace":
            path = views.save_workspace(Path(folder) / "workspace.gpkg", _layers(), corrections, analysis.placed)
        elif fmt == "report":
            path = Path(folder) / "report.xlsx"
            gaps = {tid: _gap_table(tid, r) for tid, r in details.items() if r.met is False and r.comparator != "<="}
            from facilities.report import write_report

            write_report(evaluation, details, path, geocoded=analysis.placed, gaps=gaps)
        elif fmt in ("units_xlsx", "units_csv", "rows_xlsx", "rows_csv"):
            frame = views.unit_table(result, LANG) if fmt.startswith("units") else analysis.placed
            path = _export.export_table(frame, target, fmt.split("_")[1])
        else:
            path = _export.export_layers(_layers(), target, fmt, encoding=encoding, schematic=analysis.schematic)
        return Path(path).read_bytes()


@st.cache_resource(show_spinner=False, max_entries=64)
def _gap(key: tuple, plan_key: str, extra_key: tuple, target_id: str, _res, _population):
    # Cached: under a radius rule the gap is an integer programme that may run for seconds.
    from facilities.gaps import close_gap

    return close_gap(_res, _res.target, population=_population)


def _gap_table(target_id: str, res):
    return _gap(key, _plan_key(plan), extra_key, target_id, res, population)


with tabs[1]:
    if corrections is not None and len(corrections):
        st.download_button(T("workspace"), lambda: _export_bytes("workspace"),
                           file_name=f"{region.code}_workspace.gpkg", key="dl_workspace_map", on_click="ignore")

# --- Targets ----------------------------------------------------------------------------------------
with tabs[3]:
    st.caption(T("targets_edit"))
    frame = views.plan_frame(plan)
    cat_options = list(_categories.CATEGORIES)
    edited = st.data_editor(
        frame,
        num_rows="dynamic",
        width="stretch",
        hide_index=True,
        key=f"targets_editor_{region.code}",
        column_config={
            "metric": st.column_config.SelectboxColumn(options=list(_coverage.METRICS)),
            "category": st.column_config.SelectboxColumn(options=cat_options),
            "level": st.column_config.SelectboxColumn(options=list(_coverage.LEVELS)),
            "unit": st.column_config.SelectboxColumn(options=list(_targets.UNITS)),
            "value": st.column_config.NumberColumn(min_value=0.0),
            "year": st.column_config.NumberColumn(min_value=2000, max_value=2100, step=1, format="%d"),
            "include_special": st.column_config.CheckboxColumn(),
            "radius_km": st.column_config.NumberColumn(min_value=0.0),
        },
    )
    b1, b2 = st.columns(2)
    if b1.button(T("targets_apply"), key="targets_apply", type="primary"):
        try:
            plans[region.code] = views.plan_from_frame(plan, edited, region.code, region.name)
            st.session_state["targets_msg"] = T("targets_applied")
            st.rerun()
        except TowncoverError as exc:
            st.error(exc.message)
    if b2.button(T("targets_reset"), key="targets_reset"):
        plans.pop(region.code, None)
        st.rerun()
    if st.session_state.pop("targets_msg", None):
        st.success(T("targets_applied"))

# --- Gap closing --------------------------------------------------------------------------------------
with tabs[4]:
    unmet = {tid: r for tid, r in details.items() if r.met is False and r.comparator != "<="}
    if not unmet:
        st.success(T("gap_none"))
    else:
        labels = dict(zip(evaluation["id"], evaluation["label_zh" if LANG == "zh" else "label_en"], strict=False))
        gap_id = st.selectbox(T("gap_target"), list(unmet), key="gap_target", format_func=lambda i: labels.get(i, i))
        res = unmet[gap_id]
        try:
            gap = _gap_table(gap_id, res)
        except TowncoverError as exc:
            st.error(exc.message)
            gap = None
        if gap is not None:
            gnoun = _coverage.LEVEL_NOUNS[res.level][0 if LANG == "zh" else 1]
            st.metric(T("gap_needed_label", noun=gnoun), f"{gap.attrs.get('needed', len(gap))}")
            for k in ("criterion", "method"):
                if gap.attrs.get(k):
                    st.caption(str(gap.attrs[k]))
            st.dataframe(gap, width="stretch", hide_index=True)
            if analysis.units is not None and res.level in _coverage.TOWNSHIP_LEVELS:
                gap_map = webmap.coverage_map(
                    build_layers(analysis, res.category, res.level, result=res)["townships"], points,
                    value_column="covered",
                    schematic=analysis.schematic, title=labels.get(gap_id, gap_id), lang=LANG,
                    categories=cat_labels, radius_km=res.radius_km, basemap=basemap)
                webmap.add_proposals(gap_map, analysis.units, gap, LANG)
                st_folium(gap_map, key="gap_map", height=480, use_container_width=True,
                          returned_objects=[])

# --- Exports ------------------------------------------------------------------------------------------
with tabs[5]:
    st.subheader(T("export_layers"))
    encoding = st.radio(T("shp_encoding"), ["UTF-8", "GBK"], key="shp_encoding", horizontal=True)
    stem = f"{region.code}_{region.name}_{category}_{level}"
    e = st.columns(4)
    e[0].download_button(T("dl_geojson"), lambda: _export_bytes("geojson"), file_name=f"{stem}.zip"
                         if len(_layers()) > 1 else f"{stem}.geojson", key="dl_geojson", on_click="ignore")
    e[1].download_button(T("dl_gpkg"), lambda: _export_bytes("gpkg"), file_name=f"{stem}.gpkg", key="dl_gpkg",
                         on_click="ignore")
    e[2].download_button(T("dl_shp"), lambda: _export_bytes("shp", encoding), file_name=f"{stem}_shp.zip",
                         key="dl_shp", on_click="ignore")
    e[3].download_button(T("dl_kml"), lambda: _export_bytes("kml"), file_name=f"{stem}.kml", key="dl_kml",
                         on_click="ignore")
    st.subheader(T("export_tables"))
    e = st.columns(4)
    for col, fmt, ext in zip(e, ("units_xlsx", "units_csv", "rows_xlsx", "rows_csv"),
                             ("xlsx", "csv", "xlsx", "csv"), strict=False):
        col.download_button(T(f"dl_{fmt}"), (lambda f=fmt: _export_bytes(f)), file_name=f"{stem}_{fmt}.{ext}"
                            .replace(f"_{ext}.", "."), key=f"dl_{fmt}", on_click="ignore")
    st.subheader(T("export_map_report"))
    e = st.columns(4)
    e[0].download_button(T("dl_html"), lambda: _export_bytes("html"), file_name=f"{stem}.html", key="dl_html",
                         on_click="ignore")
    if evaluation is not None and not evaluation.empty:
        e[1].download_button(T("dl_report"), lambda: _export_bytes("report"), file_name=f"{region.code}_report.xlsx",
                             key="dl_report", on_click="ignore")
    e[2].download_button(T("workspace"), lambda: _export_bytes("workspace"), file_name=f"{region.code}_workspace.gpkg",
                         key="dl_workspace", on_click="ignore")

progress.progress(100, text=T("progress_done"))
progress.empty()
