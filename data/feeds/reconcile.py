"""Reconciliation of a publisher file: where every row read went, and a dry run that writes nothing.

One :class:`Reconciliation` is filled row by row and always adds up::

    rows read = accepted + duplicates + quarantined (by reason) + outside region

``python app.py check-mapping`` fills it without a store (:func:`check_mapping`: the mapping, the
ingest pipeline's own validation (:func:`data.events.validate_frame`) and placement
(:class:`data.placement.Placer`), nothing opened for writing); ``python app.py replay`` fills it
from the frames it hands to the pipeline and then settles it with the pipeline's committed counts
(:meth:`Reconciliation.settle`), so both print the same table from the same counting code.

Each reason keeps its first three examples: the row number in the file and the publisher's fields
the reason is about (e.g. the coordinates for "missing coordinates").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from data.events import normalise_frame, validate_frame
from data.feeds.mapping import Mapping, apply_mapping, load_mapping, read_records
from data.feeds.mapping.readers import data_files
from data.placement import OUTSIDE, Placer

# the pipeline's reason for a valid event no cell holds (data.ingest.OUTSIDE_REASON); kept here
# as text so the dry run does not import the writer
OUTSIDE_REASON = "outside region"
DUPLICATE = "duplicate id"
EXAMPLES = 3


def reason_kind(reason: str) -> str:
    """A reason without the value it quotes ("unmapped category 'X'" -> "unmapped category"),
    so rows failing the same rule are counted together."""
    return str(reason).split(" '", 1)[0]


def is_location_reason(reason: object) -> bool:
    """Whether ``reason`` says only that a row cannot be put on the map (no, bad or (0, 0)
    coordinates, or outside the region)."""
    if not isinstance(reason, str):
        return False
    return reason == OUTSIDE_REASON or reason_kind(reason) in (
        "missing coordinates",
        "unparseable coordinates",
        "coordinates (0, 0)",
        "coordinates (0, 0) are a missing location",
        "coordinates out of range",
    )


@dataclass
class Example:
    """One row behind a count: its file, row number (1 = first data row) and telling fields."""

    file: str
    row: int
    fields: dict[str, str]
    reason: str

    def as_dict(self) -> dict:
        """JSON form."""
        return {"file": self.file, "row": self.row, "fields": self.fields, "reason": self.reason}


@dataclass
class Reconciliation:
    """Where the rows of one file (or folder) went. ``duplicates_checked`` says against what
    duplicates were detected; ``notes`` hold anything the reader must know to trust the numbers."""

    mapping: str = ""
    source: str = ""
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    outside: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[Example]] = field(default_factory=dict)
    duplicates_checked: str = "within the file"
    notes: list[str] = field(default_factory=list)
    # keep the rows whose only fault is where they are (hotline requests are cases all the same)
    keep_unplaced: bool = False
    unplaced: list[pd.DataFrame] = field(default_factory=list, repr=False)
    _seen: set = field(default_factory=set, repr=False)

    @property
    def quarantined_total(self) -> int:
        """Rows quarantined for a reason other than lying outside the region."""
        return sum(self.quarantined.values())

    def adds_up(self) -> bool:
        """rows read == accepted + duplicates + quarantined + outside region."""
        total = self.accepted + self.duplicates + self.quarantined_total + self.outside
        return total == self.rows_read

    def add(
        self,
        frame: pd.DataFrame,
        reasons: np.ndarray,
        describe,
        *,
        stored=None,
    ) -> np.ndarray:
        """Count one mapped frame. ``reasons``: per row None (a valid, placed event), a reason,
        or ``OUTSIDE_REASON``. ``describe(i, reason) -> Example`` gives row ``i``'s example.
        ``stored(ids) -> set`` names ids already in a store (read-only), if one is checked.

        Like the pipeline, only valid rows are de-duplicated (an invalid record does not make a
        later valid one with its id a duplicate). Returns the per-row outcome: None (accepted),
        ``DUPLICATE`` or the reason."""
        n = len(frame)
        self.rows_read += n
        out = np.asarray(reasons, dtype=object).copy()
        ok = pd.isna(out)
        idx = np.flatnonzero(ok)
        if len(idx):
            ids = frame["id"].iloc[idx].reset_index(drop=True)
            seen = self._seen
            # a set lookup per id: pandas' isin would rebuild a table of every id seen so far
            earlier = np.fromiter((k in seen for k in ids), dtype=bool, count=len(ids))
            dup = ids.duplicated(keep="first") | earlier
            if stored is not None:
                dup |= ids.isin(stored(ids.tolist()))
            out[idx[dup.to_numpy()]] = DUPLICATE
            self._seen.update(ids[~dup].tolist())
        # one pass per distinct reason (a file can have millions of rows outside the region)
        bad = np.flatnonzero(~pd.isna(out))
        shown_rows = pd.Series(out[bad], dtype=object)
        kind_of = {
            r: r if r in (DUPLICATE, OUTSIDE_REASON) else reason_kind(r)
            for r in pd.unique(shown_rows)
        }
        kinds = shown_rows.map(kind_of)
        for kind, rows in kinds.groupby(kinds, sort=False).groups.items():
            count = len(rows)
            if kind == DUPLICATE:
                self.duplicates += count
            elif kind == OUTSIDE_REASON:
                self.outside += count
            else:
                self.quarantined[kind] = self.quarantined.get(kind, 0) + count
            shown = self.examples.setdefault(kind, [])
            for j in list(rows[: EXAMPLES - len(shown)]):
                i = int(bad[j])
                shown.append(describe(i, str(out[i])))
        self.accepted += int(pd.isna(out).sum())
        if self.keep_unplaced:
            where = np.fromiter((is_location_reason(r) for r in out), dtype=bool, count=n)
            if where.any():
                self.unplaced.append(frame.loc[where].reset_index(drop=True))
        return out

    def settle(self, accepted: int, quarantined: int) -> None:
        """Reconcile with what a pipeline really committed (the replay): valid rows the store
        did not take were already stored (the pipeline's duplicates against the database)."""
        extra = self.accepted - accepted
        if extra > 0:
            self.accepted -= extra
            self.duplicates += extra
            self.duplicates_checked = "within the file and against the store (by the pipeline)"
        elif extra < 0:
            self.notes.append(f"the pipeline accepted {-extra} more rows than this count")
        if quarantined != self.quarantined_total + self.outside:
            self.notes.append(
                f"the pipeline quarantined {quarantined} rows, this count "
                f"{self.quarantined_total + self.outside} (a time check depends on the clock)"
            )

    def as_dict(self) -> dict:
        """JSON form (``check-mapping --json``)."""
        return {
            "mapping": self.mapping,
            "source": self.source,
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined_total,
            "quarantined_by_reason": dict(sorted(self.quarantined.items(), key=lambda kv: -kv[1])),
            "outside_region": self.outside,
            "adds_up": self.adds_up(),
            "duplicates_checked": self.duplicates_checked,
            "examples": {k: [e.as_dict() for e in v] for k, v in self.examples.items()},
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        """The human-readable table (English, like the other commands' output)."""
        out = [f"rows read        {self.rows_read:>9}"]

        def block(label: str, n: int, kind: str | None, indent: str = "  ") -> None:
            out.append(f"{indent}{label:<{16 - len(indent)}}{n:>9}")
            for e in self.examples.get(kind or "", []):
                fields = ", ".join(f"{k}={v!r}" for k, v in e.fields.items())
                out.append(f"{indent}    row {e.row} of {e.file}: {fields}")

        block("accepted", self.accepted, None)
        block("duplicates", self.duplicates, DUPLICATE)
        out.append(f"  {'quarantined':<14}{self.quarantined_total:>9}")
        for kind, n in sorted(self.quarantined.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"    {n:>9}  {kind}")
            for e in self.examples.get(kind, []):
                fields = ", ".join(f"{k}={v!r}" for k, v in e.fields.items())
                out.append(f"               row {e.row} of {e.file}: {fields}")
        block("outside region", self.outside, OUTSIDE_REASON)
        sums = (
            f"{self.accepted} + {self.duplicates} + {self.quarantined_total} + {self.outside}"
            f" = {self.accepted + self.duplicates + self.quarantined_total + self.outside}"
        )
        verdict = "adds up" if self.adds_up() else "DOES NOT ADD UP"
        out.append(f"check: {sums} of {self.rows_read} rows read ({verdict})")
        out.append(f"duplicates checked {self.duplicates_checked}")
        out.extend(f"note: {n}" for n in self.notes)
        return out


# --------------------------------------------------------------------------------------------
# Reading through a mapping, with each row's origin
# --------------------------------------------------------------------------------------------


@dataclass
class MappedChunk:
    """A chunk of one file: the publisher's records (``raw``), the mapped frame, and the file
    row number of ``raw``'s first record."""

    file: Path
    raw: pd.DataFrame
    frame: pd.DataFrame
    first_row: int

    def describe(self, mapping: Mapping, i: int, reason: str) -> Example:
        """Example for mapped row ``i``: the publisher fields the reason is about."""
        melt = mapping.spec.melt
        wide = i // len(melt.columns) if melt else i
        cols = _fields_for(mapping, reason)
        fields: dict[str, str] = {}
        for col in cols:
            if melt and col in (melt.var_name, melt.value_name):
                col = list(melt.columns)[i % len(melt.columns)]
            if col in self.raw.columns and col not in fields:
                fields[col] = str(self.raw[col].iloc[wide])
        return Example(self.file.name, self.first_row + wide, fields, reason)


def _fields_for(mapping: Mapping, reason: str) -> list[str]:
    """The publisher columns a reason is about (the rule's columns), id columns first."""
    cols = mapping.field_columns()
    text = reason.lower()
    rule = None
    if "lookup entry" in text:
        name = text.split(" ", 2)[1]
        lk = mapping.spec.lookups.get(name)
        extra = [lk.on] if lk else []
        return sorted(cols["id"]) + extra
    for word, key in (
        (OUTSIDE_REASON, "location"),
        ("coordinates", "location"),
        ("id", "id"),
        ("time", "time"),
        ("date", "time"),
        ("category", "category"),
        ("severity", "severity"),
        ("value", "value"),
        ("text", "text"),
    ):
        if re.search(rf"\b{word}\b", text):
            rule = key
            break
    out = sorted(cols["id"])
    if rule and rule != "id":
        out += sorted(cols.get(rule, set()))
    if rule is None:
        out.append("_raw")
    return out


def mapped_chunks(
    mapping: Mapping,
    path: str | Path,
    *,
    lookups=None,
    chunksize: int | None = 50_000,
    limit: int | None = None,
) -> Iterator[MappedChunk]:
    """Read ``path`` (a file or folder) through ``mapping`` in chunks, keeping each chunk's
    publisher records and row numbers; the same reader and mapper as :func:`map_file`.
    ``limit``: stop after that many publisher records."""
    left = limit
    for file in data_files(mapping, path):
        row = 1
        for raw in read_records(mapping, file, lookups=lookups, chunksize=chunksize):
            if left is not None:
                if left <= 0:
                    return
                raw = raw.iloc[:left]
                left -= len(raw)
            raw = raw.reset_index(drop=True)
            yield MappedChunk(file, raw, apply_mapping(mapping, raw, lookups=lookups), row)
            row += len(raw)


def classify(
    source: str, frame: pd.DataFrame, placer: Placer, now: pd.Timestamp | None = None
) -> np.ndarray:
    """Each row's fate before de-duplication, as the ingest pipeline decides it: None (valid and
    inside the region), a validation reason, or ``OUTSIDE_REASON``. Writes nothing."""
    frame = normalise_frame(frame.reset_index(drop=True))
    reasons = validate_frame(source, frame, now=now).to_numpy(dtype=object, copy=True)
    ok = pd.isna(reasons)
    idx = np.flatnonzero(ok)
    cells = placer.place(frame["lon"].to_numpy()[idx], frame["lat"].to_numpy()[idx])
    reasons[idx[cells == OUTSIDE]] = OUTSIDE_REASON
    return reasons


# --------------------------------------------------------------------------------------------
# The dry run
# --------------------------------------------------------------------------------------------


def _store_lookup(db_path: Path | None, source: str):
    """(ids -> set of those already stored, description). Opens the database read-only."""
    if db_path is None or not Path(db_path).is_file():
        where = f" (no database at {db_path})" if db_path is not None else ""
        return None, f"within the file only{where}", None
    import duckdb

    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        return None, f"within the file only (database {db_path} not readable: {first})", None
    try:
        con.execute("SELECT 1 FROM events LIMIT 0")
    except duckdb.Error:
        con.close()
        return None, f"within the file only (database {db_path} has no events yet)", None

    def stored(ids: list) -> set:
        keys = [str(i) for i in ids if i is not None and not pd.isna(i)]
        if not keys:
            return set()
        rows = con.execute(
            "SELECT source_event_id FROM events WHERE source = ? AND source_event_id IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [source, keys],
        ).fetchall()
        return {r[0] for r in rows}

    return (
        stored,
        f"within the file and against {db_path} (read-only; archived days not checked)",
        con,
    )


def check_mapping(
    mapping: Mapping | str | Path,
    path: str | Path,
    *,
    region,
    db_path: Path | None = None,
    lookups=None,
    limit: int | None = None,
    now: pd.Timestamp | None = None,
    stored=None,
) -> Reconciliation:
    """Dry run: read ``path`` through ``mapping``, validate and place against ``region`` and
    return the reconciliation. Writes nothing: duplicates are detected within the file and, when
    ``db_path`` is an existing database, against its events opened read-only; or, inside the
    running server (which holds the database), through ``stored(ids) -> set of stored ids``."""
    m = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    placer = Placer.for_region(region)
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    recon = Reconciliation(mapping=m.name, source=m.source)
    if stored is not None:
        con, recon.duplicates_checked = None, "within the file and against the store"
    else:
        stored, recon.duplicates_checked, con = _store_lookup(db_path, m.source)
    try:
        for chunk in mapped_chunks(m, path, lookups=lookups, limit=limit):
            reasons = classify(m.source, chunk.frame, placer, now)
            recon.add(
                chunk.frame, reasons, lambda i, r, c=chunk: c.describe(m, i, r), stored=stored
            )
    finally:
        if con is not None:
            con.close()
    if limit is not None:
        recon.notes.append(f"stopped after {limit} publisher records (--limit)")
    return recon
