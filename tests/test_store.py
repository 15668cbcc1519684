"""Database: migrations, one writer thread, a read cursor per thread, rollback on failure."""

from __future__ import annotations

import threading

import duckdb
import pyarrow as pa
import pytest

from data.schema import MIGRATIONS, current_version
from data.store import Database, read_arrow, registered


def test_migrations_apply_once(tmp_path):
    path = tmp_path / "a.duckdb"
    with Database(path) as db:
        assert db.query_one("SELECT max(version) FROM schema_version")[0] == MIGRATIONS[-1][0]
    with Database(path) as db:  # reopening applies nothing twice
        assert db.query_one("SELECT count(*) FROM schema_version")[0] == len(MIGRATIONS)
        assert current_version(db.cursor()) == MIGRATIONS[-1][0]


def test_writes_run_on_one_thread_and_commit_before_returning(tmp_path):
    with Database(tmp_path / "a.duckdb") as db:
        seen = set()

        def write(con, i):
            seen.add(threading.current_thread().name)
            con.execute("INSERT INTO meta VALUES (?, ?)", [f"k{i}", str(i)])

        threads = [
            threading.Thread(target=lambda i=i: db.write(lambda c: write(c, i))) for i in range(20)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == {"onegrid-writer"}
        assert db.query_one("SELECT count(*) FROM meta")[0] == 20


def test_failed_write_rolls_back_and_writer_survives(tmp_path):
    with Database(tmp_path / "a.duckdb") as db:

        def bad(con):
            con.execute("INSERT INTO meta VALUES ('a', '1')")
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            db.write(bad)
        assert db.query_one("SELECT count(*) FROM meta")[0] == 0
        db.execute_write("INSERT INTO meta VALUES ('b', '2')")
        assert db.query("SELECT key FROM meta") == [("b",)]


def test_a_registration_inside_a_failed_write_leaves_the_statements_error(tmp_path):
    with Database(tmp_path / "a.duckdb") as db:

        def bad(con):
            with registered(con, "rows", pa.table({"k": ["a"]})):
                con.execute("INSERT INTO meta SELECT k, v FROM rows").fetchall()  # no column v

        with pytest.raises(duckdb.BinderException, match='"v"'):
            db.write(bad)
        with pytest.raises(duckdb.CatalogException, match="rows"):
            db.write(lambda con: con.execute("SELECT * FROM rows").fetchall())
        assert db.query_one("SELECT count(*) FROM meta")[0] == 0


def test_each_thread_gets_its_own_cursor(tmp_path):
    with Database(tmp_path / "a.duckdb") as db:
        cursors = []
        t = threading.Thread(target=lambda: cursors.append(db.cursor()))
        t.start()
        t.join()
        assert cursors[0] is not db.cursor()
        assert db.cursor() is db.cursor()


def test_closed_database_refuses_work(tmp_path):
    db = Database(tmp_path / "a.duckdb")
    db.close()
    with pytest.raises(RuntimeError, match="closed"):
        db.write(lambda con: None)


def test_arrow_buffers_come_from_jemalloc_unless_the_environment_says_otherwise():
    """Every process with a store allocates Arrow buffers from jemalloc (pyarrow's mimalloc
    gave the pages of each bulk batch back and faulted them in again) once a store is open, not
    on importing the module; an operator's ARROW_DEFAULT_MEMORY_POOL still wins."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pyarrow as pa

    probe = (
        "import pyarrow as pa, data.store; before = pa.default_memory_pool().backend_name; "
        "data.store.Database(':memory:').close(); "
        "print(before, pa.default_memory_pool().backend_name)"
    )

    def pool(probe=probe, **env) -> str:
        environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
        out = subprocess.run(
            [sys.executable, "-c", probe],
            env=environ | env,
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    if "jemalloc" not in pa.supported_memory_backends():
        pytest.skip("this pyarrow was built without jemalloc")
    pyarrows_own = pool("import pyarrow as pa; print(pa.default_memory_pool().backend_name)")
    before, after = pool().split()
    assert before == pyarrows_own  # importing the module changes nothing
    assert after == "jemalloc"
    assert pool(ARROW_DEFAULT_MEMORY_POOL="system") == "system system"


def test_read_arrow_gives_a_selects_rows_with_either_kind_of_parameters(tmp_path):
    with Database(tmp_path / "r.duckdb") as db:
        db.write(lambda con: con.execute("CREATE TABLE t AS SELECT range AS i FROM range(10)"))
        cur = db.cursor()
        by_position = read_arrow(cur, "SELECT i FROM t WHERE i >= ? ORDER BY i", [7])
        by_name = read_arrow(cur, "SELECT i FROM t WHERE i < $n ORDER BY i", {"n": 2})
        everything = read_arrow(cur, "SELECT count(*) AS n FROM t")
    assert by_position.column("i").to_pylist() == [7, 8, 9]
    assert by_name.column("i").to_pylist() == [0, 1]
    assert everything.column("n").to_pylist() == [10]
