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
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd
import pyarrow as pa

from data.schema import migrate

log = logging.getLogger(__name__)
T = TypeVar("T")
_STOP = object()


class StoreClosed(RuntimeError):
    """The store was closed (the server is stopping): nothing more is read or written."""

    def __init__(self) -> None:
        super().__init__("database is closed")


# FORCE CHECKPOINT waits at most this long for running transactions, then is tried again later
FORCE_WAIT_S = 3.0
FORCE_RETRY_S = 30.0


def use_jemalloc_for_arrow() -> str:
    """Make jemalloc the allocator of every Arrow buffer in this process (unless
    ``ARROW_DEFAULT_MEMORY_POOL`` names another); returns the pool in use.

    Why: pyarrow's default, mimalloc, gave large buffers back to the system as soon as they were
    freed, so each bulk batch faulted its pages in again; that system time was a third of a bulk
    drop's CPU. With jemalloc, which keeps freed pages for a second, ``bench/ingest.py``'s bulk
    rose from 197,000-208,000 to 239,000-262,000 events/s on the same minutes, and its peak
    memory fell (docs/PERFORMANCE.md)."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return pa.default_memory_pool().backend_name
    # a pyarrow built without jemalloc keeps its default
    with contextlib.suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    return pa.default_memory_pool().backend_name


@contextlib.contextmanager
def registered(con, name: str, table) -> Iterator[None]:
    """``table`` (Arrow or pandas) readable by SQL on ``con`` as ``name`` while the block runs,
    and unregistered after it, also when it fails (a registration left behind keeps its table's
    memory and shadows the name for the connection's next user)."""
    con.register(name, table)
    try:
        yield
    finally:
        unregister(con, name)


def unregister(con, *names: str) -> None:
    """Drop the registrations ``names`` from ``con`` (the end of a ``try ... finally``).

    After a statement failed inside a transaction, DuckDB refuses an unregister until the
    rollback (``TransactionException``: the transaction is aborted), and that refusal raised from
    a ``finally`` hid the statement's own error (a feed's report said "transaction is aborted",
    not what failed). The rollback drops what was registered inside the transaction anyway, so
    the refusal is ignored."""
    for name in names:
        with contextlib.suppress(duckdb.TransactionException):
            con.unregister(name)


def read_arrow(con, sql: str, params: Sequence[Any] | dict | None = None) -> pa.Table:
    """The result of a parameterised SELECT on connection or cursor ``con`` as one Arrow table.

    Through a relation: a DB-API result (``con.execute(...).to_arrow_table()``) copies every row
    once more (0.17 s against 0.13 s for 306,810 rows). Not for statements with side effects
    (``UPDATE ... RETURNING``): a relation runs when it is read."""
    return con.sql(sql, params=params or None).to_arrow_table()


class Database:
    """One DuckDB file shared by the process's threads.

    ``path``: the database file (created with its folder when missing), or ``":memory:"``.
    ``memory_limit``: DuckDB's buffer-pool limit (for example ``"1GB"``; default: DuckDB's own,
    80 % of the machine). ``wal_limit_mb``: the write-ahead log is folded into the file (a
    checkpoint on the writer thread) before it reaches this size, also while readers are busy.
    ``checkpoint_interval_s``: a checkpoint at least this often while there are writes (0: only
    by size).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        wal_limit_mb: float = 64.0,
        checkpoint_interval_s: float = 60.0,
    ) -> None:
        # every process with a store (server, command line, benchmarks, tests) allocates alike;
        # set when a store opens, not when this module is imported
        use_jemalloc_for_arrow()
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.wal_path = Path(self.path + ".wal") if self.path != ":memory:" else None
        self.wal_limit_bytes = int(wal_limit_mb * 2**20)
        self.checkpoint_interval_s = checkpoint_interval_s
        config: dict[str, Any] = {
            # DuckDB's own checkpoint on commit; it is skipped while other transactions run,
            # so the writer also checkpoints by size and time (see _maybe_checkpoint). At three
            # quarters of the limit, where the writer's own is forced: DuckDB decides by its own
            # estimate of what a commit adds, and at a quarter (or a half) a bulk batch of
            # hotline cases, whose commit writes about 8 MB to the log, ran a checkpoint inside
            # its commit (about 0.9 s, a sixth of a drop's writer time; issue 12)
            "checkpoint_threshold": f"{max(1, int(wal_limit_mb * 3 / 4))}MB",
        }
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self._con = duckdb.connect(self.path, config=config)
        migrate(self._con)
        self._local = threading.local()
        # lookups in tables written once while the store is open (the areas: data.areas), kept
        # here so they live and die with the store
        self.memo: dict = {}
        # every live read cursor, closed at close (weak: a finished thread's cursor goes with it)
        self._cursors: weakref.WeakSet = weakref.WeakSet()
        self._cursor_lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._closed = False
        self.checkpoints = 0  # checkpoints done by the writer (by size, time, close or request)
        self.checkpoint_failures = 0
        self._writer = threading.Thread(target=self._write_loop, name="onegrid-writer", daemon=True)
        self._writer.start()

    # reads -----------------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's read cursor (created on first use).

        Read through :meth:`query`, :meth:`query_one` or :meth:`query_df`, which fetch the whole
        result: a result left half-read keeps its transaction open and blocks checkpoints.
        """
        if self._closed:  # this thread's cursor, if it has one, was closed with the store
            raise StoreClosed()
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._cursor_lock:
                if self._closed:
                    raise StoreClosed()
                cur = self._con.cursor()
                self._cursors.add(cur)
            self._local.cursor = cur
        return cur

    def query(self, sql: str, params: Sequence[Any] | dict | None = None) -> list[tuple]:
        """Run a parameterised read query; returns all rows."""
        return self.cursor().execute(sql, params or []).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] | dict | None = None) -> tuple | None:
        """Run a parameterised read query; returns its first row or None."""
        # fetch everything: fetchmany(1) left the result (and its transaction) open until the
        # thread's next query, and an open transaction makes every CHECKPOINT fail, so the WAL
        # grew without bound (issue 8)
        rows = self.cursor().execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    def query_records(
        self, sql: str, params: Sequence[Any] | dict | None = None
    ) -> list[dict[str, Any]]:
        """Run a parameterised read query; returns one dict per row (column name -> value).

        For small results read on every screen refresh: no DataFrame is built."""
        cur = self.cursor().execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def query_df(self, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        """Run a parameterised read query; returns a pandas DataFrame."""
        return self.cursor().execute(sql, params or []).df()

    def stream(
        self, sql: str, params: Sequence[Any] | dict | None = None, *, batch_rows: int = 10_000
    ) -> Iterator[Any]:
        """Run a parameterised read query and yield its result as Arrow record batches of at
        most ``batch_rows`` rows, for exports too large to hold in memory.

        The query runs on a cursor of its own (not the thread's), closed when the generator ends
        or is closed, so a half-read export never leaves the thread's cursor busy. While it is
        read its transaction stays open and holds back checkpoints: read it promptly.
        """
        with self._cursor_lock:
            if self._closed:
                raise StoreClosed()
            cur = self._con.cursor()
            self._cursors.add(cur)
        try:
            cur.execute("SET enable_progress_bar = false")  # no progress bar on stderr
            # a relation's Arrow reader streams (a DB-API result would copy every row first)
            reader = cur.sql(sql, params=params or None).to_arrow_reader(batch_rows)
            yield from reader
        finally:
            cur.close()

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
            raise StoreClosed()
        fut: Future = Future()
        self._queue.put((fn, fut, transaction))
        return fut

    def execute_write(self, sql: str, params: Sequence[Any] | dict | None = None) -> None:
        """Run one parameterised write statement through the writer."""
        self.write(lambda con: con.execute(sql, params or []))

    def _write_loop(self) -> None:
        con = self._con.cursor()
        self._last_checkpoint = time.monotonic()
        self._next_try = 0.0
        while True:
            try:
                item = self._queue.get(timeout=self._idle_wait())
            except queue.Empty:
                item = None
            if item is _STOP:
                # every write queued before close() has run (the queue is FIFO): fold the WAL
                self._checkpoint(con, force=True)
                con.close()
                return
            if item is not None:
                self._run(con, *item)
            self._maybe_checkpoint(con)

    @staticmethod
    def _run(con, fn, fut: Future, transaction: bool) -> None:
        if not fut.set_running_or_notify_cancel():
            return
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

    # checkpoints -----------------------------------------------------------------------------

    def wal_bytes(self) -> int:
        """The write-ahead log's size on disk (0 when there is none)."""
        try:
            return self.wal_path.stat().st_size if self.wal_path else 0
        except FileNotFoundError:
            return 0

    def _idle_wait(self) -> float | None:
        """How long the writer may wait for work before a checkpoint (timed or retried) is due."""
        if self.wal_path is None:
            return None
        due = [self._next_try] if self._next_try else []
        if self.checkpoint_interval_s > 0:
            due.append(self._last_checkpoint + self.checkpoint_interval_s)
        return max(0.05, min(due) - time.monotonic()) if due else None

    def _maybe_checkpoint(self, con) -> None:
        """Checkpoint when the WAL passes half its limit, or on the timer when it is not empty.

        A plain CHECKPOINT fails while another transaction runs (a reader mid-query); it is
        tried again a second later, and past three quarters of the limit FORCE CHECKPOINT waits
        for the running transactions instead (readers are short: each query is its own
        transaction), so the WAL stays under the limit.
        """
        now = time.monotonic()
        if self.wal_path is None or now < self._next_try:
            return
        size = self.wal_bytes()
        if size == 0:
            self._last_checkpoint = now
            return
        timed = self.checkpoint_interval_s > 0 and (
            now - self._last_checkpoint >= self.checkpoint_interval_s
        )
        if size >= self.wal_limit_bytes // 2 or timed:
            self._checkpoint(con, force=size >= self.wal_limit_bytes * 3 // 4)

    def _checkpoint(self, con, *, force: bool) -> bool:
        """One checkpoint on the writer's connection; returns whether it was done."""
        try:
            con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            self.checkpoint_failures += 1
            if not force:
                log.debug("checkpoint postponed: %s", exc)
                self._next_try = time.monotonic() + 1.0
                return False
            # FORCE waits for the running transactions; a transaction someone left open would
            # make it wait for ever and stop every write, so it is interrupted after a while
            timer = threading.Timer(FORCE_WAIT_S, con.interrupt)
            timer.start()
            try:
                con.execute("FORCE CHECKPOINT")
            except duckdb.Error as exc2:
                log.warning(
                    "checkpoint failed, WAL at %.1f MB (a read transaction left open?): %s",
                    self.wal_bytes() / 2**20,
                    exc2,
                )
                self._next_try = time.monotonic() + FORCE_RETRY_S
                return False
            finally:
                timer.cancel()
        self.checkpoints += 1
        self._last_checkpoint = time.monotonic()
        self._next_try = 0.0
        return True

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file now (waits for running readers)."""
        if not self.write(lambda con: self._checkpoint(con, force=True), transaction=False):
            raise RuntimeError("checkpoint failed")

    def close(self, timeout: float = 30.0) -> None:
        """Finish queued writes, checkpoint, stop the writer and close the file.

        Every read cursor is closed too, so DuckDB releases the file and removes the WAL.
        """
        with self._cursor_lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        self._writer.join(timeout=timeout)
        with self._cursor_lock:
            cursors, self._cursors = list(self._cursors), weakref.WeakSet()
        for cur in cursors:
            with contextlib.suppress(duckdb.Error):
                cur.close()
        self._con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
