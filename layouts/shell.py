"""The app shell around every page: header, language switch, clock, refresh timer."""

from __future__ import annotations

import dash
from dash import dcc, html

from layouts import ids
from layouts.i18n import DEFAULT_LANGUAGE, display_name

# AG Grid's theme on every desk page: its parameters are the design tokens (assets/tokens.css), so
# a grid follows the light / dark switch with the rest of the page and names no colour of its own
GRID_THEME = (
    "themeQuartz.withParams({backgroundColor: 'var(--og-surface)', "
    "foregroundColor: 'var(--og-ink)', headerBackgroundColor: 'var(--og-surface-2)', "
    "headerTextColor: 'var(--og-ink-dim)', borderColor: 'var(--og-edge)', "
    "accentColor: 'var(--og-accent)', browserColorScheme: 'inherit', fontFamily: 'inherit', "
    "fontSize: 'var(--og-fs-md)', headerFontSize: 'var(--og-fs-md)', rowHeight: 32, "
    "headerHeight: 36})"
)
THEMES = ("dark", "light")


def i18n_text(
    key: str,
    lang: str = DEFAULT_LANGUAGE,
    *,
    tag=html.Span,
    place: str = "",
    catalogue=None,
    **kw,
):
    """A static display string that the language switch re-translates (``key`` in the tables,
    or a source's or category's name that ``catalogue`` configures: :func:`layouts.i18n.name`).

    ``place`` tells apart two uses of the same string on one page (ids must be unique).
    """
    return tag(
        display_name(key, lang, catalogue), id={"type": ids.I18N, "key": key, "place": place}, **kw
    )


def shell() -> html.Div:
    """The app's layout: the page container. Each page wraps itself in :func:`frame`, so a page's
    components and the header's (language, refresh timer) always exist together."""
    return html.Div(dash.page_container, className="og-root")


def frame(
    page,
    *,
    refresh_ms: int,
    region: dict | None = None,
    timezone: str = "UTC",
    url_lang: str | None = None,
    live_subtitle: bool = False,
    csrf_token=None,
    nav: list[tuple[str, str]] | None = None,
    current: str | None = None,
    catalogue=None,
) -> html.Div:
    """A page inside the app's frame: header, language, clock and refresh timer.

    ``refresh_ms``: live refresh period. ``region``: the region's display names (``name_zh``,
    ``name_en``, ``illustrative``); ``timezone``: the city's IANA zone, for the browser's clock.
    ``url_lang``: a ``?lang=`` from the address, which wins over the stored choice.
    ``live_subtitle``: the page updates the header's area name (the wall); on other pages the
    name keeps another id, so no page-specific callback fires where its inputs do not exist.
    ``csrf_token``: with sign-in on, the header gets a sign-out form that POSTs it to /logout
    (a string, or a function making it for the current request).
    ``nav``: the pages the signed-in account may open (name, path), shown as a bar under the
    header with ``current`` (the page's name) marked; none on the wall's kiosk view.
    ``catalogue``: the deployment's sources (pages that list them read it; the frame does not).

    Every page but the wall is a desk page: the frame gets the class ``og-desk`` (the shared look,
    assets/desk.css) and the light / dark switch; the wall keeps its own dark screen.
    """
    region = region or {}
    desk = not live_subtitle and current != "wall"
    if callable(csrf_token):  # the app passes a maker: the token belongs to this request
        csrf_token = csrf_token()
    return html.Div(
        className="og-app og-desk" if desk else "og-app",
        children=[
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.LANG, storage_type="local", data=DEFAULT_LANGUAGE),
            dcc.Store(id=ids.URL_LANG, data=url_lang),
            dcc.Store(id=ids.THEME, storage_type="local", data=THEMES[0]) if desk else None,
            dcc.Store(id=ids.TIMEZONE, data=timezone),
            dcc.Store(id=ids.REGION_NAME, data=region),
            dcc.Interval(id=ids.REFRESH, interval=refresh_ms, n_intervals=0),
            dcc.Interval(id=ids.CLOCK_TICK, interval=1000, n_intervals=0),
            html.Header(
                className="og-header",
                children=[
                    html.Div(className="og-brand-mark"),
                    html.Div(
                        className="og-brand",
                        children=[
                            i18n_text("app.title", tag=html.H1, className="og-title"),
                            i18n_text("app.subtitle", className="og-subtitle"),
                        ],
                    ),
                    html.Div(
                        className="og-region",
                        children=[
                            html.Span(
                                region.get("name_zh", ""),
                                id=ids.SUBTITLE if live_subtitle else ids.SUBTITLE_STATIC,
                            ),
                            i18n_text("wall.illustrative", className="og-tag")
                            if region.get("illustrative")
                            else None,
                        ],
                    ),
                    html.Div(
                        className="og-clock-box",
                        children=[
                            i18n_text("clock.label", className="og-clock-label"),
                            html.Div(id=ids.CLOCK, className="og-clock"),
                        ],
                    ),
                    html.Button(
                        i18n_text("lang.switch"),
                        id=ids.LANG_SWITCH,
                        className="og-lang",
                        n_clicks=0,
                    ),
                    _theme_switch() if desk else None,
                    _sign_out(csrf_token) if csrf_token else None,
                ],
            ),
            _nav(nav, current) if nav else None,
            html.Main(page, className="og-main"),
        ],
    )


def _theme_switch() -> html.Button:
    """The desk's light / dark switch: it names the theme it switches to (CSS shows the one of
    its two labels that applies, assets/desk.css); the choice is kept per browser."""
    return html.Button(
        [
            i18n_text("theme.to_light", className="og-theme-to-light"),
            i18n_text("theme.to_dark", className="og-theme-to-dark"),
        ],
        id=ids.THEME_SWITCH,
        className="og-lang og-theme-switch",
        n_clicks=0,
    )


def _nav(pages: list[tuple[str, str]], current: str | None) -> html.Nav:
    """Links to the pages the account may open (decided by the policy on the server)."""
    return html.Nav(
        className="og-nav",
        children=[
            dcc.Link(
                i18n_text(f"page.name.{name}", place="nav"),
                href=path,
                className="og-nav-link og-nav-current" if name == current else "og-nav-link",
            )
            for name, path in pages
        ],
    )


def _sign_out(csrf_token: str) -> html.Form:
    """Sign out by POST with the session's CSRF token (a link or GET could be forged)."""
    return html.Form(
        id=ids.SIGN_OUT,
        method="POST",
        action="/logout",
        className="og-sign-out",
        children=[
            dcc.Input(type="hidden", name="csrf_token", value=csrf_token),
            html.Button(
                i18n_text("login.logout"),
                id=ids.SIGN_OUT_BUTTON,
                type="submit",
                className="og-lang",
            ),
        ],
    )


def framed(page):
    """A page layout for ``dash.register_page``: ``page()`` inside :func:`frame`, given the app's
    ``chrome`` (the keyword arguments of :func:`frame`, bound when the page is registered)."""

    def layout(chrome: dict | None = None, **query) -> html.Div:
        url_lang = query.get("lang") if query.get("lang") in ("zh", "en") else None
        return frame(page(), **(chrome or {"refresh_ms": 5000}), url_lang=url_lang)

    return layout


def forbidden(chrome: dict | None = None, allowed: list[tuple[str, str]] = ()) -> html.Div:
    """The frame with a refusal instead of a page the signed-in account may not open, and links
    to the pages it may open (``allowed``: page name and path)."""
    links = html.Ul(
        [
            html.Li(dcc.Link(i18n_text(f"page.name.{name}", place="forbidden"), href=path))
            for name, path in allowed
        ]
    )
    page = html.Div(
        [i18n_text("page.forbidden", tag=html.P), links], id=ids.FORBIDDEN, className="og-forbidden"
    )
    return frame(page, **(chrome or {"refresh_ms": 5000}))
