"""Bugs the type checker found at the seams (issue 13, item 8), each pinned by its outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facilities import document, review
from geo.webmap import escape_text
from towncover.files import is_missing


def test_a_cell_holding_several_values_is_escaped_not_refused():
    # pd.isna on a list answers per element; `if` on that answer raised "truth value ... ambiguous".
    assert escape_text(["<b>", "x"]) == "[&#x27;&lt;b&gt;&#x27;, &#x27;x&#x27;]"
    assert escape_text(np.array([1.0, np.nan])) == "[ 1. nan]"
    assert [escape_text(v) for v in (None, np.nan, pd.NA, pd.NaT, "")] == ["", "", "", "", ""]


def test_is_missing_is_true_for_empty_scalars_only():
    assert [is_missing(v) for v in (None, float("nan"), pd.NA, pd.NaT, np.datetime64("NaT"))] == [True] * 5
    assert [is_missing(v) for v in ("", 0, [], [None], np.array([np.nan]), {"a": None})] == [False] * 6


def test_a_report_figure_that_is_text_prints_a_dash_not_a_traceback():
    # float("全覆盖") raised ValueError: a plan's value written as words stopped the whole document.
    assert document._number("全覆盖", "%") == "—"
    assert document._number("80.4", "%") == "80.4%"
    assert document._number(968.0, "张") == "968 张"
    assert document._number(None, "%") == "—"


def test_the_review_queue_reads_roles_from_any_sheet_like_object_or_none():
    placed = pd.DataFrame({"row": [2], "match_status": ["unmatched"], "match_note": ["x"], "candidates": [""],
                           "机构名称": ["石羊镇敬老院"], "township_code": [pd.NA]})

    class Roles:
        roles = {"name": "机构名称"}

    assert review._role_column(placed, Roles(), "name").tolist() == ["石羊镇敬老院"]
    assert review._role_column(placed, None, "name").tolist() == [""]
    assert review._role_column(placed, Roles(), "address").tolist() == [""]


def test_write_report_without_an_output_path_says_so():
    from facilities.report import write_report

    with pytest.raises(TypeError, match="output path is missing"):
        write_report(pd.DataFrame({"id": []}), {})


def test_mypy_strict_and_ruff_are_clean_on_the_packages():
    """`make lint` as part of `make test` (CI runs the tests): mypy --strict on geo, facilities and towncover
    (configured in pyproject.toml) and ruff on the checkout report nothing."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    mypy = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(root / ".mypy_cache")], cwd=root,
                          capture_output=True, text=True)
    assert mypy.returncode == 0, mypy.stdout[-3000:]
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=root, capture_output=True, text=True)
    assert ruff.returncode == 0, ruff.stdout[-3000:]
