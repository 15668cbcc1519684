"""Command line of the replay: ``app.py feeds replay`` and ``app.py feeds ingest-folder``.

Kept apart from :mod:`data.feeds.replay` so the replay itself needs only an ingest pipeline (its
caller passes one) and never imports the runtime that owns it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import pandas as pd

from data.feeds.mapping import MappingError, load_mapping
from data.feeds.replay import live_shift_to, replay_file, time_span
from data.ingest import IngestResult


def add_parser(subparsers) -> None:
    """Register the ``replay`` and ``ingest-folder`` subcommands on an argparse subparsers."""
    p = subparsers.add_parser(
        "replay",
        help="replay a historical file through a field mapping",
        description="Replay a publisher file through its mapping into the OneGrid store. "
        "Stop OneGrid first: DuckDB allows one writing process per file.",
    )
    p.add_argument("--mapping", required=True, help="mapping name (data/mappings/) or TOML path")
    p.add_argument("--file", required=True, type=Path, help="data file or folder")
    p.add_argument(
        "--speed", type=float, default=None, help="x seconds of event time per second (omit: bulk)"
    )
    p.add_argument(
        "--lookup", action="append", default=[], metavar="NAME=PATH", help="lookup table file"
    )
    p.add_argument(
        "--shift-to-now",
        action="store_true",
        help="shift event times so the replay ends at the current time (for a live demo)",
    )
    # SUPPRESS: a subcommand default would overwrite a --config given before the subcommand
    p.add_argument("--config", default=argparse.SUPPRESS, help="OneGrid TOML config file")
    p.set_defaults(feeds_command="replay", handler=_handler)

    f = subparsers.add_parser(
        "ingest-folder",
        help="ingest the files of a folder once (then move them to done/ or failed/)",
    )
    f.add_argument("--path", required=True, type=Path, help="folder holding the files")
    f.add_argument("--mapping", default=None, help="mapping name or TOML path")
    f.add_argument("--source", default=None, help="source of canonical files without a prefix")
    f.add_argument("--config", default=argparse.SUPPRESS, help="OneGrid TOML config file")
    f.set_defaults(feeds_command="ingest-folder", handler=_handler)


def _handler(args: argparse.Namespace) -> int:
    """``args.handler(args)`` for app.py: run with the real Runtime."""
    from data.runtime import Runtime

    return run(args, Runtime)


def _lookups(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"--lookup expects NAME=PATH, got {item!r}")
        out[name.strip()] = path.strip()
    return out


def _print_counts(result: IngestResult) -> None:
    print(
        f"accepted {result.accepted}, duplicates {result.duplicates}, "
        f"quarantined {result.quarantined}"
    )
    reasons: dict[str, int] = {}
    for err in result.errors:
        reasons[err["reason"]] = reasons.get(err["reason"], 0) + 1
    if reasons:
        print(f"reasons among the first {len(result.errors)} quarantined:")
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        print(f"  {n} x {reason}")


def _progress(done: int, total: int | None, result: IngestResult) -> None:
    of = f"/{total}" if total else ""
    print(
        f"  {done}{of} rows: accepted {result.accepted}, duplicates {result.duplicates}, "
        f"quarantined {result.quarantined}",
        flush=True,
    )


def run(args: argparse.Namespace, runtime_factory) -> int:
    """Run the subcommand ``args`` came from; ``runtime_factory(settings)`` builds a Runtime."""
    from data.settings import load_settings

    settings = load_settings(getattr(args, "config", None), simulator=False)
    try:
        if args.feeds_command == "replay":
            load_mapping(args.mapping)  # a typo in the name should not wait for the store
        runtime = runtime_factory(settings)
    except duckdb.IOException as exc:
        print(f"error: cannot open {settings.db} (is OneGrid running?): {exc}", file=sys.stderr)
        return 2
    except (MappingError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.feeds_command == "ingest-folder":
            return _run_folder(args, runtime)
        return _run_replay(args, runtime)
    except (MappingError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        runtime.stop()


def _run_replay(args: argparse.Namespace, runtime) -> int:
    mapping = load_mapping(args.mapping)
    lookups = _lookups(args.lookup) or None
    shift_to = None
    if args.shift_to_now:
        first, last = time_span(mapping, args.file, lookups=lookups)
        if first is not None:
            shift_to = live_shift_to(first, last, args.speed, pd.Timestamp.now(tz="UTC"))
            print(f"shifting times by {shift_to - first}")
    pace = f"at {args.speed:g}x" if args.speed else "as fast as possible"
    print(f"replaying {args.file} through mapping {mapping.name} ({mapping.source}) {pace}")
    result = replay_file(
        runtime.pipeline,
        mapping,
        args.file,
        speed=args.speed,
        lookups=lookups,
        shift_to=shift_to,
        progress=_progress,
    )
    _print_counts(result)
    return 0


def _run_folder(args: argparse.Namespace, runtime) -> int:
    from data.feeds.connectors import FolderDropFeed
    from data.settings import FolderFeed

    spec = FolderFeed(name=f"folder:{args.path.name}", path=args.path, mapping=args.mapping,
                      source=args.source)  # fmt: skip
    reports = FolderDropFeed(spec, runtime.pipeline).scan_once()
    for r in reports:
        print(
            f"{r['file']}: {r['status']}, accepted {r['accepted']}, duplicates {r['duplicates']}, "
            f"quarantined {r['quarantined']}" + (f", error: {r['error']}" if r["error"] else "")
        )
    print(f"{len(reports)} file(s)")
    return 1 if any(r["status"] == "failed" for r in reports) else 0
