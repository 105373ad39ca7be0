"""The layout stays readable: no module over 700 lines of code, no function over 100 (issue 13).

A line of code is a line holding a token other than a comment, a docstring or indentation; blank
lines, comments and docstrings do not count (what ``cloc`` calls code). A function's lines are the
lines of code between its ``def`` and its last line, nested functions included.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("geo", "facilities", "towncover")
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 100
_NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def _docstring_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def code_lines(text: str) -> set[int]:
    """Numbers of the lines of ``text`` (Python source) that hold code."""
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type not in _NOT_CODE:
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines - _docstring_lines(ast.parse(text))


def sizes(text: str) -> tuple[int, dict[str, int]]:
    """Lines of code of a module, and of each of its functions (``Class.method`` for methods)."""
    lines = code_lines(text)
    functions: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                end = child.end_lineno or child.lineno
                functions[prefix + child.name] = sum(1 for n in lines if child.lineno <= n <= end)
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(text), "")
    return len(lines), functions


MODULES = sorted(p for package in PACKAGES for p in (ROOT / package).glob("*.py"))


def test_the_counter_counts_code_only():
    text = '"""Doc\n\nstring."""\n\n# a comment\nimport os\n\n\ndef f(x):\n    """Doc."""\n    # why\n' \
           '    return (x +\n            1)\n'
    assert sizes(text) == (4, {"f": 3})


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_function_sizes(path):
    total, functions = sizes(path.read_text(encoding="utf-8"))
    assert total <= MAX_MODULE_LINES, f"{path.name}: {total} lines of code (limit {MAX_MODULE_LINES}); split it"
    long = {name: n for name, n in functions.items() if n > MAX_FUNCTION_LINES}
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines of code: {long}"
