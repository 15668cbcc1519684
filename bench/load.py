"""What the load benchmarks share: the real server as a subprocess, a real sign-in, wall viewers
sending the requests a browser sends per refresh, and a pusher of events over the ingest API.

Used by ``bench/soak.py`` and ``bench/viewers.py``. The viewers' request bodies are built from the
server's own ``/_dash-dependencies`` (the list the browser's Dash renderer works from): per tick,
every server callback the wall's refresh interval triggers; every ``response_every`` ticks, the
callbacks of the response panel's slower interval.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data.events import CATEGORIES, SOURCES  # noqa: E402
from harness.ports import free_port  # noqa: E402

TOKEN = "bench-token"
USER, PASSWORD = "bench", "bench-password-1"


class Server:
    """The real OneGrid server as a subprocess on a fresh folder."""

    def __init__(
        self,
        folder: Path,
        backfill_days: float,
        wal_limit_mb: float | None = None,
        env: dict | None = None,
    ) -> None:
        self.folder = folder
        self.db = folder / "bench.duckdb"
        self.port = free_port()
        self.env = os.environ | {
            "ONEGRID_DB": str(self.db),
            "ONEGRID_USERS_FILE": str(folder / "users.toml"),
            "ONEGRID_INGEST_TOKEN": TOKEN,
            "ONEGRID_SIMULATOR_BACKFILL_DAYS": str(backfill_days),
            # steady state: the catch-up of scheduled briefings on a fresh store is a one-off
            "ONEGRID_BRIEFINGS": "off",
            "PYTHONUNBUFFERED": "1",
        }
        if wal_limit_mb is not None:
            self.env["ONEGRID_WAL_LIMIT_MB"] = str(wal_limit_mb)
        self.env.update(env or {})
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.starts = 0

    def add_user(
        self, user: str = USER, role: str = "admin", area: str | None = None, password=PASSWORD
    ) -> None:
        """A user of the bench's own (the admin by default), so no first-start password has to be
        read from anywhere."""
        subprocess.run(
            [sys.executable, "app.py", "user", "add", user, "--role", role]
            + (["--area", area] if area else [])
            + ["--password", password],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def start(self, timeout: float = 900) -> float:
        """Start the process; returns seconds until it answers ``/login``."""
        self.starts += 1
        log = open(self.folder / f"server-{self.starts}.log", "wb")  # noqa: SIM115
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "app.py", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if requests.get(self.url + "/login", timeout=2).status_code == 200:
                    return time.monotonic() - t0
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer within {timeout} s: {self.log_tail()}")

    def log_tail(self, n: int = 20) -> str:
        """The last lines of the current server log."""
        path = self.folder / f"server-{self.starts}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])

    def kill9(self) -> None:
        """SIGKILL: no clean-up at all."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def terminate(self, timeout: float = 60) -> tuple[float, int | None]:
        """SIGTERM; returns (seconds until the process ended, its exit code)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        return time.monotonic() - t0, code

    def rss_mb(self) -> float:
        """The server's resident memory."""
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def wal_mb(self) -> float:
        """The write-ahead log's size (0 when there is none)."""
        wal = Path(str(self.db) + ".wal")
        return wal.stat().st_size / 2**20 if wal.exists() else 0.0

    def db_mb(self) -> float:
        """The database file's size."""
        return self.db.stat().st_size / 2**20 if self.db.exists() else 0.0


def sign_in(url: str, user: str = USER, password: str = PASSWORD) -> requests.Session:
    """A real sign-in through the login form (with its CSRF token when the form has one)."""
    s = requests.Session()
    page = s.get(url + "/login", timeout=30)
    page.raise_for_status()
    form = {"username": user, "password": password, "next": "/"}
    for tag in re.findall(r"<input[^>]*>", page.text):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and name.group(1) == "csrf_token" and value:
            form["csrf_token"] = value.group(1)
    resp = s.post(url + "/login", data=form, timeout=30, allow_redirects=False)
    if resp.status_code not in (302, 303):
        raise RuntimeError(f"sign-in failed: HTTP {resp.status_code}")
    if s.get(url + "/", timeout=30, allow_redirects=False).status_code != 200:
        raise RuntimeError("signed in, but the wall still redirects to the login page")
    return s


# --- the wall's refresh requests -----------------------------------------------------------------


def _split_outputs(output: str) -> list[tuple[str, str]]:
    """``..a.b...c.d..`` (Dash's multi-output key) as [(id, property)]."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [tuple(p.rsplit(".", 1)) for p in parts]


class WallCalls:
    """The wall's callback requests per refresh, built from the server's dependency list."""

    # outputs that mark a callback as the wall's (map, KPIs, ticker, breadcrumb, warnings panel,
    # response panel)
    KEYS = (
        "cell-map.figure",
        "kpi-value",
        "ticker.children",
        "breadcrumb",
        "warnings-panel-body",
        "response-panel-body",
    )

    def __init__(self, deps: list[dict]) -> None:
        from layouts import ids

        self.ids = ids
        self.tick: list[dict] = []  # sent on every refresh tick
        self.slow: list[dict] = []  # sent on the response panel's slower interval
        for d in deps:
            if d.get("clientside_function") or "@" in d["output"]:
                continue
            if not any(key in d["output"] for key in self.KEYS):
                continue
            inputs = {i["id"] for i in d["inputs"]}
            if ids.REFRESH in inputs:
                self.tick.append(d)
            elif ids.RESPONSE_REFRESH in inputs:
                self.slow.append(d)
        if not self.tick:
            raise RuntimeError("the wall's refresh callbacks were not found")
        self.state_ids = {s["id"] for d in self.tick + self.slow for s in d.get("state", [])}

    def body(self, dep: dict, values: dict, n: int, initial: bool) -> dict:
        """The JSON a browser posts for ``dep`` (``values``: id -> current value)."""
        outputs = []
        for cid, prop in _split_outputs(dep["output"]):
            if cid.startswith("{"):
                pattern = json.loads(cid)
                outputs.append(
                    [
                        {"id": {**pattern, "source": s}, "property": prop}
                        for s in SOURCES
                        if pattern.get("source") == ["ALL"]
                    ]
                )
            else:
                outputs.append({"id": cid, "property": prop})
        trigger = next(
            i["id"]
            for i in dep["inputs"]
            if i["id"] in (self.ids.REFRESH, self.ids.RESPONSE_REFRESH)
        )

        def item(spec: dict) -> dict:
            v = n if spec["id"] == trigger else values.get(spec["id"])
            return {"id": spec["id"], "property": spec["property"], "value": v}

        return {
            "output": dep["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [item(i) for i in dep["inputs"]],
            "changedPropIds": [] if initial else [f"{trigger}.n_intervals"],
            "state": [item(s) for s in dep.get("state", [])],
        }


def apply_diff(store: dict, diff: dict) -> dict:
    """What assets/wall.js does with a map diff."""
    if "z" in diff:
        return {"sig": store["sig"], "z": diff["z"]}
    z = list(store["z"])
    for i, v in zip(diff["i"], diff["v"], strict=True):
        z[i] = v
    return {"sig": store["sig"], "z": z}


class Viewer(threading.Thread):
    """One wall screen: signs in, loads the wall, refreshes every ``period`` seconds.

    ``view``: the wall's view (``layouts.wall.parse_view`` of the address's query);
    ``response_every``: ticks between two refreshes of the response panel (its own interval).
    """

    def __init__(
        self,
        url: str,
        calls: WallCalls,
        period: float,
        stats: Stats,
        *,
        user: str = USER,
        password: str = PASSWORD,
        view: dict | None = None,
        response_every: int = 6,
    ) -> None:
        super().__init__(daemon=True)
        from layouts.wall import parse_view

        self.url, self.calls, self.period, self.stats = url, calls, period, stats
        self.user, self.password = user, password
        ids = calls.ids
        self.values = {ids.VIEW: view or parse_view({}), ids.LANG: "zh"}
        self.response_every = max(1, response_every)
        self.sessions: list[requests.Session] | None = None
        self.stop = threading.Event()

    def _post(self, session: requests.Session, dep: dict, n: int, initial: bool) -> None:
        ids = self.calls.ids
        resp = session.post(
            self.url + "/_dash-update-component",
            json=self.calls.body(dep, self.values, n, initial),
            timeout=60,
        )
        if resp.status_code == 204:
            return
        if resp.status_code != 200:
            raise RuntimeError(
                f"HTTP {resp.status_code} for {dep['output'][:40]}: {resp.text[:300]}"
            )
        out = resp.json()["response"]
        if ids.MAP_Z in out:
            self.values[ids.MAP_Z] = out[ids.MAP_Z]["data"]
        elif ids.MAP_DIFF in out and out[ids.MAP_DIFF]["data"]:
            self.values[ids.MAP_Z] = apply_diff(self.values[ids.MAP_Z], out[ids.MAP_DIFF]["data"])
        for key in self.calls.state_ids - {ids.MAP_Z}:
            if key in out:
                self.values[key] = out[key]["data"]

    def prepare(self) -> bool:
        """Sign in, open the wall and fetch the grid's geometry, as a browser does once."""
        try:
            session = sign_in(self.url, self.user, self.password)
            session.get(self.url + "/geo/grid.json", timeout=60)
        except Exception as exc:  # noqa: BLE001 - counted, the run goes on
            self.stats.error(f"viewer sign-in: {exc}")
            return False
        width = len(self.calls.tick) + len(self.calls.slow)
        self.sessions = [requests.Session() for _ in range(width)]
        for s in self.sessions:
            s.cookies.update(session.cookies)
        session.close()  # a browser reuses its connections; the sign-in's is not kept open
        return True

    def run(self) -> None:
        if self.sessions is None and not self.prepare():
            return
        sessions, width = self.sessions, len(self.sessions)
        n = 0
        with ThreadPoolExecutor(width) as pool:
            while not self.stop.is_set():
                t0 = time.monotonic()
                deps = list(self.calls.tick)
                if n % self.response_every == 0:
                    deps += self.calls.slow
                futs = [
                    pool.submit(self._post, s, d, n, n == 0)
                    for s, d in zip(sessions, deps, strict=False)
                ]
                failed = False
                for f in futs:
                    try:
                        f.result()
                    except Exception as exc:  # noqa: BLE001
                        self.stats.error(f"refresh: {exc}")
                        failed = True
                if not failed and n > 0:
                    self.stats.refresh((time.monotonic() - t0) * 1000, len(deps))
                n += 1
                self.stop.wait(max(0.0, self.period - (time.monotonic() - t0)))


# --- the pusher ----------------------------------------------------------------------------------


class Pusher(threading.Thread):
    """``rate`` events/s to ``/api/ingest/<source>``, remembering what was acknowledged.

    ``clients``: feeds pushing at the same time (each ``rate / clients``, batches of
    ``rate / 2`` events), as several systems push to a real command centre at once.
    """

    def __init__(
        self, url: str, rate: float, points: np.ndarray, stats: Stats, clients: int = 1
    ) -> None:
        super().__init__(daemon=True)
        self.url, self.rate, self.points, self.stats = url, rate, points, stats
        self.clients = max(1, clients)
        self.acked: dict[str, set[str]] = {s: set() for s in SOURCES}
        self._acked_lock = threading.Lock()
        self.stop = threading.Event()
        self.rng = np.random.default_rng(8)

    def batch(self, source: str, start: int, size: int) -> list[dict]:
        now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        pick = self.rng.integers(0, len(self.points), size)
        cats = CATEGORIES[source]
        out = []
        for k in range(size):
            lon, lat = self.points[pick[k]]
            ev = {
                "id": f"soak-{start + k}",
                "time": now,
                "lon": round(float(lon), 6),
                "lat": round(float(lat), 6),
                "category": cats[(start + k) % len(cats)],
                "severity": 1 + (start + k) % 5,
                "text": "soak",
            }
            if source == "environment":
                ev["value"] = float(20 + (start + k) % 80)
            out.append(ev)
        return out

    def run(self) -> None:
        workers = [
            threading.Thread(target=self._push, args=(k,), daemon=True) for k in range(self.clients)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    def _push(self, k: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        period, size = 0.5 * self.clients, max(1, round(self.rate * 0.5))
        i, seq, t_next = k, 0, time.monotonic()
        while not self.stop.is_set():
            source = SOURCES[i % len(SOURCES)]
            events = self.batch(source, seq, size)
            for e in events:
                e["id"] = f"{e['id']}-c{k}"
            seq += size
            i += self.clients
            sent_at = time.monotonic()
            try:
                resp = session.post(
                    f"{self.url}/api/ingest/{source}", json={"events": events}, timeout=60
                )
                with self.stats.lock:
                    self.stats.push_ms.append(1000 * (time.monotonic() - sent_at))
            except requests.RequestException as exc:
                if not self.stop.is_set():
                    self.stats.error(f"push: {exc}")
                continue
            if resp.status_code == 200:
                got = resp.json()
                if got.get("accepted") == size:
                    with self._acked_lock:
                        self.acked[source].update(e["id"] for e in events)
                else:
                    self.stats.error(f"push answered {got}")
            else:
                self.stats.error(f"push HTTP {resp.status_code}")
            t_next += period
            self.stop.wait(max(0.0, t_next - time.monotonic()))
            if time.monotonic() - t_next > 5:  # fell behind (a slow server): do not burst
                t_next = time.monotonic()

    @property
    def count(self) -> int:
        with self._acked_lock:
            return sum(len(v) for v in self.acked.values())


class Stats:
    """Thread-safe counters of the run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.errors = 0
        self.first_errors: list[str] = []
        self.refresh_ms: list[float] = []
        self.push_ms: list[float] = []  # each push request's answer time
        self.requests = 0
        self.closed = False

    def error(self, text: str) -> None:
        with self.lock:
            if self.closed:
                return  # the server was killed on purpose: what fails now is not an error
            self.errors += 1
            if len(self.first_errors) < 10:
                self.first_errors.append(text)

    def refresh(self, ms: float, requests: int = 1) -> None:
        with self.lock:
            self.refresh_ms.append(ms)
            self.requests += requests


def region_points() -> np.ndarray:
    """Points inside the default region (its grid cells' centres)."""
    from data.region import load_region

    cells = load_region("anshan").cells()
    c = cells.geometry.representative_point()
    return np.column_stack([c.x.to_numpy(), c.y.to_numpy()])


class BulkDrop:
    """``n`` simulated events written as one Parquet file per source, dropped at once into the
    server's drop folder (a ``[[folder_feeds]]`` entry of its configuration), and timed from the
    drop until every file's report is in ``done/``: bulk ingest end to end through the running
    server, as a county's nightly export would arrive."""

    def __init__(self, folder: Path, n: int) -> None:
        self.drop = folder / "drop"
        self.staging = folder / "staging"
        self.drop.mkdir(parents=True, exist_ok=True)
        self.staging.mkdir(parents=True, exist_ok=True)
        self.n = n
        self.files: list[Path] = []
        self.dropped_at: float | None = None

    def config(self) -> str:
        """The server's TOML configuration: the drop folder, scanned every 0.2 s."""
        return (
            "[[folder_feeds]]\n"
            'name = "bulk"\n'
            f"path = {json.dumps(str(self.drop))}\n"
            "interval_s = 0.2\n"
        )

    def prepare(self, region) -> int:
        """Write the files (before the clock starts); returns the events written."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from bench.ingest import simulated_events

        start = pd.Timestamp.now(tz="UTC").floor("D") - pd.Timedelta(days=2)
        by_source: dict[str, list[pd.DataFrame]] = {}
        for source, frame in simulated_events(region, self.n, start):
            by_source.setdefault(source, []).append(frame)
        total = 0
        for source, frames in by_source.items():
            frame = pd.concat(frames, ignore_index=True)
            # the server's own simulator makes ids of its own: these never meet them
            frame["id"] = "bulk-" + frame["id"].astype(str)
            path = self.staging / f"{source}__bulk.parquet"
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
            self.files.append(path)
            total += len(frame)
        return total

    def start(self) -> None:
        """Drop every file at once (a rename: the feed never sees a half-written file)."""
        self.dropped_at = time.monotonic()
        for path in self.files:
            os.replace(path, self.drop / path.name)

    def result(self, timeout: float = 600) -> tuple[int, float, float]:
        """(events accepted, seconds from the drop to the last report, the server's own seconds
        summed over the files' reports); waits for every report."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reports = [*self.drop.glob("done/*.report.json"), *self.drop.glob("failed/*.json")]
            if len(reports) >= len(self.files):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"bulk drop not done within {timeout} s")
        last = max(p.stat().st_mtime for p in reports)
        elapsed = time.monotonic() - self.dropped_at - (time.time() - last)
        docs = [json.loads(p.read_text()) for p in reports]
        failed = [d for d in docs if d["status"] != "done"]
        if failed:
            raise RuntimeError(f"bulk drop failed: {failed[0]['file']}: {failed[0]['error']}")
        return sum(d["accepted"] for d in docs), elapsed, sum(d["seconds"] for d in docs)
