"""The leak test: every Dash callback and every route, for every role, asked about objects of
another county or department, answers nothing foreign, never a 500, and read-only roles write
nothing.

It discovers what to walk (``app.callback_map`` and ``server.url_map`` after the first request,
and the component ids of every page's layout for pattern-matching callbacks), so a callback or a
route added later is walked without editing this file. The app is the real one: a DuckDB file with
two days of simulated history over the default region's seven counties (cases in eleven
departments), marker events and cases in every county, warnings in several counties, users signed
in through the real login form, requests through the Flask test client.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

import dash
import numpy as np
import pandas as pd
import pytest

from app import create_app
from data import policy
from data.feeds.simulator import Simulator
from data.runtime import Runtime
from data.settings import load_settings
from layouts import ids
from tests.support.web import post_login

PASSWORD = "leak-test-password"
HOME = "210302"  # Tiedong: the county leader's county
WRITE_TABLES = ("cases", "case_transitions", "warning_history", "events", "notifications")
# key names of pattern-matching ids, and how many concrete ids of one pattern to trigger
MAX_TRIGGERS_PER_PATTERN = 3
SKIP_ROUTES = ("/logout", "/static/", "/assets/", "/_dash-component-suites/", "/_reload-hash")


@dataclass
class World:
    """The running app, its users and the objects of each county and department."""

    app: dash.Dash
    rt: Runtime
    users: dict[str, object]
    areas: pd.DataFrame
    cases: pd.DataFrame
    warnings: pd.DataFrame
    layout_ids: list = field(default_factory=list)
    _targets: dict | None = None
    briefing_id: int = 0  # an archived briefing of the far county
    attachment_id: int = 0  # a photo on one of the far county's cases
    attachment_case: int = 0


def _simulate(rt: Runtime, now: pd.Timestamp) -> None:
    """Three days of simulated history, then marker events, cases and warnings per county."""
    sim = Simulator.from_region(rt.region, seed=11, timezone=rt.timezone)

    def batches():
        for day in pd.date_range(now - pd.Timedelta(days=2), now, freq="1D"):
            for source, frame in sim.generate_all(
                day, min(day + pd.Timedelta(days=1), now)
            ).items():
                if len(frame):
                    yield source, frame

    rt.pipeline.ingest_frames(batches(), feed="simulator")
    counties = rt.db.query_df("SELECT key, code, lon, lat FROM areas WHERE level = 'county'")
    cells = rt.db.query_df(
        "SELECT key, code, county_key, lon, lat FROM areas WHERE level = 'grid' ORDER BY key"
    )
    rows = []
    for c in counties.itertuples():
        cell = cells[cells.county_key == c.key].iloc[0]
        for i in range(14):  # a cluster of accidents: a warning in the cell
            rows.append(
                {
                    "id": f"LEAKEV-{c.code}-{i}",
                    "time": now - pd.Timedelta(minutes=3 + i),
                    "lon": cell.lon,
                    "lat": cell.lat,
                    "category": "accident",
                    "severity": 5,
                    "text": f"LEAKTX-{c.code}",
                }
            )
    frame = pd.DataFrame(rows)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    rt.pipeline.ingest_frame("traffic", frame, feed="test", now=now)
    rt._init_warnings()
    rt.evaluate_warnings(now=now - pd.Timedelta(minutes=1))
    rt.evaluate_warnings(now=now)
    # cases with marker titles in every county and several departments
    svc = rt.cases
    for c in counties.itertuples():
        cell = cells[cells.county_key == c.key].iloc[5]
        for cat in ("hotline.heating", "hotline.city_appearance", "market.food_safety"):
            svc.create(
                cat,
                lon=float(cell.lon),
                lat=float(cell.lat),
                title=f"LEAKCASE-{c.code}-{cat}",
                actor="test",
                now=now - pd.Timedelta(hours=2),
            )
    svc.deliver_due(now + pd.Timedelta(days=3))
    # some warnings become cases
    for w in rt.db.query_df("SELECT id, rule_id, kind, area_key, level_rank FROM warnings").to_dict(
        "records"
    )[:5]:
        svc.from_warning({k: (v.item() if hasattr(v, "item") else v) for k, v in w.items()})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("leaks")
    settings = load_settings(
        db=tmp / "onegrid.duckdb",
        simulator=False,
        users_file=tmp / "users.toml",
        secret_key="leak-secret",
        auth=True,
    )
    rt = Runtime(settings)
    now = pd.Timestamp.now(tz="UTC").floor("s")
    _simulate(rt, now)
    areas = rt.db.query_df(
        "SELECT key, code, level, name_zh, name_en, city_key, county_key, township_key,"
        " community_key FROM areas"
    )
    cases = rt.db.query_df(
        "SELECT id, parent_id, department, county_key, township_key, community_key, cell_key,"
        " area_key, title FROM cases"
    )
    warnings = rt.db.query_df("SELECT id, area_key, county_key FROM warnings")
    home = areas[areas.code == HOME].iloc[0]
    town = areas[(areas.level == "township") & (areas.county_key == home.key)].iloc[0]
    comm = areas[(areas.level == "community") & (areas.county_key == home.key)].iloc[0]
    dept = cases.department.dropna().value_counts().index[0]
    users = {
        "admin": dict(role="admin"),
        "operator": dict(role="operator"),
        "analyst": dict(role="analyst"),
        "wall": dict(role="wall"),
        "leader": dict(role="county_leader", area=HOME),
        "town_leader": dict(role="county_leader", area=town.code),
        "department": dict(role="department", department=dept),
        "grid_worker": dict(role="grid_worker", area=comm.code),
    }
    users = {name: rt.users.add(name, PASSWORD, kw.pop("role"), **kw) for name, kw in users.items()}
    app = create_app(runtime=rt)
    w = World(app, rt, users, areas, cases, warnings)
    w.layout_ids = _layout_ids(app, rt)
    w.briefing_id = _archive_briefing(rt, far_county_code(areas), now)
    w.attachment_case, w.attachment_id = _attach_photo(rt, cases, far_county_code(areas))
    yield w
    rt.stop()


def _archive_briefing(rt: Runtime, county: str, now: pd.Timestamp) -> int:
    """A day's briefing of ``county`` in the briefings archive (as the scheduler files it)."""
    from data import briefings
    from data.areas import scope_for_code
    from data.briefings import archive
    from reports import render
    from reports.schedule import folder_for

    day = now.tz_convert(rt.timezone).date()
    b = briefings.build(
        rt.db, scope_for_code(rt.db, county), period="day", day=day, timezone=rt.timezone
    )
    item = archive.Due("day", day, county, "zh", "html")
    return archive.write(rt.db, folder_for(rt.settings), item, render(b, "html"), events=1)


def _attach_photo(rt: Runtime, cases: pd.DataFrame, county: str) -> tuple[int, int]:
    """A photo on one of ``county``'s marked cases (as a field report attaches it)."""
    from data import attachments
    from tests.support.photos import image_bytes

    case_id = int(cases[cases.title.str.startswith(f"LEAKCASE-{county}", na=False)].id.iloc[0])
    photos = attachments.check_photos([("leak.png", image_bytes("PNG"))], max_mb=1)
    folder = attachments.folder_for(rt.settings)
    (photo_id,) = attachments.store_photos(rt.db, folder, case_id, photos, "gw")
    return case_id, photo_id


def _layout_ids(app, rt) -> list:
    """Every component id of every page's layout (as the admin sees them)."""
    from flask import session

    from web.signin import SID_KEY

    found = []

    def walk(node):
        if isinstance(node, list | tuple):
            for n in node:
                walk(n)
            return
        if not hasattr(node, "to_plotly_json"):
            return
        cid = getattr(node, "id", None)
        if cid is not None:
            found.append(cid)
        for prop in ("children",):
            walk(getattr(node, prop, None))

    with app.server.test_request_context("/"):
        session[SID_KEY] = rt.sessions.create(rt.users.get("admin"))
        for page in dash.page_registry.values():
            walk(page["layout"]())
    return found


# --- what each user may not see -----------------------------------------------------------------


@dataclass
class Foreign:
    """What one user must never receive, and objects to ask about."""

    codes: set[str]
    names: set[str]
    markers: set[str]
    case_ids: set[int]
    ask: dict  # values to put in inputs


def _foreign(w: World, user) -> Foreign:
    areas, cases = w.areas, w.cases
    s = policy.scope(user)
    other = areas[areas.code != HOME]
    if s.city:
        allowed = areas
    elif s.area:
        me = areas[areas.code == s.area].iloc[0]
        col = {"county": "county_key", "township": "township_key", "community": "community_key"}[
            me.level
        ]
        inside = areas[(areas[col] == me.key) | (areas.key == me.key)]
        ancestors = areas[areas.key.isin([me.city_key, me.county_key, me.township_key])]
        allowed = pd.concat([inside, ancestors])
    else:  # a department reads no area aggregates; the areas of its own cases may show
        allowed = areas[areas.key.isin(cases[cases.department == s.department].area_key)]
    foreign_areas = areas[~areas.key.isin(allowed.key) & (areas.level != "city")]
    names = set()
    allowed_names = (
        " ".join(allowed.name_zh.fillna("")) + " " + " ".join(allowed.name_en.fillna(""))
    )
    for n in pd.concat([foreign_areas.name_zh, foreign_areas.name_en]).dropna():
        if len(n) >= 3 and n not in allowed_names and n not in ("Community", "Subdistrict"):
            names.add(n)
    codes = set(foreign_areas.code)
    if s.department:
        codes = set()  # codes of its cases' events may name any area; names are checked
    # cases: those the policy lets the user view are allowed; the rest are foreign
    db = w.rt.db
    visible = {int(c) for c, t in _case_targets(w).items() if policy.may(user, "view", t)}
    foreign_cases = cases[~cases.id.isin(visible)]
    markers = {t for t in foreign_cases.title.dropna() if t.startswith("LEAKCASE-")}
    visible_counties = set(allowed[allowed.level == "county"].code) if not s.department else set()
    for code in areas[areas.level == "county"].code:
        if code not in visible_counties or s.area and code != HOME:
            markers.add(f"LEAKEV-{code}-")
            markers.add(f"LEAKTX-{code}")
    if s.area and s.area != HOME:  # a township or community: the county's marker cell may lie
        markers.discard(f"LEAKEV-{HOME}-")  # outside it or not; ask the policy per event below
        markers.discard(f"LEAKTX-{HOME}")
    # objects to ask about: another county's, another department's
    far = cases[
        (cases.county_key != areas[areas.code == HOME].key.iloc[0])
        & ~cases.id.isin(visible)
        & cases.title.str.startswith("LEAKCASE-", na=False)
    ]
    if not len(far):  # a city role: every case is its own; ask about another county's anyway
        far = cases[cases.title.str.startswith(f"LEAKCASE-{far_county_code(areas)}", na=False)]
    far_case = far.iloc[0]
    far_county = other[other.code == far_county_code(areas)].iloc[0]
    far_town = other[(other.level == "township") & (other.county_key == far_county.key)].iloc[0]
    far_cell = other[(other.level == "grid") & (other.township_key == far_town.key)].iloc[0]
    pt = db.query_one("SELECT lon, lat FROM areas WHERE key = ?", [int(far_cell.key)])
    far_warn = w.warnings[w.warnings.county_key != areas[areas.code == HOME].key.iloc[0]]
    depts = [d for d in cases.department.dropna().unique() if d != s.department]
    ask = {
        "county": far_county.code,
        "township": far_town.code,
        "cell": far_cell.code,
        "cell_key": int(far_cell.key),
        "lon": pt[0],
        "lat": pt[1],
        "case_id": int(far_case.id),
        "warning_id": int(far_warn.id.iloc[0]) if len(far_warn) else 1,
        "department": depts[0],
        "briefing_id": w.briefing_id,
        "attachment_id": w.attachment_id,
    }
    return Foreign(codes, names, markers, set(int(c) for c in foreign_cases.id), ask)


def far_county_code(areas: pd.DataFrame) -> str:
    """The county asked about: the first one that is not the leader's."""
    return str(areas[(areas.level == "county") & (areas.code != HOME)].code.iloc[0])


def _case_targets(w: World) -> dict[int, policy.Target]:
    """Every case's policy target (its area's lineage codes, its and its sub-cases' departments),
    built from the tables at once (the policy's own builder reads them one case at a time)."""
    if getattr(w, "_targets", None) is None:
        areas = w.areas.set_index("key")
        code = areas.code.to_dict()
        lineage = {}
        for k, r in areas.iterrows():
            keys = [k, r.city_key, r.county_key, r.township_key, r.community_key]
            lineage[k] = tuple(dict.fromkeys(code[int(x)] for x in keys if pd.notna(x)))
        subs = w.cases.dropna(subset=["parent_id"]).groupby("parent_id").department.agg(set)
        out = {}
        for c in w.cases.itertuples():
            depts = ({c.department} if isinstance(c.department, str) else set()) | {
                d for d in subs.get(c.id, set()) if isinstance(d, str)
            }
            areas_ = lineage.get(int(c.area_key), ()) if pd.notna(c.area_key) else ()
            out[int(c.id)] = policy.Target("case", "view", areas_, frozenset(depts))
        w._targets = out
    return w._targets


def _answer_text(resp) -> str:
    """An answer's text as a reader sees it: a zipped document (Excel, Word) is opened and its
    cells or paragraphs read (its raw bytes are compressed: a leak inside would not show, and
    random bytes could look like one)."""
    import io

    body = resp.get_data()
    kind = resp.headers.get("Content-Type", "")
    if "spreadsheetml" in kind:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True)
        cells = (c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row)
        return "\n".join(str(c) for c in cells if c is not None)
    if "wordprocessingml" in kind:
        from docx import Document

        doc = Document(io.BytesIO(body))
        parts = [p.text for p in doc.paragraphs]
        parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
        return "\n".join(parts)
    return body.decode("utf-8", "replace")


def _leaks(text: str, sent: str, f: Foreign) -> list[str]:
    """The foreign objects in an answer (those the request itself named are not counted)."""
    found = []
    for tok in set(re.findall(r"(?<!\d)\d{6,15}(?!\d)", text)):
        if tok in f.codes and tok not in sent:
            found.append(f"area code {tok}")
    for n in f.names:
        if n in text:
            found.append(f"area name {n}")
    for m in f.markers:
        if m in text and m not in sent:
            found.append(f"marker {m}")
    for cid in re.findall(r"#(\d{1,5}) ", text):  # "#<case id> <title>" (not a colour)
        if int(cid) in f.case_ids and cid not in sent:
            found.append(f"case #{cid}")
    return found


# --- building callback requests -------------------------------------------------------------------


def _value(cid, prop: str, ask: dict, variant: str):
    """The value a browser would send for ``cid.prop``, naming foreign objects (or malformed)."""
    if prop in ("n_clicks", "n_intervals"):
        return 1
    if variant.startswith("path:"):
        if prop == "pathname":
            return variant[5:]
        variant = "foreign"
    if variant != "foreign":
        return {"abc": "abc", "dict": {"county": ["x"], "id": {"a": 1}}, "list": [1, "a", None]}[
            variant
        ]
    name = cid if isinstance(cid, str) else cid.get("type", "")
    if prop == "selectedRows":
        return [{"id": ask["warning_id"] if "warn" in name else ask["case_id"]}]
    if prop == "clickData":
        return {
            "points": [
                {
                    "location": ask["cell_key"],
                    "curveNumber": 0,
                    "lon": ask["lon"],
                    "lat": ask["lat"],
                }
            ]
        }
    if prop == "id":
        return cid
    if prop in ("pathname",):
        return "/"
    if prop in ("search", "href"):
        return f"?county={ask['county']}&township={ask['township']}&cell={ask['cell']}"
    if prop == "data":
        if name == ids.VIEW:
            return {
                "county": ask["county"],
                "township": ask["township"],
                "cell": ask["cell"],
                "level": "grid",
                "metric": "all",
                "window": "24h",
            }
        if "selected" in name:
            return ask["warning_id"]
        if name in (ids.LANG, ids.URL_LANG):
            return "en"
        if "version" in name:
            return 1
        return None
    if prop == "value":
        up = name.upper()
        for key, val in (
            ("DEPT", ask["department"]),
            ("TARGET", [ask["department"]]),
            ("AREA", ask["county"]),
            ("CELL", ask["cell"]),
            ("LON", ask["lon"]),
            ("LAT", ask["lat"]),
            ("CATEGORY", "hotline.heating"),
        ):
            if key in up.replace("-", "_"):
                return val
        return "leak test text"
    return None


def _matches(pattern: dict, concrete) -> bool:
    return (
        isinstance(concrete, dict)
        and set(concrete) == set(pattern)
        and all(pattern[k] == concrete[k] or isinstance(pattern[k], list) for k in pattern)
    )


def _concrete(spec_id: str, layout_ids: list):
    """A callback's dependency id: a plain string, or the layout's ids a pattern matches."""
    if not spec_id.startswith("{"):
        return spec_id, False
    pattern = json.loads(spec_id)
    return [c for c in layout_ids if _matches(pattern, c)], True


def _entries(specs: list[dict], layout_ids, ask, variant):
    out = []
    for spec in specs:
        cid, is_pattern = _concrete(spec["id"], layout_ids)
        prop = spec["property"]
        if is_pattern:
            out.append(
                [{"id": c, "property": prop, "value": _value(c, prop, ask, variant)} for c in cid]
            )
        else:
            out.append({"id": cid, "property": prop, "value": _value(cid, prop, ask, variant)})
    return out


def _prop_id(cid, prop) -> str:
    if isinstance(cid, dict):
        cid = json.dumps(cid, sort_keys=True, separators=(",", ":"))
    return f"{cid}.{prop}"


def _outputs(output_key: str, cb: dict, layout_ids):
    """The ``outputs`` a browser sends: one entry per output, pattern outputs made concrete."""
    parts = output_key[2:-2].split("...") if output_key.startswith("..") else [output_key]
    outs = []
    for part in parts:
        part = part.split("@")[0]
        cid, prop = part.rsplit(".", 1)
        if cid.startswith("{"):
            concrete, _ = _concrete(cid, layout_ids)
            outs.append([{"id": c, "property": prop} for c in concrete])
        else:
            outs.append({"id": cid, "property": prop})
    return outs if output_key.startswith("..") else outs[0]


def _requests(app, layout_ids, ask: dict):
    """Every server callback's requests: one per trigger with foreign values, then malformed."""
    for key, cb in app.callback_map.items():
        if cb.get("callback") is None or cb.get("no_output") and False:
            continue
        if getattr(cb["callback"], "__name__", "") in ("", None):
            continue
        outputs = _outputs(key, cb, layout_ids)
        # Dash's page router: every page's path, with a search naming foreign objects
        paths = [p["path"] for p in dash.page_registry.values()]
        routed = any(i["property"] == "pathname" for i in cb["inputs"])
        variants = [*(f"path:{p}" for p in paths)] if routed else []
        for variant in [*variants, "foreign", "abc", "dict"]:
            inputs = _entries(cb["inputs"], layout_ids, ask, variant)
            state = _entries(cb.get("state", []), layout_ids, ask, variant)
            triggers = []
            for entry in inputs:
                group = entry if isinstance(entry, list) else [entry]
                triggers += group[:MAX_TRIGGERS_PER_PATTERN]
            if variant != "foreign":
                triggers = triggers[:1]
                variant = "foreign" if variant.startswith("path:") else variant
            for trig in triggers:
                yield (
                    key,
                    variant,
                    {
                        "output": key,
                        "outputs": outputs,
                        "inputs": inputs,
                        "state": state,
                        "changedPropIds": [_prop_id(trig["id"], trig["property"])],
                    },
                )


def _sign_in(client, name: str) -> None:
    resp = post_login(client, name, PASSWORD)
    assert resp.status_code == 302, resp.data


def _counts(db) -> dict:
    return {t: db.query_one(f"SELECT count(*) FROM {t}")[0] for t in WRITE_TABLES}


def _routes(app, ask) -> list[str]:
    """Every GET route, its parts filled with foreign objects, with and without query strings."""
    fill = {
        "code": ask["county"],
        "level": "county",
        "source": "police",
        "path": "cases",
        "indicator": "events.by_category",
        "briefing_id": ask["briefing_id"],
        "attachment_id": ask["attachment_id"],
    }
    out = []
    for rule in app.server.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(SKIP_ROUTES):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(fill.get(arg, ask["township"])), url)
        out.append(url)
        out.append(
            f"{url}?area={ask['county']}&county={ask['county']}&case={ask['case_id']}"
            f"&warning={ask['warning_id']}&department={ask['department']}"
        )
        out.append(f"{url}?area=abc&since=9999-99&limit=x")
        if "indicator" in rule.arguments:  # the catalogue's values: own area, broken down, files
            for query in ("", "by=township", "by=grid&format=csv", "by=community&format=xlsx"):
                out.append(f"{url}?{query}")
                out.append(f"{url}?area={ask['county']}&{query}")
    return out


ROLES = (
    "admin",
    "operator",
    "analyst",
    "wall",
    "leader",
    "town_leader",
    "department",
    "grid_worker",
)


@pytest.mark.parametrize("name", ROLES)
def test_no_foreign_object_and_no_500_for_any_role(world, name):
    """Walk every callback and every GET route as ``name``; nothing foreign, no 500."""
    app, rt = world.app, world.rt
    client = app.server.test_client()
    _sign_in(client, name)
    client.get("/")  # Dash registers its own page-routing callback at the first request
    user = world.users[name]
    f = _foreign(world, user)
    before = _counts(rt.db)
    problems, tried, callbacks = [], 0, set()
    t0 = time.perf_counter()
    for key, variant, body in _requests(app, world.layout_ids, f.ask):
        resp = client.post("/_dash-update-component", json=body)
        tried += 1
        callbacks.add(key)
        text = resp.get_data().decode("utf-8", "replace")
        if resp.status_code >= 500:
            problems.append(f"{resp.status_code} {key} {variant}: {text[:300]}")
        elif resp.status_code == 200 and variant == "foreign":
            for leak in _leaks(text, json.dumps(body), f):
                problems.append(f"{key} {body['changedPropIds']}: {leak}")
    for url in _routes(app, f.ask):
        resp = client.get(url)
        tried += 1
        text = _answer_text(resp)
        if resp.status_code >= 500:
            problems.append(f"{resp.status_code} GET {url}: {text[:300]}")
        elif resp.status_code == 200:
            for leak in _leaks(text, url, f):
                problems.append(f"GET {url}: {leak}")
            # a photo carries no marker text: its case decides
            if url.startswith("/cases/attachment/") and world.attachment_case in f.case_ids:
                problems.append(f"GET {url}: a photo of foreign case {world.attachment_case}")
    elapsed = time.perf_counter() - t0
    server_callbacks = [k for k, v in app.callback_map.items() if v.get("callback") is not None]
    assert callbacks >= set(server_callbacks) - {""}, "a callback was not walked"
    assert not problems, f"{name}: {len(problems)} of {tried} requests:\n" + "\n".join(
        sorted(set(problems))[:40]
    )
    # read-only roles (and roles acting outside their scope) wrote nothing
    if name in ("wall", "leader", "town_leader", "department", "grid_worker"):
        assert _counts(rt.db) == before, f"{name} changed the store"
    print(f"{name}: {tried} requests, {len(callbacks)} callbacks, 0 leaks, {elapsed:.1f} s")


def test_the_walk_covers_a_callback_added_later(world):
    """A callback registered after the app was built is walked and checked like the others."""
    calls = []

    @world.app.callback(dash.Output("leak-probe", "children"), dash.Input(ids.VIEW, "data"))
    def probe(view):
        calls.append(view)
        return json.dumps(view)

    requests = [
        b
        for k, _, b in _requests(
            world.app,
            world.layout_ids,
            {
                "county": "X",
                "township": "Y",
                "cell": "Z",
                "cell_key": 1,
                "lon": 0,
                "lat": 0,
                "case_id": 1,
                "warning_id": 1,
                "department": "d",
            },
        )
        if k == "leak-probe.children"
    ]
    assert requests, "the new callback was not discovered"
    world.app.callback_map.pop("leak-probe.children")


def test_marker_objects_exist_in_every_county(world):
    """The walk asks about real objects: markers, cases and warnings in several counties."""
    db = world.rt.db
    assert db.query_one("SELECT count(DISTINCT county_key) FROM events")[0] == 7
    assert db.query_one("SELECT count(DISTINCT county_key) FROM cases")[0] == 7
    assert db.query_one("SELECT count(DISTINCT department) FROM cases")[0] >= 5
    assert db.query_one("SELECT count(DISTINCT county_key) FROM warnings")[0] >= 3
    assert db.query_one("SELECT count(*) FROM notifications")[0] > 0
    assert np.all(np.array(list(_counts(db).values())) > 0)
