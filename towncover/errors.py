"""The project's one exception type."""

from __future__ import annotations


class TowncoverError(Exception):
    """An input or request towncover cannot use, explained in Chinese and English.

    Parameters
    ----------
    message_zh : str
        What is wrong, in Chinese, for the planner.
    message_en : str
        The same in English.
    row : int or None
        1-based row number in the user's file, where one row is at fault.
    column : str or None
        The column (as headed in the user's file) at fault.
    """

    def __init__(
        self,
        message_zh: str,
        message_en: str,
        *,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message_zh = message_zh
        self.message_en = message_en
        self.row = row
        self.column = column
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line: Chinese, then English."""
        return f"{self.message_zh} / {self.message_en}"
