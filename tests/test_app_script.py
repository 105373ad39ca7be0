"""app.py run in-process by Streamlit's AppTest: what a planner reads, without a browser."""

from __future__ import annotations

import pytest

pytest.importorskip("streamlit.testing.v1")

TEMPLATE_WORDS = "这些指标是模板"


def _warnings_for(region_code: str) -> list[str]:
    """The warnings on the first page with ``region_code`` chosen among the regions with maps."""
    from streamlit.testing.v1 import AppTest

    from towncover import settings

    at = AppTest.from_file(str(settings.APP_PATH), default_timeout=180)
    at.run()
    next(s for s in at.selectbox if s.key.startswith("w:region_maps")).set_value(region_code).run()
    assert not at.exception, [e.value for e in at.exception]
    return [w.value for w in at.warning]


def test_a_region_without_a_plan_is_told_its_targets_are_a_template():
    """袁州区 has no plan of its own: the overview says the targets shown are a template, not its plan."""
    warnings = _warnings_for("360902")
    assert any(TEMPLATE_WORDS in w and "袁州区" in w for w in warnings), warnings


def test_a_region_with_its_own_plan_has_no_template_warning():
    warnings = _warnings_for("3609")
    assert not any(TEMPLATE_WORDS in w for w in warnings), warnings
