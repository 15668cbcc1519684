"""Search over events, cases and warnings: one text, matched as a case-insensitive substring
(Chinese or English) in each record's text, category, address fields (the names and codes of its
areas at every level, an event's attributes) and ids, with facets and the reader's scope.

The read API (``GET /api/events?q=...``, ``/api/cases``, ``/api/warnings``) and the search page
(``/search``) ask the same :class:`data.export.Filters` plus a text ``q``: :func:`query` is the
API's listing (the same SQL for a JSON page and a file export), :func:`results` the page's table,
map points, facet counts and time histogram.

Why it is fast on a big store (docs/PERFORMANCE.md, ``bench/search.py``): an event's text and
attributes are compared in one column lower-cased at ingest (``events.search``, migration 18 in
data/schema.py) with ``contains(col, ?)`` (no lower() per row, no pattern to compile, ``%`` and
``_`` in the text are plain characters); an id-shaped text is looked up by the ids' 4-byte
digests (``events.id_hash``) and matched by row id, instead of comparing 10 M unique ids; the area names are matched once in the small ``areas`` table (remembered per text), and an
event's address becomes an integer comparison on its key at the area's level; the newest page of
events is searched in widening time windows ending at the period's end (a day, a week, a month,
then all of it), because an event table appended in time order skips every row group outside a
window by its min/max, and stops once a window fills the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs

import pandas as pd

from data import archive, export, policy
from data.areas import LEVEL_COLUMN, LEVELS, AreaScope, scope_for_code
from data.catalogue import CATEGORIES
from data.schema import EVENT_ID_HASH_SQL, SEARCH_SEPARATOR
from data.store import Database
from data.times import iso, parse_bound, period_days, utc, utc_now

KINDS: tuple[str, ...] = ("events", "cases", "warnings")
MAX_TEXT = 100  # characters of a search text (a longer one is a 400)
# the newest page of events is looked for in these windows before the whole period
WINDOWS = (pd.Timedelta(days=1), pd.Timedelta(days=7), pd.Timedelta(days=31))

# the text columns each kind matches (fixed SQL, never user text); JSON columns as their text.
# An event's text and attributes are read from its search column (both lower-cased and joined
# at ingest, data/schema.py) unless the text holds the separator; its source and category are
# matched in the catalogue instead (codes and names, then an equality on two
# dictionary-compressed columns), its id exactly, through the ids' digests where it can be
# (10 M unique strings cost a second to scan on two cores; docs/PERFORMANCE.md)
_EVENT_SEARCH = "e.search"
_TEXT_COLUMNS = {
    "events": ("e.text", "CAST(e.attributes AS VARCHAR)"),
    "cases": (
        "k.title",
        "k.description",
        "k.category",
        "k.department",
        "CAST(k.id AS VARCHAR)",
        "k.origin_ref",
    ),
    "warnings": (
        "w.rule_id",
        "w.kind",
        "w.subject",
        "CAST(w.id AS VARCHAR)",
        "CAST(w.detail AS VARCHAR)",
        "w.ack_comment",
        "w.clear_reason",
    ),
}
_ALIAS = {"events": "e", "cases": "k", "warnings": "w"}
_TIME = {"events": "event_time", "cases": "created_at", "warnings": "raised_at"}


def normalise(q) -> str | None:
    """The search text as matched: trimmed and lower-cased; None for no text. Raises
    ValueError for a text longer than :data:`MAX_TEXT` characters."""
    if q is None:
        return None
    s = str(q).strip()
    if len(s) > MAX_TEXT:
        raise ValueError(f"q is longer than {MAX_TEXT} characters")
    return s.lower() or None


_AREA_MEMO = "search_areas"
_AREA_MEMO_SIZE = 256  # texts remembered (the areas are written once while the store is open)


def _matching_areas(db: Database, q: str) -> tuple[list[int], dict[str, list[int]]]:
    """The areas whose code or name holds ``q`` (any level): their keys, and the same keys by
    level. Remembered per text in the store's memo (data/areas.py clears it when areas are
    written), because a search asks once per time window."""
    memo = db.memo.setdefault(_AREA_MEMO, {})
    hit = memo.get(q)
    if hit is None:
        if len(memo) >= _AREA_MEMO_SIZE:
            memo.clear()
        found = db.query(
            """
            SELECT key, level FROM areas
            WHERE contains(lower(code), ?) OR contains(lower(coalesce(name_zh, '')), ?)
               OR contains(lower(coalesce(name_en, '')), ?)
            ORDER BY key
            """,
            [q, q, q],
        )
        by_level: dict[str, list[int]] = {}
        for key, level in found:
            by_level.setdefault(str(level), []).append(int(key))
        hit = memo[q] = ([int(k) for k, _ in found], by_level)
    return hit


def _in_list(col: str, values: list, sql_type: str) -> tuple[str, list]:
    """``col IN (...)`` for a few values as placeholders (a comparison per row), for more as a
    semi-join on one list parameter of ``sql_type`` (DuckDB compared 900 placeholders per row
    for seconds)."""
    if len(values) <= _FEW:
        return f"{col} IN ({', '.join('?' for _ in values)})", list(values)
    return f"{col} IN (SELECT unnest(?::{sql_type}[]))", [list(values)]


_FEW = 8


def _caseless(q: str) -> bool:
    """True when ``q`` has no letter with a case (Chinese, digits): the column need not be
    lower-cased, which keeps DuckDB's comparison on the dictionary-compressed text cheap."""
    return q.upper() == q.lower()


def _contains(col: str, q: str) -> str:
    return f"contains({col}, ?)" if _caseless(q) else f"contains(lower({col}), ?)"


def _id_like(raw: str) -> bool:
    """True when the text could be an event id (a digit, no space): only then are the events'
    ids compared, because 10 M unique strings take most of a search's time to read."""
    return len(raw) >= 3 and any(c.isdigit() for c in raw) and not any(c.isspace() for c in raw)


def _catalogue_pairs(q: str, labels: Mapping[str, Iterable[str]]) -> list[tuple[str, str | None]]:
    """The (source, category) pairs whose codes or display names hold ``q``; category None: the
    whole source. ``labels``: "source" or "source.category" -> its display names."""
    out: list[tuple[str, str | None]] = []
    # the deployment's sources and categories are the labels' keys (the default catalogue's
    # when no labels are given)
    catalogue: dict[str, list[str]] = {}
    for key in labels:
        source, _, cat = key.partition(".")
        catalogue.setdefault(source, [])
        if cat:
            catalogue[source].append(cat)
    for source, cats in (catalogue or CATEGORIES).items():
        names = [source, *labels.get(source, ())]
        if any(q in str(n).lower() for n in names):
            out.append((source, None))
            continue
        for cat in cats:
            names = [cat, *labels.get(f"{source}.{cat}", ())]
            if any(q in str(n).lower() for n in names):
                out.append((source, cat))
    return out


@dataclass(frozen=True)
class Text:
    """A search text: ``q`` as matched (:func:`normalise`d), ``raw`` as typed (an event id's
    exact match keeps its case), ``labels`` the display names of sources and categories
    ("police", "police.criminal" -> names), so a category is found by its name too."""

    q: str
    raw: str
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, raw, labels: Mapping[str, Iterable[str]] | None = None) -> Text | None:
        """The search text of ``raw`` (None when empty); ValueError when too long."""
        q = normalise(raw)
        if q is None:
            return None
        names = {k: tuple(str(n) for n in v) for k, v in (labels or {}).items()}
        return cls(q, str(raw).strip(), names)


def _id_rows(db: Database, ids: list[str]) -> list[tuple[int, pd.Timestamp]]:
    """The row ids and times of the events whose id is one of ``ids``: their digests
    (``id_hash``, data/schema.py) compared first, a scan of 4-byte integers, and only the few
    rows with an equal digest compared by id (every id compared took a second over 10 M
    events). Row ids hold within one transaction only: call inside :func:`archive.snapshot`."""
    marks = ", ".join("?" for _ in ids)
    digests = db.query(
        f"SELECT DISTINCT {EVENT_ID_HASH_SQL}"
        " FROM (SELECT unnest(?::VARCHAR[]) AS source_event_id)",
        [ids],
    )
    keys = [int(d[0]) for d in digests]
    found = db.query(
        f"SELECT rowid, event_time FROM events WHERE id_hash IN ({', '.join('?' for _ in keys)})"
        f" AND source_event_id IN ({marks})",
        [*keys, *ids],
    )
    return sorted((int(r), pd.Timestamp(t)) for r, t in found)


def _id_hits(db: Database, f: export.Filters, text: Text) -> list[tuple[int, pd.Timestamp]]:
    """The (row id, time) of the events whose id is the text and that ``f`` selects (its scope,
    facets and period): looked up by digest, then checked against ``f`` in the few row groups
    holding their times. Inside :func:`archive.snapshot`, over the events table alone."""
    if not _id_like(text.raw):
        return []
    found = _id_rows(db, sorted({text.q, text.raw}))
    if not found:
        return []
    conds, params = export.events_conditions(f)
    rids = [rid for rid, _ in found]
    times = sorted({t.to_pydatetime() for _, t in found})
    rows = db.query(
        f"SELECT e.rowid, e.event_time FROM events e WHERE {' AND '.join(conds)}"
        f" AND e.event_time IN ({', '.join('?' for _ in times)})"
        f" AND e.rowid IN ({', '.join('?' for _ in rids)})",
        [*params, *times, *rids],
    )
    return sorted((int(r), pd.Timestamp(t)) for r, t in rows)


def match(
    db: Database, kind: str, text: Text | None, *, ids: str = "column"
) -> tuple[list[str], list]:
    """The SQL condition (one item, or none without text) and parameters selecting the records
    of ``kind`` (a key of :data:`KINDS`, aliased e, k, w as :mod:`data.export` does) that hold
    the text in a text column, a category, an address or an id.

    ``ids`` (events): "column" compares the ids (a scan of every id); "rowid" looks an id up by
    its digest first and matches it by row id, for a caller reading the events table alone (no
    archived day) inside one :func:`archive.snapshot`; "apart" leaves the ids out (the caller
    adds :func:`_id_hits` itself, so the text's comparison stays a filter inside the scan)."""
    if text is None:
        return [], []
    q = text.q
    alias = _ALIAS[kind]
    if kind == "events" and SEARCH_SEPARATOR not in q:
        # the one lower-cased column: no lower() per row, one comparison instead of two
        ors, params = [f"contains({_EVENT_SEARCH}, ?)"], [q]
    else:
        ors = [_contains(col, q) for col in _TEXT_COLUMNS[kind]]
        params = [q] * len(ors)
    keys, by_level = _matching_areas(db, q)
    if kind == "events":
        for source, cat in _catalogue_pairs(q, text.labels):
            if cat is None:
                ors.append("e.source = ?")
                params.append(source)
            else:
                ors.append("(e.source = ? AND e.category = ?)")
                params += [source, cat]
        if _id_like(text.raw) and ids != "apart":
            wanted = sorted({q, text.raw})
            if ids == "rowid":
                rows = [rid for rid, _ in _id_rows(db, wanted)]
                if rows:
                    cond, more = _in_list("e.rowid", rows, "BIGINT")
                    ors.append(cond)
                    params += more
            else:
                ors.append(f"e.source_event_id IN ({', '.join('?' for _ in wanted)})")
                params += wanted
        # an area holds the events whose key at its level is its key (every event carries the
        # keys of its cell's every level): integer comparisons, no join on the cells inside
        for level in LEVELS:
            if by_level.get(level):
                cond, more = _in_list(f"e.{LEVEL_COLUMN[level]}", by_level[level], "INTEGER")
                ors.append(cond)
                params += more
    elif keys:
        cols = ("area_key", "cell_key", "community_key", "township_key", "county_key")
        listed = ", ".join(f"{alias}.{c}" for c in cols)
        ors.append(f"list_has_any([{listed}], ?::INTEGER[])")
        params.append(keys)
    return [f"({' OR '.join(ors)})"], params


def query(
    db: Database, kind: str, f: export.Filters, text: Text | None, *, level: str | None = None
) -> tuple[str, list]:
    """The read API's listing of ``kind`` (the query of :mod:`data.export`) narrowed to the
    records matching ``text``; ``level``: a warning colour."""
    extra = match(db, kind, text)
    if kind == "events":
        return export.events_query(db, f, extra=extra)
    if kind == "cases":
        return export.cases_query(f, extra=extra)
    return export.warnings_query(f, level, extra=extra)


def conditions(
    db: Database, kind: str, f: export.Filters, text: Text | None, *, level: str | None = None
) -> tuple[list[str], list]:
    """The conditions and parameters of the listing of ``kind`` narrowed to ``text``."""
    return _conditions(kind, f, match(db, kind, text), level)


def _conditions(
    kind: str, f: export.Filters, extra: export.Extra, level: str | None
) -> tuple[list[str], list]:
    if kind == "events":
        return export.events_conditions(f, extra)
    if kind == "cases":
        return export.cases_conditions(f, extra)
    return export.warnings_conditions(f, level, extra)


def _in_table(db: Database, f: export.Filters) -> bool:
    """True when the events of ``f``'s period are all in the events table (no archived day)."""
    relation, rel_params = archive.events_relation(db, f.since, f.until)
    return relation == "events" and not rel_params


def _in_window(t: pd.Timestamp, f: export.Filters) -> bool:
    return (f.since is None or t >= utc(f.since)) and (f.until is None or t < utc(f.until))


def _events_page(
    db: Database,
    f: export.Filters,
    extra: export.Extra,
    in_table: bool,
    hits: list[tuple[int, pd.Timestamp]] = (),
) -> list[dict]:
    """The newest ``f.limit`` events matching ``extra`` (:func:`match`'s condition) or among
    ``hits`` (:func:`_id_hits`, row ids and times, kept to ``f``'s period here), read in two
    steps when the period lies in the database (``in_table``: known to, for the whole search):
    the matches' row ids and times first (the scan reads only the compared columns and the time;
    reading every column of 10 M rows, the unique ids above all, cost most of a search), then
    those rows whole by row id. The events tied at the page's last time are all fetched, so the
    canonical order (time, source, id) picks the page as one query would. One read transaction:
    the row ids stay those of the same rows."""
    if not in_table and not _in_table(db, f):  # archived days: one query over both
        return export.records(db, export.events_query(db, f, extra))
    conds, params = export.events_conditions(f, extra)
    where = " AND ".join(conds)
    with archive.snapshot(db):
        top = db.query_df(
            f"SELECT e.rowid AS rid, e.event_time FROM events e WHERE {where}"
            " ORDER BY e.event_time DESC LIMIT ?",
            [*params, int(f.limit)],
        )
        found = {
            int(r): pd.Timestamp(t) for r, t in zip(top["rid"], top["event_time"], strict=True)
        }
        found |= {rid: t for rid, t in hits if _in_window(t, f)}
        if not found:
            return []
        rids = set(found)
        if len(found) >= f.limit:
            # the page's last time: every event at it is fetched (the scan's LIMIT may have
            # cut them), the canonical order below picks among them
            edge = sorted(found.values(), reverse=True)[int(f.limit) - 1]
            ties = db.query_df(
                f"SELECT e.rowid AS rid FROM events e WHERE {where} AND e.event_time = ?",
                [*params, edge.to_pydatetime()],
            )
            rids |= {int(r) for r in ties["rid"]}
        # the rows whole by row id alone (the text is not compared again); the filters of
        # ``f`` still apply in export's query, which they already passed
        by_id = (["e.rowid IN (SELECT unnest(?::BIGINT[]))"], [sorted(rids)])
        return export.records(db, export.events_query(db, f, by_id, relation=("events", [])))


def newest(
    db: Database, kind: str, f: export.Filters, text: Text | None, *, level: str | None = None
) -> list[dict]:
    """The newest ``f.limit`` records of ``kind`` matching ``text``, as the read API's JSON page.

    Events with a text are looked for in widening windows ending at the period's end (or now),
    each reading only the part the last one did not: a window that fills the page holds the
    newest page (everything outside it is older); else its matches come first and the next,
    older part is read for the rest, so the whole period is scanned at most once. One read
    transaction: the text's areas and an id's rows are looked up once for every window."""
    if kind != "events" or text is None:
        return export.records(db, query(db, kind, f, text, level=level))
    with archive.snapshot(db):
        in_table = _in_table(db, f)
        # in the table, an id's events are found apart (by digest) and merged into each
        # window, so the text's comparison stays a filter inside the scan (DuckDB does not
        # push an OR with the row ids into it: a full scan took half as long again)
        extra = match(db, "events", text, ids="apart" if in_table else "column")
        hits = _id_hits(db, f, text) if in_table else []
        end = utc(f.until) if f.until is not None else utc_now() + pd.Timedelta(minutes=5)
        rows: list[dict] = []
        upper = f.until
        for width in WINDOWS:
            start = end - width
            if f.since is not None and utc(f.since) >= start:
                break  # the rest of the period is shorter than the window: read all of it
            part = replace(f, since=start, until=upper, limit=f.limit - len(rows))
            rows += _events_page(db, part, extra, in_table, hits)
            if len(rows) >= f.limit:
                return rows
            upper = start
        rest = replace(f, until=upper, limit=f.limit - len(rows))
        return rows + _events_page(db, rest, extra, in_table, hits)


def _relation(db: Database, kind: str, f: export.Filters) -> tuple[str, list]:
    if kind == "events":
        return archive.events_relation(db, f.since, f.until)
    return kind, []


def _bucket(f: export.Filters) -> str:
    """The histogram's bucket: an hour for a period up to three days, else a day."""
    short = f.since is not None and f.until is not None
    return "hour" if short and utc(f.until) - utc(f.since) <= pd.Timedelta(days=3) else "day"


# the facet columns of each kind (fixed SQL): facet name -> expression
_FACETS = {
    "events": {
        "source": "e.source",
        "category": "e.category",
        "severity": "CAST(e.severity AS VARCHAR)",
        "county": "e.county_key",
    },
    "cases": {"state": "k.state", "category": "k.category", "county": "k.county_key"},
    "warnings": {
        "state": "w.state",
        "severity": "CAST(w.level_rank AS VARCHAR)",
        "rule": "w.rule_id",
        "county": "w.county_key",
    },
}


def results(
    db: Database,
    kind: str,
    f: export.Filters,
    text: Text | None,
    *,
    timezone: str,
    level: str | None = None,
) -> dict:
    """The search page's answer for ``kind``: ``rows`` (the newest ``f.limit`` matches, the
    read API's records), ``total`` (every match in the period), ``facets`` (facet -> value ->
    count over every match; ``county`` keyed by county code), ``histogram`` (list of
    ``{"at", "n"}``, ``at`` the local start of each hour or day, ISO) and ``bucket``."""
    alias, time_col = _ALIAS[kind], _TIME[kind]
    bucket = _bucket(f)
    facets = _FACETS[kind]
    sets = ", ".join(f"({name})" for name in [*facets, "bucket_at"])
    exprs = ", ".join(f"{expr} AS {name}" for name, expr in facets.items())
    # one read transaction: the rows and the counts see the same records (and an id's row id
    # stays its row's)
    with archive.snapshot(db):
        rows = newest(db, kind, f, text, level=level)
        # the counts: one scan, every facet a grouping set of it, the period's buckets another
        relation, rel_params = _relation(db, kind, f)
        in_table = kind == "events" and relation == "events" and not rel_params
        extra = match(db, kind, text, ids="rowid" if in_table else "column")
        conds, where_params = _conditions(kind, f, extra, level)
        counts = db.query_df(
            f"""
            SELECT {exprs},
                   date_trunc('{bucket}', timezone(?, {alias}.{time_col})) AS bucket_at,
                   count(*) AS n
            FROM {relation} {alias}
            WHERE {" AND ".join(conds)}
            GROUP BY GROUPING SETS ({sets})
            """,
            [timezone, *rel_params, *where_params],
        )
    names = dict(db.query_df("SELECT key, code FROM areas WHERE level = 'county'").values)
    out: dict = {name: {} for name in facets}
    hist = []
    for rec in counts.to_dict(orient="records"):
        # a row of one grouping set: its own column filled, the others null (every matching
        # record has a time, so the buckets add up to the total)
        filled = [name for name in [*facets, "bucket_at"] if not _null(rec[name])]
        if filled == ["bucket_at"]:
            # a local hour that occurs twice (daylight saving ends) counts once, as the first
            at = pd.Timestamp(rec["bucket_at"]).tz_localize(
                timezone, ambiguous=True, nonexistent="shift_forward"
            )
            hist.append({"at": iso(at), "n": int(rec["n"])})
        elif len(filled) == 1:
            name = filled[0]
            value = rec[name]
            if name == "county":
                value = names.get(int(value), str(value))
            out[name][str(value)] = int(rec["n"])
    hist.sort(key=lambda h: h["at"])
    total = sum(h["n"] for h in hist)
    return {"rows": rows, "total": total, "facets": out, "histogram": hist, "bucket": bucket}


def _null(v) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v))


def reader_filters(
    db: Database,
    user,
    city: AreaScope,
    kind: str,
    *,
    area: AreaScope | None = None,
    since=None,
    until=None,
    equals: dict | None = None,
    limit: int = 100,
) -> export.Filters:
    """The :class:`data.export.Filters` of a search by ``user`` (the read API's and the search
    page's): the reader's scope from :mod:`data.policy` (an area role's area, a department's
    own cases; ``city`` for city roles), so a county leader only ever reads their county.
    Raises :class:`data.policy.PolicyDenied` for a reader who may read no record of ``kind``
    ("event", "case", "warning")."""
    s = policy.scope(user)
    if s.nothing or not policy.may_some(user, "view", kind):
        raise policy.PolicyDenied(f"your role reads no {kind}s")
    return export.Filters(
        scope=policy.area_scope(db, user) or city,
        department=s.department,
        area=area,
        since=since,
        until=until,
        equals=dict(equals or {}),
        limit=limit,
    )


def area_points(db: Database, codes) -> dict[str, tuple[float, float]]:
    """Each area code's representative point (lon, lat): where a warning goes on the map."""
    wanted = sorted({str(c) for c in codes if c})
    if not wanted:
        return {}
    found = db.query_df(
        "SELECT code, lon, lat FROM areas WHERE code IN (SELECT unnest(?::VARCHAR[]))", [wanted]
    )
    return {r["code"]: (float(r["lon"]), float(r["lat"])) for r in found.to_dict("records")}


def outline(db: Database) -> tuple[list[int], tuple[float, float, float, float]]:
    """The county keys (their outlines frame the map) and the region's bounds (lon/lat)."""
    keys = db.query_df("SELECT key FROM areas WHERE level = 'county' ORDER BY key")
    b = db.query_one("SELECT min(lon), min(lat), max(lon), max(lat) FROM areas")
    return [int(k) for k in keys["key"]], tuple(float(x) for x in b)


DEFAULT_DAYS = 7  # the search page's empty period: the last seven local days, today included


def page_period(start_date, end_date, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[since, until) in UTC of a date picker's days (local, its last day included; an empty
    end: today, an empty start: :data:`DEFAULT_DAYS` days before the end), parsed as the read
    API parses ``since``/``until`` (data.times.parse_bound). ValueError for a bad date."""
    today = utc_now().tz_convert(timezone).date()
    last = str(end_date)[:10] if end_date else today.isoformat()
    try:
        last_day = dt.date.fromisoformat(last)
        first = (
            str(start_date)[:10]
            if start_date
            else (last_day - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        )
    except ValueError:
        raise ValueError(f"{last!r} is not a date (YYYY-MM-DD)") from None
    since = parse_bound(first, timezone)
    until = parse_bound((last_day + dt.timedelta(days=1)).isoformat(), timezone)
    if since >= until:
        raise ValueError("the period's first day is after its last")
    return since, until


def picker_days(query: str | None, timezone: str) -> tuple[str | None, str | None]:
    """The date picker's first and last day (local, ``YYYY-MM-DD``) of an address's ``since``
    and ``until`` (as the read API reads them: a date or a time with offset; ``until``
    exclusive); None for a bound that is absent or unreadable (the page's default)."""
    args = {k: v[-1] for k, v in parse_qs(str(query or "").lstrip("?")).items()}
    out: list[str | None] = []
    for key, back in (("since", pd.Timedelta(0)), ("until", pd.Timedelta(microseconds=1))):
        try:
            bound = parse_bound(args[key], timezone) - back
        except (KeyError, ValueError):
            out.append(None)
            continue
        out.append(bound.tz_convert(timezone).date().isoformat())
    return out[0], out[1]


def for_page(
    rt,
    user,
    kind: str,
    *,
    q,
    labels: Mapping[str, Iterable[str]],
    start_date=None,
    end_date=None,
    area: str | None = None,
    equals: dict | None = None,
    level: str | None = None,
    limit: int = 500,
) -> dict:
    """Everything the search page shows for one search by ``user`` on runtime ``rt``: the
    :func:`results` (``rows``, ``total``, ``facets``, ``histogram``, ``bucket``), ``points``
    (lon, lat, label) of the listed records, ``counties`` and ``bounds`` for the map, the
    period (``since``, ``until``) and ``problem`` (the reason a search could not run, or None).
    """
    out = {"total": 0, "facets": {}, "histogram": [], "bucket": "day", "rows": [], "problem": None}
    try:
        since, until = page_period(start_date, end_date, rt.timezone)
        text = Text.of(q, labels)
        where = scope_for_code(rt.db, area) if area else None
    except (ValueError, KeyError) as exc:
        out["problem"] = str(exc.args[0] if isinstance(exc, KeyError) else exc)
        since = until = None
    if out["problem"] is None:
        f = reader_filters(
            rt.db,
            user,
            rt.scope,
            kind[:-1],
            area=where,
            since=since,
            until=until,
            equals=equals,
            limit=limit,
        )
        out |= results(rt.db, kind, f, text, timezone=rt.timezone, level=level)
    records = out["rows"]
    if kind == "warnings":
        at = area_points(rt.db, [r["area"] for r in records])
        points = [(*at[r["area"]], f"{r['rule_id']} {r['subject']}") for r in records]
    else:
        label = "text" if kind == "events" else "title"
        points = [
            (r["lon"], r["lat"], str(r.get(label) or r["id"]))
            for r in records
            if r.get("lon") is not None and r.get("lat") is not None
        ]
    counties, bounds = outline(rt.db)
    # the address keeps the picker's days, ``until`` exclusive as the read API reads it
    after = None
    if end_date and out["problem"] is None:
        after = (dt.date.fromisoformat(str(end_date)[:10]) + dt.timedelta(days=1)).isoformat()
    return out | {
        "address": {"since": str(start_date)[:10] if start_date else None, "until": after},
        "points": points,
        "counties": counties,
        "bounds": bounds,
        "since": since,
        "until": until,
    }


def desk_period(start_date, end_date, timezone: str) -> tuple[object, object, dict]:
    """The period of a desk page's date picker (the warnings page, the case board): None, None
    and no address without a day picked (the page as live); else [since, until) in UTC as
    :func:`page_period` reads the days, and the address's ``since``/``until`` (local dates,
    ``until`` exclusive, as the read API reads them). ValueError for a bad date."""
    if not start_date and not end_date:
        return None, None, {}
    since, until = page_period(start_date, end_date, timezone)
    return since, until, period_days(since, until, timezone)
