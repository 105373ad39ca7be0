"""geo.tables: the fast CSV writer gives exactly pandas' bytes; tables never need the geometry libraries."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from geo.tables import export_table, write_csv


def _pandas_bytes(table: pd.DataFrame, path) -> bytes:
    table.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path.read_bytes()


TRICKY = pd.DataFrame({
    "名称": pd.array(["敬老院", 'a "quoted", name', "line\nbreak", "cr\rhere", None, "", " 空格 "], dtype="string"),
    "plain": ["x", "y,z", None, np.nan, "", "'=1", "尾"],
    "lon": [114.123456789, np.nan, 1e16, -0.0, 1.0, 3.0e-7, 120.5],
    "n": np.arange(7, dtype=np.int64),
    "ok": [True, False, True, True, False, False, True],
    "a,b": pd.array(["1", "2", "3", "4", "5", "6", "7"], dtype="str"),
})


@pytest.mark.parametrize("columns", [list(TRICKY.columns), ["名称"], ["plain"], ["lon", "n"]])
def test_write_csv_bytes_equal_pandas(tmp_path, columns):
    table = TRICKY[columns]
    write_csv(table, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == _pandas_bytes(table, tmp_path / "pandas.csv")


def test_write_csv_other_types_and_empty_tables(tmp_path):
    mixed = pd.DataFrame({"when": pd.to_datetime(["2024-01-02", None]), "k": pd.array([1, None], dtype="Int64"),
                          "obj": [1, "a"]})
    for table in (mixed, TRICKY.head(0), pd.DataFrame()):
        write_csv(table, tmp_path / "fast.csv")
        assert (tmp_path / "fast.csv").read_bytes() == _pandas_bytes(table, tmp_path / "pandas.csv")


def test_export_table_writes_the_neutralised_csv(tmp_path):
    out = export_table(pd.DataFrame({"名称": ["=SUM(A1)", "院"], "n": [1, 2]}), tmp_path / "t", "csv")
    assert out.name == "t.csv"
    assert out.read_bytes() == b"\xef\xbb\xbf\xe5\x90\x8d\xe7\xa7\xb0,n\r\n'=SUM(A1),1\r\n\xe9\x99\xa2,2\r\n"


def test_geocode_command_imports_no_geometry_library(tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("机构名称,地址\n城北敬老院,江西省宜春市袁州区湖田镇\n", encoding="utf-8")
    probe = ("import runpy, sys; sys.argv = ['towncover', 'geocode', sys.argv[1], '-r', '360902', '-o', sys.argv[2]]\n"
             "try:\n    runpy.run_module('towncover.cli', run_name='__main__')\nexcept SystemExit as e:\n"
             "    assert not e.code, e.code\n"
             "print(sorted(m for m in ('geopandas', 'shapely', 'pyogrio', 'scipy', 'folium') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe, str(sheet), str(tmp_path / "out.csv")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "360902" in (tmp_path / "out.csv").read_text(encoding="utf-8-sig")


def test_write_csv_in_blocks_and_mixed_columns_late(tmp_path, monkeypatch):
    import geo.tables

    monkeypatch.setattr(geo.tables, "_CSV_BLOCK_ROWS", 3)
    table = TRICKY.copy()
    write_csv(table, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == _pandas_bytes(table, tmp_path / "pandas.csv")
    late = pd.DataFrame({"obj": ["a"] * 6 + [7]})  # a number after the first block: pandas writes it
    write_csv(late, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == _pandas_bytes(late, tmp_path / "pandas.csv")
