"""OneGrid's command line: every subcommand's parser and the small handler that runs it.

``python app.py --help`` lists the commands; :func:`app.main` hands its arguments to :func:`main`
here, with the function that serves the web app (``serve``, the default command). ``data/`` never
parses a command line: each handler below turns parsed arguments into calls of ``data/`` functions
and prints what happened.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from data.auth import ROLES, AuthError, UserStore
from data.feeds.connectors import FolderDropFeed
from data.feeds.mapping import MappingError, load_mapping
from data.feeds.reconcile import Reconciliation
from data.feeds.replay import replay_file, time_span, whole_day_shift
from data.ingest import IngestResult
from data.region import LEVELS
from data.region_import import LevelSpec, ParentSpec, import_region
from data.settings import FolderFeed, SettingsError, load_settings


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``serve`` (the default) and the data commands."""
    parser = argparse.ArgumentParser(
        prog="app.py", description="OneGrid city command centre. Without a command: serve."
    )
    parser.add_argument("--config", help="TOML settings file (default: $ONEGRID_CONFIG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("serve", help="run the web server (default)")
    _serve_args(p)
    _serve_args(parser)
    add_import_region_parser(sub)
    add_feeds_parsers(sub)
    add_check_mapping_parser(sub)
    add_user_parser(sub)
    add_briefing_parser(sub)
    add_responsibilities_parser(sub)
    add_backtest_parser(sub)
    g = sub.add_parser("generate-region", help="regenerate the default Anshan-like region")
    g.add_argument(
        "--out", type=Path, default=None, help="output folder (default data/regions/anshan/)"
    )
    g.set_defaults(handler=run_generate_region)
    return parser


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8050, $ONEGRID_PORT)")
    p.add_argument("--no-simulator", action="store_true", help="do not start simulated feeds")
    p.add_argument("--open", action="store_true", help="open the page in a browser")


def main(argv: list[str] | None, serve: Callable[[argparse.Namespace], int]) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run its command; returns the exit code.

    ``serve`` runs the web server (passed in by app.py, which owns the app factory, so this module
    does not import the app).
    """
    args = build_parser().parse_args(argv)
    try:
        if args.command in (None, "serve"):
            return serve(args)
        return args.handler(args) or 0
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------- generate-region


def run_generate_region(args: argparse.Namespace) -> int:
    """Regenerate the default region (deterministic) and print a summary."""
    from data import region_gen

    print(region_gen.write_default_region(args.out))
    return 0


# ---------------------------------------------------------------- backtest


def add_backtest_parser(subparsers) -> None:
    """Register ``backtest``: what warning rules would have raised over a past period."""
    p = subparsers.add_parser(
        "backtest",
        help="run warning rules over the stored history of a past period (nothing is written)",
        description="Run the warnings engine over the database's history from --since to --until "
        "(local calendar days, both included) and print the warnings it would have raised: "
        "counts per level, per area, examples. Stop OneGrid first (one writing process).",
    )
    p.add_argument(
        "--rule", action="append", default=None, help="rule id (repeatable; default all)"
    )
    p.add_argument("--rules", default=None, help="rules file (default: the settings' rules file)")
    p.add_argument("--since", required=True, help="first day, YYYY-MM-DD (local)")
    p.add_argument("--until", required=True, help="last day, YYYY-MM-DD (local, included)")
    p.add_argument("--step", type=float, default=10.0, help="minutes between evaluations (10)")
    p.add_argument("--config", default=argparse.SUPPRESS, help="OneGrid TOML config file")
    p.set_defaults(handler=run_backtest)


def run_backtest(args: argparse.Namespace) -> int:
    """Print a backtest's figures (exit 2 with the reason when it cannot run)."""
    import pandas as pd

    from data.runtime import Runtime
    from data.times import local_midnight
    from data.warnings import RulesError, load_rules
    from data.warnings.backtest import BacktestError, backtest

    settings = load_settings(getattr(args, "config", None), simulator=False, warnings=False)
    try:
        rules = load_rules(args.rules or settings.warnings_rules, settings.catalogue)
        if args.rule:
            unknown = [r for r in args.rule if rules.get(r) is None]
            if unknown:
                raise RulesError(f"no rule {', '.join(unknown)} in the rules file")
            rules = rules.model_copy(
                update={
                    "rule": [
                        r.model_copy(update={"enabled": True})
                        for r in rules.rule
                        if r.id in args.rule
                    ]
                }
            )
        since_day = pd.Timestamp(args.since)
        until_day = pd.Timestamp(args.until) + pd.Timedelta(days=1)
    except (RulesError, ValueError) as exc:
        print(f"backtest: error: {exc}", file=sys.stderr)
        return 2
    try:
        runtime = Runtime(settings)
    except duckdb.IOException as exc:
        print(f"error: cannot open {settings.db} (is OneGrid running?): {exc}", file=sys.stderr)
        return 2
    try:
        tz = runtime.timezone
        res = backtest(
            runtime.db,
            rules,
            local_midnight(since_day, tz),
            local_midnight(until_day, tz),
            step=pd.Timedelta(minutes=args.step),
            stale_after=settings.stale_after,
        )
    except BacktestError as exc:
        print(f"backtest: error: {exc}", file=sys.stderr)
        return 2
    finally:
        runtime.stop()
    for key, value in res.summary().items():
        print(f"{key}: {value}")
    print("per area:")
    print(res.per_area().to_string(index=False))
    print("examples:")
    cols = ["rule_id", "area_level", "name_en", "subject", "top_rank", "value", "baseline"]
    print(res.examples()[[*cols, "raised_at"]].to_string(index=False))
    return 0


# ---------------------------------------------------------------- briefing


def add_briefing_parser(subparsers) -> None:
    """Register ``briefing``: a daily, weekly or monthly report written from the catalogue."""
    from data.times import PERIODS
    from reports import FORMATS

    p = subparsers.add_parser(
        "briefing",
        help="write a briefing (城市运行日报/周报/月报) from the indicator catalogue",
        description="Write the briefing of a local calendar day, ISO week (Monday to Sunday) "
        "or month for the city or an area, from the database and region of the settings. "
        "Stop OneGrid first: DuckDB allows one writing process per file.",
    )
    p.add_argument("--period", required=True, choices=PERIODS, help="day, week or month")
    p.add_argument("--date", required=True, help="a date inside the period, YYYY-MM-DD (local)")
    p.add_argument("--area", default=None, help="area code (default: the whole city)")
    p.add_argument("--lang", default="zh", choices=("zh", "en"), help="language (default zh)")
    p.add_argument("--format", required=True, choices=FORMATS, dest="fmt", help="file format")
    p.add_argument("--out", required=True, type=Path, help="file to write")
    p.add_argument("--config", default=argparse.SUPPRESS, help="OneGrid TOML config file")
    p.set_defaults(handler=run_briefing)


def run_briefing(args: argparse.Namespace) -> int:
    """Write the briefing asked for; prints where, or the reason it could not (exit 2)."""
    import datetime as dt

    from data import briefings
    from data.areas import city_scope, scope_for_code
    from data.runtime import Runtime
    from reports import render

    try:
        day = dt.date.fromisoformat(args.date)
    except ValueError:
        print(f"briefing: error: --date {args.date!r} is not a date YYYY-MM-DD", file=sys.stderr)
        return 2
    settings = load_settings(getattr(args, "config", None), simulator=False)
    try:
        runtime = Runtime(settings)
    except duckdb.IOException as exc:
        print(f"error: cannot open {settings.db} (is OneGrid running?): {exc}", file=sys.stderr)
        return 2
    try:
        db = runtime.db
        try:
            scope = scope_for_code(db, args.area) if args.area else city_scope(db)
        except KeyError as exc:
            print(f"briefing: error: {exc.args[0]}", file=sys.stderr)
            return 2
        brief = briefings.build(
            db,
            scope,
            period=args.period,
            day=day,
            timezone=runtime.timezone,
            escalate_after=settings.warnings_escalate_after_s,
            department_name=runtime.cases.rules.department_name,
            catalogue=runtime.catalogue,
        )
        body = render(brief, args.fmt, args.lang, areas=runtime.region.areas)
    finally:
        runtime.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(body)
    print(
        f"wrote {args.out} ({args.fmt}, {len(body):,} bytes): {args.period} of {args.date}, "
        f"area {brief.area['code']}, {int(brief.events_total.value or 0):,} events"
    )
    return 0


# ---------------------------------------------------------------- user


def add_user_parser(subparsers) -> None:
    """Register ``user add|passwd|list|remove`` (manage who may sign in)."""
    p = subparsers.add_parser("user", help="manage users: add, passwd, list, remove")
    sub = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add or replace a user")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--area", help="area code (county leaders: any area; grid workers: community or cell)"
    )
    add.add_argument("--department", help="department id (department users)")
    add.add_argument("--password", help="the password (default: asked for)")
    pw = sub.add_parser("passwd", help="change a user's password (ends their sessions)")
    pw.add_argument("username")
    pw.add_argument("--password", help="the new password (default: asked for)")
    sub.add_parser("list", help="list users")
    rm = sub.add_parser("remove", help="delete a user")
    rm.add_argument("username")
    p.set_defaults(handler=run_user)


def run_user(args: argparse.Namespace) -> int:
    """Carry out a ``user`` command; prints errors and returns 2 on a wrong argument."""
    store = UserStore(load_settings(getattr(args, "config", None)).users_file)
    try:
        if args.user_command == "add":
            password = args.password or getpass.getpass(f"password for {args.username}: ")
            user = store.add(
                args.username, password, args.role, area=args.area, department=args.department
            )
            print(f"saved user {user.username} ({user.role}) in {store.path}")
        elif args.user_command == "passwd":
            if store.get(args.username) is None:
                raise AuthError(f"no user {args.username!r}")
            password = args.password or getpass.getpass(f"new password for {args.username}: ")
            store.set_password(args.username, password)
            print(f"changed the password of {args.username}; their sessions end")
        elif args.user_command == "list":
            for u in store.users().values():
                extra = u.area or u.department or ""
                print(f"{u.username}\t{u.role}\t{extra}")
        else:
            store.remove(args.username)
            print(f"removed user {args.username}")
    except AuthError as exc:
        print(f"user: error: {exc}", file=sys.stderr)
        return 2
    return 0


# ---------------------------------------------------------------- replay, ingest-folder


def add_feeds_parsers(subparsers) -> None:
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
        help="shift event and case times by whole days so the replay ends by the current time "
        "(for a live demo)",
    )
    # SUPPRESS: a subcommand default would overwrite a --config given before the subcommand
    p.add_argument("--config", default=argparse.SUPPRESS, help="OneGrid TOML config file")
    p.set_defaults(feeds_command="replay", handler=_feeds_handler)

    f = subparsers.add_parser(
        "ingest-folder",
        help="ingest the files of a folder once (then move them to done/ or failed/)",
    )
    f.add_argument("--path", required=True, type=Path, help="folder holding the files")
    f.add_argument("--mapping", default=None, help="mapping name or TOML path")
    f.add_argument("--source", default=None, help="source of canonical files without a prefix")
    f.add_argument("--config", default=argparse.SUPPRESS, help="OneGrid TOML config file")
    f.set_defaults(feeds_command="ingest-folder", handler=_feeds_handler)


def _feeds_handler(args: argparse.Namespace) -> int:
    """``args.handler(args)``: run with the real Runtime."""
    from data.runtime import Runtime

    return run_feeds(args, Runtime)


def _lookups(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"--lookup expects NAME=PATH, got {item!r}")
        out[name.strip()] = path.strip()
    return out


def _print_counts(result: IngestResult, recon=None) -> None:
    print(
        f"accepted {result.accepted}, duplicates {result.duplicates}, "
        f"quarantined {result.quarantined}"
    )
    if recon is not None:
        # every row accounted for, every reason counted (the pipeline reports the first 100)
        print("\n".join(recon.lines()))


def _progress(done: int, total: int | None, result: IngestResult) -> None:
    of = f"/{total}" if total else ""
    print(
        f"  {done}{of} rows: accepted {result.accepted}, duplicates {result.duplicates}, "
        f"quarantined {result.quarantined}",
        flush=True,
    )


def run_feeds(args: argparse.Namespace, runtime_factory) -> int:
    """Run ``replay`` or ``ingest-folder`` from parsed arguments; ``runtime_factory(settings)``
    builds the Runtime (the real one from :func:`main`)."""

    settings = load_settings(getattr(args, "config", None), simulator=False)
    try:
        if args.feeds_command == "replay":
            # a typo in the name should not wait for the store
            load_mapping(args.mapping, settings.catalogue)
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
    mapping = load_mapping(args.mapping, runtime.catalogue)
    lookups = _lookups(args.lookup) or None
    shift_to = None
    if args.shift_to_now:
        first, last = time_span(mapping, args.file, lookups=lookups)
        if first is not None:
            # whole days: times of day stay, and event and case times move together
            shift_to = whole_day_shift(first, last, args.speed, pd.Timestamp.now(tz="UTC"))
            print(f"shifting times by {shift_to - first}")
    pace = f"at {args.speed:g}x" if args.speed else "as fast as possible"
    print(f"replaying {args.file} through mapping {mapping.name} ({mapping.source}) {pace}")
    recon = Reconciliation(mapping=mapping.name, source=mapping.source)
    kw = dict(speed=args.speed, lookups=lookups, shift_to=shift_to, progress=_progress)
    if mapping.source == "hotline" and runtime.settings.cases_from_hotline:
        # a 12345 request is a case even without a usable location (docs/CASES.md)
        from data.cases.history import replay_history

        counts = replay_history(
            runtime.pipeline, runtime.cases, mapping, args.file, reconciliation=recon, **kw
        )
        result = IngestResult(counts["accepted"], counts["duplicates"], counts["quarantined"])
        _print_counts(result, recon)
        print(
            f"cases: {counts['cases_placed']} placed, {counts['cases_unplaced']} at city level "
            "(no usable location)"
        )
        return 0
    result = replay_file(runtime.pipeline, mapping, args.file, reconciliation=recon, **kw)
    _print_counts(result, recon)
    return 0


def _run_folder(args: argparse.Namespace, runtime) -> int:
    spec = FolderFeed(
        name=f"folder:{args.path.name}", path=args.path, mapping=args.mapping, source=args.source
    )
    reports = FolderDropFeed(spec, runtime.pipeline).scan_once()
    for r in reports:
        print(
            f"{r['file']}: {r['status']}, accepted {r['accepted']}, duplicates {r['duplicates']}, "
            f"quarantined {r['quarantined']}" + (f", error: {r['error']}" if r["error"] else "")
        )
    print(f"{len(reports)} file(s)")
    return 1 if any(r["status"] == "failed" for r in reports) else 0


# ---------------------------------------------------------------- check-mapping


def add_check_mapping_parser(subparsers) -> None:
    """Register ``check-mapping``: a dry run of a mapping on a file (docs/MAPPING.md)."""
    p = subparsers.add_parser(
        "check-mapping",
        help="dry run: read a file through a mapping and print where every row would go",
        description="Read a publisher file through a field mapping, validate and place it "
        "against the current region, and print the reconciliation (rows read = accepted + "
        "duplicates + quarantined by reason + outside region). Writes nothing; the database, "
        "if there is one, is only read (for duplicates). Exit 0 when the numbers add up.",
    )
    p.add_argument("--mapping", required=True, help="mapping name (data/mappings/) or TOML path")
    p.add_argument("--file", required=True, type=Path, help="data file or folder")
    p.add_argument("--limit", type=int, default=None, help="read at most N publisher records")
    p.add_argument("--json", action="store_true", help="print the reconciliation as JSON")
    p.add_argument(
        "--lookup", action="append", default=[], metavar="NAME=PATH", help="lookup table file"
    )
    p.add_argument("--region", default=None, help="region name or folder (default: settings)")
    p.add_argument("--config", default=argparse.SUPPRESS, help="OneGrid TOML config file")
    p.set_defaults(handler=run_check_mapping)


def run_check_mapping(args: argparse.Namespace) -> int:
    """Run ``check-mapping``: print the reconciliation; 0 when it adds up, 1 when it does not,
    2 for a bad mapping, file or region."""
    import json

    from data.feeds.reconcile import check_mapping
    from data.region import load_region

    settings = load_settings(getattr(args, "config", None), simulator=False)
    if args.limit is not None and args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        mapping = load_mapping(args.mapping, settings.catalogue)
        if not args.file.exists():
            raise FileNotFoundError(f"data file {args.file} not found")
        region = load_region(args.region or settings.region)
        recon = check_mapping(
            mapping,
            args.file,
            region=region,
            db_path=settings.db,
            lookups=_lookups(args.lookup) or None,
            limit=args.limit,
        )
    except (MappingError, FileNotFoundError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(recon.as_dict() | {"region": region.name}, ensure_ascii=False, indent=1))
    else:
        print(
            f"check-mapping: {args.file} through mapping {mapping.name} ({mapping.source}), "
            f"region {region.name}; nothing written"
        )
        print("\n".join(recon.lines()))
    return 0 if recon.adds_up() else 1


# ---------------------------------------------------------------- import-region


def add_import_region_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``import-region`` subcommand; its handler is :func:`run_import_region`."""
    p = subparsers.add_parser(
        "import-region",
        help="import a city's polygons (GeoJSON, GeoPackage, Shapefile) as a region",
        description=(
            "Import polygons as a region (city > county > township > community > grid). "
            "Map the file's fields to levels with --<level>-id/--<level>-name; the features are units "
            "of the lowest mapped level, higher mapped levels group them. Unmapped levels become 1:1 "
            "copies of their parent. --cell-size cuts the lowest units into grid cells. "
            "An id may be FIELD//N (integer division), e.g. --county-id BoroCD//100."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--input", required=True, help="polygon file (.geojson/.json/.gpkg/.shp)")
    p.add_argument("--name", required=True, help="region name (folder name, city code)")
    p.add_argument("--out", default=None, help="output folder (default data/regions/<name>/)")
    for lv in ("county", "township", "community", "grid"):
        p.add_argument(f"--{lv}-id", default=None, help=f"field with the {lv} id")
        p.add_argument(f"--{lv}-name", default=None, help=f"field with the {lv} name")
        p.add_argument(f"--{lv}-name-zh", default=None, help=f"field with the {lv} Chinese name")
    p.add_argument("--parent-file", default=None, help="second polygon file with the parent level")
    p.add_argument("--parent-id", default=None, help="field with the parent id in --parent-file")
    p.add_argument("--parent-name", default=None, help="field with the parent name")
    p.add_argument(
        "--parent-level",
        default=None,
        choices=LEVELS[1:4],
        help="level of --parent-file (default: the level above the top mapped level)",
    )
    p.add_argument(
        "--cell-size",
        type=float,
        default=None,
        help="grid cell size in metres (square side, or hexagon flat-to-flat width); "
        "default: one cell per lowest unit",
    )
    p.add_argument("--cell-shape", choices=("square", "hex"), default="square", help="cell shape")
    p.add_argument("--timezone", default="UTC", help="IANA timezone, e.g. America/New_York")
    p.add_argument("--name-zh", default=None, help="city name in Chinese")
    p.add_argument("--name-en", default=None, help="city name in English")
    p.set_defaults(handler=run_import_region)
    return p


def run_import_region(args: argparse.Namespace) -> int:
    """Run ``import-region`` from parsed arguments; prints progress and a summary. Returns 0/2."""
    levels = {
        lv: LevelSpec(
            getattr(args, f"{lv}_id"),
            getattr(args, f"{lv}_name"),
            getattr(args, f"{lv}_name_zh"),
        )
        for lv in ("county", "township", "community", "grid")
        if getattr(args, f"{lv}_id")
    }
    try:
        if not levels:
            raise ValueError("map at least one level, e.g. --county-id FIELD")
        parent = None
        if args.parent_file:
            if not args.parent_id:
                raise ValueError("--parent-file needs --parent-id")
            top = min(LEVELS.index(lv) for lv in levels)
            if top <= 1 and args.parent_level is None:
                raise ValueError("--parent-file needs a free level above the mapped levels")
            level = args.parent_level or LEVELS[top - 1]
            parent = ParentSpec(
                args.parent_file, level, LevelSpec(args.parent_id, args.parent_name)
            )
        region = import_region(
            args.input,
            args.out,
            name=args.name,
            levels=levels,
            cell_size_m=args.cell_size,
            cell_shape=args.cell_shape,
            name_zh=args.name_zh,
            name_en=args.name_en,
            timezone=args.timezone,
            parent=parent,
            progress=print,
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"import-region: error: {exc}")
        return 2
    print(region)
    return 0


# ---------------------------------------------------------------- responsibilities


def add_responsibilities_parser(subparsers) -> None:
    """Register ``responsibilities``: write a region's own responsibility list."""
    p = subparsers.add_parser(
        "responsibilities",
        help="write a region's own responsibility list (权责清单) into its folder",
        description="Write REGION/responsibilities.toml, the list the region's cases are "
        "routed by (docs/CASES.md). With --from, the departments, region-wide rules and the "
        "rules of areas the region has are taken from that list; without, the list is "
        "hall-only (every case goes to the hall). Edit the file afterwards.",
    )
    p.add_argument("--region", required=True, help="region name (under data/regions/) or folder")
    p.add_argument("--from", dest="source", type=Path, default=None, help="list to start from")
    p.add_argument("--force", action="store_true", help="replace the region's existing list")
    p.set_defaults(handler=run_responsibilities)


def run_responsibilities(args: argparse.Namespace) -> int:
    """Write the region's list; prints what it kept and left out, or the error (exit 2)."""
    from data.cases.responsibility import (
        RESPONSIBILITY_FILE,
        ResponsibilityError,
        derive_list,
        list_text,
        write_hall_only,
    )
    from data.region import load_region

    try:
        region = load_region(args.region)
    except (FileNotFoundError, ValueError) as exc:
        print(f"responsibilities: error: {exc}", file=sys.stderr)
        return 2
    out = region.folder / RESPONSIBILITY_FILE
    if out.exists() and not args.force:
        print(f"responsibilities: error: {out} exists (--force replaces it)", file=sys.stderr)
        return 2
    try:
        if args.source is None:
            write_hall_only(out, region.name)
            print(f"wrote {out}: hall only (every case goes to the hall to decide)")
            return 0
        spec, dropped = derive_list(args.source, set(region.areas["code"]))
    except ResponsibilityError as exc:
        print(f"responsibilities: error: {exc}", file=sys.stderr)
        return 2
    how = f"Started from {args.source}; edit it for this region."
    out.write_text(list_text(spec, region.name, how), encoding="utf-8")
    print(
        f"wrote {out}: {len(spec.departments)} departments, {len(spec.rules)} rules from "
        f"{args.source}"
    )
    if dropped:
        print(
            f"left out the rules of {len(dropped)} areas {args.source} names that region "
            f"{region.name} does not have: {', '.join(dropped)}"
        )
    return 0
