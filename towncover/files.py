"""Writing files safely: one helper each for atomic writes, spreadsheet-safe cells and output paths.

Every writer of the project (exports, the report, plans, corrections, workspaces) goes through
:func:`atomic_write`, and every CSV/XLSX writer through :func:`neutralise_cells`; every XLSX writer
also through :func:`xlsx_safe`.

- :func:`atomic_write` writes into a private folder beside the target (``.towncover-tmp-<pid>-…``),
  then moves the file into place with :func:`os.replace`: a reader sees the old file or the new one,
  never half of one. A folder left behind by a killed process (``kill -9``) is removed by the next
  write into the same folder once its process is gone. The file gets the ordinary permissions of a
  new file (``0666`` less the umask), not the ``0600`` of a temporary file.
- :func:`neutralise_cells` prefixes ``'`` to text a spreadsheet would run as a formula: text starting
  with ``=``, ``+``, ``-``, ``@``, tab or carriage return, or the full-width ``＝ ＋ － ＠`` (some
  spreadsheet programs fold full-width forms to ASCII before parsing).
- :func:`xlsx_safe` removes the control characters XLSX cannot hold (U+0000–U+0008, U+000B, U+000C,
  U+000E–U+001F; openpyxl refuses them with ``IllegalCharacterError``); tab, newline and carriage
  return stay.
- :func:`output_path` checks a path the user asked to write before any work is done: not empty, not
  a folder, its folder writable, not one of the inputs.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from towncover.errors import TowncoverError

#: The safe YAML loader, libyaml's C one when present (a module attribute only then): 5–10× faster.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = ["FORMULA_START", "atomic_write", "is_missing", "neutralise_cells", "neutralise_text", "output_path", "restore_cells",
           "xlsx_safe"]

#: First characters that make a spreadsheet read a cell as a formula (ASCII and full-width forms).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_FORMULA_RE = re.compile("^[" + re.escape("".join(FORMULA_START)) + "]")
_QUOTED_RE = re.compile("^'(?=[" + re.escape("".join(FORMULA_START)) + "])")
#: Control characters an XLSX cell cannot hold (as openpyxl's ILLEGAL_CHARACTERS_RE).
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TMP_PREFIX = ".towncover-tmp-"
_STALE_SECONDS = 24 * 3600  # a folder this old is stale even if its process id was reused


# ------------------------------------------------------------------------------------------------
# Atomic writes
# ------------------------------------------------------------------------------------------------


def atomic_write(target: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Write a file atomically: ``write(tmp)`` in a private folder beside ``target``, then rename.

    Parameters
    ----------
    target : str or os.PathLike
        The file to create or replace. Its folder is created when missing.
    write : callable
        Called with a path in the private folder that has ``target``'s name (so writers that read
        the suffix see the right one); it must create that file. It may also create other files
        in the folder (they are removed).

    Returns
    -------
    pathlib.Path
        ``target``.

    Raises
    ------
    TowncoverError
        When the folder cannot be created or written (permission, a file where a folder should be,
        a full disk), in one line naming the path. Errors raised by ``write`` pass through; the
        private folder is removed either way.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(target.parent)
        folder = Path(_make_private_folder(target.parent))
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    try:
        tmp = folder / target.name
        write(tmp)
        _finish(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return target


def _make_private_folder(parent: Path) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", dir=parent)


def _finish(tmp: Path) -> None:
    """Flush the file to disk and give it a new file's ordinary permissions (0666 less the umask)."""
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o666 & ~_umask())


def _umask() -> int:
    # os.umask can only be read by setting it, which races with other threads (the app's server).
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _remove_stale(parent: Path) -> None:
    """Remove private folders left by writes whose process died (kill -9) or that are a day old."""
    try:
        entries = [p for p in parent.iterdir() if p.name.startswith(_TMP_PREFIX) and p.is_dir()]
    except OSError:
        return
    now = time.time()
    for path in entries:
        pid_text = path.name[len(_TMP_PREFIX):].split("-", 1)[0]
        try:
            old = now - path.stat().st_mtime > _STALE_SECONDS
        except OSError:
            continue
        if old or not (pid_text.isdigit() and _alive(int(pid_text))):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        return True
    return True


def _cannot_write(target: Path, exc: OSError) -> TowncoverError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return TowncoverError(f"无法写入 {target}:{reason}", f"cannot write {target}: {reason}")


# ------------------------------------------------------------------------------------------------
# Spreadsheet cells
# ------------------------------------------------------------------------------------------------


def is_missing(value: object) -> bool:
    """True for an empty cell's value: None, NaN, NaT or ``pd.NA`` (a list or an array is not missing)."""
    if value is None:
        return True
    if isinstance(value, str | list | tuple | dict | set | np.ndarray):
        return False
    return bool(pd.isna(value))  # type: ignore[call-overload]  # a scalar of any type; the stubs list some


def neutralise_text(value: object) -> object:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and _FORMULA_RE.match(value):
        return "'" + value
    return value


def neutralise_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix a single quote to text cells (and headers) a spreadsheet would treat as a formula.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table. Only text values change; numbers, booleans and missing values stay as they are.

    Returns
    -------
    pandas.DataFrame
        A copy in which every text cell and column header starting with one of
        :data:`FORMULA_START` starts with ``'`` instead.
    """
    out = frame.copy()
    for position in range(out.shape[1]):
        col = out.iloc[:, position]
        if not (pd.api.types.is_string_dtype(col.dtype) or col.dtype == object):
            continue
        matched = col.astype("string").str.match(_FORMULA_RE.pattern)
        hit = matched.astype("boolean").fillna(False).to_numpy(dtype=bool)
        if col.dtype == object:  # only real text in a mixed column
            hit &= np.fromiter((isinstance(v, str) for v in col.to_numpy()), dtype=bool, count=len(col))
        if hit.any():
            values = col.astype(object).to_numpy(copy=True)
            values[hit] = np.array(["'" + v for v in values[hit]], dtype=object)
            out.isetitem(position, pd.Series(values, index=col.index, dtype=col.dtype).array)
    out.columns = [neutralise_text(c) for c in out.columns]
    return out


def restore_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_cells` on a table read back (the tool's own files, e.g. corrections).

    A text cell starting with ``'`` followed by one of :data:`FORMULA_START` loses that quote.
    """
    return _remove_in_text(frame, _QUOTED_RE)


def xlsx_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and headers hold no character an XLSX file cannot store.

    The control characters U+0000–U+0008, U+000B, U+000C and U+000E–U+001F are removed (tab,
    newline and carriage return stay); openpyxl would otherwise refuse the whole file.
    """
    out = _remove_in_text(frame, _XLSX_ILLEGAL)
    out.columns = [_XLSX_ILLEGAL.sub("", c) if isinstance(c, str) else c for c in out.columns]
    return out


def _remove_in_text(frame: pd.DataFrame, pattern: re.Pattern[str]) -> pd.DataFrame:
    """A copy with ``pattern`` removed from every text cell (numbers and missing values untouched)."""
    out = frame.copy()
    for position in range(out.shape[1]):
        col = out.iloc[:, position]
        if isinstance(col.dtype, pd.StringDtype):
            out.isetitem(position, col.str.replace(pattern, "", regex=True).array)
        elif col.dtype == object:
            out.isetitem(position, col.map(lambda v: pattern.sub("", v) if isinstance(v, str) else v).to_numpy())
    return out


# ------------------------------------------------------------------------------------------------
# Output paths
# ------------------------------------------------------------------------------------------------


def output_path(
    value: str | os.PathLike[str] | None,
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    suffixes: Iterable[str] = (),
    what: tuple[str, str] = ("输出文件", "output file"),
) -> Path:
    """Check a path the user asked to write, before any work is done.

    Parameters
    ----------
    value : str, os.PathLike or None
        The path given (e.g. the CLI's ``-o``).
    inputs : iterable of paths
        Files the same run reads; writing onto one of them is refused (None values are skipped).
    suffixes : iterable of str
        Accepted suffixes (``".csv"``); empty accepts any.
    what : (str, str)
        What the file is, in Chinese and English, for the messages.

    Returns
    -------
    pathlib.Path
        The path, unchanged.

    Raises
    ------
    TowncoverError
        Empty path, a folder, a suffix not accepted, a folder that cannot be written (a file in
        the way, no permission), or one of the inputs — in one line.
    """
    zh, en = what
    text = "" if value is None else os.fspath(value)
    if not text.strip():
        raise TowncoverError(f"没有给出{zh}的路径", f"no path given for the {en}")
    path = Path(text)
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise TowncoverError(f"{zh} {text} 是一个文件夹,请给出文件名", f"the {en} {text} is a folder; give a file name")
    wanted = [s.lower() for s in suffixes]
    if wanted and path.suffix.lower() not in wanted:
        raise TowncoverError(f"{zh}应以 {'、'.join(wanted)} 结尾,而不是“{path.name}”",
                             f"the {en} must end in {', '.join(wanted)}, not '{path.name}'")
    for source in inputs:
        if source is not None and _same_file(path, Path(source)):
            raise TowncoverError(f"{zh} {text} 是输入文件之一,不会覆盖它;请换一个文件名",
                                 f"the {en} {text} is one of the input files and will not be overwritten; "
                                 "choose another name")
    folder = _existing_parent(path)
    if not folder.is_dir():
        raise TowncoverError(f"无法写入 {text}:{folder} 不是文件夹", f"cannot write {text}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise TowncoverError(f"无法写入 {text}:没有写入 {folder} 的权限",
                             f"cannot write {text}: no permission to write in {folder}")
    return path


def _existing_parent(path: Path) -> Path:
    """The nearest ancestor of ``path`` that exists (a file there makes the path unwritable)."""
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False
