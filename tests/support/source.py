"""Reading the repository's own source in tests."""

from __future__ import annotations

import ast
from pathlib import Path


def parse(path: Path) -> ast.Module:
    """The syntax tree of ``path``.

    CPython 3.11 before 3.11.9 keeps the AST converter's recursion counter in state shared by all
    threads (python/cpython gh-106905), so a parse racing another thread's parse (a test server
    still winding down) can fail with "SystemError: AST constructor recursion depth mismatch".
    That error says nothing about the file: parse again.
    """
    text = path.read_text(encoding="utf-8")
    for attempt in range(5):
        try:
            return ast.parse(text, filename=str(path))
        except SystemError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")
