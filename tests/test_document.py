"""The evaluation report as DOCX and PDF (issue 17): figures equal the evaluation, one map per unmet target."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from facilities.document import write_document
from towncover import settings
from towncover.errors import TowncoverError

REGION = "321202"  # 海陵区: small, schematic cells, several unmet coverage targets


@pytest.fixture(scope="module")
def evaluated():
    from facilities.evaluation import evaluate
    from facilities.pipeline import analyse

    analysis = analyse(next(settings.DEMO_DIR.glob(f"{REGION}_*_synthetic.xlsx")), REGION)
    return evaluate(analysis), analysis


@pytest.fixture(scope="module")
def docx_zh(evaluated, tmp_path_factory):
    import docx

    evaluation, analysis = evaluated
    path = write_document(evaluation, analysis, tmp_path_factory.mktemp("doc") / "评估.docx", data_date="2026-11-30")
    return docx.Document(str(path))


@pytest.fixture(scope="module")
def pdf_zh(evaluated, tmp_path_factory):
    evaluation, analysis = evaluated
    return write_document(evaluation, analysis, tmp_path_factory.mktemp("pdf") / "评估.pdf")


def _percent(text: str) -> float | None:
    found = re.match(r"([\d.]+)%$", text)
    return float(found.group(1)) if found else None


def test_target_table_figures_equal_the_evaluation(evaluated, docx_zh):
    evaluation, _ = evaluated
    table = evaluation.table
    ordered = evaluation.ordered()
    rows = docx_zh.tables[0].rows
    assert [c.text for c in rows[0].cells] == ["序号", "指标", "目标值(年份)", "现状值", "结论", "基期值及变化"]
    assert len(rows) == len(table) + 1
    for cells, (_, row) in zip(rows[1:], ordered.iterrows(), strict=True):
        texts = [c.text for c in cells.cells]
        assert texts[1] == row["label_zh"]
        if not row["evaluable"] or row["met"] is None:
            assert texts[4] == "无法评估"
            continue
        if row["unit_label"] == "%":
            assert _percent(texts[3]) == pytest.approx(round(float(row["measured"]), 1))
        assert texts[4].startswith("达标" if row["met"] else "未达标")
        if row["met"] is False:
            assert row["shortfall_text"].split(" / ")[0] in texts[4]


def test_every_unmet_coverage_target_has_its_map_table_and_proposal(evaluated, docx_zh):
    evaluation, _ = evaluated
    unmet = list(evaluation.unmet())
    assert len(unmet) >= 2
    labels = evaluation.table.set_index("id")["label_zh"]
    body = [p.text for p in docx_zh.paragraphs]
    captions = [t for t in body if t.startswith("图 ")]
    assert captions[:len(unmet)] == [f"图 {i} {labels[t]}" for i, t in enumerate(unmet, start=1)]
    assert captions[-1] == f"图 {len(unmet) + 1} 覆盖类指标现状与目标"
    assert len(docx_zh.inline_shapes) == len(unmet) + 1
    for target_id in unmet:
        result = evaluation.details[target_id]
        n_uncovered = int((~result.units["covered"].astype(bool)).sum())
        assert f"未覆盖单元(共 {n_uncovered} 个)" in body
        needed = evaluation.gap(target_id).attrs["needed"]
        assert any(t.startswith(f"补缺方案:至少新增覆盖 {needed} 个单元") for t in body)
    # The uncovered units of the first unmet target are listed by code, in a table of their own.
    first = evaluation.details[unmet[0]]
    codes = first.units.loc[~first.units["covered"].astype(bool), "code"].astype(str).tolist()
    listed = [[c.text for c in r.cells][0] for t in docx_zh.tables for r in t.rows[1:]]
    assert all(code in listed for code in codes[:60])


def test_cover_says_schematic_synthetic_and_data_date(docx_zh):
    body = [p.text for p in docx_zh.paragraphs]
    assert "设施数据:321202_海陵区_synthetic.xlsx(截至 2026-11-30)" in body
    assert any(t.startswith("注意:图中乡镇单元为示意网格(示意边界)") for t in body)
    assert "注意:本报告使用合成示例数据(非真实设施),仅供演示。" in body


def test_pdf_holds_the_targets_and_figures_with_fonts_embedded(evaluated, pdf_zh):
    from pypdf import PdfReader

    evaluation, _ = evaluated
    reader = PdfReader(str(pdf_zh))
    # pypdf puts spaces between Latin and CJK runs: compare without white space.
    text = re.sub(r"\s", "", "".join(page.extract_text() for page in reader.pages))
    labels = evaluation.table.set_index("id")["label_zh"]
    for i, target_id in enumerate(evaluation.unmet(), start=1):
        assert re.sub(r"\s", "", f"图 {i} {labels[target_id]}") in text
    assert "指标完成情况" in text and "附录" in text
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            inner = descendants[0].get_object() if descendants else font
            fonts[str(font["/BaseFont"])] = inner["/FontDescriptor"].get_object()
    assert fonts and any("NotoSansCJK" in name for name in fonts)
    assert all({"/FontFile", "/FontFile2", "/FontFile3"} & set(d.keys()) for d in fonts.values())
    images = sum(len(page.images) for page in reader.pages)
    assert images == len(evaluation.unmet()) + 1


def test_english_report_is_english(evaluated, tmp_path):
    import docx

    evaluation, analysis = evaluated
    document = docx.Document(str(write_document(evaluation, analysis, tmp_path / "report.docx", lang="en")))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "1. Targets at a glance" in headings and "Appendix" in headings
    assert [c.text for c in document.tables[0].rows[0].cells][:2] == ["No.", "Target"]
    results = {r.cells[4].text.split(":")[0] for r in document.tables[0].rows[1:]}
    assert results <= {"met", "not met", "not evaluable"}


def test_other_suffix_refused_in_one_line(evaluated, tmp_path):
    evaluation, analysis = evaluated
    with pytest.raises(TowncoverError) as err:
        write_document(evaluation, analysis, tmp_path / "report.odt")
    assert ".docx" in err.value.message_zh and ".pdf" in err.value.message_en
    assert not list(Path(tmp_path).iterdir())


def test_cli_coverage_writes_docx_and_pdf(tmp_path, capsys):
    import docx
    from pypdf import PdfReader

    from towncover.cli import main

    sheet = next(settings.DEMO_DIR.glob(f"{REGION}_*_synthetic.xlsx"))
    for name in ("评估.docx", "评估.pdf"):
        assert main(["coverage", str(sheet), "-r", REGION, "-o", str(tmp_path / name)]) == 0
    assert "已写出 / written" in capsys.readouterr().err
    assert docx.Document(str(tmp_path / "评估.docx")).paragraphs[0].text.startswith("《海陵区")
    assert len(PdfReader(str(tmp_path / "评估.pdf")).pages) >= 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["评估.docx", "评估.pdf"]


@pytest.mark.skipif(not os.environ.get("TOWNCOVER_SCREENSHOTS"), reason="`make screenshots` retakes the README's images")
def test_report_pages_for_the_readme(pdf_zh):
    """Page 1 and the first map page of the PDF as PNG for the README (pdftoppm, Debian's poppler-utils)."""
    from pypdf import PdfReader

    out = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    pages = [p.extract_text() for p in PdfReader(str(pdf_zh)).pages]
    first_map = next(i for i, text in enumerate(pages, start=1) if "图 1" in text.replace(" ", "").replace("图1", "图 1"))
    for page, name in ((1, "report_page1"), (first_map, "report_map")):
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", "-f", str(page), "-l", str(page),
                        str(pdf_zh), str(out / name)], check=True)
        assert (out / f"{name}.png").stat().st_size > 10_000


def test_map_figure_of_multi_part_units_with_repeated_index(tmp_path):
    """Polygons and multi-polygons whose frame index repeats (concatenated layers) draw one ring per part."""
    import geopandas as gpd
    import shapely

    from facilities import figures

    shapes = [shapely.box(105.0, 30.0, 105.1, 30.1),
              shapely.MultiPolygon([shapely.box(105.1, 30.0, 105.2, 30.1), shapely.box(105.3, 30.0, 105.4, 30.1)]),
              shapely.box(105.0, 30.1, 105.1, 30.2)]
    units = gpd.GeoDataFrame({"code": ["a", "b", "c"], "fill": [figures.COVERED, figures.UNCOVERED, figures.NO_DATA]},
                             geometry=shapes, index=[0, 0, 1], crs=4326)
    rings, fills = figures._rings(units)
    assert len(rings) == 4 and fills == [figures.COVERED, figures.UNCOVERED, figures.UNCOVERED, figures.NO_DATA]
    points = gpd.GeoDataFrame({"approximate": [False]}, geometry=[shapely.Point(105.05, 30.05)], crs=4326)
    layers = figures.MapLayers(units, points, [(figures.COVERED, "已覆盖")])
    path = figures.draw_coverage_map(layers, tmp_path / "m.png", title="测试", schematic=True)
    assert path.stat().st_size > 5_000
