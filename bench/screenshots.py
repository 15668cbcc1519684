"""Screenshots of every page for the README and docs: the default region with simulated data.

    python bench/screenshots.py [--out docs/screenshots] [--days 8] [--only NAME ...]

Builds a fresh DuckDB in a temporary folder, back-fills ``--days`` of simulated history for the
default region (data/regions/anshan), starts the simulator and the real web server, and shoots the
wall at 1920x1080 (city), a county drill-down, the English wall at 3840x2160, each desk page at
1920x1080 and the field report at a phone's 375x812, with Debian's Chromium through Playwright.
"""

from __future__ import annotations

import os
import sys

# bench/ holds scripts named like standard modules (bench/warnings.py): keep this folder off the
# import path so "import warnings" finds the standard library
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data.runtime import Runtime  # noqa: E402
from data.settings import load_settings  # noqa: E402
from harness.browser import chromium, serve, wait_map  # noqa: E402

LOADING = "() => !document.querySelector('[data-dash-is-loading=\"true\"]')"
# every MapLibre map on the page (the report's, the search's) has drawn its figure
MAPS_DRAWN = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).every(gd => {
  const sub = gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
  return !sub || (sub.map && sub.map.loaded() && !sub.map.isMoving());
})"""


def dash_quiet(page, timeout_ms: int) -> None:
    """Wait until no Dash component shows it is loading."""
    page.wait_for_function(LOADING, timeout=timeout_ms)


SHOTS = [
    # (file, path, width, height)
    ("wall-1920x1080.png", "/", 1920, 1080),
    ("wall-county-drilldown.png", "/?county={county}", 1920, 1080),
    ("wall-3840x2160-en.png", "/?lang=en&metric=risk", 3840, 2160),
    ("warnings.png", "/warnings", 1920, 1080),
    ("cases.png", "/cases", 1920, 1080),
    ("metrics.png", "/metrics", 1920, 1080),
    ("figures.png", "/figures", 1920, 1080),
    ("inspections.png", "/inspections", 1920, 1080),
    ("briefings.png", "/briefings", 1920, 1080),
    ("audit.png", "/audit", 1920, 1080),
    ("console-tablet.png", "/console", 1024, 768),
    ("report-phone.png", "/report", 375, 812),
    ("search.png", "/search?q=%E5%99%AA%E5%A3%B0", 1920, 1080),
    ("rules.png", "/rules", 1920, 1080),
    ("feeds-new.png", "/feeds/new", 1920, 1080),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--days", type=float, default=8.0)
    parser.add_argument("--county", default="210381", help="county code of the drill-down shot")
    parser.add_argument("--only", nargs="*", help="file names (without .png) to shoot")
    args = parser.parse_args(argv)
    shots = [s for s in SHOTS if not args.only or s[0].removesuffix(".png") in args.only]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            db=Path(tmp) / "wall.duckdb",
            region="anshan",
            simulator=True,
            simulator_backfill_days=args.days,
            simulator_interval_s=1.0,
            refresh_ms=2000,
            auth=False,
        )
        runtime = Runtime(settings)
        t0 = time.perf_counter()
        runtime.start()
        print(f"back-filled in {time.perf_counter() - t0:.1f} s")
        for _ in range(2):  # the pending period: a condition must hold two evaluations
            runtime.evaluate_warnings()
        try:
            with serve(runtime) as url, chromium() as browser:
                for name, path, w, h in shots:
                    page = browser.new_page(viewport={"width": w, "height": h})
                    resp = page.goto(url + path.format(county=args.county))
                    if resp is None or resp.status >= 400:  # a page this build does not have
                        print(f"skipped {name}: {path} answered {resp and resp.status}")
                        page.close()
                        continue
                    if path.startswith("/?") or path == "/":
                        wait_map(page)
                    dash_quiet(page, 60_000)
                    page.wait_for_function(MAPS_DRAWN, timeout=60_000)
                    page.wait_for_timeout(3500)  # labels placed, tiles filled, ticker in
                    page.screenshot(path=str(out / name))
                    print(f"wrote {out / name}")
                    page.close()
        finally:
            runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
