"""Settings: the one place OneGrid's configuration comes from.

Precedence, lowest to highest: defaults below < a TOML config file (``--config`` or
``ONEGRID_CONFIG``) < environment variables ``ONEGRID_<NAME>`` (for example ``ONEGRID_DB``,
``ONEGRID_PORT``, ``ONEGRID_REGION``, ``ONEGRID_SIMULATOR=off``, ``ONEGRID_INGEST_TOKEN``).
Nested tables (feed tokens, rates) use a double underscore: ``ONEGRID_FEED_TOKENS__POLICE=...``.
"""

from __future__ import annotations

import hmac
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, InitSettingsSource, SettingsConfigDict

from data.catalogue import DEFAULT_CATALOGUE, Catalogue

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = REPO_ROOT / "var" / "onegrid.duckdb"


class PullFeed(BaseModel):
    """An HTTP pull connector: JSON or CSV fetched from ``url`` every ``interval_s`` seconds."""

    name: str
    source: str
    url: str
    mapping: str | None = None
    format: Literal["json", "csv"] = "json"
    interval_s: float = Field(default=60.0, gt=0)
    since_param: str | None = "since"


class FolderFeed(BaseModel):
    """A folder-drop connector: files dropped in ``path`` are ingested then moved to done/ or failed/."""

    name: str
    path: Path
    mapping: str | None = None
    source: str | None = None
    interval_s: float = Field(default=5.0, gt=0)


class MqttFeed(BaseModel):
    """An MQTT subscription (data/feeds/mqtt.py): messages on ``topic`` at QoS 1, each payload one
    event object of the push API or a list of them (or, with ``mapping``, the device's own JSON),
    acknowledged to the broker only after commit. ``url``: ``mqtt://host:port`` or
    ``mqtts://host:port`` (TLS, verified against ``ca_file`` or the system's CAs)."""

    name: str
    url: str = Field(pattern=r"^mqtts?://[^/?#]+/?$")
    topic: str = "onegrid/+"
    mapping: str | None = None
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = None
    # the broker keeps the session (subscription, unacknowledged and queued messages) this long
    # while OneGrid is away; the client id names the session, so it must stay the same
    client_id: str | None = None  # default: onegrid-<name>
    session_expiry_s: int = Field(default=7 * 86400, ge=0, le=4294967295)
    # messages the broker may send before their acknowledgement (MQTT 5 receive maximum), and
    # the most messages committed in one batch
    receive_maximum: int = Field(default=1000, ge=1, le=65535)
    batch_max: int = Field(default=1000, ge=1)
    # a larger payload is quarantined (its first max_payload_bytes kept), like a push over limit
    max_payload_bytes: int = Field(default=1024 * 1024, ge=1024)
    keepalive_s: int = Field(default=30, ge=5)
    # reconnect backoff: doubles from the first delay after each failure, up to the last
    reconnect_min_s: int = Field(default=1, ge=1)
    reconnect_max_s: int = Field(default=60, ge=1)


class Settings(BaseSettings):
    """All of OneGrid's settings. Times are seconds unless a name says otherwise."""

    model_config = SettingsConfigDict(
        env_prefix="ONEGRID_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    db: Path = DEFAULT_DB
    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=1, le=65535)
    region: str = "anshan"
    timezone: str | None = None  # default: the region's own time zone
    language: Literal["zh", "en"] = "zh"

    # the store (data/store.py): DuckDB's memory limit (its buffer pool; a DuckDB size such as
    # "1GB", or "" for DuckDB's default of 80 % of the machine), the write-ahead log's ceiling
    # (a checkpoint folds it into the file before it gets there) and the longest time between
    # checkpoints while events arrive
    db_memory_limit: str = Field(default="1GB", pattern=r"^(|\d+(\.\d+)?\s*[KMGT]i?B)$")
    wal_limit_mb: float = Field(default=64.0, ge=1)
    checkpoint_interval_s: float = Field(default=60.0, ge=0)
    # SIGTERM / SIGINT: seconds the server may take to stop feeds, finish queued writes,
    # checkpoint and close before it exits anyway (what is acknowledged is in the WAL already)
    stop_timeout_s: float = Field(default=12.0, gt=0)

    # the event archive (data/archive.py): events older than archive_after_days (whole UTC days,
    # at least 1; 0 keeps every event in the database) move to Parquet files under archive_dir (default:
    # "archive" beside the database file), checked every archive_interval_s. The 5-minute
    # rollups stay in the database; queries over older periods read the files transparently.
    archive_after_days: float = Field(default=90.0, ge=0)
    archive_dir: Path | None = None
    archive_interval_s: float = Field(default=600.0, gt=0)
    # the most events one move (one transaction, one file) takes: other writes wait while it
    # commits (about 50-80 µs an event on a busy 2-core machine)
    archive_rows_per_move: int = Field(default=10_000, ge=100)

    simulator: bool = True
    simulator_speed: float = Field(default=1.0, gt=0)
    simulator_interval_s: float = Field(default=2.0, gt=0)
    simulator_seed: int = 20261126
    simulator_rates: dict[str, float] = Field(default_factory=dict)
    # On an empty database, fill this many days of simulated history so the wall has a past.
    simulator_backfill_days: float = Field(default=8.0, ge=0)
    # With the simulator on: simulated departments sign, handle and close the simulated cases
    # (data/feeds/simulator/departments.py); never runs when the simulator is off.
    simulator_responders: bool = True

    # sign-in: every page and the read API need a signed-in user (or the read token)
    auth: bool = True
    users_file: Path = REPO_ROOT / "var" / "users.toml"
    secret_key: str | None = None  # default: a random key kept in var/secret_key
    ingest_token: str | None = None
    read_token: str | None = None  # when set, the read API needs it as a Bearer token
    feed_tokens: dict[str, str] = Field(default_factory=dict)
    # server-side sessions (docs/SECURITY.md): a session ends after this long without a request,
    # and at the latest this long after sign-in, whatever happens
    session_idle_s: float = Field(default=8 * 3600.0, gt=0)
    session_max_s: float = Field(default=24 * 3600.0, gt=0)
    # served behind an HTTPS reverse proxy: the session cookie is marked Secure
    cookie_secure: bool = False
    # reverse proxies in front of OneGrid whose X-Forwarded-For/-Proto headers are trusted (0: the
    # client address is the TCP peer; never raise it above the real number of proxies)
    trusted_proxies: int = Field(default=0, ge=0, le=5)
    # sign-in throttling: this many failed attempts within login_lockout_s lock out further
    # attempts for a user name, and (a larger budget, for shared NAT addresses) for a client address
    login_max_failures_user: int = Field(default=5, ge=1)
    login_max_failures_address: int = Field(default=20, ge=1)
    login_lockout_s: int = Field(default=900, ge=1)
    max_push_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    max_push_events: int = Field(default=10_000, gt=0)

    stale_after_s: float = Field(default=300.0, gt=0)
    stale_after_s_by_feed: dict[str, float] = Field(default_factory=dict)
    refresh_ms: int = Field(default=5000, ge=500)
    # the wall's views are shared by every screen that shows them (data/wallview.py): a view is
    # recomputed when a new batch arrives, but not more often than this (issue 12)
    view_coalesce_ms: int = Field(default=2000, ge=0)
    # the nice value of the threads that serve screens (data/priority.py): when the CPU is short,
    # they wait and the writer does not; 0 gives screens and ingest the same priority
    screen_nice: int = Field(default=10, ge=0, le=19)
    # the web server's worker threads: screens waiting for a shared view computation hold one
    server_threads: int = Field(default=16, ge=1, le=256)
    # open connections the web server keeps (waitress' own default is 100): every screen holds a
    # few keep-alive connections, and past the limit new ones wait unanswered
    server_connection_limit: int = Field(default=2000, ge=10)
    tile_url: str | None = None

    # the sources OneGrid accepts beyond (or changing) the five built-in ones: ``[[sources]]``
    # tables (data/catalogue.py, docs/INGEST.md "Sources by configuration"); the running app
    # reads the result as ``catalogue``
    sources: list[dict[str, Any]] = Field(default_factory=list)
    _catalogue: Catalogue = PrivateAttr(default=DEFAULT_CATALOGUE)

    pull_feeds: list[PullFeed] = Field(default_factory=list)
    folder_feeds: list[FolderFeed] = Field(default_factory=list)
    mqtt_feeds: list[MqttFeed] = Field(default_factory=list)
    # where the /feeds/new page saves the mappings administrators draft (default: "mappings"
    # beside the database file); a feed names one by path (mapping = "<dir>/<name>.toml")
    mappings_dir: Path | None = None

    # early warning (data/warnings): rules file (default data/rules.toml), evaluation period,
    # and per level (blue/yellow/orange/red) the seconds a raised warning may stay unacknowledged
    # before it is escalated to the next command level (again after each further period)
    warnings: bool = True
    warnings_rules: Path | None = None
    warnings_interval_s: float = Field(default=30.0, gt=0)
    warnings_escalate_after_s: dict[str, float] = Field(
        default_factory=lambda: {"blue": 7200.0, "yellow": 3600.0, "orange": 1800.0, "red": 900.0}
    )

    # cases (docs/CASES.md): working time in the city's local time zone. Deadlines in working
    # hours/days and quiet hours (non-urgent notifications held until the next working time) use it.
    work_start: str = Field(default="08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    work_end: str = Field(default="17:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    work_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])  # Monday = 0
    holidays: list[str] = Field(default_factory=list)  # "YYYY-MM-DD", local dates off work
    responsibilities: Path | None = None  # default: data/responsibilities.toml
    cases_from_hotline: bool = True  # every accepted 12345 event becomes a case
    case_webhook_url: str | None = None  # optional mirror of delivered notifications (POST JSON)
    case_webhook_timeout_s: float = Field(default=3.0, gt=0)
    # the notice deliverer (data/cases/notices.py): releases notices held by quiet hours and posts
    # the outbox to the webhook every case_deliver_interval_s; a failed post is tried again after
    # case_deliver_interval_s * 2^(attempts-1), at most case_webhook_retry_max_s later
    case_deliver_interval_s: float = Field(default=10.0, gt=0)
    case_webhook_retry_max_s: float = Field(default=600.0, gt=0)

    # targeted inspection lists (data/inspections.py, docs/INSPECTIONS.md): the threshold each
    # piece of evidence must reach to put an area or department on the list, and the figures that
    # exempt one (on-time rate at least inspect_exempt_on_time and nothing overdue)
    inspect_overdue_min: int = Field(default=1, ge=1)  # open cases past their deadline
    inspect_reworked_min: int = Field(default=2, ge=1)  # cases sent back for rework
    inspect_returns_min: int = Field(default=2, ge=1)  # cases returned to the hall
    inspect_repeat_min: int = Field(default=3, ge=2)  # complaints about one place or business
    inspect_unacknowledged_min: int = Field(default=1, ge=1)  # warnings left past escalation
    inspect_risk_above: float = Field(default=150.0, gt=100)  # risk index (100 = usual)
    inspect_silent_hours: float = Field(default=24.0, gt=0)  # a source silent in an area this long
    inspect_silent_expected: float = Field(
        default=5.0, gt=0
    )  # when its usual rate expects this many
    inspect_exempt_on_time: float = Field(default=0.9, ge=0, le=1)

    # scheduled briefings (README, "Scheduled briefings"): the city's and every county's daily, weekly and
    # monthly briefing, written at ``briefing_at`` local time of the first day after the period
    # into ``briefing_dir`` (default: "briefings" beside the database file), listed on /briefings
    briefings: bool = True
    briefing_at: str = Field(default="07:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    briefing_dir: Path | None = None
    # field reports' photos (/report): at most photo_max_mb each, JPEG, PNG or WebP, kept in
    # ``attachments_dir`` (default: "attachments" beside the database file)
    attachments_dir: Path | None = None
    photo_max_mb: float = Field(default=8.0, gt=0, le=50)
    briefing_formats: list[Literal["docx", "pdf", "html"]] = Field(
        default_factory=lambda: ["docx", "pdf"]
    )
    briefing_langs: list[Literal["zh", "en"]] = Field(default_factory=lambda: ["zh"])
    briefing_interval_s: float = Field(default=60.0, gt=0)  # how often the scheduler looks

    @field_validator("archive_after_days", mode="before")
    @classmethod
    def _archive_off(cls, v: Any) -> Any:
        # "none"/"off" (or an empty value) disable the archive, like 0
        if v is None or (isinstance(v, str) and v.strip().lower() in {"", "none", "off"}):
            return 0.0
        return v

    @field_validator("archive_after_days")
    @classmethod
    def _archive_whole_days(cls, v: float) -> float:
        # ingest skips the archive look-up for events younger than a day (data/archive.py)
        if 0 < v < 1:
            raise ValueError("must be 0 (off) or at least 1 day")
        return v

    @field_validator("simulator", mode="before")
    @classmethod
    def _on_off(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().lower() in {"on", "off"}:
            return v.strip().lower() == "on"
        return v

    @field_validator("sources")
    @classmethod
    def _sources_valid(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # checked here so a bad table is reported with the other settings, naming its entry
        DEFAULT_CATALOGUE.with_config(v)
        return v

    @model_validator(mode="after")
    def _build_catalogue(self) -> Settings:
        self._catalogue = (
            DEFAULT_CATALOGUE.with_config(self.sources) if self.sources else DEFAULT_CATALOGUE
        )
        return self

    @property
    def catalogue(self) -> Catalogue:
        """The sources and categories this deployment accepts (built-in + ``[[sources]]``)."""
        return self._catalogue

    def token_ok(self, source: str, token: str | None) -> bool:
        """True when ``token`` may push to ``source`` (the shared token or the feed's own)."""
        if not token:
            return False
        allowed = [t for t in (self.ingest_token, self.feed_tokens.get(source)) if t]
        # constant time, and every candidate compared, so timing tells nothing about any token
        matches = [hmac.compare_digest(token.encode(), t.encode()) for t in allowed]
        return any(matches)

    def stale_after(self, feed: str) -> float:
        """Seconds of silence after which ``feed`` counts as stale."""
        return self.stale_after_s_by_feed.get(feed, self.stale_after_s)


class SettingsError(ValueError):
    """A configuration problem, worded for the person running OneGrid."""


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Build settings: defaults < the TOML file < the environment < ``overrides`` (for tests).

    ``config`` defaults to ``$ONEGRID_CONFIG``. Raises :class:`SettingsError` naming every problem.
    """
    path = config or os.environ.get("ONEGRID_CONFIG")
    file_values: dict[str, Any] = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise SettingsError(f"config file not found: {p}")
        try:
            file_values = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {p} is not valid TOML: {exc}") from exc

    class _Layered(Settings):
        @classmethod
        def settings_customise_sources(
            cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
        ):
            return (init_settings, env_settings, InitSettingsSource(settings_cls, file_values))

    try:
        return _Layered(**overrides)
    except ValidationError as exc:
        raise SettingsError(_explain(exc)) from exc


def _explain(exc: ValidationError) -> str:
    lines = ["invalid settings:"]
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"])
        env = "ONEGRID_" + name.upper().replace(".", "__")
        lines.append(f"  {name} (env {env}): {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)
