"""Callbacks of the case board (``/cases``) and the metrics page (``/metrics``): thin functions
between ``data.cases`` and the layouts. Every query runs inside the signed-in user's scope."""

from __future__ import annotations

import dash
import pandas as pd
from dash import ALL, Input, Output, State, ctx, html

from callbacks.wiring import Wiring
from callbacks.wiring import actor as _actor
from callbacks.wiring import runtime as _rt
from callbacks.wiring import scope as _scope
from data import policy
from data.areas import AreaScope
from data.cases import InvalidTransition, metrics
from data.cases.service import CaseNotFound
from layouts import ids
from layouts.i18n import normalise_language, t
from layouts.response_panel import response_panel

_wiring = Wiring(page="cases")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register


def _user():
    from web.session import signed_in

    return signed_in()


def _board_department(requested: str | None) -> str | None:
    """A department user's board is always their own department, whatever the browser asks."""
    user = _user()
    return user.department if user.role == "department" else requested


def _check_may(action: str, case_id: int | None = None) -> None:
    """The policy's word on a case action: without ``case_id``, whether the role may do it to
    any case at all (department users handle their own cases, the hall does the rest); with it,
    whether the user may do it to that case (its department, its area)."""
    user = _user()
    if case_id is None:
        if not policy.may_some(user, action, f"case:{action}"):
            raise policy.PolicyDenied(f"role {user.role} may not {action}")
        return
    policy.require(user, action, policy.case_target(_rt().db, case_id, action))


def _board_scope() -> AreaScope:
    """The area the board reads: the user's own; a department's board is its department's cases
    city-wide (the department filter is forced by :func:`_board_department`)."""
    user = _user()
    found = policy.area_scope(_rt().db, user)
    if found is None and user.role == "department":
        return _rt().scope
    if found is None:
        raise policy.PolicyDenied(f"{user.username} reads no case board")
    return found


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def category_name(category: str, lang: str) -> str:
    """Display name of a case category (the code itself for warning rules without a name)."""
    try:
        return t(f"category.{category}", lang)
    except KeyError:
        return category


def department_options(
    rt, lang: str, *, with_hall: bool = True, scope: AreaScope | None = None
) -> list[dict]:
    """Departments of the responsibility list plus those already owning cases.

    ``scope``: below the city, only city-level departments and those owning cases inside it
    (another county's own bureaus are not shown to a county's team).
    """
    rules = rt.cases.rules
    ids_ = list(rules.departments)
    if not with_hall:
        ids_.remove(rules.hall.id)
    cond, params = ("true", []) if scope is None or scope.level == "city" else scope.where()
    extra = [r[0] for r in rt.db.query(
        f"SELECT DISTINCT department FROM cases WHERE department IS NOT NULL AND {cond} "
        "ORDER BY 1", params)]  # fmt: skip
    if cond != "true":
        ids_ = [d for d in ids_ if rules.departments[d].level == "city" or d in extra]
    ids_ += [d for d in extra if d not in ids_]
    return [{"label": rules.department_name(d, lang), "value": d} for d in ids_]


def selected_id(selected) -> int | None:
    """The selected case id from the grid's ``selectedRows`` (rows, or ``{"ids": [...]}`` right
    after the board re-selects a row)."""
    if isinstance(selected, dict):
        got = selected.get("ids") or []
        return int(got[0]) if got else None
    if selected:
        return int(selected[0]["id"])
    return None


def _fmt_time(ts, tz: str) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).tz_convert(tz).strftime("%m-%d %H:%M")


# --- the board -------------------------------------------------------------------------------


@callback(
    Output(ids.CASES_DEPT, "options"),
    Output(ids.CASES_DEPT, "value"),
    Output(ids.CASES_TARGET, "options"),
    Output(ids.CASES_NEW_CATEGORY, "options"),
    Output(ids.CASES_NEW_CATEGORY, "value"),
    Input(ids.LANG, "data"),
    State(ids.CASES_DEPT, "value"),
    State(ids.CASES_NEW_CATEGORY, "value"),
)
def board_options(lang, dept, category):
    from data.events import CATEGORIES

    lang = normalise_language(lang)
    rt = _rt()
    scope = _board_scope()
    opts = department_options(rt, lang, scope=scope)
    own = _board_department(None)
    if own is not None:
        opts = [o for o in opts if o["value"] == own]
        dept = own
    cats = [f"{s}.{c}" for s, cs in CATEGORIES.items() for c in cs]
    cat_opts = [{"label": f"{category_name(c, lang)} ({c})", "value": c} for c in cats]
    return (
        opts,
        dept or rt.cases.rules.hall.id,
        # dispatch targets: only for those who may dispatch (the hall)
        department_options(rt, lang, with_hall=False, scope=scope)
        if policy.may_some(_user(), "dispatch", "case:dispatch")
        else [],
        cat_opts,
        category or "hotline.heating",
    )


def board_rows(rt, department: str, scope: AreaScope, lang: str, now: pd.Timestamp) -> list[dict]:
    """The board's rows for ``department`` inside ``scope`` (display-ready)."""
    df = rt.cases.board(department, scope, now=now)
    rules = rt.cases.rules
    rows = []
    for r in df.to_dict("records"):
        rows.append(
            {
                "id": int(r["id"]),
                "state": t(f"case.state.{r['state']}", lang),
                "state_code": r["state"],
                "category": category_name(r["category"], lang),
                "title": r["title"] or "",
                "department": rules.department_name(r["department"], lang)
                if r["department"]
                else t("cases.needs_decision", lang)
                if r["needs_decision"]
                else "",
                "deadline": _fmt_time(r["deadline_at"], rt.timezone),
                "overdue": t("cases.yes", lang) if r["overdue"] else "",
                "urgent": t("cases.yes", lang) if r["urgent"] else "",
                "returns": int(r["returns"]),
                "reworks": int(r["reworks"]),
            }
        )
    return rows


def board_columns(lang: str) -> list[dict]:
    cols = ["id", "state", "category", "title", "department", "deadline", "overdue", "urgent",
            "returns", "reworks"]  # fmt: skip
    return [{"field": c, "headerName": t(f"cases.col.{c}", lang)} for c in cols]


@callback(
    Output(ids.CASES_GRID, "rowData"),
    Output(ids.CASES_GRID, "columnDefs"),
    Output(ids.CASES_INBOX, "children"),
    Output(ids.CASES_GRID, "selectedRows"),
    Input(ids.CASES_DEPT, "value"),
    Input(ids.CASES_VERSION, "data"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.LANG, "data"),
    State(ids.CASES_GRID, "selectedRows"),
)
def refresh_board(dept, _version, _n, lang, selected):
    dept = _board_department(dept)
    if not dept:
        raise dash.exceptions.PreventUpdate
    lang = normalise_language(lang)
    rt = _rt()
    now = _now()
    scope = _board_scope()
    rows = board_rows(rt, dept, scope, lang, now)
    # the inbox holds notes about cases anywhere: only those inside the reader's scope
    inbox = rt.cases.inbox(dept, now=now, limit=20, scope=scope)
    items = [
        html.Li(
            f"{_fmt_time(r['deliver_at'], rt.timezone)} · {t('note.' + r['kind'], lang)} · "
            f"#{r['case_id']} {r['title'] or ''}"
        )  # fmt: skip
        for r in inbox.to_dict("records")
    ]
    # keep the selected case selected across refreshes while it is still on the board
    sid = selected_id(selected)
    # (never clear it from here: the State may predate a click made while this request ran)
    sel = {"ids": [str(sid)]} if any(x["id"] == sid for x in rows) else dash.no_update
    inbox_view = html.Ul(items) if items else t("cases.inbox.empty", lang)
    return rows, board_columns(lang), inbox_view, sel


@callback(
    Output(ids.CASES_HISTORY, "children"),
    Input(ids.CASES_GRID, "selectedRows"),
    Input(ids.CASES_VERSION, "data"),
    Input(ids.LANG, "data"),
)
def show_history(selected, _version, lang):
    lang = normalise_language(lang)
    sid = selected_id(selected)
    if sid is None:
        return ""
    rt = _rt()
    if not policy.may(_user(), "view", policy.case_target(rt.db, sid)):
        return ""  # another county's or department's case: nothing, as for an unknown id
    hist = rt.cases.transitions(sid)
    head = html.Tr([html.Th(t(f"cases.col.{c}", lang))
                    for c in ("time", "action", "actor", "department", "reason")])  # fmt: skip
    body = [
        html.Tr(
            [
                html.Td(_fmt_time(r["occurred_at"], rt.timezone)),
                html.Td(t(f"case.action.{r['action']}", lang)),
                html.Td(r["actor"]),
                html.Td(
                    rt.cases.rules.department_name(r["department"], lang)
                    if isinstance(r["department"], str)
                    else ""
                ),  # fmt: skip
                html.Td(r["reason"] if isinstance(r["reason"], str) else ""),
            ]
        )
        for r in hist.to_dict("records")
    ]
    return html.Table([head, *body], className="og-history")


@callback(
    Output(ids.CASES_MSG, "children"),
    Output(ids.CASES_VERSION, "data"),
    Input({"type": ids.CASE_ACTION, "action": ALL}, "n_clicks"),
    Input(ids.CASES_NEW_BTN, "n_clicks"),
    State(ids.CASES_GRID, "selectedRows"),
    State(ids.CASES_DEPT, "value"),
    State(ids.CASES_REASON, "value"),
    State(ids.CASES_TARGET, "value"),
    State(ids.CASES_EXTENSION, "value"),
    State(ids.CASES_NEW_CATEGORY, "value"),
    State(ids.CASES_NEW_CELL, "value"),
    State(ids.CASES_NEW_TITLE, "value"),
    State(ids.CASES_VERSION, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def act(_clicks, _new, selected, dept, reason, targets, extension, category, cell, title,
        version, lang):  # fmt: skip
    """Run the clicked action on the selected case as the board's department."""
    lang = normalise_language(lang)
    trig = ctx.triggered_id
    if not ctx.triggered or not ctx.triggered[0].get("value"):
        raise dash.exceptions.PreventUpdate
    rt = _rt()
    svc = rt.cases
    actor = _actor()
    targets = [targets] if isinstance(targets, str) else list(targets or [])
    try:
        dept = _board_department(dept)
        _check_may("create" if trig == ids.CASES_NEW_BTN else trig["action"])
        if trig == ids.CASES_NEW_BTN:
            area = None
            if cell:
                from data.areas import scope_for_code

                found = scope_for_code(rt.db, str(cell).strip())
                policy.require(_user(), "create", policy.area_target(rt.db, key=found.key))
                area = found.key
            cid = svc.create(category, origin="operator", actor=actor, title=title or None,
                             area_key=area, dispatch=False)  # fmt: skip
            return t("cases.new.done", lang).format(id=cid), (version or 0) + 1
        cid = selected_id(selected)
        if cid is None:
            return t("cases.select_first", lang), dash.no_update
        action = trig["action"]
        svc.get(cid)  # CaseNotFound first: an unknown id is not a refusal
        _check_may(action, cid)
        if action == "joint_dispatch":
            svc.joint_dispatch(cid, targets, actor=actor, reason=reason)
        else:
            target = targets[0] if targets else None
            own = dept if action in ("accept", "return", "request_extension",
                                     "report_handled") else target  # fmt: skip
            svc.act(cid, action, actor=actor, department=own, reason=reason,
                    extension=extension or None)  # fmt: skip
    except (InvalidTransition, CaseNotFound, ValueError, KeyError, PermissionError) as exc:
        return t("cases.error", lang).format(error=exc), dash.no_update
    done = t("cases.done", lang).format(id=cid, action=t(f"case.action.{action}", lang))
    return done, (version or 0) + 1


# --- the metrics page --------------------------------------------------------------------------


def _pct(v) -> str | None:
    return None if v is None or pd.isna(v) else f"{100 * v:.1f}%"


def _num(v, nd: int = 1):
    return None if v is None or pd.isna(v) else round(float(v), nd)


def metric_rows(table: pd.DataFrame, key: str, label, lang: str) -> list[dict]:
    rows = []
    for r in table.to_dict("records"):
        trend = r.get("trend")
        rows.append(
            {
                "rank": r["rank"],
                "name": label(r),
                "cases": int(r["cases"] or 0),
                "on_time": _pct(r["on_time_rate"]),
                "overdue": int(r["open_overdue"] or 0),
                "median_dispatch": _num(r["median_dispatch_h"]),
                "median_accept": _num(r["median_accept_h"]),
                "median_close": _num(r["median_close_h"]),
                "rework_rate": _pct(r["rework_rate"]),
                "extension_rate": _pct(r["extension_rate"]),
                "returned": int(r.get("returned", 0) or 0) if key == "department" else None,
                "reassigned": int(r.get("reassigned_away", 0) or 0)
                if key == "department"
                else None,
                "trend": None if trend is None or pd.isna(trend) else f"{100 * trend:+.1f}",
            }
        )
    return rows


def metric_columns(lang: str, key: str) -> list[dict]:
    names = {"rank": "metrics.rank", "name": "cases.department" if key == "department"
             else "metrics.county", "cases": "metrics.cases", "on_time": "metrics.on_time",
             "overdue": "metrics.overdue", "median_dispatch": "metrics.median_dispatch",
             "median_accept": "metrics.median_accept", "median_close": "metrics.median_close",
             "rework_rate": "metrics.rework_rate", "extension_rate": "metrics.extension_rate",
             "returned": "metrics.returned", "reassigned": "metrics.reassigned",
             "trend": "metrics.trend"}  # fmt: skip
    if key != "department":
        names.pop("returned")
        names.pop("reassigned")
    return [{"field": f, "headerName": t(k, lang)} for f, k in names.items()]


@callback(
    Output(ids.METRICS_HEAD, "children"),
    Output(ids.METRICS_RESPONSE, "children"),
    Output(ids.METRICS_DEPT_GRID, "rowData"),
    Output(ids.METRICS_DEPT_GRID, "columnDefs"),
    Output(ids.METRICS_COUNTY_GRID, "rowData"),
    Output(ids.METRICS_COUNTY_GRID, "columnDefs"),
    Output(ids.METRICS_DETAIL_DEPT, "options"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.LANG, "data"),
    page="metrics",
)
def refresh_metrics(_n, lang):
    lang = normalise_language(lang)
    rt = _rt()
    scope, now = _scope(), _now()
    rules = rt.cases.rules
    head = metrics.summary(rt.db, scope, now=now)
    eff = metrics.effect(rt.db, scope, now=now)
    tiles = html.Div(
        className="og-metric-tiles",
        children=[
            html.Div([html.Span(t(k, lang)), html.B(v, id=f"metric-{k.split('.')[-1]}")])
            for k, v in (
                ("metrics.on_time", _pct(head["on_time_rate"]) or "–"),
                ("metrics.cases", str(head["cases"])),
                ("metrics.closed", str(head["closed"])),
                ("metrics.overdue", str(head["open_overdue"])),
                ("metrics.median_close", str(_num(head["median_close_h"]) or "–")),
                ("metrics.rework_rate", _pct(head["rework_rate"]) or "–"),
            )
        ]
        + [
            html.P(
                t("metrics.effect", lang).format(
                    **{k: eff[k] for k in ("after", "before", "cases")}
                )
                if eff["cases"]
                else t("metrics.effect.none", lang)
            )
        ],
    )
    panel = response_panel(metrics.wall(rt.db, scope, now=now), lang)
    dept = metrics.ranking(rt.db, scope, by="department", now=now, timezone=rt.timezone)
    county = metrics.ranking(rt.db, scope, by="county", now=now, timezone=rt.timezone)
    dept_rows = metric_rows(dept, "department",
                            lambda r: rules.department_name(r["department"], lang), lang)  # fmt: skip
    county_rows = metric_rows(
        county, "county", lambda r: r["name_en"] if lang == "en" else r["name_zh"], lang
    )
    opts = [{"label": rules.department_name(d, lang), "value": d}
            for d in dept["department"].dropna()]  # fmt: skip
    return (tiles, panel, dept_rows, metric_columns(lang, "department"), county_rows,
            metric_columns(lang, "county"), opts)  # fmt: skip


@callback(
    Output(ids.METRICS_DETAIL, "children"),
    Input(ids.METRICS_DETAIL_DEPT, "value"),
    Input(ids.LANG, "data"),
    page="metrics",
)
def department_detail(dept, lang):
    if not dept:
        return ""
    lang = normalise_language(lang)
    rt = _rt()
    d = metrics.department_detail(rt.db, _scope(), dept, now=_now())
    s = d["summary"]
    weekly = d["weekly"]
    lines = [
        html.P(f"{t('metrics.on_time', lang)}: {_pct(s['on_time_rate']) or '–'} · "
               f"{t('metrics.cases', lang)}: {s['cases']} · "
               f"{t('metrics.overdue', lang)}: {s['open_overdue']}"),
        html.Ul([html.Li(f"{pd.Timestamp(w).strftime('%Y-%m-%d')}: {_pct(r) or '–'}")
                 for w, r in zip(weekly["week"], weekly["on_time_rate"], strict=True)]),
        html.Ul([html.Li(f"#{r['id']} {r['title'] or category_name(r['category'], lang)} · "
                         f"{t('case.state.' + r['state'], lang)}")
                 for r in d["open"].head(20).to_dict("records")]),
    ]  # fmt: skip
    return html.Div(lines)
