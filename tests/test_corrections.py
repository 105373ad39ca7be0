"""Planner corrections: applied exactly, saved atomically, loaded back identical."""

import os

import pandas as pd
import pytest

from facilities.corrections import apply_corrections, load_corrections, save_corrections
from geo.gazetteer import load_gazetteer
from towncover.errors import TowncoverError


@pytest.fixture(scope="module")
def gaz():
    return load_gazetteer()


def _placed():
    return pd.DataFrame(
        {
            "row": [2, 3, 4],
            "county_code": ["512021", "", ""],
            "township_code": ["512021100", "", ""],
            "township_name": ["x", "", ""],
            "village_code": ["", "", ""],
            "village_name": ["", "", ""],
            "match_status": ["matched", "ambiguous", "unmatched"],
            "match_method": ["address", "", ""],
            "match_note": ["", "tie", "none"],
        }
    )


def test_apply_sets_township_village_and_status(gaz):
    township = gaz.townships_in("512021").iloc[5]
    village = gaz.villages_in(township["code"]).iloc[0]
    corr = pd.DataFrame({"row": [3], "township_code": [township["code"]], "village_code": [village["code"]]})
    out = apply_corrections(_placed(), corr, gaz)
    fixed = out.set_index("row").loc[3]
    assert fixed["township_code"] == township["code"]
    assert fixed["township_name"] == township["name"]
    assert fixed["village_name"] == village["name"]
    assert fixed["county_code"] == "512021"
    assert (fixed["match_status"], fixed["match_method"]) == ("matched", "corrected")
    assert "ambiguous" in fixed["match_note"]
    assert list(out["match_status"]) == ["matched", "matched", "unmatched"]
    assert list(out["row"]) == [2, 3, 4]


def test_unknown_code_is_refused(gaz):
    corr = pd.DataFrame({"row": [3], "township_code": ["512021999"], "village_code": [""]})
    with pytest.raises(TowncoverError) as info:
        apply_corrections(_placed(), corr, gaz)
    assert "512021999" in info.value.message_zh and "row 3" in info.value.message_en


def test_save_load_round_trip_is_exact(tmp_path):
    corr = pd.DataFrame(
        {"row": [3, 4], "township_code": ["512021100", "512021101"], "village_code": ["", "512021101201"],
         "note": ["经核实", "=cmd"]}
    )
    path = save_corrections(corr, tmp_path / "corrections.csv")
    back = load_corrections(path)
    pd.testing.assert_frame_equal(back.reset_index(drop=True), corr.astype({"row": "int64"}), check_dtype=False)
    assert [p.name for p in tmp_path.iterdir()] == ["corrections.csv"]


def test_failed_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "corrections.csv"
    good = pd.DataFrame({"row": [3], "township_code": ["512021100"], "village_code": [""], "note": [""]})
    save_corrections(good, path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_corrections(pd.concat([good] * 3), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrections.csv"]


def test_load_names_bad_row(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("row,township_code\n3,512021100\nabc,512021101\n", encoding="utf-8")
    with pytest.raises(TowncoverError) as info:
        load_corrections(path)
    assert (info.value.row, info.value.column) == (3, "row")


# -- one validation (issue 19, item 7) -------------------------------------------------------------
def _one(town, village="", row=3):
    return pd.DataFrame({"row": [row], "township_code": [town], "village_code": [village], "note": [""]})


def test_a_township_of_another_region_is_refused_naming_the_row(gaz):
    # The audit: 海陵区's 城东街道 (321202001) turned a row of 安岳县 "matched".
    from facilities.corrections import validate_corrections

    with pytest.raises(TowncoverError) as info:
        validate_corrections(_one("321202001"), gaz, "512021", rows=pd.Series([2, 3, 4]))
    assert info.value.message_en == "correction for row 3: township 321202001 is not in the region 512021"
    assert info.value.row == 3 and "\n" not in info.value.message
    with pytest.raises(TowncoverError):
        apply_corrections(_placed(), _one("321202001"), gaz, "512021")


@pytest.mark.parametrize(("corr", "message"), [
    (_one("512021999"), "correction for row 3: township code '512021999' is not in the gazetteer"),
    (_one("512021100", row=9), "correction for row 9: the sheet has no row 9"),
    (_one("512021100", "999999999999"), "correction for row 3: village code '999999999999' is not in the gazetteer"),
])
def test_codes_and_rows_outside_the_gazetteer_or_sheet_are_refused(gaz, corr, message):
    from facilities.corrections import validate_corrections

    with pytest.raises(TowncoverError) as info:
        validate_corrections(corr, gaz, "512021", rows=_placed()["row"])
    assert info.value.message_en == message


def test_a_village_of_another_township_is_refused(gaz):
    from facilities.corrections import validate_corrections

    towns = gaz.townships_in("512021")
    village = gaz.villages_in(towns.iloc[1]["code"]).iloc[0]["code"]
    with pytest.raises(TowncoverError) as info:
        validate_corrections(_one(towns.iloc[0]["code"], village), gaz, "512021")
    assert info.value.message_en == (f"correction for row 3: village code {village} does not belong to "
                                     f"township {towns.iloc[0]['code']}")


def test_a_valid_correction_passes_unchanged(gaz):
    from facilities.corrections import validate_corrections

    town = gaz.townships_in("512021").iloc[0]["code"]
    out = validate_corrections(_one(town), gaz, "512021", rows=_placed()["row"])
    assert out.to_dict("records") == [{"row": 3, "township_code": town, "village_code": "", "note": ""}]
