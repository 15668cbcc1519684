"""The thin layers: callbacks/ and layouts/ hold no SQL and touch no store directly (issue 9).

The import contracts (.importlinter) keep layouts away from the store and the queries; this test
reads the source for what imports cannot show: SQL text and direct calls on a database handle.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted([*(ROOT / "callbacks").glob("*.py"), *(ROOT / "layouts").glob("*.py")])
SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b")
# a call on the database handle itself (``rt.db.query_df(...)``, ``db.query_one(...)``); data/
# functions that take the handle (``audit.query(rt.db, ...)``) are the allowed way
STORE_CALL = re.compile(r"\bdb\.(query|query_df|query_one|execute)\(")


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_sql_and_no_store_calls(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not SQL.findall(text), f"SQL in {path.name}: it belongs in a data/ function"
    calls = STORE_CALL.findall(text)
    assert not calls, f"store calls in {path.name}: {calls}"
