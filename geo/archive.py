"""Safe unpacking of uploaded zip archives (zipped Shapefiles): no bombs, no path tricks, no links."""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from pathlib import Path, PurePosixPath

from towncover import settings
from towncover.errors import TowncoverError

# A file name's longest part kept (bytes of UTF-8): most file systems allow 255.
_MAX_NAME_BYTES = 200
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")

# A zip bomb compresses far better than any real Shapefile (which rarely beats 20:1).
MAX_RATIO = 200


def safe_extract(source: str | os.PathLike | bytes, dest: str | os.PathLike) -> list[Path]:
    """Extract a zip archive into ``dest`` after checking every entry.

    Parameters
    ----------
    source : path or bytes
        The archive.
    dest : path
        An existing, empty directory.

    Returns
    -------
    list of Path
        The files written, in archive order.

    Raises
    ------
    TowncoverError
        For a corrupt archive, too many entries, too much uncompressed data, a suspicious
        compression ratio, an absolute path, a ``..`` component, or a symbolic link.
    """
    dest = Path(dest).resolve()
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise TowncoverError(f"压缩包无法打开:{exc}", f"the zip archive cannot be opened: {exc}") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > settings.MAX_ZIP_ENTRIES:
            raise TowncoverError(
                f"压缩包条目过多({len(entries)} 个,上限 {settings.MAX_ZIP_ENTRIES})",
                f"too many entries in the zip ({len(entries)}, limit {settings.MAX_ZIP_ENTRIES})",
            )
        total = sum(e.file_size for e in entries)
        limit = settings.MAX_UNZIPPED_MB * 1024 * 1024
        if total > limit:
            raise TowncoverError(
                f"压缩包解压后过大({total / 2**20:.0f} MB,上限 {settings.MAX_UNZIPPED_MB} MB)",
                f"the zip unpacks to too much data ({total / 2**20:.0f} MB, limit {settings.MAX_UNZIPPED_MB} MB)",
            )
        for entry in entries:
            _check_entry(entry)
        written = []
        for entry in entries:
            if entry.is_dir():
                continue
            target = (dest / entry.filename).resolve()
            if dest not in target.parents:
                raise TowncoverError(f"压缩包条目路径越界:{entry.filename}", f"zip entry escapes the folder: {entry.filename}")
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(entry) as src, open(target, "wb") as out:
                copied = 0
                while chunk := src.read(1 << 20):
                    copied += len(chunk)
                    # The header's sizes can lie: count what really comes out.
                    if copied > entry.file_size or copied > limit:
                        raise TowncoverError(
                            f"压缩包条目 {entry.filename} 实际大小超过声明",
                            f"zip entry {entry.filename} is larger than it declares",
                        )
                    out.write(chunk)
            written.append(target)
        return written


def _check_entry(entry: zipfile.ZipInfo) -> None:
    name = entry.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise TowncoverError(f"压缩包含绝对路径条目:{name}", f"zip entry has an absolute path: {name}")
    if ".." in path.parts:
        raise TowncoverError(f"压缩包条目含“..”:{name}", f"zip entry contains '..': {name}")
    mode = entry.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise TowncoverError(f"压缩包含符号链接:{name}", f"zip entry is a symbolic link: {name}")
    if entry.compress_size and entry.file_size / entry.compress_size > MAX_RATIO:
        raise TowncoverError(
            f"压缩包条目 {name} 压缩比异常({entry.file_size // max(entry.compress_size, 1)}:1),疑似压缩炸弹",
            f"zip entry {name} has a suspicious compression ratio "
            f"({entry.file_size // max(entry.compress_size, 1)}:1): possible zip bomb",
        )


def upload_name(name: str) -> str:
    r"""A client's file name reduced to a plain name that can only mean a file in the folder it is put in.

    Browsers and other clients send any text as the multipart file name (``../../x.geojson``,
    ``/etc/x``, ``C:\x``); the name is kept for its suffix (which picks the reader) and for
    messages, never as a path.

    Parameters
    ----------
    name : str
        The name the client sent.

    Returns
    -------
    str
        The last part after any ``/`` or ``\``, with control and reserved characters replaced by
        ``_``, cut to 200 bytes (suffix kept); ``upload`` plus the suffix when nothing is left.

    Examples
    --------
    >>> upload_name("../../../../tmp/x.geojson")
    'x.geojson'
    >>> upload_name(r"C:\Users\..\名录.xlsx")
    '名录.xlsx'
    >>> upload_name("..")
    'upload'
    >>> upload_name(".gpkg")
    'upload.gpkg'
    """
    last = re.split(r"[/\\]", str(name))[-1]
    stem, dot, suffix = _UNSAFE_NAME.sub("_", last).rpartition(".")
    if not dot:
        stem, suffix = suffix, ""
    stem, suffix = stem.strip(" ."), suffix.strip(" ")
    suffix = f".{suffix}" if suffix else ""
    while stem and len((stem + suffix).encode("utf-8")) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + suffix if stem else f"upload{suffix}"


def write_upload(folder: str | os.PathLike, data: bytes, name: str) -> Path:
    """Write an upload's bytes into ``folder`` under :func:`upload_name` of its client-given name.

    Parameters
    ----------
    folder : path
        An existing folder (a fresh temporary one).
    data : bytes
    name : str
        The client's file name.

    Returns
    -------
    Path
        The file written, always directly inside ``folder``.
    """
    path = Path(folder) / upload_name(name)
    path.write_bytes(data)
    return path
