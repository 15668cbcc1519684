"""Drafting a field mapping from a sample file: the data side of the ``/feeds/new`` page.

An administrator uploads a sample of a publisher's file, sees its columns and first rows, picks
the columns for id, time, coordinates, category (with a value -> category table), severity,
value and text, previews the reconciliation and saves the mapping. Everything here uses the
mapping format's own code (``data.feeds.mapping``: :func:`parse_mapping` validates the draft,
:func:`data.feeds.reconcile.check_mapping` is the dry run), so a saved mapping is exactly what
``python app.py check-mapping`` and the feeds read. No dash here.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from data import audit
from data.catalogue import DEFAULT_CATALOGUE, Catalogue
from data.feeds.mapping import Mapping, MappingError
from data.feeds.mapping.spec import parse_mapping
from data.feeds.reconcile import Reconciliation, check_mapping
from data.files import write_atomic

# an uploaded sample is read whole in the server's memory: keep it a sample
MAX_SAMPLE_BYTES = 2 * 1024 * 1024
MAX_SAMPLE_KB = MAX_SAMPLE_BYTES // 1024
PREVIEW_ROWS = 20
MAX_CATEGORY_VALUES = 200
SAMPLE_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "json"}
SAMPLE_KINDS = ", ".join(SAMPLE_FORMATS)
# a mapping's name is its file's stem: letters, digits, _ and -, nothing that leaves the folder
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class DraftError(ValueError):
    """A sample or draft that cannot be used. ``key`` names the problem (the page shows the
    translation ``feednew.err.<key>`` filled with ``params``); the text is the English one."""

    def __init__(self, key: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


@dataclass
class Sample:
    """An uploaded sample: its name, format, bytes and its records as text columns."""

    filename: str
    format: str
    content: bytes
    frame: pd.DataFrame

    @property
    def columns(self) -> list[str]:
        """The publisher's columns, in file order."""
        return [str(c) for c in self.frame.columns]

    def first_rows(self, n: int = PREVIEW_ROWS) -> list[dict]:
        """The first ``n`` records, every value as text ('' for missing)."""
        return self.frame.head(n).fillna("").astype(str).to_dict("records")


def decode_upload(contents: str) -> bytes:
    """The bytes of an upload given as a data URL (``data:<type>;base64,<data>``)."""
    _, sep, data = str(contents).partition(";base64,")
    if not sep:
        raise DraftError("upload", "the upload is not a base64 data URL")
    # 4 characters of base64 per 3 bytes: refuse an oversized upload before decoding it
    if len(data) > (MAX_SAMPLE_BYTES + 2) // 3 * 4 + 4:
        raise DraftError(
            "too_large",
            f"the sample is larger than {MAX_SAMPLE_KB} KB: upload a part",
            kb=MAX_SAMPLE_KB,
        )
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error:
        raise DraftError("upload", "the upload is not valid base64") from None


def default_name(filename: str) -> str:
    """A mapping name offered for a sample file: its stem made of name characters."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(filename or "").stem).strip("_-")[:64]
    return stem or "new_feed"


def read_sample(filename: str, content: bytes) -> Sample:
    """Read an uploaded sample (CSV, JSON lines or a JSON list of objects) as text columns.

    Raises :class:`DraftError` for a file too large, of another type or that cannot be read."""
    if len(content) > MAX_SAMPLE_BYTES:
        raise DraftError(
            "too_large",
            f"the sample is larger than {MAX_SAMPLE_KB} KB: upload a part",
            kb=MAX_SAMPLE_KB,
        )
    fmt = SAMPLE_FORMATS.get(Path(filename or "").suffix.lower())
    if fmt is None:
        raise DraftError("file_type", f"upload a {SAMPLE_KINDS} file", kinds=SAMPLE_KINDS)
    try:
        text = content.decode("utf-8-sig")
        if fmt == "csv":
            frame = pd.read_csv(io.StringIO(text), dtype="str", keep_default_na=False)
        elif fmt == "jsonl":
            frame = pd.read_json(io.StringIO(text), lines=True, dtype=False).astype("str")
        else:
            frame = pd.read_json(io.StringIO(text), dtype=False).astype("str")
    except UnicodeDecodeError as exc:
        raise DraftError(
            "not_utf8", f"the sample is not UTF-8 text (byte {exc.start})", byte=exc.start
        ) from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise DraftError(
            "unreadable", f"the sample cannot be read as {fmt}: {type(exc).__name__}", format=fmt
        ) from None
    if frame.empty or not len(frame.columns):
        raise DraftError("empty", "the sample holds no records")
    return Sample(filename, fmt, content, frame)


def category_values(sample: Sample, column: str, limit: int = MAX_CATEGORY_VALUES) -> list[dict]:
    """The distinct values of ``column`` with their counts, commonest first (for the value ->
    category table)."""
    if column not in sample.frame.columns:
        raise DraftError("no_column", f"no column {column!r} in the sample", column=column)
    counts = sample.frame[column].fillna("").astype(str).str.strip().value_counts()
    return [{"value": v, "count": int(n)} for v, n in counts.head(limit).items() if v != ""]


def draft(
    choices: dict[str, Any], sample_format: str, catalogue: Catalogue = DEFAULT_CATALOGUE
) -> dict:
    """The mapping (as the TOML's dict) for the page's ``choices``.

    Keys: ``name``, ``source``, ``timezone``, ``id``, ``time``, ``time_format``, ``lon``,
    ``lat``, ``category`` (column), ``category_map`` ({value: code}), ``category_default``,
    ``severity`` (a numeric column, clipped to 1..5), ``value``, ``text``. Empty ones are left
    out; :func:`check` validates the result."""

    def pick(key: str) -> str | None:
        v = choices.get(key)
        return str(v).strip() if v not in (None, "") and str(v).strip() else None

    doc: dict[str, Any] = {
        "name": pick("name") or "",
        "source": pick("source") or "",
        "format": sample_format,
        "timezone": pick("timezone") or "UTC",
    }
    if sample_format == "csv":
        doc["encoding"] = "utf-8-sig"
    doc["id"] = {"column": pick("id") or ""}
    doc["time"] = {"column": pick("time") or "", "format": pick("time_format") or "iso"}
    doc["location"] = {"lon": pick("lon") or "", "lat": pick("lat") or ""}
    category: dict[str, Any] = {"column": pick("category") or ""}
    table = {str(k): str(v) for k, v in (choices.get("category_map") or {}).items() if k and v}
    if table:
        category["map"] = table
    if pick("category_default"):
        category["default"] = pick("category_default")
    doc["category"] = category
    if pick("severity"):
        doc["severity"] = {"column": pick("severity"), "clip": True}
    if pick("value"):
        spec = catalogue.sources.get(doc["source"])
        doc["value"] = {"column": pick("value"), "required": bool(spec and spec.value_required)}
    if pick("text"):
        doc["text"] = {"column": pick("text")}
    return doc


def check(doc: dict, catalogue: Catalogue = DEFAULT_CATALOGUE) -> Mapping:
    """Validate a drafted mapping with the mapping format's own rules (``MappingError``),
    against ``catalogue`` (the deployment's sources)."""
    name = doc.get("name") or ""
    if not NAME_RE.match(name):
        raise DraftError("name", "the name must be 1-64 letters, digits, _ or -, starting with one")
    if doc.get("source") not in catalogue.categories:
        raise DraftError("source", f"choose the source: one of {', '.join(catalogue.ids)}")
    for key, what in (("id", "column"), ("time", "column"), ("category", "column")):
        if not doc[key].get(what):
            raise DraftError(f"pick_{key}", f"choose the {key} column")
    if not doc["location"]["lon"] or not doc["location"]["lat"]:
        raise DraftError("pick_location", "choose the longitude and latitude columns")
    codes = set(catalogue.categories[doc["source"]])
    wrong = sorted({c for c in doc["category"].get("map", {}).values() if c not in codes})
    if wrong:
        raise DraftError(
            "codes",
            f"not categories of {doc['source']}: {', '.join(wrong)}",
            source=doc["source"],
            codes=", ".join(wrong),
        )
    return parse_mapping(doc, name=name, catalogue=catalogue)


def to_toml(doc: dict) -> str:
    """The mapping file's text."""
    head = "# drafted on the /feeds/new page; the format is described in docs/MAPPING.md\n"
    return head + tomli_w.dumps(doc)


def preview(
    doc: dict, sample: Sample, *, region, stored=None, catalogue: Catalogue = DEFAULT_CATALOGUE
) -> Reconciliation:
    """The dry run of the drafted mapping on the sample (what ``check-mapping`` prints).
    ``stored(ids)``: ids already in the store, to count duplicates against it."""
    mapping = check(doc, catalogue)
    with tempfile.TemporaryDirectory(prefix="onegrid-draft-") as tmp:
        path = Path(tmp) / (Path(sample.filename).name or f"sample.{sample.format}")
        path.write_bytes(sample.content)
        return check_mapping(mapping, path, region=region, stored=stored)


def stored_lookup(db, source: str):
    """``ids -> set of ids of source already stored`` through the running store's reader."""

    def stored(ids: list) -> set:
        keys = [str(i) for i in ids if i is not None and not pd.isna(i)]
        if not keys:
            return set()
        rows = db.query(
            "SELECT source_event_id FROM events WHERE source = ? AND source_event_id IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [source, keys],
        )
        return {r[0] for r in rows}

    return stored


def save(
    doc: dict,
    folder: Path,
    *,
    db,
    actor: str,
    overwrite: bool = False,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
) -> Path:
    """Write the drafted mapping to ``folder/<name>.toml`` atomically (a temporary file renamed
    over it, so a reader never sees half a file) and record ``mapping.save`` in the audit trail.

    Refuses to replace an existing file unless ``overwrite``."""
    mapping = check(doc, catalogue)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{mapping.name}.toml"
    existed = target.exists()
    if existed and not overwrite:
        raise DraftError(
            "exists", f"a mapping named {mapping.name!r} exists already", name=mapping.name
        )
    text = to_toml(doc)
    write_atomic(target, text)
    audit.record(
        db,
        actor,
        "mapping.save",
        object_type="mapping",
        object_id=mapping.name,
        detail={"path": str(target), "source": mapping.source, "replaced": existed},
    )
    return target


# --------------------------------------------------------------------------------------------
# One call per step of the page (its callbacks call one function of data/ each)
# --------------------------------------------------------------------------------------------


def upload_sample(contents: str | None, filename: str | None) -> Sample:
    """The sample of a page upload (a data URL), read; :class:`DraftError` when there is none."""
    if not contents:
        raise DraftError("no_sample", "no sample yet: upload one")
    return read_sample(filename or "", decode_upload(contents))


def sample_view(contents: str, filename: str) -> dict:
    """What the page shows of an uploaded sample: columns, first rows, counts, a name."""
    sample = upload_sample(contents, filename)
    return {
        "filename": sample.filename,
        "format": sample.format,
        "rows": len(sample.frame),
        "columns": sample.columns,
        "first_rows": sample.first_rows(),
        "name": default_name(sample.filename),
    }


def category_choices(
    contents: str | None,
    filename: str | None,
    column: str | None,
    source: str | None,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
) -> tuple[list[dict], list[str]]:
    """(the category column's values with counts, the source's category codes)."""
    codes = list(catalogue.categories.get(source or "", ()))
    if not column or not contents:
        return [], codes
    return category_values(upload_sample(contents, filename), column), codes


def preview_draft(
    contents, filename, choices: dict, *, region, db, catalogue: Catalogue = DEFAULT_CATALOGUE
) -> tuple[dict, str]:
    """The dry run of the page's draft on its sample (duplicates also against the store):
    (the reconciliation as a dict, the mapping file's text)."""
    sample = upload_sample(contents, filename)
    doc = draft(choices, sample.format, catalogue)
    stored = stored_lookup(db, doc.get("source", ""))
    recon = preview(doc, sample, region=region, stored=stored, catalogue=catalogue)
    return recon.as_dict(), to_toml(doc)


def mappings_folder(settings) -> Path:
    """Where drafted mappings are saved: ``mappings_dir``, else "mappings" beside the database."""
    return Path(settings.mappings_dir or Path(settings.db).parent / "mappings")


def save_draft(contents, filename, choices: dict, *, settings, db, actor: str) -> Path:
    """Save the page's draft into the mappings folder (atomic, audited); returns the file.
    Checked against ``settings.catalogue`` (the deployment's sources)."""
    sample = upload_sample(contents, filename)
    catalogue = settings.catalogue
    doc = draft(choices, sample.format, catalogue)
    return save(doc, mappings_folder(settings), db=db, actor=actor, catalogue=catalogue)


__all__ = [
    "DraftError",
    "MappingError",
    "Sample",
    "category_choices",
    "category_values",
    "check",
    "decode_upload",
    "default_name",
    "draft",
    "mappings_folder",
    "preview",
    "preview_draft",
    "read_sample",
    "sample_view",
    "save",
    "save_draft",
    "upload_sample",
    "stored_lookup",
    "to_toml",
]
