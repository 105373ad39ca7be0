"""Smoke pass of the national benchmark harness (``python -m bench --scale smoke``): no timing asserted."""

from __future__ import annotations

import json

import pytest

from bench.data import STYLES, generate
from bench.national import CATEGORY, LEVEL, run
from facilities.coverage import level_units
from geo.gazetteer import load_gazetteer


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    out = tmp_path_factory.mktemp("bench") / "national.json"
    result = run("smoke", out, browser=False)
    return result, json.loads(out.read_text(encoding="utf-8"))


def test_generator_is_deterministic_and_complete() -> None:
    a = generate(300, 50, provinces=["64"])
    b = generate(300, 50, provinces=["64"])
    assert a.rows.equals(b.rows)
    gaz = load_gazetteer()
    assert sorted(a.cells["code"]) == sorted(gaz.townships_in("64")["code"])
    assert a.cells.geometry.is_valid.all()
    assert (a.rows["lng"] != "").sum() == 50
    assert set(a.rows["style"]) <= set(STYLES)
    # every point lies in its own township's cell
    from geo.assign import assign_points

    has = a.rows["lng"] != ""
    got = assign_points(a.rows.loc[has, "lng"].astype(float), a.rows.loc[has, "lat"].astype(float), a.cells)
    assert (got.to_numpy() == a.rows.loc[has, "truth_township"].to_numpy()).all()


def test_smoke_counts(smoke: tuple[dict, dict]) -> None:
    result, written = smoke
    assert written["generated"] == json.loads(json.dumps(result["generated"]))
    n_cells = len(load_gazetteer().townships_in("64"))
    assert result["generated"]["cells"] == n_cells
    assert result["generated"]["rows"] == 2000
    assert result["generated"]["points"] == 400
    e = result["end_to_end"]
    assert e["rows_in"] == e["rows_out"] == 2000
    assert e["category"] == CATEGORY and e["level"] == LEVEL
    assert e["total"] == len(level_units("64", LEVEL))
    assert 0 < e["covered"] <= e["total"]
    assert set(e["phases_s"]) == {"index_build", "read_geocode_classify", "coverage", "map_layers"}
    g = result["geocoding"]
    assert g["rows"] == 2000
    assert 0 < g["towncover_matched"] <= 2000
    assert 0.0 <= g["cpca_county_accuracy"] <= 1.0 and 0.0 <= g["towncover_county_accuracy"] <= 1.0
    assert g["towncover_rows_per_s"] > 0 and g["cpca_rows_per_s"] > 0
    a = result["assignment"]
    assert a["points"] == 400 and a["cells"] == n_cells
    assert a["assign_points_correct"] == a["sjoin_correct"] == 400
    s = result["scaling"]
    assert [x["rows"] for x in s["steps"]] == [500, 2000]
    assert set(s["slope"]) == {"geocode_classify_measure_s", "assign_s"}
    m = result["map"]["province"]
    assert m["units"] == n_cells
    # every placed row is drawn (at its cell's centre on schematic cells), plus unplaced rows with a point
    assert e["matched"] <= m["facilities"] <= e["matched"] + 400
    assert 0 < m["payload_mb"] < m["standalone_mb"]
    assert "first_render" not in m
    assert result["peak_rss_mb"] > 0
    assert set(result["goals"]) == {"end_to_end_under_60s", "peak_under_4GB", "geocoding_at_least_cpca",
                                    "province_map_under_5MB"}


def test_felt_quick_runs_every_whole_command_once():
    """bench.felt: both tools on both sheets and the 怀化市 document, each a whole process that succeeds."""
    from bench import felt

    result = felt.run(1, province_rows=3_000, county_rows=200, out=None)
    assert sorted(result["summary"]) == ["county", "province"]
    for per in result["summary"].values():
        assert per["towncover"]["failed"] == 0 and per["cpca"]["failed"] == 0
        assert per["towncover"]["peak_mb"] > 0 and per["cpca"]["peak_mb"] > 0
    assert [(r["tool"], r["sheet"]) for r in result["runs"]] == [
        ("towncover", "province"), ("cpca", "province"), ("towncover", "county"), ("cpca", "county")]
    assert result["report"]["exit_code"] == 0
