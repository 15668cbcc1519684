"""The running OneGrid: store, region, pipeline and feeds, started and stopped together.

``Runtime`` is what the web app and the CLI share; it holds no dash objects.
"""

from __future__ import annotations

import logging
import threading
import time

import pandas as pd

from data.areas import AreaScope, city_scope
from data.auth import UserStore
from data.ingest import Pipeline
from data.region import load_region
from data.settings import Settings
from data.store import Database

log = logging.getLogger(__name__)


class Runtime:
    """Everything OneGrid runs on, built from ``settings``; ``start()`` starts the feeds."""

    def __init__(self, settings: Settings) -> None:
        t0 = time.monotonic()
        self.settings = settings
        # the sources and categories accepted, shown and counted (built-in + [[sources]])
        self.catalogue = settings.catalogue
        self.region = load_region(settings.region)
        t_region = time.monotonic()
        self.timezone = settings.timezone or self.region.meta.get("timezone", "UTC")
        self.db = Database(
            settings.db,
            memory_limit=settings.db_memory_limit or None,
            wal_limit_mb=settings.wal_limit_mb,
            checkpoint_interval_s=settings.checkpoint_interval_s,
        )
        t_db = time.monotonic()
        try:
            self.pipeline = Pipeline.for_region(self.db, self.region, self.catalogue)
        except Exception:
            self.db.close()
            raise
        self.scope: AreaScope = city_scope(self.db)
        from data.archive import ArchiveScheduler, from_settings  # history beyond the database

        self.archive = from_settings(self.db, settings)
        self.archiver = ArchiveScheduler(self.archive, settings.archive_interval_s)
        from data.cases import CaseService  # closed-loop cases: hotline intake (docs/CASES.md)

        self.cases = CaseService.for_runtime(self)
        self.cell_keys: list[int] = self.region.cells()["key"].astype(int).tolist()
        self._geojson: dict[str, bytes] = {}
        from data import audit
        from data.sessions import SessionStore

        # the users file may change under the running server (the `user` command): each change
        # is recorded in the audit trail, and sessions check the file on each request
        self.users = UserStore(
            settings.users_file, on_load=lambda users, by: audit.sync_users(self.db, users, by)
        )
        self.sessions = SessionStore(
            self.db,
            idle_s=settings.session_idle_s,
            max_s=settings.session_max_s,
            nice=settings.screen_nice,
        )
        from data.wallview import WallViews

        # the wall's views, computed once per data version for every screen (issue 12)
        self.wall = WallViews(
            self.db,
            self.region,
            timezone=self.timezone,
            stale_after=settings.stale_after,
            warnings=lambda: self.warnings,
            refresh_s=settings.refresh_ms / 1000,
            coalesce_s=settings.view_coalesce_ms / 1000,
            catalogue=self.catalogue,
            nice=settings.screen_nice,
        )
        self.pipeline.add_listener(self.wall.bump)
        from data.console import Channels

        # the hall console's channels, which walls opened with ?channel= follow
        self.channels = Channels(self.db, self.catalogue, self.timezone)
        self._feeds: list = []
        # further periodic workers handed in by the app (e.g. the briefings scheduler, which
        # renders documents and so lives above data/): started and stopped with the feeds
        self.workers: list = []
        self._lock = threading.Lock()
        # guards the lazy start of the warnings engine: two requests must not build two engines
        self._warnings_lock = threading.Lock()
        self.warnings = None  # the warnings engine (data/warnings)
        self.warning_scheduler = None
        self.responders = None  # simulated departments working the cases (simulator only)
        if settings.warnings:
            self._init_warnings()
        # what a restart costs, step by step (issue 8: restart after kill -9 under 10 s)
        log.info(
            "runtime ready in %.1f s (region %.1f s, store open and WAL replay %.1f s, rest %.1f s)",
            time.monotonic() - t0,
            t_region - t0,
            t_db - t_region,
            time.monotonic() - t_db,
        )

    def _init_warnings(self) -> None:
        from data.warnings import WarningEngine, WarningScheduler

        self.warnings = WarningEngine.from_settings(self.db, self.settings)
        self.warning_scheduler = WarningScheduler(self.warnings, self.settings.warnings_interval_s)

    def ensure_warnings(self):
        """The warnings engine, built on first use if the settings did not start it.

        Safe from several request threads at once: exactly one engine (and scheduler) is built.
        """
        with self._warnings_lock:
            if self.warnings is None or self.warning_scheduler is None:
                self._init_warnings()
            return self.warnings

    def evaluate_warnings(self, now=None):
        """Evaluate the warning rules now (on demand); returns the EvaluationResult."""
        self.ensure_warnings()
        return self.warning_scheduler.run_now(now)

    def geojson(self, level: str) -> bytes:
        """Compact GeoJSON bytes of one level's polygons (built once, then cached)."""
        from data.geometry import geojson_bytes, level_geojson

        with self._lock:
            if level not in self._geojson:
                self._geojson[level] = geojson_bytes(level_geojson(self.region, level))
            return self._geojson[level]

    def start(self) -> None:
        """Start the simulator (after back-filling history on an empty store) and connectors."""
        from data.feeds.connectors import FolderDropFeed, HttpPullFeed

        t0 = time.monotonic()
        # hotline events stored before case intake existed (an older version) become cases
        self.cases.intake_hotline()

        if self.settings.simulator:
            self._start_simulator()
        for spec in self.settings.pull_feeds:
            self._feeds.append(HttpPullFeed(spec, self.pipeline, self.db))
        for spec in self.settings.folder_feeds:
            self._feeds.append(FolderDropFeed(spec, self.pipeline))
        if self.settings.mqtt_feeds:
            from data.feeds.mqtt import MqttSubscriber  # paho only when an MQTT feed is set

            for spec in self.settings.mqtt_feeds:
                self._feeds.append(MqttSubscriber(spec, self.pipeline, self.db))
        for feed in self._feeds:
            if not getattr(feed, "running", False):
                feed.start()
        if self.warning_scheduler is not None:
            self.warning_scheduler.start()
        if self.archive.after_days > 0:
            self.archiver.start()
        # held notices released and webhook posts sent after their transactions commit
        self.cases.deliverer.start()
        for worker in self.workers:
            worker.start()
        log.info("feeds started in %.1f s", time.monotonic() - t0)

    def _start_simulator(self) -> None:
        from data.feeds.simulator import Simulator, SimulatorFeed

        rates = self.settings.simulator_rates or None
        sim = Simulator.from_region(
            self.region, seed=self.settings.simulator_seed, rates=rates, timezone=self.timezone
        )
        feed = SimulatorFeed(
            sim,
            lambda source, frame: self.pipeline.ingest_frame(source, frame, feed="simulator"),
            interval_s=self.settings.simulator_interval_s,
            speed=self.settings.simulator_speed,
        )
        feed.start()
        # history up to the instant the live feed took over, so there is no gap and no overlap
        self.backfill(sim, feed.started_at)
        self._feeds.append(feed)
        if self.settings.simulator_responders:
            self._start_responders(feed)

    def _start_responders(self, feed) -> None:
        """Simulated departments work the simulated cases: the history at once, then every 30 s."""
        from data.feeds.simulator.departments import SimulatedResponders

        self.responders = SimulatedResponders(
            self.db,
            feed.sim_now,
            seed=self.settings.simulator_seed,
            busy=lambda: self.pipeline.bulk_running,
        )
        try:
            self.responders.run_now()
        except Exception as exc:  # noqa: BLE001 - the demo goes on without them
            log.warning("simulated responders failed: %s", exc)
        self.responders.start()

    def backfill(self, sim, now: pd.Timestamp) -> int:
        """On an empty store, ingest ``simulator_backfill_days`` of simulated history up to now."""
        days = self.settings.simulator_backfill_days
        if days <= 0 or self.db.query_one("SELECT count(*) FROM events")[0] > 0:
            return 0
        start = now - pd.Timedelta(days=days)

        def batches():
            for day in pd.date_range(start, now, freq="1D"):
                end = min(day + pd.Timedelta(days=1), now)
                for source, frame in sim.generate_all(day, end).items():
                    if len(frame):
                        yield source, frame

        total = self.pipeline.ingest_frames(batches(), feed="simulator").accepted
        log.info("back-filled %d simulated events", total)
        return total

    def stop(self, timeout: float | None = None) -> None:
        """Stop every feed and scheduler, then close the store: queued writes finish, the WAL is
        checkpointed into the file and the file is closed.

        Every thread is asked to stop first and then waited for, all within ``timeout`` seconds
        (default: the ``stop_timeout_s`` setting), so a slow step in one does not add up.
        """
        timeout = self.settings.stop_timeout_s if timeout is None else timeout
        deadline = time.monotonic() + timeout
        threads = [t for t in (self.warning_scheduler, self.responders) if t is not None]
        threads.append(self.archiver)
        threads.append(self.cases.deliverer)
        threads += self._feeds + self.workers
        for t in threads:
            if hasattr(t, "request_stop"):
                t.request_stop()
        t0 = time.monotonic()
        for t in threads:
            t_one = time.monotonic()
            t.stop(timeout=max(0.1, deadline - time.monotonic() - 2.0))
            name = getattr(t, "thread_name", type(t).__name__)
            if getattr(t, "running", False):
                log.warning("%s did not stop in time", name)
            elif time.monotonic() - t_one > 0.5:
                log.info("%s took %.1f s to finish its step", name, time.monotonic() - t_one)
        self._feeds.clear()
        self.wall.close()  # no view renewal may read the store while it closes
        self.sessions.close()  # nor a session's renewal
        t1 = time.monotonic()
        self.db.close(timeout=max(1.0, deadline - time.monotonic()))
        log.info(
            "stopped: feeds and schedulers %.1f s, writes finished, checkpoint and close %.1f s",
            t1 - t0,
            time.monotonic() - t1,
        )
