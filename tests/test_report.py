"""Report files (.xlsx, .csv, .json) re-read and checked cell by cell."""

import json

import openpyxl
import pandas as pd
import pytest

from facilities.coverage import measure
from facilities.evaluation import evaluate, evaluate_plan_details
from facilities.gaps import close_gap
from facilities.report import neutralise, write_report
from tests.test_coverage import ERC, HL, STREETS, _geocoded, _plan, _population
from towncover.errors import TowncoverError


@pytest.fixture(scope="module")
def evaluated():
    geocoded = _geocoded()
    table, details = evaluate_plan_details(geocoded, _plan(), HL, population=_population())
    gaps = {"cov": close_gap(details["cov"], 60)}
    return geocoded, table, details, gaps


def test_xlsx_report(tmp_path, evaluated):
    geocoded, table, details, gaps = evaluated
    path = write_report(table, details, tmp_path / "report.xlsx", geocoded=geocoded, gaps=gaps)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["targets", "cov_cov", "gap_cov", "unplaced", "unclassified"]
    ws = wb["targets"]
    header = [c.value for c in ws[1]]
    ids = [ws.cell(row=i, column=1).value for i in range(2, ws.max_row + 1)]
    assert ids == ["cov", "rural_count", "all_count", "nursing_share", "nursing_share_homes", "beds_per_k",
                   "village_radius", "training"]
    measured = ws.cell(row=2, column=header.index("measured") + 1)
    assert measured.value == pytest.approx(300 / 11, abs=1e-12) and measured.number_format == "0.0"
    assert ws.cell(row=2, column=header.index("met") + 1).value is False
    assert ws.cell(row=2, column=header.index("shortfall_units") + 1).value == 4
    units = wb["cov_cov"]
    uheader = [c.value for c in units[1]]
    rows = {units.cell(row=i, column=1).value: units.cell(row=i, column=uheader.index("status") + 1).value
            for i in range(2, units.max_row + 1)}
    assert len(rows) == 11
    assert rows["321202001"] == "已覆盖 / covered" and rows["321202002"] == "未覆盖 / not covered"
    assert [k for k, v in rows.items() if v.startswith("未覆盖")] == STREETS[1:] + ["321202101", "321202102"]
    gap = wb["gap_cov"]
    assert [gap.cell(row=i, column=2).value for i in range(2, 6)] == ["321202002", "321202003", "321202004",
                                                                     "321202005"]
    unplaced = wb["unplaced"]
    assert [unplaced.cell(row=i, column=1).value for i in range(2, unplaced.max_row + 1)] == [7, 8, 9]
    unclassified = wb["unclassified"]
    uh = [c.value for c in unclassified[1]]
    assert unclassified.max_row == 2
    assert unclassified.cell(row=2, column=uh.index("机构名称") + 1).value == "'=HYPERLINK(\"x\")"


def test_csv_report(tmp_path, evaluated):
    geocoded, table, details, _gaps = evaluated
    path = write_report(table, details, tmp_path / "report.csv", geocoded=geocoded)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert back["id"].tolist()[:3] == ["cov", "rural_count", "all_count"]
    assert float(back.loc[0, "measured"]) == pytest.approx(300 / 11)
    assert "需新增覆盖 4 个乡镇(街道)" in back.loc[0, "status"]
    units = pd.read_csv(tmp_path / "report_units.csv", encoding="utf-8-sig", dtype=str)
    assert units["target_id"].unique().tolist() == ["cov"]
    assert len(units) == 11 and (units["covered"] == "True").sum() == 3


def test_json_report(tmp_path, evaluated):
    geocoded, table, details, gaps = evaluated
    path = write_report(table, details, tmp_path / "report.json", geocoded=geocoded, gaps=gaps)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [t["id"] for t in data["targets"]][:2] == ["cov", "rural_count"]
    cov = data["coverage"]["cov"]
    assert (cov["covered"], cov["total"], cov["unplaced_rows"], cov["met"], cov["target"]) == (3, 11, 3, False, 60.0)
    assert len(cov["units"]) == 11
    assert data["gaps"]["cov"]["attrs"]["needed"] == 4
    assert [r["row"] for r in data["unplaced"]] == [7, 8, 9]
    assert data["targets"][6]["evaluable"] is False and data["targets"][6]["met"] is None
    # Text stays as it is in JSON (no spreadsheet to protect).
    assert data["unclassified"][0]["机构名称"] == "=HYPERLINK(\"x\")"


def test_single_result_and_bad_suffix(tmp_path):
    result = measure(_geocoded(), HL, ERC, "township")
    table = pd.DataFrame([{"id": "t", **result.to_json(), "unit": "percent", "measured": result.rate}])
    path = write_report(table.drop(columns="uncovered"), {"t": result}, tmp_path / "one.xlsx")
    assert openpyxl.load_workbook(path)["cov_t"].max_row == 5
    with pytest.raises(TowncoverError):
        write_report(table, {}, tmp_path / "report.pdf")


def test_neutralise_prefixes_formula_starts_only_in_text():
    frame = pd.DataFrame({"a": ["=1+1", "+86 123", "-x", "@SUM", "ok", None], "n": [-1, 2, 3, 4, 5, 6]})
    out = neutralise(frame)
    assert out["a"].tolist()[:5] == ["'=1+1", "'+86 123", "'-x", "'@SUM", "ok"]
    assert pd.isna(out["a"].iloc[5])
    assert out["n"].tolist() == [-1, 2, 3, 4, 5, 6]


def _analysis():
    from types import SimpleNamespace

    return SimpleNamespace(placed=_geocoded(), region=SimpleNamespace(code=HL), plan=_plan(), units=None, boundaries=None)


def test_analysis_form_closes_gaps_by_population(tmp_path):
    from facilities.coverage import measure_for_target

    analysis = _analysis()
    result = measure_for_target(analysis, ERC, "township_and_street")
    assert (result.covered, result.total, result.target, result.met) == (3, 11, 60.0, False)
    assert measure_for_target(analysis, ERC, "street").target is None
    path = write_report(evaluate(analysis, population=_population()), tmp_path / "a.xlsx")
    gap = openpyxl.load_workbook(path)["gap_cov"]
    header = [c.value for c in gap[1]]
    assert [gap.cell(row=i, column=2).value for i in range(2, 6)] == ["321202102", "321202101", "321202050",
                                                                     "321202007"]
    assert gap.cell(row=2, column=header.index("criterion") + 1).value == "population"


def test_report_formats_the_evaluation_without_evaluating_or_closing_again(tmp_path, monkeypatch):
    """The report only formats: no second evaluation, and each gap is closed once however often it is written."""
    import facilities.evaluation as evaluation_module
    import facilities.gaps as gaps_module

    judged = evaluate(_analysis(), population=_population())
    assert list(judged.unmet()) == ["cov"]
    calls = []
    real_close = gaps_module.close_gap
    monkeypatch.setattr(gaps_module, "close_gap", lambda *a, **k: calls.append(1) or real_close(*a, **k))

    def no_second_evaluation(*args, **kwargs):
        raise AssertionError("the report evaluated the plan again")

    monkeypatch.setattr(evaluation_module, "evaluate_plan_details", no_second_evaluation)
    for name in ("a.xlsx", "a.json", "a.csv"):
        write_report(judged, tmp_path / name)
    assert len(calls) == 1
    payload = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert list(payload["gaps"]) == ["cov"] and payload["gaps"]["cov"]["rows"][0]["criterion"] == "population"


def test_report_of_an_evaluation_without_plan_is_refused(tmp_path):
    analysis = _analysis()
    analysis.plan = None
    with pytest.raises(TowncoverError, match="no plan targets"):
        write_report(evaluate(analysis), tmp_path / "a.xlsx")
