"""Static figures for the printed report: a coverage map per target and a chart of all coverage targets.

Drawn offline with matplotlib (Agg) in a local metric projection, so the scale bar is in real kilometres;
Chinese text in Noto Sans CJK (Debian's ``fonts-noto-cjk``, installed by ``make browser``). The figures only
draw what a :class:`~facilities.coverage.CoverageResult` and the unit polygons already hold.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facilities.coverage import CoverageResult

if TYPE_CHECKING:  # matplotlib is imported when the first figure is drawn
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

#: Where Debian puts Noto Sans CJK; the first that exists is used.
CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc",
)
COVERED = "#2b8a3e"
UNCOVERED = "#e03131"
NO_DATA = "#dddddd"
FACILITY = "#1c3d5a"
DPI = 150

_WORDS = {
    "covered": ("已覆盖", "covered"),
    "uncovered": ("未覆盖", "not covered"),
    "share": ("已覆盖的{noun}占比", "share of {noun} covered"),
    "facility": ("设施", "facility"),
    "approx": ("设施(仅知所在乡镇,位置示意)", "facility (township known only, position approximate)"),
    "schematic": ("示意边界,非正式乡镇界线", "schematic boundaries, not official"),
    "north": ("北", "N"),
    "not_counted": ("不计入本指标的单元", "units this target does not count"),
    "measured": ("现状", "measured"),
    "target": ("目标", "target"),
    "rate": ("覆盖率(%)", "coverage rate (%)"),
}


def _word(key: str, lang: str, **kw: object) -> str:
    zh, en = _WORDS[key]
    return (zh if lang == "zh" else en).format(**kw)


@functools.cache
def _pyplot() -> ModuleType:
    """matplotlib with the Agg backend and a CJK font, imported once and only when a figure is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    for path in CJK_FONT_FILES:
        if Path(path).exists():
            font_manager.fontManager.addfont(path)
            plt.rcParams["font.family"] = font_manager.FontProperties(fname=path).get_name()
            break
    plt.rcParams["axes.unicode_minus"] = False
    return plt


@dataclass(frozen=True)
class MapLayers:
    """What one coverage map draws, already decided by the evaluation.

    Attributes
    ----------
    units : geopandas.GeoDataFrame
        Polygons with ``fill`` (a colour) — townships, streets or counties.
    facilities : geopandas.GeoDataFrame
        Points with ``approximate`` (bool): True where only the township is known.
    legend : list of (str, str)
        (colour, label) pairs for the fills.
    """

    units: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    legend: list[tuple[str, str]]


def coverage_layers(result: CoverageResult, polygons: gpd.GeoDataFrame, lang: str = "zh") -> MapLayers | None:
    """Polygons coloured covered / not covered for one coverage result, and its facilities as points.

    Parameters
    ----------
    result : facilities.coverage.CoverageResult
        Its ``units`` (``code``, ``township_code``, ``county_code``, ``covered``) and ``facilities``
        (``township_code``, ``lng``, ``lat``).
    polygons : geopandas.GeoDataFrame
        Township polygons (``code``, ``geometry``), EPSG:4326.
    lang : {"zh", "en"}

    Returns
    -------
    MapLayers or None
        None when no unit can be drawn. Units with their own polygon (townships, streets) are filled
        covered/uncovered; counties are their townships dissolved; villages and communities, which have
        no polygons, colour their township by the share of them covered.
    """
    units = result.units
    towns = polygons[["code", "geometry"]].copy()
    towns["code"] = towns["code"].astype(str)
    if units.empty or towns.empty:
        return None
    codes = units["code"].astype(str)
    if codes.str.len().eq(9).all():
        drawn = towns.merge(pd.DataFrame({"code": codes, "covered": units["covered"].to_numpy(bool)}), on="code")
        legend_share = False
    elif codes.str.len().eq(6).all():
        towns["county"] = towns["code"].str[:6]
        merged = towns.dissolve(by="county", as_index=False)[["county", "geometry"]].rename(columns={"county": "code"})
        drawn = merged.merge(pd.DataFrame({"code": codes, "covered": units["covered"].to_numpy(bool)}), on="code")
        legend_share = False
    else:
        share = units.assign(code9=units["township_code"].astype(str)).groupby("code9")["covered"].mean()
        drawn = towns.merge(share.rename("share").reset_index().rename(columns={"code9": "code"}), on="code")
        legend_share = True
    if drawn.empty:
        return None
    # The region's other townships in grey around them, so the figure shows where the counted units lie.
    others = towns[~towns["code"].isin(drawn["code"]) & ~towns["code"].str[:6].isin(drawn["code"])]
    if legend_share:
        drawn["fill"] = [_ramp(s) for s in drawn["share"].to_numpy(float)]
        noun = "村(社区)" if lang == "zh" else "villages / communities"
        legend = [(_ramp(1.0), "100%"), (_ramp(0.5), "50%"), (_ramp(0.0), "0%")]
        legend = [(c, f"{_word('share', lang, noun=noun)} {t}") for c, t in legend]
    else:
        drawn["fill"] = np.where(drawn["covered"].to_numpy(bool), COVERED, UNCOVERED)
        legend = [(COVERED, _word("covered", lang)), (UNCOVERED, _word("uncovered", lang))]
    if len(others):
        legend.append((NO_DATA, _word("not_counted", lang)))
    units = pd.concat([others.assign(fill=NO_DATA)[["code", "geometry", "fill"]], drawn[["code", "geometry", "fill"]]],
                      ignore_index=True)
    return MapLayers(gpd.GeoDataFrame(units, geometry="geometry", crs=polygons.crs),
                     _facility_points(result.facilities, towns), legend)


def _ramp(share: float) -> str:
    """Red (0) to green (1) through pale yellow; grey for no value."""
    if share is None or np.isnan(share):
        return NO_DATA
    lo, mid, hi = np.array([224, 49, 49]), np.array([255, 236, 153]), np.array([43, 138, 62])
    rgb = lo + (mid - lo) * share * 2 if share < 0.5 else mid + (hi - mid) * (share - 0.5) * 2
    return "#" + "".join(f"{int(round(v)):02x}" for v in rgb)


def _facility_points(facilities: pd.DataFrame, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Facilities at their coordinates, else at a point inside their township (approximate)."""
    lng = pd.to_numeric(facilities["lng"], errors="coerce").to_numpy(float) if len(facilities) else np.array([])
    lat = pd.to_numeric(facilities["lat"], errors="coerce").to_numpy(float) if len(facilities) else np.array([])
    anchor = towns.set_index("code").geometry.representative_point()
    known = ~(np.isnan(lng) | np.isnan(lat))
    town = facilities["township_code"].astype(str).to_numpy() if len(facilities) else np.array([], dtype=object)
    fallback = np.asarray(anchor.reindex(town), dtype=object)
    points = np.where(known, shapely.points(np.nan_to_num(lng), np.nan_to_num(lat)), fallback)
    keep = ~shapely.is_missing(points)
    return gpd.GeoDataFrame({"approximate": ~known[keep]}, geometry=list(points[keep]), crs=4326)


def draw_coverage_map(layers: MapLayers, path: str | Path, *, title: str, schematic: bool,
                      lang: str = "zh") -> Path:
    """Write one coverage map as PNG: fills, facilities, legend, scale bar, north arrow, 示意 label.

    Parameters
    ----------
    layers : MapLayers
        From :func:`coverage_layers`.
    path : str or Path
        The PNG to write.
    title : str
        Drawn above the map.
    schematic : bool
        Township cells are schematic: said on the map itself.
    lang : {"zh", "en"}

    Returns
    -------
    Path
    """
    plt = _pyplot()
    from matplotlib.collections import PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    crs = _utm(layers.units)
    units = layers.units.to_crs(crs)
    fig, ax = plt.subplots(figsize=(7.2, 6.0), dpi=DPI)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.93)
    ax.set_axis_off()
    ax.set_aspect("equal")
    rings, fills = _rings(units)
    ax.add_collection(PolyCollection(rings, facecolors=fills, edgecolors="#555555", linewidths=0.4,
                                     linestyles="--" if schematic else "-"))
    xmin, ymin, xmax, ymax = units.total_bounds
    pad = 0.03 * max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    handles: list[Artist] = [Patch(facecolor=c, edgecolor="#555555", label=t) for c, t in layers.legend]
    fac = layers.facilities.to_crs(crs)
    for approximate, marker in ((False, "o"), (True, "^")):
        part = fac[fac["approximate"] == approximate]
        if len(part):
            ax.scatter(part.geometry.x, part.geometry.y, s=9, c=FACILITY, marker=marker, zorder=3)
            label = _word("approx" if approximate else "facility", lang)
            handles.append(Line2D([], [], color=FACILITY, marker=marker, linestyle="", label=label))
    ax.set_title(title, fontsize=11)
    ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.9)
    _scale_bar(ax, units.total_bounds)
    _north_arrow(ax, lang)
    if schematic:
        ax.text(0.99, 0.01, _word("schematic", lang), transform=ax.transAxes, ha="right", va="bottom",
                fontsize=8, color="#b30000", bbox={"facecolor": "white", "edgecolor": "#b30000", "pad": 2})
    path = Path(path)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _utm(frame: gpd.GeoDataFrame) -> str:
    """The UTM zone (WGS-84) of the frame's centre: metres for the scale bar, little distortion."""
    xmin, ymin, xmax, ymax = frame.to_crs(4326).total_bounds
    zone = int(((xmin + xmax) / 2 + 180) // 6) + 1
    return f"EPSG:{(32600 if (ymin + ymax) / 2 >= 0 else 32700) + zone}"


def _rings(units: gpd.GeoDataFrame) -> tuple[list[np.ndarray], list[str]]:
    """Each polygon part's outer ring (cells and townships rarely have holes worth drawing) and its fill."""
    parts, owner = shapely.get_parts(units.geometry.to_numpy(), return_index=True)
    coords, which = shapely.get_coordinates(shapely.get_exterior_ring(parts), return_index=True)
    rings = np.split(coords, np.flatnonzero(np.diff(which)) + 1)
    return rings, np.asarray(units["fill"], dtype=object)[owner].tolist()


def _scale_bar(ax: Axes, bounds: np.ndarray) -> None:
    """A bar of a round length (about a fifth of the map's width), bottom right, in km."""
    xmin, ymin, xmax, ymax = bounds
    width_km = (xmax - xmin) / 1000
    nice = np.array([1, 2, 5, 10, 20, 25, 50, 100, 200, 500])
    length = float(nice[np.searchsorted(nice, width_km / 5, side="right") - 1]) if width_km >= 5 else 1.0
    x0, y0 = xmax - length * 1000 - (xmax - xmin) * 0.03, ymin + (ymax - ymin) * 0.09
    ax.plot([x0, x0 + length * 1000], [y0, y0], color="black", linewidth=3, solid_capstyle="butt")
    ax.text(x0 + length * 500, y0 + (ymax - ymin) * 0.015, f"{length:g} km", ha="center", va="bottom", fontsize=8)


def _north_arrow(ax: Axes, lang: str) -> None:
    ax.annotate(_word("north", lang), xy=(0.95, 0.97), xytext=(0.95, 0.87), xycoords="axes fraction",
                ha="center", va="center", fontsize=10, fontweight="bold",
                arrowprops={"facecolor": "black", "width": 3, "headwidth": 9})


def draw_targets_chart(labels: list[str], measured: list[float], targets: list[float], path: str | Path,
                       *, lang: str = "zh") -> Path:
    """Horizontal bars of each coverage target's measured rate, with its threshold as a tick.

    Parameters
    ----------
    labels : list of str
    measured, targets : list of float
        Percent 0–100.
    path : str or Path
    lang : {"zh", "en"}

    Returns
    -------
    Path
    """
    plt = _pyplot()
    n = len(labels)
    fig, ax = plt.subplots(figsize=(7.2, max(1.6, 0.42 * n + 0.9)), dpi=DPI)
    y = np.arange(n)[::-1]
    colours = [COVERED if m >= t else UNCOVERED for m, t in zip(measured, targets, strict=True)]
    ax.barh(y, measured, color=colours, height=0.55, label=_word("measured", lang))
    ax.scatter(targets, y, marker="|", s=260, color="black", linewidths=2, zorder=3, label=_word("target", lang))
    for yi, m in zip(y, measured, strict=True):
        ax.text(min(m, 100) + 1, yi, f"{m:.1f}%", va="center", fontsize=7)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlim(0, 110)
    ax.set_xlabel(_word("rate", lang), fontsize=8)
    ax.legend(loc="lower right", fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
