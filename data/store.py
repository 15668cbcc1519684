"""The DuckDB store: a read cursor per thread, every write through one writer thread.

DuckDB allows one read-write process per file, so OneGrid is one process with threads. Reads use a
cursor per thread (each a connection to the same database, seeing committed data); every write is a
function sent to the single writer thread, which runs it inside a transaction and commits before
the caller is answered. A caller that gets a result back knows its data is durable (WAL), which is
what lets the ingest API acknowledge only what survives a crash.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from data.schema import migrate

log = logging.getLogger(__name__)
T = TypeVar("T")
_STOP = object()


class Database:
    """One DuckDB file shared by the process's threads.

    ``path``: the database file (created with its folder when missing), or ``":memory:"``.
    """

    def __init__(self, path: str | Path, *, threads: int | None = None) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        config = {"threads": threads} if threads else {}
        self._con = duckdb.connect(self.path, config=config)
        migrate(self._con)
        self._local = threading.local()
        self._queue: queue.Queue = queue.Queue()
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name="onegrid-writer", daemon=True)
        self._writer.start()

    # reads -----------------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's read cursor (created on first use)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            if self._closed:
                raise RuntimeError("database is closed")
            cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def query(self, sql: str, params: Sequence[Any] | dict | None = None) -> list[tuple]:
        """Run a parameterised read query; returns all rows."""
        return self.cursor().execute(sql, params or []).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] | dict | None = None) -> tuple | None:
        """Run a parameterised read query; returns its first row or None."""
        rows = self.cursor().execute(sql, params or []).fetchmany(1)
        return rows[0] if rows else None

    def query_df(self, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        """Run a parameterised read query; returns a pandas DataFrame."""
        return self.cursor().execute(sql, params or []).df()

    # writes ----------------------------------------------------------------------------------

    def write(self, fn: Callable[[duckdb.DuckDBPyConnection], T], *, transaction: bool = True) -> T:
        """Run ``fn(connection)`` on the writer thread inside one transaction and wait.

        The transaction is committed before this returns; an exception in ``fn`` rolls it back
        and is raised here. ``transaction=False`` runs ``fn`` bare (for CHECKPOINT and the like).
        """
        return self.submit(fn, transaction=transaction).result()

    def submit(
        self, fn: Callable[[duckdb.DuckDBPyConnection], T], *, transaction: bool = True
    ) -> Future:
        """Queue ``fn`` for the writer thread; returns a Future of its result (after commit)."""
        if self._closed:
            raise RuntimeError("database is closed")
        fut: Future = Future()
        self._queue.put((fn, fut, transaction))
        return fut

    def execute_write(self, sql: str, params: Sequence[Any] | dict | None = None) -> None:
        """Run one parameterised write statement through the writer."""
        self.write(lambda con: con.execute(sql, params or []))

    def _write_loop(self) -> None:
        con = self._con.cursor()
        while True:
            item = self._queue.get()
            if item is _STOP:
                con.close()
                return
            fn, fut, transaction = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                if transaction:
                    con.execute("BEGIN TRANSACTION")
                result = fn(con)
                if transaction:
                    con.execute("COMMIT")
            except BaseException as exc:  # the writer must survive any one bad write
                if transaction:
                    with contextlib.suppress(duckdb.Error):
                        con.execute("ROLLBACK")
                log.warning("write failed: %s", exc)
                fut.set_exception(exc)
            else:
                fut.set_result(result)

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file."""
        self.write(lambda con: con.execute("CHECKPOINT"), transaction=False)

    def close(self) -> None:
        """Finish queued writes, stop the writer and close the file."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._writer.join(timeout=30)
        self._con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
