"""facilities.pipeline: categories and labels on every row, numbers aligned by file row, plan lookup."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from facilities import categories, pipeline, targets
from facilities.pipeline import analyse
from towncover import settings

SHEET = (
    "机构名称,地址,类型,床位数\n"
    "石羊镇敬老院,安岳县石羊镇,,50\n"
    ",,,\n"
    "合计,,,50\n"
    "龙台镇殡仪服务站,安岳县龙台镇,殡葬设施,\n"
    "某某公司,安岳县岳阳镇,养老机构,12张\n"
)


def test_every_row_once_with_category_label_and_beds():
    a = analyse(SHEET.encode(), "512021", filename="s.csv")
    p = a.placed
    assert p["row"].tolist() == [2, 4, 5, 6]
    assert p["match_status"].tolist()[1] == "rejected"
    assert p["category"].tolist() == ["nursing_home", "unclassified", "funeral_service_station", "unclassified"]
    assert p["category_label"].tolist() == ["养老院(敬老院、福利院)", "未分类", "殡仪服务站", "未分类"]
    assert p["beds"].fillna(-1).tolist() == [50.0, -1, -1, 12.0]
    assert a.summary() == {"rows_read": 5, "blank": 1, "matched": 3, "ambiguous": 0, "unmatched": 0,
                           "out_of_region": 0, "rejected": 1}


def test_labels_follow_the_category_file():
    a = analyse(SHEET.encode(), "512021", filename="s.csv")
    for cat, lab in zip(a.placed["category"], a.placed["category_label"], strict=True):
        assert lab == categories.label(cat, "zh")


def test_plan_read_once_and_again_when_the_files_change(tmp_path, monkeypatch):
    shutil.copy(settings.TARGETS_DIR / "512021_安岳县.yaml", tmp_path / "512021_安岳县.yaml")
    monkeypatch.setattr(settings, "TARGETS_DIR", tmp_path)
    n_targets = len(targets.plan_for_region("512021").targets)
    calls = []
    real = targets.list_plans
    monkeypatch.setattr(targets, "list_plans", lambda d=None: calls.append(d) or real(d))

    first = pipeline._cached_plan("512021")
    assert first.region_code == "512021" and first.title == "安岳县“十四五”民政事业发展规划"
    first.targets.clear()  # the caller's copy: the next caller still gets every target
    again = pipeline._cached_plan("512021")
    assert len(again.targets) == n_targets > 0
    assert pipeline._cached_plan("51") is None
    assert len(calls) == 1  # one read of the plan files for the three questions

    path = tmp_path / "512021_安岳县.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("title: 安岳县", "title: 新安岳县", 1), encoding="utf-8")
    assert pipeline._cached_plan("512021").title == "新安岳县“十四五”民政事业发展规划"
    assert len(calls) == 2
    path.unlink()
    assert pipeline._cached_plan("512021") is None


def test_plan_errors_are_not_remembered(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "TARGETS_DIR", tmp_path)
    (tmp_path / "bad.yaml").write_text("targets: [", encoding="utf-8")
    from towncover.errors import TowncoverError

    for _ in range(2):
        with pytest.raises(TowncoverError):
            pipeline._cached_plan("512021")


def test_analysis_plan_is_the_regions_plan():
    a = analyse(SHEET.encode(), "512021", filename="s.csv")
    assert a.plan == targets.plan_for_region("512021")
    assert analyse(SHEET.encode(), "5120", filename="s.csv").plan is None
    assert isinstance(a.placed, pd.DataFrame)
