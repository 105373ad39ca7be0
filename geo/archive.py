"""Safe unpacking of uploaded zip archives (zipped Shapefiles): no bombs, no path tricks, no links."""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from towncover import settings
from towncover.errors import TowncoverError

# A file name's longest part kept (bytes of UTF-8): most file systems allow 255.
_MAX_NAME_BYTES = 200
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")

# A zip bomb compresses far better than any real Shapefile (which rarely beats 20:1).
MAX_RATIO = 200
# Members smaller than this are never bombs, whatever their ratio (a 2 KB styles.xml may pack 300:1).
_RATIO_MIN_BYTES = 1 << 20
_CHUNK = 1 << 20


def open_zip(source: str | os.PathLike[str] | bytes, what_zh: str = "压缩包", what_en: str = "the zip archive",
             ) -> zipfile.ZipFile:
    """Open a zip archive, any failure said in one bilingual line (never a server path).

    Parameters
    ----------
    source : path or bytes
    what_zh, what_en : str
        What the archive is, for the message (``Excel 文件 名录.xlsx``).

    Raises
    ------
    TowncoverError
        For anything that is not a readable zip archive.
    """
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes | bytearray) else source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise TowncoverError(f"{what_zh}无法打开(已损坏,{type(exc).__name__})",
                             f"{what_en} cannot be opened (corrupt, {type(exc).__name__})") from None


def check_members(archive: zipfile.ZipFile, limit_bytes: int, what_zh: str = "压缩包",
                  what_en: str = "the zip archive", max_ratio: float = MAX_RATIO) -> list[zipfile.ZipInfo]:
    """Refuse an archive by its declared sizes, before anything is unpacked.

    Parameters
    ----------
    archive : zipfile.ZipFile
    limit_bytes : int
        Most bytes all members together may unpack to.
    what_zh, what_en : str
        What the archive is, for the message.
    max_ratio : float
        Highest compression ratio of a member over 1 MB unpacked.

    Returns
    -------
    list of zipfile.ZipInfo
        The members, in archive order.

    Raises
    ------
    TowncoverError
        Too many members, too much declared data, or a member packed like a bomb.
    """
    entries = archive.infolist()
    if len(entries) > settings.MAX_ZIP_ENTRIES:
        raise TowncoverError(
            f"{what_zh}条目过多({len(entries)} 个,上限 {settings.MAX_ZIP_ENTRIES})",
            f"too many entries in {what_en} ({len(entries)}, limit {settings.MAX_ZIP_ENTRIES})",
        )
    total = sum(e.file_size for e in entries)
    if total > limit_bytes:
        raise TowncoverError(
            f"{what_zh}解压后过大({total / 2**20:.0f} MB,上限 {limit_bytes / 2**20:.0f} MB)",
            f"{what_en} unpacks to too much data ({total / 2**20:.0f} MB, limit {limit_bytes / 2**20:.0f} MB)",
        )
    for entry in entries:
        if entry.file_size > _RATIO_MIN_BYTES and entry.file_size / max(entry.compress_size, 1) > max_ratio:
            ratio = entry.file_size // max(entry.compress_size, 1)
            raise TowncoverError(
                f"{what_zh}中的 {entry.filename} 压缩比异常({ratio}:1),疑似压缩炸弹",
                f"{entry.filename} in {what_en} has a suspicious compression ratio ({ratio}:1): possible zip bomb",
            )
    return entries


def iter_member(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limit_bytes: int, what_zh: str = "压缩包",
                what_en: str = "the zip archive") -> Iterator[bytes]:
    """The unpacked bytes of one member, in chunks, counting what really comes out.

    A member's declared size can lie and its data can be damaged: both end in one bilingual line.

    Yields
    ------
    bytes
        Chunks of at most 1 MB.

    Raises
    ------
    TowncoverError
        More data than declared or than ``limit_bytes``; a bad CRC or damaged data.
    """
    copied = 0
    try:
        with archive.open(entry) as src:
            while chunk := src.read(_CHUNK):
                copied += len(chunk)
                if copied > entry.file_size or copied > limit_bytes:
                    raise TowncoverError(
                        f"{what_zh}中的 {entry.filename} 实际大小超过声明或上限",
                        f"{entry.filename} in {what_en} is larger than it declares or than the limit",
                    )
                yield chunk
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError) as exc:  # RuntimeError: an encrypted member
        raise TowncoverError(f"{what_zh}中的 {entry.filename} 已损坏({type(exc).__name__})",
                             f"{entry.filename} in {what_en} is damaged ({type(exc).__name__})") from None
    if copied != entry.file_size:
        raise TowncoverError(f"{what_zh}中的 {entry.filename} 实际大小与声明不符",
                             f"{entry.filename} in {what_en} is not the size it declares")


def safe_extract(source: str | os.PathLike[str] | bytes, dest: str | os.PathLike[str]) -> list[Path]:
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
    archive = open_zip(source)
    with archive:
        limit = settings.MAX_UNZIPPED_MB * 1024 * 1024
        entries = check_members(archive, limit)
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
            with open(target, "wb") as out:
                for chunk in iter_member(archive, entry, limit):
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


def write_upload(folder: str | os.PathLike[str], data: bytes, name: str) -> Path:
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
