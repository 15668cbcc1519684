"""The figures builder (取数): indicators x areas x a period, against a comparison period.

A superior's request ("events and cases opened in these three townships last month, against the
month before") is a :class:`FiguresRequest`; :func:`build` answers it from the indicator catalogue
(:mod:`data.indicators`, so a figure here is the same figure as on the screens and in the
briefings) as one tidy table: a row per indicator x area x dimension member with the period's
value, the comparison period's, the change and the change in per cent. Requests can be saved
(table ``figures_requests``) and re-run for the next period (:func:`next_request`).

Access: every area asked for must lie in the user's scope (``view area``), and every file made
from a table goes through the policy's ``export`` action and into the audit trail
(:func:`export`). Plain values only: no web framework here.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, urlencode

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data import audit, indicators, policy
from data.areas import LEVEL_COLUMN, LEVELS, AreaScope, scope_for_code
from data.store import Database
from data.times import calendar_period, local_midnight, parse_bound, utc_now

COMPARE: tuple[str, ...] = ("none", "previous", "same_last_year", "custom")
MAX_INDICATORS = 12  # a request is a table a person reads, not a data dump
MAX_AREAS = 30
NAME_MAX = 80  # a saved request's name
EXPORT_FORMATS: tuple[str, ...] = ("csv", "xlsx", "docx")
# the table's columns, in order (``compare_value``, ``change``, ``change_pct``: NaN without a
# comparison; ``change_pct`` is in per cent of the comparison value)
COLUMNS: tuple[str, ...] = (
    *("indicator", "unit", "dimension", "area", "level", "name_zh", "name_en", "key"),
    *("value", "compare_value", "change", "change_pct"),
)
# the catalogue's indicators grouped by domain (the first part of the id), in this order
DOMAINS: tuple[str, ...] = ("events", "hotline", "risk", "warnings", "cases")
_CODE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")


class FiguresError(ValueError):
    """A request that cannot be answered (bad field, unknown area, empty period); the message
    says which field and why."""


class FiguresRequest(BaseModel):
    """What a superior asks for: ``indicators`` (catalogue ids) for ``areas`` (area codes, any
    level) over ``[since, until)`` (a date, the region's local midnight, or an ISO time with an
    offset), against a comparison period: ``none``, ``previous`` (the period before, of the same
    calendar kind or length), ``same_last_year``, or ``custom`` (``compare_since`` and
    ``compare_until``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    indicators: list[str] = Field(min_length=1, max_length=MAX_INDICATORS)
    areas: list[str] = Field(min_length=1, max_length=MAX_AREAS)
    since: str
    until: str
    compare: Literal["none", "previous", "same_last_year", "custom"] = "none"
    compare_since: str | None = None
    compare_until: str | None = None

    @field_validator("indicators")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = [i for i in v if i not in indicators.CATALOGUE]
        if unknown:
            raise ValueError(f"unknown indicator(s): {', '.join(map(str, unknown))}")
        return list(dict.fromkeys(v))

    @field_validator("areas")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if not _CODE.match(c)]
        if bad:
            raise ValueError(f"not an area code: {', '.join(repr(c)[:42] for c in bad)}")
        return list(dict.fromkeys(v))

    @field_validator("since", "until", "compare_since", "compare_until")
    @classmethod
    def _bound(cls, v: str | None) -> str | None:
        if v is None:
            return None
        parse_bound(v, "UTC")  # the form only; the region's zone is applied in periods()
        return v.strip()

    @model_validator(mode="after")
    def _custom(self) -> FiguresRequest:
        custom = self.compare_since is not None or self.compare_until is not None
        if self.compare == "custom" and (self.compare_since is None or self.compare_until is None):
            raise ValueError("a custom comparison needs compare_since and compare_until")
        if self.compare != "custom" and custom:
            raise ValueError("compare_since/compare_until go with compare=custom only")
        return self


def parse(data) -> FiguresRequest:
    """A request from a dict (or a request), with every problem in one clear message."""
    if isinstance(data, FiguresRequest):
        return data
    if not isinstance(data, dict):
        raise FiguresError("a request is an object with indicators, areas, since and until")
    try:
        return FiguresRequest.model_validate(data)
    except ValidationError as exc:
        parts = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"]) or "request"
            parts.append(f"{where}: {e['msg'].removeprefix('Value error, ')}")
        raise FiguresError("; ".join(parts)) from None


# --- periods --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Periods:
    """A request's periods in UTC; ``kind``: day, week or month when the period is one local
    calendar day, ISO week or month, else None (a span)."""

    since: pd.Timestamp
    until: pd.Timestamp
    kind: str | None
    compare_since: pd.Timestamp | None = None
    compare_until: pd.Timestamp | None = None


def period_kind(since: pd.Timestamp, until: pd.Timestamp, timezone: str) -> str | None:
    """day, week or month when ``[since, until)`` is exactly one local calendar day, ISO week
    (Monday to Sunday) or calendar month in ``timezone``; None otherwise."""
    local = since.tz_convert(timezone)
    if local != local.normalize():
        return None
    for kind in ("day", "week", "month"):
        if calendar_period(kind, local.tz_localize(None), timezone) == (since, until):
            return kind
    return None


def _bounds(since: str, until: str, timezone: str, what: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    s, u = parse_bound(since, timezone), parse_bound(until, timezone)
    if s >= u:
        raise FiguresError(f"{what}: since ({since}) must be before until ({until})")
    return s, u


def _shift(since, until, kind: str | None, timezone: str, *, back: bool, years: int = 0):
    """The period after (``back=False``) or before ``[since, until)``: the next or previous
    calendar day, week or month for those kinds; otherwise the same span moved by its length
    (or, with ``years``, the same local dates that many years away)."""
    if years:
        step = pd.DateOffset(years=-years if back else years)
        if kind is not None:
            day = since.tz_convert(timezone).tz_localize(None) + step
            return calendar_period(kind, day, timezone)
        s = (since.tz_convert(timezone).tz_localize(None) + step).tz_localize(timezone)
        u = (until.tz_convert(timezone).tz_localize(None) + step).tz_localize(timezone)
        return s.tz_convert("UTC"), u.tz_convert("UTC")
    if kind is not None:
        # the day before since belongs to the previous period; until starts the next one
        anchor = since - pd.Timedelta(hours=1) if back else until
        return calendar_period(kind, anchor.tz_convert(timezone).tz_localize(None), timezone)
    span = until - since
    return (since - span, since) if back else (until, until + span)


def periods(request: FiguresRequest, timezone: str) -> Periods:
    """The request's period and comparison period in UTC (bare dates are local midnights in
    ``timezone``, the region's zone; ``until`` is exclusive)."""
    since, until = _bounds(request.since, request.until, timezone, "period")
    kind = period_kind(since, until, timezone)
    cs = cu = None
    if request.compare == "previous":
        cs, cu = _shift(since, until, kind, timezone, back=True)
    elif request.compare == "same_last_year":
        cs, cu = _shift(since, until, kind, timezone, back=True, years=1)
    elif request.compare == "custom":
        cs, cu = _bounds(request.compare_since, request.compare_until, timezone, "comparison")
    return Periods(since, until, kind, cs, cu)


def _as_text(ts: pd.Timestamp, timezone: str) -> str:
    """A bound as the request writes it: a bare date for a local midnight, else ISO with the
    region's offset."""
    local = ts.tz_convert(timezone)
    return local.strftime("%Y-%m-%d") if local == local.normalize() else local.isoformat()


def next_request(request: FiguresRequest, timezone: str) -> FiguresRequest:
    """The same request for the next period: a calendar month becomes the next calendar month, a
    week the next week, a day the next day; any other period moves on by its own length. A
    custom comparison period moves on the same way; previous / same-last-year follow."""
    p = periods(request, timezone)
    s, u = _shift(p.since, p.until, p.kind, timezone, back=False)
    changes = {"since": _as_text(s, timezone), "until": _as_text(u, timezone)}
    if request.compare == "custom":
        ckind = period_kind(p.compare_since, p.compare_until, timezone)
        cs, cu = _shift(p.compare_since, p.compare_until, ckind, timezone, back=False)
        changes |= {
            "compare_since": _as_text(cs, timezone),
            "compare_until": _as_text(cu, timezone),
        }
    return request.model_copy(update=changes)


# --- building the table ---------------------------------------------------------------------------


@dataclass
class Figures:
    """A request's answer: the tidy ``table`` (:data:`COLUMNS`), its periods, and the names of
    the departments that occur as dimension members (id -> ``{"zh", "en"}``)."""

    request: FiguresRequest
    periods: Periods
    table: pd.DataFrame
    names: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def query(self) -> str:
        """The request as an address query string (:func:`to_query`)."""
        return to_query(self.request)


def check_areas(db: Database, user, codes: list[str], action: str = "view") -> list:
    """The scopes of ``codes``, in order; FiguresError for an unknown code, PolicyDenied for an
    area the user may not ``action`` (view, export). The refusal names only the code asked."""
    scopes = []
    for code in codes:
        try:
            scope = scope_for_code(db, code)
        except KeyError:
            raise FiguresError(f"no area with code {code!r}") from None
        if not policy.may(user, action, policy.area_target(db, key=scope.key)):
            raise policy.PolicyDenied(
                f"area {code} lies outside your scope: you may not {action} it"
            )
        scopes.append(scope)
    return scopes


def _zero(ind: indicators.Indicator, s: pd.Series) -> pd.Series:
    s = s.astype("float64")
    return s.fillna(float(ind.zero)) if ind.zero is not None else s


def _batches(db: Database, codes: list[str], scopes: list) -> list[tuple]:
    """How to compute the areas asked for with few queries: areas of one level share one
    computation over their nearest common ancestor broken down ``by`` that level (one grouped
    query instead of one per area; the same rows, so the same values). Returns
    (scope, by level or None, the codes it answers)."""
    by_level: dict[str, list[str]] = {}
    for code, scope in zip(codes, scopes, strict=True):
        by_level.setdefault(scope.level, []).append(code)
    lineage = db.query_df(
        "SELECT code, city_key, county_key, township_key, community_key FROM areas "
        "WHERE code IN (SELECT unnest(?::VARCHAR[]))",
        [list(codes)],
    ).set_index("code")
    out = []
    for level, group in by_level.items():
        if len(group) == 1:
            out.append((scopes[codes.index(group[0])], None, group))
            continue
        rows = lineage.loc[group]
        for anc in reversed(LEVELS[: LEVELS.index(level)]):  # the nearest ancestor first
            keys = rows[LEVEL_COLUMN[anc]]
            if keys.notna().all() and keys.nunique() == 1:
                out.append((AreaScope(anc, int(keys.iloc[0])), level, group))
                break
    return out


def _values(db, ind_id: str, batches, since, until, kw) -> dict[str, pd.DataFrame]:
    """Indicator ``ind_id`` over ``[since, until)`` per area code: key and value rows."""
    got = {}
    for scope, by, group in batches:
        frame = indicators.compute(db, ind_id, scope, since, until, by=by, **kw)
        for code in group:
            got[code] = frame.loc[frame["area"] == code, ["key", "value"]]
    return got


def build(
    db: Database,
    request,
    user,
    *,
    timezone: str,
    now=None,
    escalate_after: dict[str, float] | None = None,
    sources: tuple[str, ...] | None = None,
) -> Figures:
    """Answer ``request`` (a :class:`FiguresRequest` or a dict) for ``user``: one row per
    indicator x area x dimension member, in the order asked, each value the catalogue's
    (:func:`data.indicators.compute`) for that area and period. Raises FiguresError for a bad
    request and PolicyDenied for an area outside the user's scope. ``sources``: the
    deployment's source ids (a ``source`` dimension's members; default the built-in five)."""
    req = parse(request)
    p = periods(req, timezone)
    scopes = check_areas(db, user, req.areas)
    kw = {"now": utc_now(now), "escalate_after": escalate_after, "sources": sources}
    areas = db.query_df(
        "SELECT code AS area, level, name_zh, name_en FROM areas "
        "WHERE code IN (SELECT unnest(?::VARCHAR[]))",
        [list(req.areas)],
    ).set_index("area")
    batches = _batches(db, req.areas, scopes)
    parts = []
    for ind_id in req.indicators:
        ind = indicators.get(ind_id)
        for code, scope in zip(req.areas, scopes, strict=True):
            if scope.level not in ind.levels:
                raise FiguresError(f"{ind_id} does not exist for a {scope.level} ({code})")
        now_ = _values(db, ind_id, batches, p.since, p.until, kw)
        old_ = (
            _values(db, ind_id, batches, p.compare_since, p.compare_until, kw)
            if (p.compare_since is not None)
            else {}
        )
        for code in req.areas:
            cur = now_[code]
            if p.compare_since is None:
                cur = cur.assign(compare_value=float("nan"))
            else:
                old = old_[code].rename(columns={"value": "compare_value"})
                # members of either period show (a category that occurred only before as 0 now)
                cur = cur.merge(old, on="key", how="outer", sort=False)
                cur["value"] = _zero(ind, cur["value"])
                cur["compare_value"] = _zero(ind, cur["compare_value"])
            info = areas.loc[code]
            cur = cur.assign(
                indicator=ind_id,
                unit=ind.unit,
                dimension=ind.dimension,
                area=code,
                level=info["level"],
                name_zh=info["name_zh"],
                name_en=info["name_en"],
            )
            parts.append(cur)
    table = pd.concat(parts, ignore_index=True)
    table["value"] = table["value"].astype("float64")
    table["compare_value"] = table["compare_value"].astype("float64")
    table["change"] = table["value"] - table["compare_value"]
    base = table["compare_value"].where(table["compare_value"] != 0)
    table["change_pct"] = table["change"] / base * 100.0
    return Figures(req, p, table[list(COLUMNS)].reset_index(drop=True))


def run(rt, user, request, *, now=None) -> Figures:
    """:func:`build` with the running app's region zone, warning escalation times and the
    department names of the answer (for showing dimension members)."""
    from data.cases.desk import department_names

    figs = build(
        rt.db,
        request,
        user,
        timezone=rt.timezone,
        now=now,
        escalate_after=rt.settings.warnings_escalate_after_s,
        sources=rt.catalogue.ids,
    )
    depts = figs.table.loc[figs.table["dimension"] == "department", "key"].dropna().unique()
    figs.names = department_names(rt.cases.rules, list(depts)) | source_names(rt.catalogue)
    return figs


def source_names(catalogue) -> dict[str, dict[str, str]]:
    """The names a deployment configures for its sources and their categories, keyed
    ``source.<id>`` and ``category.<id>.<code>`` (the built-in ones are the tables')."""
    out = {}
    for spec in catalogue.sources:
        keys = [f"source.{spec.id}"] + [f"category.{spec.id}.{c}" for c in spec.category_ids]
        for key in keys:
            zh, en = catalogue.name(key, "zh"), catalogue.name(key, "en")
            if zh is not None and en is not None:
                out[key] = {"zh": zh, "en": en}
    return out


def export(rt, user, request, fmt: str, render: Callable[[Figures, str], bytes], *, now=None):
    """The answer to ``request`` as a file of format ``fmt`` (csv, xlsx, docx), written by
    ``render(figures, fmt)``; returns (file name, bytes). Every area must pass the policy's
    ``export`` action; each export, and each refusal, is recorded in the audit trail."""
    if fmt not in EXPORT_FORMATS:
        raise FiguresError(f"format must be one of {', '.join(EXPORT_FORMATS)}")
    req = parse(request)
    actor = getattr(user, "username", None) or "anonymous"
    detail = {"format": fmt, "request": req.model_dump(exclude_none=True)}
    try:
        check_areas(rt.db, user, req.areas, "export")
    except policy.PolicyDenied:
        audit.record(
            rt.db,
            actor,
            "figures.export",
            object_type="figures",
            outcome="refused",
            object_id=fmt,
            detail=detail,
        )
        raise
    figs = run(rt, user, req, now=now)
    body = render(figs, fmt)
    audit.record(
        rt.db,
        actor,
        "figures.export",
        object_type="figures",
        object_id=fmt,
        detail={**detail, "rows": len(figs.table)},
    )
    return file_name(figs.periods, fmt, rt.timezone), body


def file_name(p: Periods, fmt: str, timezone: str) -> str:
    """``figures-<since>-<until>.<fmt>`` (local dates; only [0-9-] in it, safe in a header)."""
    s = p.since.tz_convert(timezone).strftime("%Y%m%d")
    u = (p.until - pd.Timedelta(microseconds=1)).tz_convert(timezone).strftime("%Y%m%d")
    return f"figures-{s}-{u}.{fmt}"


# --- the page's choices and its address -----------------------------------------------------------


def indicator_choices() -> list[dict]:
    """Every catalogue indicator with its domain and unit, grouped by domain."""
    items = [
        {"id": i.id, "domain": i.id.split(".")[0], "unit": i.unit, "dimension": i.dimension}
        for i in indicators.CATALOGUE.values()
    ]
    order = {d: n for n, d in enumerate(DOMAINS)}
    return sorted(items, key=lambda x: order.get(x["domain"], len(order)))


def area_choices(
    db: Database, user, *, search: str | None = None, keep=(), limit: int = 40
) -> pd.DataFrame:
    """The areas ``user`` may ask for: every area above the grid inside their scope, plus the
    grid cells whose code or name contains ``search`` (at most ``limit``) and those in ``keep``
    (already chosen). Columns code, level, name_zh, name_en; ordered by level, then code."""
    scope = policy.area_scope(db, user)
    if scope is None:
        return pd.DataFrame(columns=["code", "level", "name_zh", "name_en"])
    inside = f"({scope.column} = ? OR key = ?)"
    params: list = [int(scope.key), int(scope.key)]
    keep = [str(k) for k in (keep if isinstance(keep, list | tuple) else [keep]) if k]
    grid = ["code IN (SELECT unnest(?::VARCHAR[]))"]
    gparams: list = [keep]
    text = (search or "").strip()
    if len(text) >= 2:
        grid.append("contains(code, ?) OR contains(name_zh, ?) OR contains(lower(name_en), ?)")
        gparams += [text, text, text.lower()]
    found = db.query_df(
        "SELECT code, level, name_zh, name_en FROM areas "
        f"WHERE {inside} AND level <> 'grid' "
        "UNION ALL (SELECT code, level, name_zh, name_en FROM areas "
        f"WHERE {inside} AND level = 'grid' AND ({' OR '.join(grid)}) ORDER BY code LIMIT ?)",
        [*params, *params, *gparams, int(limit) + len(keep)],
    )
    found["rank"] = found["level"].map({lv: n for n, lv in enumerate(LEVELS)})
    return found.sort_values(["rank", "code"]).drop(columns="rank").reset_index(drop=True)


def default_request(timezone: str, now=None) -> dict:
    """The form's starting values: the last seven local days up to today, against the seven
    before (no indicator or area chosen yet)."""
    today = local_midnight(utc_now(now).tz_convert(timezone).tz_localize(None), timezone)
    since = today - pd.Timedelta(days=7)
    return {
        "indicators": [],
        "areas": [],
        "since": _as_text(since, timezone),
        "until": _as_text(today, timezone),
        "compare": "previous",
    }


def to_query(request) -> str:
    """The request as an address query string (``?indicators=a,b&areas=x,y&since=...``), so a
    table can be shared as a link."""
    req = parse(request)
    parts = {
        "indicators": ",".join(req.indicators),
        "areas": ",".join(req.areas),
        "since": req.since,
        "until": req.until,
        "compare": req.compare,
    }
    if req.compare == "custom":
        parts |= {"compare_since": req.compare_since, "compare_until": req.compare_until}
    return "?" + urlencode(parts, safe=",:")


def from_query(
    search: str | None, timezone: str, now=None
) -> tuple[dict, FiguresRequest | None, str | None]:
    """An address query string read back: (form values, the request or None, the problem or
    None). Without indicators and areas in it, no request, and the form's defaults (or the
    period it names); keys that are not a request's (another page's ``county=``) are ignored."""
    values = default_request(timezone, now)
    q = {k: v[-1] for k, v in parse_qs(str(search or "").lstrip("?")).items()}
    if "indicators" not in q and "areas" not in q:
        # a period alone (a link to "last month's figures, pick what you need") fills the form
        for k in ("since", "until"):
            with contextlib.suppress(ValueError):  # not a bound: the default stays
                values[k] = FiguresRequest._bound(q[k]) if k in q else values[k]
        if q.get("compare") in COMPARE and q["compare"] != "custom":
            values["compare"] = q["compare"]
        return values, None, None
    data = {
        k: q[k] for k in ("since", "until", "compare", "compare_since", "compare_until") if k in q
    }
    data["indicators"] = [x for x in q.get("indicators", "").split(",") if x]
    data["areas"] = [x for x in q.get("areas", "").split(",") if x]
    data = {**{k: values[k] for k in ("since", "until")}, **data}
    values |= data
    try:
        return values, parse(data), None
    except FiguresError as exc:
        return values, None, str(exc)


def form_request(indicators_, areas, since, until, compare, compare_since=None, compare_until=None):
    """A request from the page's form (``until`` is the last day INCLUDED, as a date picker
    shows it; the request's ``until`` is the day after). Raises FiguresError."""
    if not isinstance(since, str) or not isinstance(until, str):
        raise FiguresError("choose the period's first and last day")

    def after(day: str) -> str:
        try:
            return (pd.Timestamp(day[:10]) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
        except (ValueError, TypeError):
            raise FiguresError(f"{day!r} is not a date (YYYY-MM-DD)") from None

    data = {
        "indicators": list(indicators_ or [])
        if not isinstance(indicators_, str)
        else [indicators_],
        "areas": list(areas or []) if not isinstance(areas, str) else [areas],
        "since": since[:10],
        "until": after(until),
        "compare": compare or "none",
    }
    if data["compare"] == "custom":
        if not isinstance(compare_since, str) or not isinstance(compare_until, str):
            raise FiguresError("choose the comparison period's first and last day")
        data |= {"compare_since": compare_since[:10], "compare_until": after(compare_until)}
    return parse(data)


# --- saved requests -------------------------------------------------------------------------------


def _owner_filter(user) -> tuple[str, list]:
    """The saved requests ``user`` manages: their own; an administrator's, everyone's."""
    owner = policy.saved_requests_owner(user)
    return ("TRUE", []) if owner is None else ("owner = ?", [owner])


def save(db: Database, user, name: str, request, *, now=None) -> int:
    """Keep ``request`` under ``name`` for ``user``; returns its id. The areas must lie in the
    user's scope (a saved request is re-run by its owner)."""
    req = parse(request)
    name = str(name or "").strip()
    if not name:
        raise FiguresError("give the request a name")
    if len(name) > NAME_MAX:
        raise FiguresError(f"a name has at most {NAME_MAX} characters")
    policy.saved_requests_owner(user)  # may the user keep requests at all
    check_areas(db, user, req.areas)
    body = req.model_dump_json(exclude_none=True)
    when = utc_now(now).to_pydatetime()
    return db.write(
        lambda con: con.execute(
            "INSERT INTO figures_requests (owner, name, request, created_at) VALUES (?, ?, ?, ?) "
            "RETURNING id",
            [user.username, name, body, when],
        ).fetchone()[0]
    )


def saved(db: Database, user) -> pd.DataFrame:
    """The saved requests ``user`` may run and delete, newest first: id, owner, name, request
    (a dict), created_at."""
    where, params = _owner_filter(user)
    df = db.query_df(
        "SELECT id, owner, name, request, created_at FROM figures_requests "
        f"WHERE {where} ORDER BY created_at DESC, id DESC",
        params,
    )
    df["request"] = [json.loads(r) for r in df["request"]]
    return df


def saved_request(db: Database, user, saved_id, *, timezone: str, next_period: bool = False):
    """Saved request ``saved_id`` (for the next period with ``next_period``); FiguresError when
    the user has no such request (another user's is answered the same way)."""
    where, params = _owner_filter(user)
    row = db.query_one(
        f"SELECT request FROM figures_requests WHERE id = ? AND {where}", [int(saved_id), *params]
    )
    if row is None:
        raise FiguresError(f"no saved request {saved_id}")
    req = parse(json.loads(row[0]))
    return next_request(req, timezone) if next_period else req


def delete(db: Database, user, saved_id) -> bool:
    """Delete saved request ``saved_id`` if ``user`` may (their own; an administrator any);
    True when one was deleted."""
    where, params = _owner_filter(user)
    return bool(
        db.write(
            lambda con: con.execute(
                f"DELETE FROM figures_requests WHERE id = ? AND {where} RETURNING id",
                [int(saved_id), *params],
            ).fetchall()
        )
    )
