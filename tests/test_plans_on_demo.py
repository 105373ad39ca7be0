"""All five plans' targets load and evaluate on their demo sheets, through the real pipeline.

The demo sheets were generated with the intended township of every row (``*.truth.csv``), by code that
shares nothing with the geocoder. Each coverage target measured through the pipeline must equal the same
target measured on the truth, so a geocoding error that moves a coverage figure fails here.
"""

from functools import cache

import pandas as pd
import pytest

from facilities.evaluation import evaluate, evaluate_plan
from facilities.inputs import read_population
from facilities.pipeline import analyse
from towncover import settings

REGIONS = ["512021", "532301", "321202", "3609", "4312"]


@cache
def _run(code: str):
    xlsx = next(settings.DEMO_DIR.glob(f"{code}_*_synthetic.xlsx"))
    analysis = analyse(xlsx, code)
    population = None
    pop_files = list(settings.DEMO_DIR.glob(f"{code}_*_population_synthetic.csv"))
    if pop_files:
        population = read_population(pop_files[0])
    evaluation = evaluate(analysis, population=population).table
    truth = pd.read_csv(str(xlsx).replace(".xlsx", ".truth.csv"), dtype=str, keep_default_na=False)
    truth = truth[truth["expected_status"] != "blank"]
    frame = pd.DataFrame({
        "row": truth["xlsx_row"].astype(int).to_numpy(),
        "county_code": truth["county_code"].to_numpy(),
        "township_code": truth["township_code"].to_numpy(),
        "village_code": truth["village_code"].to_numpy(),
        "match_status": truth["expected_status"].to_numpy(),
        "category": truth["category"].to_numpy(),
        "lng_wgs84": float("nan"),
        "lat_wgs84": float("nan"),
    })
    placed = analysis.placed.set_index("row")
    for column in ("beds", "nursing_beds"):
        if column in placed:
            frame[column] = placed[column].reindex(frame["row"]).to_numpy()
    expected = evaluate_plan(frame, analysis.plan, code, population=population, units=analysis.units)
    return analysis, evaluation, expected


@pytest.mark.parametrize("code", REGIONS)
def test_every_target_is_evaluated_or_explained(code):
    analysis, evaluation, _ = _run(code)
    assert analysis.plan is not None and analysis.plan.region_code == code
    assert list(evaluation["id"]) == [t.id for t in analysis.plan.targets]
    measured = evaluation["measured"].notna()
    explained = evaluation["reason"].fillna("").astype(str).str.len() > 0
    assert (measured | explained).all(), evaluation.loc[~(measured | explained), "id"].tolist()
    coverage_targets = evaluation[(evaluation["metric"] == "coverage_rate") & evaluation["evaluable"].astype(bool)]
    assert len(coverage_targets) >= 3
    assert coverage_targets["measured"].between(0, 100).all()
    assert (coverage_targets["covered"] <= coverage_targets["total"]).all()


@pytest.mark.parametrize("code", REGIONS)
def test_coverage_figures_equal_those_of_the_truth(code):
    _, evaluation, expected = _run(code)
    rates = evaluation["metric"].isin(["coverage_rate", "count"]) & evaluation["evaluable"].astype(bool)
    got = evaluation.loc[rates, ["id", "covered", "total", "measured"]].set_index("id")
    want = expected.loc[rates, ["id", "covered", "total", "measured"]].set_index("id")
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
