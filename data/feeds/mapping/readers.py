"""Reading a publisher's file (csv, jsonl, json, parquet) as string frames plus ``_raw``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.events import is_storable_text, storable_text
from data.feeds.mapping.lookups import _join, _resolve_lookups
from data.feeds.mapping.spec import Mapping, MappingError

# --------------------------------------------------------------------------------------------
# Reading records
# --------------------------------------------------------------------------------------------


def data_files(mapping: Mapping, path: str | Path | Iterable[str | Path]) -> list[Path]:
    """The files ``path`` stands for: itself, a folder's files matching the mapping's ``files``
    glob (sorted), or each path of a list."""
    if isinstance(path, (str, Path)):
        p = Path(path)
        if p.is_dir():
            files = sorted(f for f in p.glob(mapping.spec.files or "*") if f.is_file())
            if not files:
                raise FileNotFoundError(f"no files matching {mapping.spec.files or '*'} in {p}")
            return files
        if not p.is_file():
            raise FileNotFoundError(f"data file {p} not found")
        return [p]
    return [Path(p) for p in path]


def _csv_line(frame: pd.DataFrame, delimiter: str, quote: str) -> pd.Series:
    """Re-serialise each row of a string frame as one CSV line (minimal quoting)."""
    special = f"[{re.escape(delimiter + quote)}\r\n]"
    parts = []
    for col in frame.columns:
        s = frame[col].fillna("")
        needs = s.str.contains(special, regex=True)
        if needs.any():
            s = s.where(~needs, quote + s.str.replace(quote, quote * 2, regex=False) + quote)
        parts.append(s)
    if not parts:
        return pd.Series("", index=frame.index, dtype="str")
    return parts[0].str.cat(parts[1:], sep=delimiter) if len(parts) > 1 else parts[0]


def _cell_text(v: Any) -> str:
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(v).isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not np.isfinite(v):
        return ""
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v, ensure_ascii=False, default=str)


def _records_frame(records: list[Any], raws: list[str], errors: list[str | None]) -> pd.DataFrame:
    rows = [r if isinstance(r, dict) else {} for r in records]
    cols: dict[str, None] = {}
    for r in rows:
        cols.update(dict.fromkeys(r))
    data = {c: [_cell_text(r.get(c)) for r in rows] for c in cols}
    try:
        frame = pd.DataFrame(data, index=range(len(rows)), dtype="str")
        frame["_raw"] = pd.Series(raws, dtype="str")
    except Exception:  # noqa: BLE001 - text Arrow cannot hold (lone surrogates): rare path
        frame, raws, errors = _escaped_records_frame(cols, data, raws, errors, len(rows))
    if any(e is not None for e in errors):
        frame["_reason"] = pd.Series(errors, dtype=object)
    return frame


def json_records_frame(
    records: list[Any], raws: list[str], errors: list[str | None]
) -> pd.DataFrame:
    """Parsed JSON records as the string frame a mapping reads (``_raw`` from ``raws``; a record
    with an entry in ``errors`` carries it as ``_reason``). For feeds that parse JSON themselves,
    such as MQTT payloads (data/feeds/mqtt.py)."""
    return _records_frame(records, raws, errors)


def _escaped_records_frame(cols, data, raws, errors, n):
    """Like _records_frame's fast path, with text UTF-8 cannot hold escaped and its record
    given a reason (so it is quarantined, not the whole file failed)."""
    errors = list(errors)
    bad_cols = [c for c in cols if not is_storable_text(c)]
    for c in bad_cols:  # a field name that is not text: its records cannot be read
        for i, v in enumerate(data.pop(c)):
            if v != "" and errors[i] is None:
                errors[i] = "a field name is not valid Unicode text (e.g. a lone surrogate)"
    for c, values in data.items():
        for i, v in enumerate(values):
            if not is_storable_text(v):
                values[i] = storable_text(v)
                if errors[i] is None:
                    errors[i] = (
                        f"{storable_text(c)} is not valid Unicode text (e.g. a lone surrogate)"
                    )
    frame = pd.DataFrame(data, index=range(n), dtype="str")
    raws = [storable_text(r) for r in raws]
    frame["_raw"] = pd.Series(raws, dtype="str")
    if any(e is not None for e in errors):
        frame["_reason"] = pd.Series(errors, dtype=object)
    return frame, raws, errors


def _read_jsonl(path: Path, encoding: str, chunksize: int | None) -> Iterator[pd.DataFrame]:
    with path.open(encoding=encoding, newline=None) as fh:
        records: list[Any] = []
        raws: list[str] = []
        errors: list[str | None] = []
        for line in fh:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                err = None if isinstance(rec, dict) else "JSON record is not an object"
            except json.JSONDecodeError as exc:
                rec, err = {}, f"unparseable JSON: {exc.msg}"
            records.append(rec)
            raws.append(line)
            errors.append(err)
            if chunksize and len(records) >= chunksize:
                yield _records_frame(records, raws, errors)
                records, raws, errors = [], [], []
        if records:
            yield _records_frame(records, raws, errors)


def _read_json(
    path: Path, encoding: str, records_path: str | None, chunksize: int | None
) -> Iterator[pd.DataFrame]:
    data = json.loads(path.read_text(encoding=encoding))
    for key in records_path.split(".") if records_path else []:
        if not isinstance(data, dict) or key not in data:
            raise MappingError(f"{path}: json.records_path {records_path!r} not found")
        data = data[key]
    if not isinstance(data, list):
        raise MappingError(f"{path}: expected a JSON list of records (set json.records_path)")
    step = even_chunk_rows(len(data), chunksize)
    for start in range(0, len(data), step):
        recs = data[start : start + step]
        raws = [json.dumps(r, ensure_ascii=False) for r in recs]
        errors = [None if isinstance(r, dict) else "JSON record is not an object" for r in recs]
        yield _records_frame(recs, raws, errors)


def even_chunk_rows(total: int, chunk_rows: int | None) -> int:
    """The chunk size that reads ``total`` rows in as few chunks of at most ``chunk_rows`` as a
    plain split does, all of about one size. A plain split's last chunk can be a few rows, and
    DuckDB writes an insert of fewer rows than a row group to the write-ahead log; with
    ``chunk_rows`` four row groups (``BULK_ROWS``), no chunk of a file of at least one row group
    is smaller than one. ``chunk_rows`` None: one chunk."""
    if chunk_rows is None or total <= chunk_rows:
        return max(1, total)
    chunks = -(-total // chunk_rows)
    return -(-total // chunks)


def _read_parquet(path: Path, chunksize: int | None) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(
        batch_size=even_chunk_rows(pf.metadata.num_rows, chunksize or 1_000_000)
    ):
        df = batch.to_pandas()
        raw = df.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
        out = pd.DataFrame(index=range(len(df)))
        for col in df.columns:
            vals = [_cell_text(v) for v in df[col].astype(object)]
            out[str(col)] = pd.Series(vals, dtype="str")
        out["_raw"] = pd.Series(raw.splitlines()[: len(df)], dtype="str")
        yield out


def _read_csv(mapping: Mapping, path: Path, chunksize: int | None) -> Iterator[pd.DataFrame]:
    opts = mapping.spec.csv
    reader = pd.read_csv(
        path,
        dtype="str",
        keep_default_na=False,
        na_filter=False,
        encoding=mapping.spec.encoding,
        sep=opts.delimiter,
        quotechar=opts.quotechar,
        chunksize=chunksize,
    )
    chunks = reader if chunksize else [reader]
    for chunk in chunks:
        chunk = chunk.reset_index(drop=True)
        chunk.columns = [str(c) for c in chunk.columns]
        if chunk.isna().to_numpy().any():
            chunk = chunk.fillna("")  # short rows: missing trailing fields
        chunk["_raw"] = _csv_line(chunk, opts.delimiter, opts.quotechar)
        yield chunk


def read_records(
    mapping: Mapping,
    path: str | Path | Iterable[str | Path],
    *,
    lookups: dict[str, str | Path | pd.DataFrame] | None = None,
    chunksize: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield the publisher's records as string frames (nothing coerced), plus ``_raw``.

    ``path`` is a file, a folder (files matching the mapping's ``files`` glob) or a list of files.
    Lookups (run-time ``lookups`` or the mapping's default ``file``) are joined in as
    ``<lookup>.<column>`` columns; a lookup that cannot be found is left for
    :func:`apply_mapping` to report.
    """
    for file in data_files(mapping, path):
        tables = _resolve_lookups(mapping, lookups, file.parent, required=False)
        fmt = mapping.format
        if fmt == "csv":
            chunks = _read_csv(mapping, file, chunksize)
        elif fmt == "jsonl":
            chunks = _read_jsonl(file, mapping.spec.encoding, chunksize)
        elif fmt == "json":
            chunks = _read_json(
                file, mapping.spec.encoding, mapping.spec.json_.records_path, chunksize
            )
        else:
            chunks = _read_parquet(file, chunksize)
        for chunk in chunks:
            if tables:
                chunk = _join(mapping, chunk, tables)
            yield chunk
