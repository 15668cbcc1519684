"""An event's search text as ingest computes it (Arrow, data/ingest.py) is the text the schema's
expression gives (``EVENT_SEARCH_SQL``: DuckDB's lower of the text and the attributes joined by a
line feed), which the migration, the archive's read-back and the search itself rely on: any
text, any case, nulls and empty texts included."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from data.ingest import Pipeline
from data.schema import EVENT_SEARCH_SQL

TEXTS = st.one_of(st.none(), st.text(max_size=12))
CASES = [
    (None, None),
    ("Heating OFF", None),
    (None, '{"Address": "胜利路12号"}'),
    ("", '{"a": 1}'),
    ("盗窃电动车", ""),
    ("ÄÖÜ ΣΑΣ Ǆ ẞ İ Ａ", '{"K": "Ⅻ"}'),
    ("第一行\n第二行", "{}"),
]


def _sql(rows: list[tuple[str | None, str | None]]) -> list[str | None]:
    table = pa.table(
        {
            "text": pa.array([r[0] for r in rows], pa.string()),
            "attributes": pa.array([r[1] for r in rows], pa.string()),
        }
    )
    con = duckdb.connect()
    con.register("rows", table)
    return [r[0] for r in con.execute(f"SELECT {EVENT_SEARCH_SQL} FROM rows").fetchall()]


def _arrow(rows: list[tuple[str | None, str | None]]) -> list[str | None]:
    text = pa.array([r[0] for r in rows], pa.string())
    attributes = pa.array([r[1] for r in rows], pa.string())
    return Pipeline._search_text(text, attributes).to_pylist()


def test_the_search_text_of_known_cases_is_the_schemas():
    assert _arrow(CASES) == _sql(CASES)
    assert _arrow(CASES)[:3] == ["", "heating off", '{"address": "胜利路12号"}']


@settings(max_examples=200, deadline=None, database=None)
@given(rows=st.lists(st.tuples(TEXTS, TEXTS), min_size=1, max_size=20))
def test_the_search_text_of_any_text_is_the_schemas(rows):
    assert _arrow(rows) == _sql(rows)
