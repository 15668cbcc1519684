"""The sign-in page: plain HTML served by Flask (it must work before any Dash code is allowed)."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from layouts.i18n import normalise_language, t


def login_page(
    lang: str | None,
    *,
    next_url: str = "/",
    error: str | None = None,
    csrf_token: str = "",
) -> str:
    """The sign-in form as an HTML document, in ``lang`` (zh by default).

    ``error``: the translation key of a message to show (``login.failed``, ``login.locked``...);
    ``csrf_token``: the form's CSRF token, checked when the form is posted.
    """
    lang = normalise_language(lang)
    other = "en" if lang == "zh" else "zh"
    message = f'<p class="og-login-error">{escape(t(error, lang))}</p>' if error else ""
    return f"""<!doctype html>
<html lang="{"zh-CN" if lang == "zh" else "en"}">
<head><meta charset="utf-8"><title>{escape(t("app.title", lang))}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/login.css"></head>
<body class="og-login-body">
<form class="og-login" method="post" action="/login?lang={lang}">
  <h1>{escape(t("app.title", lang))}</h1>
  {message}
  <input type="hidden" name="next" value="{escape(next_url)}">
  <input type="hidden" name="csrf_token" value="{escape(csrf_token)}">
  <label>{escape(t("login.username", lang))}
    <input name="username" id="login-username" autocomplete="username" required></label>
  <label>{escape(t("login.password", lang))}
    <input name="password" id="login-password" type="password"
           autocomplete="current-password" required></label>
  <button type="submit" id="login-submit">{escape(t("login.submit", lang))}</button>
  <a class="og-login-lang" href="/login?lang={other}&amp;next={escape(quote(next_url, safe="/"))}">
    {escape(t("lang.switch", lang))}</a>
</form>
</body></html>"""


LOGIN_CSS = """
.og-login-body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
background:#0b1220;color:#e2e8f0;font-family:"Noto Sans CJK SC","WenQuanYi Zen Hei",
"Microsoft YaHei","PingFang SC",sans-serif}
.og-login{display:flex;flex-direction:column;gap:1rem;min-width:20rem;padding:2.5rem;
background:#111a2e;border:1px solid #1e2a44;border-radius:12px}
.og-login h1{margin:0 0 .5rem;font-size:1.6rem}
.og-login label{display:flex;flex-direction:column;gap:.35rem;font-size:1rem}
.og-login input{padding:.6rem;border-radius:6px;border:1px solid #334155;background:#0b1220;
color:#e2e8f0;font-size:1rem}
.og-login button{padding:.7rem;border:0;border-radius:6px;background:#2563eb;color:#fff;
font-size:1.05rem;cursor:pointer}
.og-login-error{color:#f87171;margin:0}
.og-login-lang{color:#93c5fd;text-align:right}
"""
