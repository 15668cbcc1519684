"""The event archive: history older than a configured age, moved out of DuckDB into Parquet.

Layout (Hive-style, what DuckDB, Spark and Trino all read as partitions)::

    <archive dir>/date=YYYY-MM-DD/source=police/part-<uuid>.parquet

``date`` is the UTC date of ``event_time``; the files hold every ``events`` column except the
partition column ``source``, sorted by event time. The 5-minute rollups (``cell_counts``) stay in
the database, so the wall, KPIs and warnings never read the archive.

One move is (at most ``archive_rows_per_move`` events of) one day of one source, on the store's
single writer, in one transaction:

1. the day's rows are read, written to a hidden ``.part-<uuid>.parquet.<random>.tmp`` in the partition folder,
   fsynced and renamed to ``part-<uuid>.parquet`` (the folder is fsynced too);
2. the rows are deleted from ``events`` and the file is recorded in ``archive_parts``;
3. the transaction commits.

A crash before 3 leaves a file that no ``archive_parts`` row names, while its rows are still in
the database. Readers only ever open the files ``archive_parts`` names (never a glob), so such a
file is invisible, and :meth:`Archive.reconcile` at the next start deletes it once it has checked
that every row in it is still in the database (a file holding rows the database lacks is set
aside in ``_unrecorded/`` instead, never deleted). Nothing is lost and nothing is counted twice.

Reads: :func:`events_relation` gives the SQL relation "events in [since, until)": the ``events``
table alone when no archived day falls in the period, else ``events UNION ALL`` the archived
files of those days. Run it and the query that uses it inside :func:`snapshot`, so the list of
files and the table are seen at one instant (a move committing in between can neither hide nor
double a day).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import duckdb
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data.dedupe import keys
from data.files import fsync_dir, replacing
from data.periodic import Periodic
from data.schema import EVENT_ID_HASH_SQL, EVENT_SEARCH_SQL
from data.store import Database, registered
from data.times import utc, utc_now

log = logging.getLogger(__name__)

# The events table's columns and types, in table order (tests/test_archive.py checks them against
# the schema). Archived files hold all but ``source``, which is the partition folder's.
EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "VARCHAR"),
    ("source_event_id", "VARCHAR"),
    ("category", "VARCHAR"),
    ("severity", "TINYINT"),
    ("value", "DOUBLE"),
    ("event_time", "TIMESTAMPTZ"),
    ("received_at", "TIMESTAMPTZ"),
    ("lon", "DOUBLE"),
    ("lat", "DOUBLE"),
    ("cell_key", "INTEGER"),
    ("community_key", "INTEGER"),
    ("township_key", "INTEGER"),
    ("county_key", "INTEGER"),
    ("city_key", "INTEGER"),
    ("text", "VARCHAR"),
    ("attributes", "JSON"),
    ("feed", "VARCHAR"),
    ("case_id", "BIGINT"),
    ("status", "VARCHAR"),
    ("search", "VARCHAR"),
    ("id_hash", "INTEGER"),
)
# derived columns: not written to the files (a file stays what it was before the column existed,
# so old and new files read alike), computed again when the files are read
_DERIVED = {"search": EVENT_SEARCH_SQL, "id_hash": EVENT_ID_HASH_SQL}
_NAMES = ", ".join(name for name, _ in EVENT_COLUMNS)
# what a file holds: JSON as plain text, so every Parquet reader sees a string column
FILE_COLUMNS = ", ".join(
    f"{name}::VARCHAR AS {name}" if typ == "JSON" else name
    for name, typ in EVENT_COLUMNS
    if name != "source" and name not in _DERIVED
)
# the archived side of the union, cast back to the table's types
_ARCHIVED_COLUMNS = ", ".join(
    f"{_DERIVED[name]} AS {name}" if name in _DERIVED else f"{name}::{typ} AS {name}"
    for name, typ in EVENT_COLUMNS
)
# source names become folder names: only the vocabulary's plain words
_SOURCE_RE = re.compile(r"^[a-z0-9_]+$")
# part names: part-<uuid>.parquet (hex, or with dashes as DuckDB's COPY ... PARTITION_BY names them)
PART_RE = re.compile(
    r"^date=(\d{4}-\d{2}-\d{2})/source=([a-z0-9_]+)/part-[0-9a-f-]{32,36}\.parquet$"
)
META_KEY = "archive_dir"
# the youngest age an archived event can have (archive_after_days is 0 or at least 1)
MIN_AFTER = pd.Timedelta(days=1)
UNRECORDED = "_unrecorded"


class ArchiveError(RuntimeError):
    """A move that cannot be done safely (it is rolled back; nothing is lost)."""


# --- reads --------------------------------------------------------------------------------------

_local = threading.local()


@contextlib.contextmanager
def snapshot(db: Database) -> Iterator[None]:
    """Run this thread's reads on ``db`` inside one read transaction (one consistent snapshot).

    Nested uses share the outer transaction. Keep the body short: an open transaction holds back
    checkpoints (see data/store.py).
    """
    depth = getattr(_local, "depth", 0)
    if depth:
        _local.depth = depth + 1
        try:
            yield
        finally:
            _local.depth = depth
        return
    cur = db.cursor()
    cur.execute("BEGIN TRANSACTION")
    _local.depth = 1
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            cur.execute("ROLLBACK")
        raise
    else:
        cur.execute("COMMIT")
    finally:
        _local.depth = 0


def _day(ts: pd.Timestamp) -> dt.date:
    return utc(ts).date()


def _day_conds(since: pd.Timestamp | None, until: pd.Timestamp | None) -> tuple[str, list]:
    """An archive_parts condition for the days overlapping [since, until), and its parameters."""
    conds, params = [], []
    if since is not None:
        conds.append("day >= ?")
        params.append(_day(since))
    if until is not None:
        # [since, until): a period ending at midnight does not reach into that day
        conds.append("day <= ?")
        params.append(_day(utc(until) - pd.Timedelta(microseconds=1)))
    return " AND ".join(conds) or "TRUE", params


def events_relation(
    db: Database, since: pd.Timestamp | None = None, until: pd.Timestamp | None = None
) -> tuple[str, list]:
    """The SQL relation of the events whose time may fall in [since, until), and its parameters.

    ``events`` alone (no parameters) when no archived day overlaps the period, which is always
    the case for the live windows; else a parenthesised ``events UNION ALL read_parquet(...)``
    over exactly the archived files of the overlapping days (their paths are one parameter; they
    come from ``archive_parts``, never from the caller). The caller still filters by time. Put
    the relation's parameters before the query's own (the relation sits in its FROM clause), and
    run both this and the query inside :func:`snapshot`.
    """
    where, params = _day_conds(since, until)
    row = db.query_one(
        f"SELECT (SELECT value FROM meta WHERE key = ?), list(path ORDER BY path)"
        f" FROM archive_parts WHERE {where}",
        [META_KEY, *params],
    )
    root, paths = row if row else (None, None)
    if not paths:
        return "events", []
    if root is None:
        raise ArchiveError("archived parts are recorded but the archive folder is not")
    files = [str(Path(root) / p) for p in paths]
    sql = (
        f"(SELECT {_NAMES} FROM events UNION ALL SELECT {_ARCHIVED_COLUMNS}"
        " FROM read_parquet(?::VARCHAR[], hive_partitioning = true,"
        " hive_types = {'date': DATE, 'source': VARCHAR}))"
    )
    return sql, [files]


def may_be_archived(table) -> bool:
    """Whether ``table`` (an Arrow batch of new events) holds events old enough for their day to
    be archived: archived days end at least MIN_AFTER ago, so a live batch needs no look-up."""
    if table.num_rows == 0:
        return False
    lo = pc.min(table["event_time"]).as_py()
    return lo < dt.datetime.now(dt.UTC) - MIN_AFTER.to_pytimedelta()


def drop_archived(con: duckdb.DuckDBPyConnection, source: str, table):
    """``table`` (an Arrow batch of new events of ``source``) without the events already archived.

    De-duplication for the ingest pipeline's write transaction (``con`` is the writer's): the
    look-up among stored events only knows the events still in the database, so an event re-sent
    after its day moved to the archive would be stored, and counted, twice. Only the archived
    files of ``source`` for the batch's days are read, so a live batch costs one small lookup;
    a key is an id on one UTC day (:mod:`data.dedupe`), as in the database.
    """
    if not may_be_archived(table):
        return table
    times = pc.min_max(table["event_time"])
    lo, hi = times["min"].as_py(), times["max"].as_py()
    row = con.execute(
        "SELECT (SELECT value FROM meta WHERE key = ?), list(path) FROM archive_parts"
        " WHERE source = ? AND day >= timezone('UTC', ?::TIMESTAMPTZ)::DATE"
        " AND day <= timezone('UTC', ?::TIMESTAMPTZ)::DATE",
        [META_KEY, source, lo, hi],
    ).fetchall()[0]
    root, paths = row
    if not paths:
        return table
    ids = table["source_event_id"]
    # the ids' archived rows with their times: a key is an id on one UTC day (data.dedupe), so
    # an id archived on another day of the batch's span is not this event
    seen = con.execute(
        "SELECT DISTINCT ? AS source, source_event_id, event_time FROM read_parquet(?::VARCHAR[])"
        " WHERE source_event_id IN (SELECT unnest(?::VARCHAR[]))",
        [source, [str(Path(root) / p) for p in paths], ids.to_pylist()],
    ).to_arrow_table()
    if not seen.num_rows:
        return table
    return table.filter(pc.invert(pc.is_in(keys(table), value_set=keys(seen))))


def newest_time(
    db: Database, since: pd.Timestamp | None = None, until: pd.Timestamp | None = None
) -> pd.Timestamp | None:
    """The newest archived event time on the archived days overlapping [since, until), or None."""
    conds, params = _day_conds(since, until)
    row = db.query_one(f"SELECT max(max_time) FROM archive_parts WHERE {conds}", params)
    return None if row is None or row[0] is None else utc(row[0])


def parts(db: Database) -> pd.DataFrame:
    """Every recorded archive file: path, day, source, rows, min/max time, bytes, sha256."""
    return db.query_df("SELECT * FROM archive_parts ORDER BY day, source, path")


# --- the archive folder -------------------------------------------------------------------------


def default_dir(db_path: str | Path) -> Path:
    """Where the archive lives by default: ``archive/`` beside the database file."""
    return Path(db_path).resolve().parent / "archive"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_part(table, path: Path) -> tuple[int, str]:
    """Write an Arrow ``table`` as Parquet at ``path``, atomically; returns (bytes, sha256).

    Written to a hidden temporary name in the same folder (readers and Spark skip names starting
    with a dot), fsynced, renamed over ``path``, and the folder fsynced
    (:func:`data.files.replacing`), so after a crash the file is either whole or absent.
    """
    new_dirs, d = [], path.parent
    while not d.exists():
        new_dirs.append(d)
        d = d.parent
    with replacing(path) as f:
        pq.write_table(table, f, compression="zstd")
    for d in new_dirs:  # a new partition folder's entry must survive a crash too
        fsync_dir(d.parent)
    return path.stat().st_size, _sha256(path)


class Archive:
    """The archive of one store: moves old events out, checks the folder at start.

    ``root``: the archive folder (a setting, see :func:`default_dir`). ``after_days``: events
    older than this many days (whole UTC days) are moved; 0 moves nothing. ``after_file_written``:
    called with the file's path between writing it and committing the move (the crash tests
    stop the process there). ``rows_per_move``: the most rows one transaction moves (a bigger
    day and source becomes several files): DuckDB removes each deleted row's primary-key entry
    at commit, 50-80 µs a row on a busy 2-core machine, and other writes wait meanwhile.
    """

    def __init__(
        self,
        db: Database,
        root: str | Path,
        *,
        after_days: float,
        rows_per_move: int = 10_000,
        after_file_written: Callable[[Path], None] | None = None,
    ) -> None:
        self.db = db
        self.root = Path(root).resolve()
        self.after_days = float(after_days or 0)
        self.rows_per_move = max(1, int(rows_per_move))
        if 0 < self.after_days < MIN_AFTER / pd.Timedelta(days=1):
            raise ValueError(f"archive after {after_days} days: must be 0 (off) or at least 1")
        self._after_file_written = after_file_written
        root_text = str(self.root)
        # queries find the folder through the database (archive_parts paths are relative to it)
        db.write(
            lambda con: con.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value",
                [META_KEY, root_text],
            )
        )

    # -- moving ----------------------------------------------------------------------------------

    def cutoff(self, now: pd.Timestamp | None = None) -> pd.Timestamp | None:
        """The first instant kept in the database: UTC midnight ``after_days`` before ``now``."""
        if self.after_days <= 0:
            return None
        return (utc_now(now) - pd.Timedelta(days=self.after_days)).floor("D")

    def due(self, now: pd.Timestamp | None = None) -> list[tuple[dt.date, str]]:
        """The (UTC day, source) pairs with events older than the cutoff, oldest first."""
        cutoff = self.cutoff(now)
        if cutoff is None:
            return []
        rows = self.db.query(
            "SELECT DISTINCT timezone('UTC', event_time)::DATE AS day, source FROM events"
            " WHERE event_time < ? ORDER BY day, source",
            [cutoff.to_pydatetime()],
        )
        return [(r[0], r[1]) for r in rows]

    def run(
        self, now: pd.Timestamp | None = None, *, stop: threading.Event | None = None
    ) -> list[dict]:
        """Move every due day and source, one transaction each; returns the parts written.

        Between two moves other writes and every read go on (each move is a short transaction
        on the single writer). ``stop``: checked between moves.
        """
        moved = []
        for day, source in self.due(now):
            while not (stop is not None and stop.is_set()):
                part = self.move(day, source)
                if part is None:
                    break
                moved.append(part)
        if moved:
            log.info(
                "archived %d events in %d files (%s to %s)",
                sum(p["rows"] for p in moved),
                len(moved),
                moved[0]["day"],
                moved[-1]["day"],
            )
        return moved

    def move(self, day: dt.date, source: str) -> dict | None:
        """Move the oldest ``rows_per_move`` events (whole event times) of one UTC day of one
        source from ``events`` into a new archive file; call again until it returns None.

        Returns the recorded part (None when there was nothing to move). On any failure the
        transaction is rolled back and the file, if written, removed: the rows stay in the
        database.
        """
        if not _SOURCE_RE.match(source):
            raise ArchiveError(f"source {source!r} cannot name an archive folder")
        rel = PurePosixPath(
            f"date={day.isoformat()}/source={source}/part-{uuid.uuid4().hex}.parquet"
        )
        path = self.root / rel
        start = pd.Timestamp(day, tz="UTC")
        bounds = [source, start.to_pydatetime(), (start + pd.Timedelta(days=1)).to_pydatetime()]
        where = "source = ? AND event_time >= ? AND event_time < ?"

        def fn(con: duckdb.DuckDBPyConnection) -> dict | None:
            cond, params = where, list(bounds)
            last = con.execute(
                f"SELECT event_time FROM events WHERE {where} ORDER BY event_time LIMIT 1 OFFSET ?",
                [*bounds, self.rows_per_move - 1],
            ).fetchall()
            if last:  # more than one move's worth: up to this event time, inclusive
                cond, params = f"{where} AND event_time <= ?", [*bounds, last[0][0]]
            table = con.sql(
                f"SELECT {FILE_COLUMNS} FROM events WHERE {cond}"
                " ORDER BY event_time, source_event_id",
                params=params,
            ).to_arrow_table()
            if table.num_rows == 0:
                return None
            nbytes, digest = write_part(table, path)
            if self._after_file_written is not None:
                self._after_file_written(path)
            deleted = con.execute(f"DELETE FROM events WHERE {cond}", params).fetchall()[0][0]
            if deleted != table.num_rows:  # cannot happen with one writer; never lose a row
                raise ArchiveError(f"{rel}: wrote {table.num_rows} rows but would delete {deleted}")
            times = pc.min_max(table["event_time"])
            part = {
                "path": str(rel),
                "day": day,
                "source": source,
                "rows": table.num_rows,
                "min_time": times["min"].as_py(),
                "max_time": times["max"].as_py(),
                "bytes": nbytes,
                "sha256": digest,
                "moved_at": utc_now().to_pydatetime(),
            }
            con.execute(
                f"INSERT INTO archive_parts ({', '.join(part)}) VALUES"
                f" ({', '.join('?' for _ in part)})",
                list(part.values()),
            )
            return part

        try:
            return self.db.write(fn)
        except BaseException:
            self._discard_unrecorded(rel)
            raise

    def _discard_unrecorded(self, rel: PurePosixPath) -> None:
        """Remove a file whose move did not commit (checked against archive_parts first)."""
        path = self.root / rel
        if not path.exists():
            return
        if self.db.query_one("SELECT 1 FROM archive_parts WHERE path = ?", [str(rel)]):
            return
        path.unlink()
        log.warning("archive move of %s did not commit; its file was removed", rel)

    def adopt(self) -> list[dict]:
        """Record the part files that a bulk tool wrote straight into the folder; returns them.

        For archives built outside the archiver (``bench/wall.py --archive-older-than-days``, a
        migration from another system): the files must follow the layout and hold the archived
        columns, and their events must not also be in ``events``. Call it before the archiver
        or :meth:`reconcile` runs (reconcile treats unrecorded files as the leftovers of a crash).
        """
        recorded = {r[0] for r in self.db.query("SELECT path FROM archive_parts")}
        new = {}
        for path in sorted(self.root.glob("date=*/source=*/part-*.parquet")):
            rel = path.relative_to(self.root).as_posix()
            if rel not in recorded and (m := PART_RE.match(rel)):
                new[str(path)] = (rel, dt.date.fromisoformat(m.group(1)), m.group(2), path)
        if not new:
            return []
        stats = self.db.query(
            "SELECT filename, count(*), min(event_time), max(event_time)"
            " FROM read_parquet(?::VARCHAR[], filename = true, hive_partitioning = false)"
            " GROUP BY filename",
            [list(new)],
        )
        moved_at = utc_now().to_pydatetime()
        rows = []
        for filename, n, t0, t1 in stats:
            rel, day, source, path = new[filename]
            rows.append(
                {
                    "path": rel,
                    "day": day,
                    "source": source,
                    "rows": int(n),
                    "min_time": t0,
                    "max_time": t1,
                    "bytes": path.stat().st_size,
                    "sha256": _sha256(path),
                    "moved_at": moved_at,
                }
            )
        frame = pd.DataFrame(rows)

        def record(con: duckdb.DuckDBPyConnection) -> None:
            with registered(con, "adopted_parts", frame):
                con.execute("INSERT INTO archive_parts BY NAME SELECT * FROM adopted_parts")

        self.db.write(record)
        return rows

    # -- the check at start ----------------------------------------------------------------------

    def reconcile(self) -> dict[str, list[str]]:
        """Make the folder agree with ``archive_parts`` after a crash; call before any move.

        * temporary files (a crash while writing) are deleted;
        * a part file no row names (a crash between writing it and committing the move) is
          deleted when every row in it is still in ``events``, else moved aside to
          ``_unrecorded/`` and reported (never deleted);
        * a recorded file that is missing or has changed size is reported (logged as an error).

        Returns the relative paths per outcome: ``removed``, ``set_aside``, ``missing``,
        ``changed``.
        """
        out: dict[str, list[str]] = {"removed": [], "set_aside": [], "missing": [], "changed": []}
        recorded = {r[0]: int(r[1]) for r in self.db.query("SELECT path, bytes FROM archive_parts")}
        if self.root.is_dir():
            for tmp in self.root.glob("date=*/source=*/.part-*.tmp"):
                tmp.unlink()
                out["removed"].append(tmp.relative_to(self.root).as_posix())
            for path in sorted(self.root.glob("date=*/source=*/part-*.parquet")):
                rel = path.relative_to(self.root).as_posix()
                if rel in recorded:
                    continue
                m = PART_RE.match(rel)
                if m and self._all_in_database(path, m.group(2)):
                    path.unlink()
                    out["removed"].append(rel)
                else:
                    aside = self.root / UNRECORDED / rel
                    aside.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(path, aside)
                    out["set_aside"].append(rel)
                    log.error(
                        "archive file %s is not recorded and holds rows the database lacks;"
                        " moved to %s",
                        rel,
                        aside,
                    )
        for rel, nbytes in recorded.items():
            path = self.root / rel
            if not path.is_file():
                out["missing"].append(rel)
            elif path.stat().st_size != nbytes:
                out["changed"].append(rel)
        if out["missing"] or out["changed"]:
            log.error(
                "archive %s: recorded files missing %s, changed %s",
                self.root,
                out["missing"],
                out["changed"],
            )
        if out["removed"]:
            log.info("archive: removed %d files of moves that did not commit", len(out["removed"]))
        return out

    def _all_in_database(self, path: Path, source: str) -> bool:
        """True when every row of the file ``path`` is still in ``events``."""
        row = self.db.query_one(
            "SELECT count(*) FROM read_parquet(?) p WHERE NOT EXISTS (SELECT 1 FROM events e"
            " WHERE e.source = ? AND e.source_event_id = p.source_event_id)",
            [str(path), source],
        )
        return row is not None and row[0] == 0


def from_settings(db: Database, settings) -> Archive:
    """The store's archive as the settings describe it (folder checked against the database)."""
    root = settings.archive_dir or default_dir(settings.db)
    archive = Archive(
        db,
        root,
        after_days=settings.archive_after_days or 0,
        rows_per_move=settings.archive_rows_per_move,
    )
    archive.reconcile()
    return archive


class ArchiveScheduler(Periodic):
    """Moves due days to the archive every ``interval_s`` seconds (see :meth:`Archive.run`)."""

    thread_name = "onegrid-archiver"

    def __init__(self, archive: Archive, interval_s: float) -> None:
        super().__init__()
        self.archive = archive
        self.interval_s = interval_s

    def step(self) -> None:
        """Move every day that has come due (stops between two moves when asked to)."""
        self.archive.run(stop=self._stop)
