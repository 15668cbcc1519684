"""Feed connectors: HTTP pull and folder drop, both ending in ``Pipeline.ingest_frame``.

``HttpPullFeed`` polls a URL on a daemon thread and asks only for what is new (a ``since`` query
parameter holding the newest event time already ingested, kept in the store so a restart resumes).
``FolderDropFeed`` ingests files dropped in a folder, then moves each to ``done/`` or ``failed/``
with a ``<name>.report.json`` next to it.

Records arrive either in the canonical shape (docs/ARCHITECTURE.md, like the push API) or in a
publisher's own shape described by a field mapping (data/feeds/mapping.py). Nothing is dropped
silently: a record that cannot be an event reaches the pipeline with a ``_reason`` and is
quarantined there. Feed-level failures (HTTP errors, unreadable files) are counted with
``Pipeline.record_error`` so they show in the feed's health.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import requests

from data.catalogue import DEFAULT_CATALOGUE, Catalogue
from data.events import MAX_FUTURE, MIN_TIME, STRING, is_storable_text, storable_text
from data.feeds.mapping import Mapping, MappingError, load_mapping, map_file
from data.feeds.mapping.readers import even_chunk_rows
from data.ingest import BULK_ROWS, IngestResult, Pipeline
from data.periodic import Periodic
from data.settings import FolderFeed, PullFeed
from data.store import Database, StoreClosed

log = logging.getLogger(__name__)

# Rows per pipeline call: big enough to stay vectorised and to skip the write-ahead log (see
# BULK_ROWS), small enough to bound memory per commit.
CHUNK_ROWS = BULK_ROWS
HTTP_TIMEOUT_S = 30.0
DROP_SUFFIXES = (".csv", ".jsonl", ".json", ".parquet")
# Writers write under a temporary name and rename when done; these names are never complete files.
INCOMPLETE_SUFFIXES = (".tmp", ".part")
REQUIRED_COLUMNS = ("id", "time", "lon", "lat", "category")
NAIVE_TIME_REASON = "time needs a UTC offset, e.g. 2026-11-26T08:00:00+08:00"
# An ISO time string ends with Z or a +HH:MM / +HHMM / +HH offset when it is unambiguous.
_OFFSET_RE = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"

CURSOR_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS feed_cursors "
    "(feed VARCHAR PRIMARY KEY, cursor VARCHAR, updated_at TIMESTAMPTZ)"
)


class FeedFileError(ValueError):
    """A file or body that cannot be read as records; its text names no content of the file."""


class DropRefused(FeedFileError):
    """A dropped file the folder feed will not open (a link, or not a plain file of the folder)."""


def public_error(exc: BaseException) -> str:
    """The text of a feed failure that may be shown to users (feed health, drop reports).

    Library exceptions may quote what they failed to read (a header line, a value, a row), and a
    dropped file may be a link to a secret: only our own messages, which never quote file
    contents, and fixed descriptions of common failures are shown. The server log gets the rest
    at DEBUG level.
    """
    if isinstance(exc, FeedFileError):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, MappingError):
        return f"MappingError: {exc.public}"
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid {exc.encoding} text (byte {exc.start})"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    if isinstance(exc, requests.RequestException):
        # status, reason and URL come from the configuration and the server, not the body
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, StoreClosed):
        return "the store was closed (the server is stopping) before these rows were stored"
    if isinstance(exc, duckdb.Error):
        # the file was read; the store refused or failed the write (a full disk, say): the
        # message may quote a value, so it goes to the server log only
        return f"{type(exc).__name__} while storing the rows (the details are in the server log)"
    return f"{type(exc).__name__} while reading (the file's contents are not shown)"


# --------------------------------------------------------------------------------------------
# Canonical records (no mapping)
# --------------------------------------------------------------------------------------------


def _flag(frame: pd.DataFrame, mask: np.ndarray, reason: str) -> None:
    """Set ``_reason`` where ``mask`` and no earlier reason (the first reason wins)."""
    if "_reason" not in frame:
        frame["_reason"] = pd.Series(None, index=frame.index, dtype=object)
    take = mask & frame["_reason"].isna().to_numpy()
    frame.loc[take, "_reason"] = reason


def canonical_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Prepare a frame of canonical-shaped records for the pipeline.

    Flags ISO time strings without a UTC offset, which the push API refuses too (a naive time
    read as UTC would be hours off). A quarantined row is kept as it came: the pipeline
    serialises the rows it quarantines, not every row up front.
    """
    out = frame.reset_index(drop=True).copy()
    if "time" in out and not isinstance(out["time"].dtype, pd.DatetimeTZDtype):
        try:
            text = out["time"].astype("str").str.strip()
        except Exception:  # noqa: BLE001 - text Arrow cannot hold (lone surrogates): escape it
            text = out["time"].map(lambda v: storable_text(str(v))).astype("str").str.strip()
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        naive = parsed.notna() & ~text.str.contains(_OFFSET_RE, regex=True).fillna(False)
        _flag(out, naive.to_numpy(dtype=bool), NAIVE_TIME_REASON)
    return out


def records_frame(records: list[Any]) -> pd.DataFrame:
    """Canonical-shaped JSON records (dicts) as a frame; a non-object record gets a reason."""
    rows = [r if isinstance(r, dict) else {} for r in records]
    bad_keys = None
    try:
        frame = pd.DataFrame.from_records(rows, index=range(len(rows))) if rows else pd.DataFrame()
    except Exception:  # noqa: BLE001 - text Arrow cannot hold (lone surrogates): keep objects
        # the pipeline escapes such values and quarantines their record with a reason; a field
        # name that cannot be text cannot be a column: that record is quarantined here
        bad_keys = np.array([not all(map(is_storable_text, r)) for r in rows], dtype=bool)
        rows = [{} if bad else r for r, bad in zip(rows, bad_keys, strict=True)]
        frame = pd.DataFrame(rows, index=range(len(rows)), dtype=object)
    # object dtype: the raw text may hold what Arrow strings cannot (it is escaped if quarantined)
    frame["_raw"] = pd.Series(
        [json.dumps(r, ensure_ascii=False, default=str) for r in records],
        index=frame.index,
        dtype=object,
    )
    bad = np.array([not isinstance(r, dict) for r in records], dtype=bool)
    _flag(frame, bad, "JSON record is not an object")
    if bad_keys is not None:
        _flag(frame, bad_keys, "a field name is not valid Unicode text (e.g. a lone surrogate)")
    return canonical_rows(frame)


def json_records(data: Any) -> list[Any]:
    """The records of a JSON document: a list, or ``{"events": [...]}`` like the push API."""
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        return data["events"]
    if isinstance(data, list):
        return data
    raise FeedFileError('expected a JSON list of events or an object {"events": [...]}')


def _check_columns(frame: pd.DataFrame, origin: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        # the file's own header is its content: say how many columns it has, never what they are
        raise FeedFileError(
            f"{origin}: columns {missing} missing; a file without a mapping must hold the "
            f"canonical columns {', '.join(REQUIRED_COLUMNS)} (the file has "
            f"{len(frame.columns)} column(s))"
        )


def _csv_chunks(source: str | io.StringIO | Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    reader = pd.read_csv(source, dtype="str", keep_default_na=False, chunksize=chunk_rows)
    for chunk in reader:
        _check_columns(chunk, "CSV")
        # an empty field is a missing value, so validation names it (e.g. "missing coordinates")
        yield canonical_rows(chunk.mask(chunk == ""))


def _jsonl_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    records: list[Any] = []
    errors: list[tuple[int, str, str]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                errors.append((len(records), line.rstrip("\r\n"), f"unparseable JSON: {exc.msg}"))
                records.append({})
            if len(records) >= chunk_rows:
                yield _with_line_errors(records, errors)
                records, errors = [], []
    if records:
        yield _with_line_errors(records, errors)


def _with_line_errors(records: list[Any], errors: list[tuple[int, str, str]]) -> pd.DataFrame:
    frame = records_frame(records)
    for i, line, reason in errors:
        frame.loc[i, "_raw"] = line
        frame.loc[i, "_reason"] = reason
    return frame


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    size = even_chunk_rows(file.metadata.num_rows, chunk_rows)
    for batch in file.iter_batches(batch_size=size):
        # text stays in Arrow (the pipeline's own string type): made into Python strings and
        # back, it was most of the drop thread's time on a Parquet file
        chunk = batch.to_pandas(types_mapper=_ARROW_TEXT.get)
        _check_columns(chunk, "parquet")
        yield canonical_rows(chunk)


_ARROW_TEXT = {pa.string(): STRING, pa.large_string(): STRING}


def canonical_file_chunks(
    path: Path, chunk_rows: int = CHUNK_ROWS, suffix: str | None = None
) -> Iterator[pd.DataFrame]:
    """Read a canonical-shaped file (csv, jsonl, json, parquet) in chunks of ``chunk_rows``.

    ``suffix`` gives the type when ``path`` has none (a ``/proc/self/fd`` path)."""
    suffix = (suffix or path.suffix).lower()
    if suffix == ".csv":
        yield from _csv_chunks(path, chunk_rows)
    elif suffix == ".jsonl":
        yield from _jsonl_chunks(path, chunk_rows)
    elif suffix == ".json":
        try:
            records = json_records(json.loads(path.read_text(encoding="utf-8")))
        except RecursionError:
            raise FeedFileError("JSON nested too deeply to read") from None
        size = even_chunk_rows(len(records), chunk_rows)
        for start in range(0, len(records), size):
            yield records_frame(records[start : start + size])
    elif suffix == ".parquet":
        yield from _parquet_chunks(path, chunk_rows)
    else:
        raise ValueError(f"unsupported file type {suffix!r}")


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def mapping_lookups(mapping: Mapping) -> dict[str, Path]:
    """Default lookup files of ``mapping`` resolved next to the mapping file.

    The mapping module resolves a relative ``file`` against the data file's folder; for a pull
    feed or a drop folder that is a temporary or shared folder, so look next to the mapping.
    """
    out: dict[str, Path] = {}
    if mapping.path is None:
        return out
    for name, spec in mapping.spec.lookups.items():
        if spec.file and not Path(spec.file).is_absolute():
            candidate = mapping.path.parent / spec.file
            if candidate.is_file():
                out[name] = candidate
    return out


def newest_time(frame: pd.DataFrame, now: pd.Timestamp) -> pd.Timestamp | None:
    """The newest plausible event time of ``frame`` (rows without a reason), or None.

    Future times (clock errors) are left out: a cursor past them would skip real events.
    """
    t = frame["time"] if "time" in frame else pd.Series([], dtype="datetime64[us, UTC]")
    if not isinstance(t.dtype, pd.DatetimeTZDtype):
        t = pd.to_datetime(t, errors="coerce", utc=True, format="ISO8601")
    ok = t.notna() & (t >= MIN_TIME) & (t <= now + MAX_FUTURE)
    if "_reason" in frame:
        ok &= frame["_reason"].isna()
    return t[ok].max() if ok.any() else None


def _parts(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """``frame`` in pipeline batches of at most CHUNK_ROWS rows."""
    for start in range(0, len(frame), CHUNK_ROWS):
        yield frame.iloc[start : start + CHUNK_ROWS]


def ingest_chunks(
    pipeline: Pipeline, source: str, frames: Iterable[pd.DataFrame], feed: str
) -> tuple[IngestResult, pd.Timestamp | None, int]:
    """Ingest each frame; returns the summed result, the newest event time and the row count.

    The next chunk is read and prepared while the last one commits (``Pipeline.ingest_frames``):
    a big file's reading and checking no longer waits for the writer, nor the writer for them."""
    newest: pd.Timestamp | None = None
    rows = 0

    def parts():
        nonlocal newest, rows
        for frame in frames:
            for part in _parts(frame):
                rows += len(part)
                yield source, part
            t = newest_time(frame, pd.Timestamp.now(tz="UTC"))
            if t is not None and (newest is None or t > newest):
                newest = t

    total = pipeline.ingest_frames(parts(), feed=feed)
    return total, newest, rows


def _load(
    mapping: str | None, source: str | None, what: str, catalogue: Catalogue = DEFAULT_CATALOGUE
) -> Mapping | None:
    """Load a feed's mapping and check it agrees with the configured source (one of
    ``catalogue``'s)."""
    if source is not None and source not in catalogue.categories:
        raise ValueError(f"{what}: {catalogue.unknown(source)}")
    if not mapping:
        return None
    m = load_mapping(mapping, catalogue)
    if source is not None and m.source != source:
        raise ValueError(f"{what}: mapping {m.name!r} is for {m.source}, the feed says {source}")
    return m


class _Poller(Periodic):
    """A feed's polling thread: the first poll runs at once, then every ``interval_s``."""

    name: str
    step_at_start = True

    @property
    def thread_name(self) -> str:  # type: ignore[override]
        return f"feed-{self.name}"

    def step(self) -> None:
        self._tick()

    def _tick(self) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# HTTP pull
# --------------------------------------------------------------------------------------------


def format_since(t: pd.Timestamp) -> str:
    """ISO 8601 UTC text of a cursor, e.g. ``2026-11-26T08:00:00.250000Z``."""
    return t.tz_convert("UTC").isoformat().replace("+00:00", "Z")


class HttpPullFeed(_Poller):
    """Poll ``spec.url`` every ``spec.interval_s`` and ingest what it returns.

    The body is JSON (a list of canonical records or ``{"events": [...]}``) or CSV with canonical
    columns; with ``spec.mapping`` it is read as the mapping's format and mapped. The newest event
    time ingested is sent back as ``spec.since_param`` and kept in the ``feed_cursors`` table.
    Failures are counted with ``pipeline.record_error`` and retried at the next interval.
    """

    def __init__(
        self,
        spec: PullFeed,
        pipeline: Pipeline,
        db: Database,
        *,
        timeout: float = HTTP_TIMEOUT_S,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.name = spec.name
        self.interval_s = spec.interval_s
        self.pipeline = pipeline
        self.db = db
        self.timeout = timeout
        self.mapping = _load(
            spec.mapping, spec.source, f"pull feed {spec.name!r}", pipeline.catalogue
        )
        self._session = requests.Session()
        db.write(lambda con: con.execute(CURSOR_TABLE_SQL))
        self.cursor = self._load_cursor()

    def _load_cursor(self) -> pd.Timestamp | None:
        row = self.db.query_one("SELECT cursor FROM feed_cursors WHERE feed = ?", [self.name])
        return pd.Timestamp(row[0]).tz_convert("UTC") if row and row[0] else None

    def _save_cursor(self, t: pd.Timestamp) -> None:
        self.db.execute_write(
            "INSERT INTO feed_cursors VALUES (?, ?, now()) ON CONFLICT (feed) DO UPDATE SET "
            "cursor = excluded.cursor, updated_at = excluded.updated_at",
            [self.name, format_since(t)],
        )
        self.cursor = t

    def poll_once(self) -> IngestResult | None:
        """Fetch and ingest once; returns the counts, or None after a counted error."""
        try:
            body = self._fetch()
            result, newest, _ = ingest_chunks(
                self.pipeline, self.spec.source, self._frames(body), self.name
            )
        except Exception as exc:  # any failure of one poll is the feed's error, not the app's
            self._error(exc)
            return None
        # advance only after the commit, so a crash re-fetches instead of losing events
        if newest is not None and (self.cursor is None or newest > self.cursor):
            self._save_cursor(newest)
        return result

    def _tick(self) -> None:
        self.poll_once()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling and close the HTTP session."""
        super().stop(timeout)
        self._session.close()

    def _error(self, exc: Exception) -> None:
        msg = f"pull {self.name}: {public_error(exc)}"
        log.warning(msg)
        log.debug("pull %s failed", self.name, exc_info=exc)
        try:
            self.pipeline.record_error(self.spec.source, msg)
        except Exception:  # the store may be closing; logging is all that is left
            log.exception("feed %s: could not record the error", self.name)

    def _fetch(self) -> bytes:
        params = {}
        if self.spec.since_param and self.cursor is not None:
            params[self.spec.since_param] = format_since(self.cursor)
        resp = self._session.get(self.spec.url, params=params, timeout=self.timeout)
        resp.raise_for_status()
        return resp.content

    def _frames(self, body: bytes) -> Iterator[pd.DataFrame]:
        if self.mapping is not None:
            return self._mapped_frames(body)
        if self.spec.format == "csv":
            return _csv_chunks(io.StringIO(body.decode("utf-8-sig")), CHUNK_ROWS)
        return iter([records_frame(json_records(json.loads(body)))])

    def _mapped_frames(self, body: bytes) -> Iterator[pd.DataFrame]:
        # the mapping reads files (encoding, records_path, CSV options): hand it the body as one
        m = self.mapping
        assert m is not None
        with tempfile.TemporaryDirectory(prefix="onegrid-pull-") as tmp:
            path = Path(tmp) / f"body.{m.format}"
            path.write_bytes(body)
            yield from map_file(m, path, lookups=mapping_lookups(m), chunksize=CHUNK_ROWS)


# --------------------------------------------------------------------------------------------
# Folder drop
# --------------------------------------------------------------------------------------------


def is_complete_drop(path: Path) -> bool:
    """True for a finished data file: a known type, not hidden, not a temporary name.

    A symbolic link with such a name counts too (without following it), so that the feed
    refuses it and moves it aside instead of leaving it to be looked at again and again."""
    name = path.name
    if name.startswith(".") or name.endswith(INCOMPLETE_SUFFIXES):
        return False
    if not (path.is_symlink() or path.is_file()):
        return False
    return path.suffix.lower() in DROP_SUFFIXES


def open_drop(folder: Path, path: Path) -> int:
    """Open a dropped file for reading, refusing anything but a plain file of ``folder``.

    Refused (``DropRefused``): a symbolic link (even one pointing inside the folder: a drop is
    a file, not a pointer), a path that resolves outside ``folder``, anything that is not a
    regular file, and a file with other hard links (another name for a file elsewhere). The
    file is opened with ``O_NOFOLLOW`` and checked on the open descriptor, so swapping the
    name for a link after the check does not help. Returns the descriptor (the caller closes).
    """
    if path.is_symlink():
        raise DropRefused("refused: the file is a symbolic link")
    if path.resolve().parent != folder.resolve():
        raise DropRefused("refused: the file resolves outside the drop folder")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DropRefused(f"refused: cannot open the file ({exc.strerror})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        what = "not a regular file" if not stat.S_ISREG(st.st_mode) else "has other hard links"
        raise DropRefused(f"refused: the file {what}")
    return fd


def _fd_path(fd: int, path: Path) -> Path:
    """A path that reads exactly the open file ``fd`` (Linux ``/proc``), else ``path``."""
    proc = Path(f"/proc/self/fd/{fd}")
    return proc if proc.exists() else path


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``stem-1.ext``... when a file of that name was dropped before."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 1
    while target.exists() or Path(f"{target}.report.json").exists():
        target = folder / f"{stem}-{n}{suffix}"
        n += 1
    return target


@dataclass
class _FileRun:
    """One dropped file on its way through the pipeline: what its report will say."""

    path: Path
    started: pd.Timestamp
    t0: float
    source: str | None = None
    rows: int = 0
    result: IngestResult = field(default_factory=IngestResult)
    error: str | None = None
    # when the next file started: this file's rows were received before
    until: pd.Timestamp | None = None


class FolderDropFeed(_Poller):
    """Ingest files dropped in ``spec.path``; move each to ``done/`` or ``failed/`` with a report.

    The source is the mapping's (``spec.mapping``), else a file-name prefix ``<source>__``, else
    ``spec.source``. Writers must write under a temporary name (``.x.csv``, ``x.csv.part``,
    ``x.tmp``) and rename when complete.
    """

    def __init__(self, spec: FolderFeed, pipeline: Pipeline) -> None:
        super().__init__()
        self.spec = spec
        self.name = spec.name
        self.interval_s = spec.interval_s
        self.pipeline = pipeline
        self.folder = Path(spec.path)
        self.mapping = _load(
            spec.mapping, spec.source, f"folder feed {spec.name!r}", pipeline.catalogue
        )
        self.folder.mkdir(parents=True, exist_ok=True)

    def _tick(self) -> None:
        self.scan_once()

    def pending(self) -> list[Path]:
        """Complete files waiting in the folder, oldest first."""
        files = [p for p in self.folder.iterdir() if is_complete_drop(p)]
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    def scan_once(self) -> list[dict]:
        """Ingest every pending file once, oldest first; returns their reports.

        The files are one stream through the pipeline (``Pipeline.ingest_stream``): the next
        file is read and checked while the last one's rows commit, and each file is moved and
        reported once all of its rows are committed."""
        return self._ingest(self.pending())

    def source_for(self, path: Path) -> str:
        """The source a file's events belong to (see the class docstring)."""
        if self.mapping is not None:
            return self.mapping.source
        prefix, sep, _ = path.name.partition("__")
        ids = self.pipeline.catalogue.ids
        if sep and prefix in ids:
            return prefix
        if self.spec.source:
            return self.spec.source
        raise FeedFileError(
            f"cannot tell the source of {path.name}: name it <source>__{path.name} "
            f"(source one of {', '.join(ids)}) or set source / mapping in the feed settings"
        )

    def _frames(self, path: Path, read_as: Path) -> Iterator[pd.DataFrame]:
        if self.mapping is not None:
            lookups = mapping_lookups(self.mapping)
            return map_file(self.mapping, read_as, lookups=lookups, chunksize=CHUNK_ROWS)
        return canonical_file_chunks(read_as, CHUNK_ROWS, suffix=path.suffix)

    def ingest_file(self, path: Path) -> dict:
        """Ingest one file, move it to done/ or failed/ and write its report; returns the report.

        Links and files that are not plain files of the folder are refused unread (failed/)."""
        return self._ingest([path])[0]

    def _ingest(self, paths: list[Path]) -> list[dict]:
        reports = []
        stream = self.pipeline.ingest_stream(self._batches(paths), feed=self.name)
        for run, outcome in stream:
            if outcome is None:  # the file's end: every row of it is committed
                reports.append(self._report(run))
            elif isinstance(outcome, BaseException):
                self._fail(run, outcome)
            else:
                run.result += outcome
        return reports

    def _batches(self, paths: list[Path]):
        """(run, source, chunk) of each file in turn, then (run, None, None) at its end."""
        last: _FileRun | None = None
        for path in paths:
            run = _FileRun(path, pd.Timestamp.now(tz="UTC").floor("us"), time.monotonic())
            if last is not None:  # the last file's rows were all received before this started
                last.until = run.started
            last = run
            fd = None
            try:
                run.source = self.source_for(path)
                fd = open_drop(self.folder, path)
                for frame in self._frames(path, _fd_path(fd, path)):
                    for part in _parts(frame):
                        if run.error is not None:  # a chunk failed: the rest is not read
                            break
                        run.rows += len(part)
                        yield run, run.source, part
                    if run.error is not None:
                        break
            except Exception as exc:  # an unreadable file goes to failed/, the feed carries on
                self._fail(run, exc)
            finally:
                if fd is not None:
                    os.close(fd)
            yield run, None, None

    def _fail(self, run: _FileRun, exc: BaseException) -> None:
        if run.error is not None:
            return
        run.error = public_error(exc)
        log.debug("folder %s: %s failed", self.name, run.path.name, exc_info=exc)
        self._error(run.source or self.spec.source, run.path, run.error)

    def _report(self, run: _FileRun) -> dict:
        """Write the file's report and move it to done/ or failed/; returns the report."""
        report: dict[str, Any] = {
            "file": run.path.name,
            "feed": self.name,
            "status": "failed" if run.error else "done",
        }
        if run.source is not None:
            report["source"] = run.source
            report["mapping"] = self.mapping.name if self.mapping else None
        report.update(self._counts(run.result, run.rows, run.started, run.error, run.until))
        report["seconds"] = round(time.monotonic() - run.t0, 3)
        report["finished_at"] = pd.Timestamp.now(tz="UTC").isoformat()
        self._finish(run.path, report)
        return report

    def _counts(
        self, result: IngestResult, rows: int, started, error: str | None, until=None
    ) -> dict:
        return {
            "rows": rows,
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "quarantined": result.quarantined,
            # rows of a file that failed part-way may already be committed: say so
            "partial": bool(error and rows),
            "quarantine_reasons": self._reasons(started, until) if result.quarantined else {},
            "errors": result.errors,
            "error": error,
            "started_at": started.isoformat(),
        }

    def _reasons(self, since: pd.Timestamp, until: pd.Timestamp | None) -> dict[str, int]:
        # this feed's thread is the only writer of its quarantine rows, and a file's rows are
        # received from its start until the next file's start: that span is this file
        until_sql = " AND received_at < ?" if until is not None else ""
        params = [self.name, since.to_pydatetime()]
        if until is not None:
            params.append(until.to_pydatetime())
        rows = self.pipeline.db.query(
            "SELECT reason, count(*) FROM quarantine WHERE feed = ? AND received_at >= ?"
            f"{until_sql} GROUP BY reason ORDER BY count(*) DESC, reason",
            params,
        )
        return {reason: int(n) for reason, n in rows}

    def _error(self, source: str | None, path: Path, error: str) -> None:
        msg = f"folder {self.name}: {path.name}: {error}"
        log.warning(msg)
        if source:
            try:
                self.pipeline.record_error(source, msg)
            except Exception:
                log.exception("feed %s: could not record the error", self.name)

    def _finish(self, path: Path, report: dict) -> None:
        folder = self.folder / report["status"]
        folder.mkdir(exist_ok=True)
        target = _free_name(folder, path.name)
        shutil.move(str(path), target)
        report["moved_to"] = str(target)
        text = storable_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        Path(f"{target}.report.json").write_text(text, encoding="utf-8")
