"""The hall's console (page ``/console``): named channels that walls follow.

An operator at a tablet sets a channel's view (county, map level, metric, window, and optionally
a past period to review: ``since``/``until``, as on the wall's address); every wall
opened with ``?channel=<name>`` takes that view at its next refresh. A channel's view is kept in
the store (table ``console_channels``), so a wall restarted at night still follows, and in memory,
because every following wall asks for it on each refresh (a dictionary read, no query).

Views are checked here, not trusted from the browser: only the keys below, known values, and a
county inside the setter's scope. A wall that follows still resolves the view against its own
viewer's scope (:func:`data.wallview.resolve_view`), so a channel never widens what a screen
shows.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import pandas as pd

from data import audit
from data.areas import AreaScope
from data.catalogue import (
    CHANNEL_NAME,
    DEFAULT_CATALOGUE,
    DEFAULT_WALL_WINDOW,
    MAP_LEVELS,
    WALL_WINDOWS,
    Catalogue,
)
from data.queries import areas_at
from data.store import Database
from data.times import utc_now
from data.wallhistory import period_of

# the keys of a channel's view; a wall's own keys (township, cell, tour) are cleared on follow.
# ``since``/``until``: a past period (bare dates are the region's local midnights, ``until``
# exclusive), kept as the text the operator gave so a following wall reads it exactly as a wall
# opened with ``?since=..&until=..`` does; both empty: the live wall.
VIEW_KEYS = ("county", "level", "metric", "window", "since", "until")


class ConsoleError(ValueError):
    """A channel name or view the console cannot take: the message says which, in English (for
    logs and the API); ``code`` and ``params`` let a screen say it in the reader's language."""

    def __init__(self, message: str, code: str, **params) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Channel:
    """One channel: its view, a version that grows on each change, who set it and when (UTC)."""

    name: str
    view: dict
    version: int
    updated_at: pd.Timestamp
    updated_by: str


def check_name(name: str | None) -> str:
    """``name`` lower-cased when it is a valid channel name (letters, digits, '-', '_'; at most
    32 characters, starting with a letter or digit); raises :class:`ConsoleError` otherwise."""
    value = str(name or "").strip().lower()
    if not CHANNEL_NAME.fullmatch(value):
        raise ConsoleError(
            f"channel name {name!r}: use 1-32 letters, digits, '-' or '_', starting with a "
            "letter or digit",
            "name",
            value=str(name or ""),
        )
    return value


def check_view(
    db: Database,
    view: dict,
    base: AreaScope,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
    timezone: str = "UTC",
    now: pd.Timestamp | None = None,
) -> dict:
    """The view a channel may carry, from ``view`` (a dict with :data:`VIEW_KEYS`).

    ``base``: the setter's scope; ``catalogue``: the deployment's sources (the wall's metrics);
    ``timezone``: the region's zone (a bare date's midnight); ``now``: the clock (tests).
    A county outside the scope, an unknown level, metric or window, or a period the wall cannot
    show (one bound only, not a date, empty or reversed, longer than the wall replays, starting
    in the future: :func:`data.wallhistory.period_of`) raise :class:`ConsoleError` naming the
    value (nothing is silently replaced)."""
    if not isinstance(view, dict):
        raise ConsoleError("a channel's view is an object", "view")
    county = view.get("county") or None
    if county is not None and county not in counties_in(db, base)["code"].tolist():
        raise ConsoleError(
            f"county {county!r} is not a county you may show", "county", value=str(county)
        )
    checks = (
        ("level", MAP_LEVELS, None),
        ("metric", catalogue.wall_metrics, "all"),
        ("window", WALL_WINDOWS, DEFAULT_WALL_WINDOW),
    )
    out: dict = {"county": county}
    for key, allowed, default in checks:
        value = view.get(key) or default
        if value is not None and value not in allowed:
            raise ConsoleError(
                f"{key} {value!r}: expected one of {', '.join(allowed)}",
                "choice",
                key=key,
                value=str(value),
            )
        out[key] = value
    period = check_period(view.get("since"), view.get("until"), timezone, now)
    if period["since"] is not None:  # a live view carries no period keys
        out.update(period)
    return out


def check_period(
    since: str | None, until: str | None, timezone: str, now: pd.Timestamp | None = None
) -> dict:
    """``{"since": ..., "until": ...}``: the period as the wall's address carries it (stripped
    text; both None for the live wall), checked by the wall's own reading of a period so that a
    channel never carries one a wall would refuse. Raises :class:`ConsoleError` (code
    ``period``) with the reason."""
    bounds = {
        k: (str(v).strip() or None) if v is not None else None
        for k, v in (("since", since), ("until", until))
    }
    try:
        period_of(bounds, timezone, utc_now(now))
    except ValueError as exc:
        raise ConsoleError(f"period: {exc}", "period", reason=str(exc)) from None
    return bounds


def counties_in(db: Database, base: AreaScope) -> pd.DataFrame:
    """The counties inside ``base`` (code, name_zh, name_en), in the store's order."""
    return areas_at(db, base, "county")


def follow(view: dict | None, channel: Channel) -> dict:
    """A wall's view after taking ``channel``'s: the channel's keys, the wall's own drill-down
    (township, cell), tour and replay position cleared; the channel's period (a review, shown at
    its end as a wall opened with ``?since=..&until=..``) or none (live); its channel name
    kept."""
    return {
        **(view or {}),
        **channel.view,
        "township": None,
        "cell": None,
        "tour": 0,
        "since": channel.view.get("since") or None,
        "until": channel.view.get("until") or None,
        "at": None,
        "channel": channel.name,
    }


@dataclass(frozen=True)
class ConsoleState:
    """What the console page shows for one channel name: the counties the user may choose, the
    known channels, the channel (None when not set yet) or why the name cannot be one."""

    counties: list[dict]
    known: list[str]
    name: str | None
    channel: Channel | None
    error: ConsoleError | None


class Channels:
    """The channels of one store: read from memory, written through the store's writer."""

    def __init__(
        self, db: Database, catalogue: Catalogue = DEFAULT_CATALOGUE, timezone: str = "UTC"
    ) -> None:
        self.db = db
        self.catalogue = catalogue
        self.timezone = timezone  # the region's: a period's bare dates are its midnights
        self._lock = threading.Lock()
        self._by_name: dict[str, Channel] | None = None

    def get(self, name: str | None) -> Channel | None:
        """The channel called ``name`` (None when there is none or the name is not valid)."""
        try:
            key = check_name(name)
        except ConsoleError:
            return None
        return self._all().get(key)

    def listing(self) -> list[Channel]:
        """Every channel, by name."""
        return sorted(self._all().values(), key=lambda c: c.name)

    def page(self, name: str | None, base: AreaScope) -> ConsoleState:
        """The console page's content for channel ``name`` and a user whose scope is ``base``."""
        counties = counties_in(self.db, base)[["code", "name_zh", "name_en"]].to_dict("records")
        known = [c.name for c in self.listing()]
        try:
            key = check_name(name)
        except ConsoleError as exc:
            return ConsoleState(counties, known, None, None, exc)
        return ConsoleState(counties, known, key, self._all().get(key), None)

    def update_for(self, view: dict | None, seen: int | None) -> tuple[dict, int] | None:
        """For a wall showing ``view`` at channel version ``seen``: its new view and the
        channel's version when the channel it follows has changed since, else None."""
        channel = self.get((view or {}).get("channel"))
        if channel is None or channel.version == seen:
            return None
        return follow(view, channel), channel.version

    def set(self, name: str, view: dict, base: AreaScope, actor: str) -> Channel:
        """Give channel ``name`` the view ``view`` (checked against ``base``, the setter's
        scope), recorded in the audit trail as ``console.set`` by ``actor``."""
        key = check_name(name)
        clean = check_view(self.db, view, base, self.catalogue, self.timezone)
        now = pd.Timestamp.now(tz="UTC")
        address = audit.current_address()  # bound to this request's thread, not the writer's

        def run(con) -> int:
            row = con.execute(
                "INSERT INTO console_channels (name, view, version, updated_at, updated_by) "
                "VALUES (?, ?, 1, ?, ?) ON CONFLICT (name) DO UPDATE SET view = excluded.view, "
                "version = console_channels.version + 1, updated_at = excluded.updated_at, "
                "updated_by = excluded.updated_by RETURNING version",
                [key, json.dumps(clean, sort_keys=True), now, actor],
            ).fetchall()
            audit.record_con(
                con,
                actor,
                "console.set",
                object_type="channel",
                object_id=key,
                address=address,
                detail=clean,
            )
            return int(row[0][0])

        version = self.db.write(run)
        channel = Channel(key, clean, version, now, actor)
        with self._lock:
            if self._by_name is not None:
                self._by_name[key] = channel
        return channel

    def _all(self) -> dict[str, Channel]:
        # loaded once, under the lock: a change written meanwhile then lands on the loaded copy
        with self._lock:
            if self._by_name is None:
                rows = self.db.query(
                    "SELECT name, view, version, updated_at, updated_by FROM console_channels"
                )
                self._by_name = {
                    r[0]: Channel(r[0], json.loads(r[1]), int(r[2]), pd.Timestamp(r[3]), r[4])
                    for r in rows
                }
            return self._by_name
