"""Facility categories (养老、殡葬、社区服务…) and the classifier that puts sheet rows into them.

The categories, their labels and synonyms live in ``data/categories.yaml``. Order matters: the first
category (top to bottom) whose synonyms occur in the text wins, so specific kinds are listed before
generic ones (区域养老服务中心 before 养老院, 殡仪服务站 before 殡仪馆).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from facilities.sheets import compact_text
from towncover import settings
from towncover.errors import TowncoverError
from towncover.files import YAML_LOADER

UNCLASSIFIED = "unclassified"
CATEGORIES_FILE = settings.DATA_DIR / "categories.yaml"
_UNCLASSIFIED_LABELS = {"zh": "未分类", "en": "Unclassified"}


@dataclass(frozen=True)
class Category:
    """One facility category.

    Attributes
    ----------
    id : str
        Stable identifier (``elderly_regional_centre``).
    label_zh, label_en : str
        Names shown to the user.
    synonyms : tuple of str
        Substrings that put a type or name into this category, most specific first.
    exclude : tuple of str
        Substrings that keep a text out of this category even if a synonym occurs.
    """

    id: str
    label_zh: str
    label_en: str
    synonyms: tuple[str, ...]
    exclude: tuple[str, ...] = ()


def _normalise_text(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def load_categories(path: str | Path | None = None) -> dict[str, Category]:
    """Read the category file.

    Parameters
    ----------
    path : str or Path, optional
        A categories YAML file; ``data/categories.yaml`` by default.

    Returns
    -------
    dict of str to Category
        In priority order (the order of the file).

    Raises
    ------
    TowncoverError
        If the file is missing, not YAML, or a category lacks an id, labels or synonyms.
    """
    path = Path(path) if path is not None else CATEGORIES_FILE
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)  # noqa: S506 - a safe loader
    except FileNotFoundError as exc:
        raise TowncoverError(f"找不到设施类别文件:{path}", f"Category file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise TowncoverError(
            f"设施类别文件不是有效的 YAML:{path}:{exc}", f"Category file is not valid YAML: {path}: {exc}"
        ) from exc
    items = raw.get("categories") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise TowncoverError(
            f"设施类别文件缺少 categories 列表:{path}", f"Category file has no 'categories' list: {path}"
        )
    out: dict[str, Category] = {}
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise TowncoverError(
                f"设施类别文件第 {i} 个类别不是键值表", f"Category #{i} is not a mapping", row=i
            )
        missing = [k for k in ("id", "label_zh", "label_en", "synonyms") if not item.get(k)]
        if missing:
            raise TowncoverError(
                f"设施类别第 {i} 个缺少字段:{', '.join(missing)}",
                f"Category #{i} lacks field(s): {', '.join(missing)}",
                row=i,
                column=missing[0],
            )
        cid = str(item["id"])
        if cid in out or cid == UNCLASSIFIED:
            raise TowncoverError(
                f"设施类别 id 重复或保留:{cid}",
                f"Category id repeated or reserved: {cid}",
                row=i,
                column="id",
            )
        out[cid] = Category(
            id=cid,
            label_zh=str(item["label_zh"]),
            label_en=str(item["label_en"]),
            synonyms=tuple(_normalise_text(str(s)) for s in item["synonyms"]),
            exclude=tuple(_normalise_text(str(s)) for s in item.get("exclude") or ()),
        )
    return out


@lru_cache(maxsize=1)
def _default_categories() -> dict[str, Category]:
    return load_categories()


CATEGORIES: dict[str, Category] = _default_categories()


def label(cat_id: str, lang: str = "zh") -> str:
    """The display name of a category.

    Parameters
    ----------
    cat_id : str
        A category id, or ``"unclassified"``.
    lang : {"zh", "en"}

    Returns
    -------
    str

    Raises
    ------
    TowncoverError
        For an unknown id or language.
    """
    if lang not in ("zh", "en"):
        raise TowncoverError(f"不支持的语言:{lang}", f"Unsupported language: {lang}")
    if cat_id == UNCLASSIFIED:
        return _UNCLASSIFIED_LABELS[lang]
    cat = CATEGORIES.get(cat_id)
    if cat is None:
        raise TowncoverError(f"未知的设施类别:{cat_id}", f"Unknown facility category: {cat_id}")
    return cat.label_zh if lang == "zh" else cat.label_en


def _normalise(values: pd.Series) -> pd.Series:
    # NFKC without whitespace (the same as .str.normalize("NFKC").str.replace(r"\s+", "", regex=True)).
    return compact_text(values.astype("string").fillna(""))


def _alternation(words: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first so the alternation never stops at a shorter prefix (irrelevant for a boolean test,
    # but it keeps the pattern deterministic).
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return re.compile("|".join(re.escape(w) for w in ordered))


@lru_cache(maxsize=8)
def _patterns(ids: tuple[str, ...]) -> list[tuple[str, re.Pattern[str], re.Pattern[str] | None]]:
    out = []
    for cid in ids:
        cat = CATEGORIES[cid]
        out.append((cid, _alternation(cat.synonyms), _alternation(cat.exclude) if cat.exclude else None))
    return out


def _classify_text(text: pd.Series, categories: dict[str, Category] | None) -> np.ndarray:
    """Category id per value (first category in priority order whose synonyms match), or ''."""
    result = np.full(len(text), "", dtype=object)
    if categories is None:
        patterns = _patterns(tuple(CATEGORIES))
    else:
        patterns = [
            (c.id, _alternation(c.synonyms), _alternation(c.exclude) if c.exclude else None)
            for c in categories.values()
        ]
    # Each distinct text once; each category tried only on the texts no earlier category took.
    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    distinct = pd.Series(uniques, dtype=text.dtype)
    found = np.full(len(distinct), "", dtype=object)
    open_ = np.flatnonzero(distinct.str.len().to_numpy() > 0)
    for cid, include, exclude in patterns:
        if not len(open_):
            break
        candidates = distinct.iloc[open_]
        hit = candidates.str.contains(include, regex=True).to_numpy(dtype=bool)
        if exclude is not None and hit.any():
            hit &= ~candidates.str.contains(exclude, regex=True).to_numpy(dtype=bool)
        found[open_[hit]] = cid
        open_ = open_[~hit]
    result[:] = found[codes]
    return result


def classify(
    types: pd.Series | None,
    names: pd.Series | None,
    *,
    categories: dict[str, Category] | None = None,
) -> pd.Series:
    """Put each facility into a category: the 类型 (type) value decides, failing it the name.

    Parameters
    ----------
    types : pandas.Series or None
        The sheet's type column (类型/机构类型), or None when the sheet has none.
    names : pandas.Series or None
        The facility names (机构名称), or None.
    categories : dict, optional
        Categories to use instead of ``data/categories.yaml`` (in priority order).

    Returns
    -------
    pandas.Series
        Category id per row, ``"unclassified"`` when neither the type nor the name fits; same index
        as the input (string dtype).

    Raises
    ------
    TowncoverError
        If both inputs are None or the two have different lengths.

    Examples
    --------
    >>> classify(pd.Series(["", "殡仪馆"]), pd.Series(["石羊镇区域养老服务中心", "龙台镇殡仪服务站"])).tolist()
    ['elderly_regional_centre', 'funeral_home']
    """
    given = types if types is not None else names
    if given is None:
        raise TowncoverError("分类需要类型列或名称列", "Classification needs a type or a name column")
    if types is not None and names is not None and len(types) != len(names):
        raise TowncoverError(
            f"类型列({len(types)} 行)与名称列({len(names)} 行)行数不同",
            f"Type column ({len(types)} rows) and name column ({len(names)} rows) differ in length",
        )
    index = given.index
    out = np.full(len(index), "", dtype=object)
    if types is not None:
        out = _classify_text(_normalise(types), categories)
    if names is not None:
        undecided = out == ""
        if undecided.any():
            # Only the rows the type left open are read by name.
            out[undecided] = _classify_text(_normalise(names[undecided]), categories)
    out = np.where(out == "", UNCLASSIFIED, out)
    return pd.Series(out, index=index, dtype="string", name="category")
