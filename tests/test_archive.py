"""Hostile zip archives are refused with a bilingual message; good ones unpack."""

import io
import stat
import zipfile

import pytest

from geo.archive import safe_extract
from towncover import settings
from towncover.errors import TowncoverError


def _zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return buf.getvalue()


def test_good_archive_unpacks(tmp_path):
    data = _zip([("towns/a.shp", b"shp" * 10), ("towns/a.dbf", b"dbf")])
    written = safe_extract(data, tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == ["towns/a.shp", "towns/a.dbf"]
    assert (tmp_path / "towns/a.shp").read_bytes() == b"shp" * 10


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("/etc/passwd", "absolute"), ("../../evil.shp", "'..'"), ("a/../../evil.shp", "'..'"), ("C:/x.shp", "absolute")],
)
def test_path_tricks_are_refused(tmp_path, name, fragment):
    with pytest.raises(TowncoverError) as info:
        safe_extract(_zip([(zipfile.ZipInfo(name), b"x")]), tmp_path / "out")
    assert fragment in info.value.message_en
    assert not (tmp_path / "evil.shp").exists()


def test_symlink_entry_is_refused(tmp_path):
    info = zipfile.ZipInfo("link.shp")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(TowncoverError) as err:
        safe_extract(_zip([(info, "/etc/passwd")]), tmp_path)
    assert "symbolic link" in err.value.message_en


def test_zip_bomb_is_refused(tmp_path):
    bomb = _zip([("bomb.dbf", b"\0" * (20 * 2**20))])
    with pytest.raises(TowncoverError) as err:
        safe_extract(bomb, tmp_path)
    assert "zip bomb" in err.value.message_en
    assert list(tmp_path.iterdir()) == []


def test_too_many_entries(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "MAX_ZIP_ENTRIES", 3)
    with pytest.raises(TowncoverError) as err:
        safe_extract(_zip([(f"{i}.txt", b"x") for i in range(4)]), tmp_path)
    assert "too many entries" in err.value.message_en


def test_corrupt_archive(tmp_path):
    with pytest.raises(TowncoverError) as err:
        safe_extract(b"PK\x03\x04 not really a zip", tmp_path)
    assert "cannot be opened" in err.value.message_en


# -- client-given file names (issue 19, item 2) ---------------------------------------------------
@pytest.mark.parametrize("name, kept", [
    ("../../../../../../tmp/x.geojson", "x.geojson"),
    ("/etc/cron.d/x.csv", "x.csv"),
    ("..\\..\\人口表.xlsx", "人口表.xlsx"),
    ("C:\\Windows\\x.gpkg", "x.gpkg"),
    ("..", "upload"),
    ("", "upload"),
    (".zip", "upload.zip"),
    ("名\x00录\n.csv", "名_录_.csv"),
    ("合法 名录 (2).xlsx", "合法 名录 (2).xlsx"),
])
def test_upload_written_inside_its_folder_under_a_plain_name(tmp_path, name, kept):
    from geo.archive import write_upload

    folder = tmp_path / "uploads"
    folder.mkdir()
    path = write_upload(folder, b"data", name)
    assert path.parent == folder and path.name == kept and path.read_bytes() == b"data"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [kept]


def test_upload_name_cut_to_200_bytes_keeps_suffix():
    from geo.archive import upload_name

    name = upload_name("镇" * 300 + ".xlsx")
    assert name.endswith(".xlsx") and len(name.encode("utf-8")) <= 200 and name.startswith("镇镇")
