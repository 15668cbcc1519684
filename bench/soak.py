"""Soak test of the real server: wall viewers and pushed events for a set time, then kill -9.

    python bench/soak.py --minutes 60                 # the budget run (issue 8, item 7)
    python bench/soak.py --minutes 12 --backfill-days 8

What it does, in order:

1. a fresh temporary folder: database, users file, secret key; a user ``soak`` (admin) is added
   with ``app.py user add``; then ``python app.py serve`` (the REAL server: waitress, the
   simulator on, ``--backfill-days`` of simulated history back-filled at the first start) on a
   free port;
2. ``--viewers`` wall viewers sign in through the login form (a hidden ``csrf_token`` input is
   posted back when the form has one), load the wall once, and every ``--refresh-s`` seconds send
   the requests a browser sends per wall refresh: the map, KPI, ticker, breadcrumb and warnings
   callbacks (``POST /_dash-update-component``, bodies built from ``/_dash-dependencies`` and
   the map's own ``refresh_request_body``), in parallel like a browser;
3. a pusher sends ``--rate`` events/s (batches every 0.5 s, the five sources in turn) to
   ``/api/ingest/<source>`` with a token and remembers every acknowledged id;
4. every 10 s it samples the server's RSS (psutil) and the write-ahead log's size;
5. at the end, while the pushes still run, ``kill -9`` the server; restart it and time the
   restart until it answers ``/login``; stop it with SIGTERM (timed); then open the database
   file and count acknowledged pushed ids that are missing (``lost``).

The last line is::

    soak minutes=... events=... rss_start_mb=... rss_end_mb=... wal_max_mb=...
    refresh_p95_ms=... errors=... lost=... restart_s=...

(on one line). ``events``: acknowledged pushed events. ``rss_start_mb`` is the RSS at minute 10
for runs of 20 minutes or more (the first ten minutes fill caches and the back-filled history's
working set; the budget is growth after them), else at half the run. ``rss_end_mb``: the last
sample. ``wal_max_mb``: the largest WAL seen. ``refresh_p95_ms``: the 95th percentile of one
viewer's whole refresh (its parallel requests). ``errors``: failed requests (non-2xx answers,
timeouts, pushes not fully accepted). ``restart_s``: seconds from starting the process after
``kill -9`` until it answers. Budget (60 minutes): RSS growth under 10 %, WAL under its limit
(``--wal-limit-mb``, the server's ``wal_limit_mb`` setting), nothing lost.
"""

from __future__ import annotations

import os
import sys

# bench/ holds scripts named like standard modules (bench/warnings.py): keep this folder off the
# import path so "import warnings" finds the standard library
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import requests  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data.events import CATEGORIES, SOURCES  # noqa: E402
from harness.ports import free_port  # noqa: E402

TOKEN = "soak-token"
USER, PASSWORD = "soak", "soak-password-1"
SAMPLE_S = 10.0


class Server:
    """The real OneGrid server as a subprocess on a fresh folder."""

    def __init__(self, folder: Path, backfill_days: float, wal_limit_mb: float | None) -> None:
        self.folder = folder
        self.db = folder / "soak.duckdb"
        self.port = free_port()
        self.env = os.environ | {
            "ONEGRID_DB": str(self.db),
            "ONEGRID_USERS_FILE": str(folder / "users.toml"),
            "ONEGRID_INGEST_TOKEN": TOKEN,
            "ONEGRID_SIMULATOR_BACKFILL_DAYS": str(backfill_days),
            "PYTHONUNBUFFERED": "1",
        }
        if wal_limit_mb is not None:
            self.env["ONEGRID_WAL_LIMIT_MB"] = str(wal_limit_mb)
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.starts = 0

    def add_user(self) -> None:
        """The bench's own admin, so no first-start password has to be read from anywhere."""
        subprocess.run(
            [sys.executable, "app.py", "user", "add", USER, "--role", "admin"]
            + ["--password", PASSWORD],
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


def sign_in(url: str) -> requests.Session:
    """A real sign-in through the login form (with its CSRF token when the form has one)."""
    s = requests.Session()
    page = s.get(url + "/login", timeout=30)
    page.raise_for_status()
    form = {"username": USER, "password": PASSWORD, "next": "/"}
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
    """The per-refresh callback requests of the wall, built from the server's dependency list."""

    # the outputs that identify the wall's per-refresh callbacks (map, KPIs, ticker, breadcrumb,
    # warnings panel)
    KEYS = ("cell-map.figure", "kpi-value", "ticker.children", "breadcrumb", "warnings-panel-body")

    def __init__(self, deps: list[dict]) -> None:
        from layouts import ids

        self.ids = ids
        self.deps = []
        for key in self.KEYS:
            for d in deps:
                if d.get("clientside_function") or key not in d["output"]:
                    continue
                if not any(i["id"] == ids.REFRESH for i in d["inputs"]):
                    continue
                if any(o.get("allow_duplicate") for o in [d]) or "@" in d["output"]:
                    continue
                self.deps.append(d)
                break
        if len(self.deps) != len(self.KEYS):
            raise RuntimeError("the wall's refresh callbacks were not all found")

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

        def item(spec: dict) -> dict:
            v = n if spec["id"] == self.ids.REFRESH else values.get(spec["id"])
            return {"id": spec["id"], "property": spec["property"], "value": v}

        return {
            "output": dep["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [item(i) for i in dep["inputs"]],
            "changedPropIds": [] if initial else [f"{self.ids.REFRESH}.n_intervals"],
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
    """One wall screen: signs in, loads the wall, refreshes every ``period`` seconds."""

    def __init__(self, url: str, calls: WallCalls, period: float, stats: Stats) -> None:
        super().__init__(daemon=True)
        from layouts.wall import parse_view

        self.url, self.calls, self.period, self.stats = url, calls, period, stats
        ids = calls.ids
        self.values = {ids.VIEW: parse_view({}), ids.LANG: "zh"}
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
            raise RuntimeError(f"HTTP {resp.status_code} for {dep['output'][:40]}")
        out = resp.json()["response"]
        if ids.MAP_Z in out:
            self.values[ids.MAP_Z] = out[ids.MAP_Z]["data"]
        elif ids.MAP_DIFF in out and out[ids.MAP_DIFF]["data"]:
            self.values[ids.MAP_Z] = apply_diff(self.values[ids.MAP_Z], out[ids.MAP_DIFF]["data"])
        for key in (ids.TICKER_SIG, ids.CRUMB_SIG):
            if key in out:
                self.values[key] = out[key]["data"]

    def run(self) -> None:
        try:
            session = sign_in(self.url)
            session.get(self.url + "/geo/grid.json", timeout=60)
        except Exception as exc:  # noqa: BLE001 - counted, the soak goes on
            self.stats.error(f"viewer sign-in: {exc}")
            return
        sessions = [requests.Session() for _ in self.calls.deps]
        for s in sessions:
            s.cookies.update(session.cookies)
        n = 0
        with ThreadPoolExecutor(len(sessions)) as pool:
            while not self.stop.is_set():
                t0 = time.monotonic()
                futs = [
                    pool.submit(self._post, s, d, n, n == 0)
                    for s, d in zip(sessions, self.calls.deps, strict=True)
                ]
                failed = False
                for f in futs:
                    try:
                        f.result()
                    except Exception as exc:  # noqa: BLE001
                        self.stats.error(f"refresh: {exc}")
                        failed = True
                if not failed and n > 0:
                    self.stats.refresh((time.monotonic() - t0) * 1000)
                n += 1
                self.stop.wait(max(0.0, self.period - (time.monotonic() - t0)))


# --- the pusher ----------------------------------------------------------------------------------


class Pusher(threading.Thread):
    """``rate`` events/s to ``/api/ingest/<source>``, remembering what was acknowledged."""

    def __init__(self, url: str, rate: float, points: np.ndarray, stats: Stats) -> None:
        super().__init__(daemon=True)
        self.url, self.rate, self.points, self.stats = url, rate, points, stats
        self.acked: dict[str, set[str]] = {s: set() for s in SOURCES}
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
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        period, size = 0.5, max(1, round(self.rate * 0.5))
        i, seq, t_next = 0, 0, time.monotonic()
        while not self.stop.is_set():
            source = SOURCES[i % len(SOURCES)]
            events = self.batch(source, seq, size)
            seq += size
            i += 1
            try:
                resp = session.post(
                    f"{self.url}/api/ingest/{source}", json={"events": events}, timeout=60
                )
            except requests.RequestException as exc:
                if not self.stop.is_set():
                    self.stats.error(f"push: {exc}")
                continue
            if resp.status_code == 200:
                got = resp.json()
                if got.get("accepted") == size:
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
        return sum(len(v) for v in self.acked.values())


class Stats:
    """Thread-safe counters of the run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.errors = 0
        self.first_errors: list[str] = []
        self.refresh_ms: list[float] = []
        self.closed = False

    def error(self, text: str) -> None:
        with self.lock:
            if self.closed:
                return  # the server was killed on purpose: what fails now is not an error
            self.errors += 1
            if len(self.first_errors) < 10:
                self.first_errors.append(text)

    def refresh(self, ms: float) -> None:
        with self.lock:
            self.refresh_ms.append(ms)


def region_points() -> np.ndarray:
    """Points inside the default region (its grid cells' centres)."""
    from data.region import load_region

    cells = load_region("anshan").cells()
    c = cells.geometry.representative_point()
    return np.column_stack([c.x.to_numpy(), c.y.to_numpy()])


def missing_acked(db: Path, acked: dict[str, set[str]]) -> tuple[int, int]:
    """(acknowledged ids not in the store, events in the store); the server must be stopped."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        lost = 0
        for source, ids_ in acked.items():
            rows = con.execute(
                "SELECT source_event_id FROM events WHERE source = ? AND feed = ?",
                [source, f"push:{source}"],
            ).fetchall()
            lost += len(ids_ - {r[0] for r in rows})
        total = con.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        con.close()
    return lost, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Soak the real server, then kill -9 it.")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--viewers", type=int, default=5)
    parser.add_argument("--rate", type=float, default=180.0, help="pushed events per second")
    parser.add_argument("--refresh-s", type=float, default=5.0, help="the wall's refresh period")
    parser.add_argument("--backfill-days", type=float, default=30.0)
    parser.add_argument(
        "--wal-limit-mb", type=float, default=None, help="server setting (default: its own)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="onegrid-soak-")
    folder = Path(tmp)
    print(f"folder {folder}", flush=True)
    server = Server(folder, args.backfill_days, args.wal_limit_mb)
    server.add_user()
    t0 = time.monotonic()
    first_start = server.start()
    print(
        f"first start (back-fill of {args.backfill_days:g} days): {first_start:.1f} s, "
        f"rss {server.rss_mb():.0f} MB, db {server.db_mb():.1f} MB, wal {server.wal_mb():.1f} MB",
        flush=True,
    )
    stats = Stats()
    deps = requests.Session()
    deps.cookies.update(sign_in(server.url).cookies)
    calls = WallCalls(deps.get(server.url + "/_dash-dependencies", timeout=30).json())
    pusher = Pusher(server.url, args.rate, region_points(), stats)
    viewers = [Viewer(server.url, calls, args.refresh_s, stats) for _ in range(args.viewers)]
    pusher.start()
    for v in viewers:
        v.start()
        time.sleep(args.refresh_s / max(1, args.viewers))  # spread like real screens

    samples: list[tuple[float, float, float, float]] = []  # minute, rss, wal, db
    start = time.monotonic()
    end = start + args.minutes * 60
    last_print = -1
    while time.monotonic() < end:
        minute = (time.monotonic() - start) / 60
        samples.append((minute, server.rss_mb(), server.wal_mb(), server.db_mb()))
        if int(minute) != last_print:
            last_print = int(minute)
            _, rss, wal, dbm = samples[-1]
            p95 = np.percentile(stats.refresh_ms, 95) if stats.refresh_ms else float("nan")
            print(
                f"t={minute:5.1f} min rss={rss:7.1f} MB wal={wal:6.1f} MB db={dbm:7.1f} MB "
                f"pushed={pusher.count} refreshes={len(stats.refresh_ms)} p95={p95:.0f} ms "
                f"errors={stats.errors} load={os.getloadavg()[0]:.2f}",
                flush=True,
            )
        time.sleep(min(SAMPLE_S, max(0.0, end - time.monotonic())))
    samples.append(((time.monotonic() - start) / 60, server.rss_mb(), server.wal_mb(), 0.0))

    for v in viewers:
        v.stop.set()
    stats.closed = True
    server.kill9()  # mid-stream: pushes are in flight
    pusher.stop.set()
    pusher.join(70)
    for v in viewers:
        v.join(70)
    restart_s = server.start()
    print(f"restart after kill -9: {restart_s:.1f} s", flush=True)
    stop_s, code = server.terminate()
    wal_after = server.wal_mb()
    print(f"SIGTERM stop: {stop_s:.1f} s, exit code {code}, wal after {wal_after:.2f} MB")
    lost, total = missing_acked(server.db, pusher.acked)

    mark = 10.0 if args.minutes >= 20 else args.minutes / 2
    rss_start = next((s[1] for s in samples if s[0] >= mark), samples[0][1])
    rss_end = samples[-1][1]
    wal_max = max(s[2] for s in samples)
    p95 = float(np.percentile(stats.refresh_ms, 95)) if stats.refresh_ms else float("nan")
    for text in stats.first_errors:
        print(f"error: {text}")
    print(
        f"store: {total} events; first start {first_start:.1f} s; run "
        f"{(time.monotonic() - t0) / 60:.1f} min; rss growth after minute {mark:g}: "
        f"{100 * (rss_end - rss_start) / rss_start:+.1f} %; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"soak minutes={args.minutes:g} events={pusher.count} rss_start_mb={rss_start:.0f} "
        f"rss_end_mb={rss_end:.0f} wal_max_mb={wal_max:.1f} refresh_p95_ms={p95:.0f} "
        f"errors={stats.errors} lost={lost} restart_s={restart_s:.1f}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
