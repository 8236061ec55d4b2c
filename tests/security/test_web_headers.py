"""Every page the app serves, found through its url_map (so pages added later are walked too):
security headers on each HTML page, no inline script in it, and every state-changing route
refuses a request without the CSRF token."""

from __future__ import annotations

import re
from typing import Any

import pytest

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
SAMPLE_ARGS = {"key": "test-calm-down", "filename": "editor.js"}
SAMPLE_URLS = {"web.shared_ui": "/ui/nudges.js"}  # a real file, not a 404


def url_for_rule(rule: Any) -> str:
    """A concrete URL for a rule: ints become 1, known names a real value, others 'x'."""
    url = rule.rule
    for name in rule.arguments:
        converter = rule._converters[name]
        value = "1" if type(converter).__name__ in ("IntegerConverter", "FloatConverter") else None
        value = value or SAMPLE_ARGS.get(name, "x")
        url = re.sub(rf"<(?:[^:<>]+:)?{name}>", value, url)
    return url


def routes(app: Any, methods: set[str]) -> list[tuple[str, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & methods):
            url = SAMPLE_URLS.get(rule.endpoint) or url_for_rule(rule)
            found.append((rule.endpoint, method, url))
    return sorted(found)


def directives(csp: str) -> dict[str, str]:
    return {
        part.split()[0]: part.partition(" ")[2]
        for part in (p.strip() for p in csp.split(";"))
        if part
    }


def check_page(url: str, response: Any) -> list[str]:
    """What is wrong with one response (empty when nothing)."""
    problems = []
    headers = response.headers
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.mimetype != "text/html":
        return [f"{url}: {p}" for p in problems]
    csp = directives(headers.get("Content-Security-Policy", ""))
    scripts = csp.get("script-src", csp.get("default-src"))
    if scripts is None:
        problems.append("no CSP for scripts")
    elif "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts or "*" in scripts.split():
        problems.append(f"CSP lets inline scripts run: {scripts}")
    if csp.get("frame-ancestors") not in ("'none'", "'self'"):
        problems.append("no CSP frame-ancestors")
    if "object-src" not in csp and "default-src" not in csp:
        problems.append("no CSP default-src/object-src")
    if not headers.get("Referrer-Policy"):
        problems.append("no Referrer-Policy")
    html = response.get_data(as_text=True)
    if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.IGNORECASE):
        problems.append("an inline <script> in the page")
    if re.search(r"<[a-z][^>]*\son[a-z]+\s*=", html, re.IGNORECASE):
        problems.append("an inline event handler (on...=) in the page")
    return [f"{url}: {p}" for p in problems]


ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # headers only


@ONE_DATABASE
@pytest.mark.parametrize("who", [None, "admin", "lead", "trainer", "agent"])
def test_every_page_has_the_security_headers(editor_app, browser_for, who) -> None:
    browser = browser_for(who)
    problems, html_pages = [], 0
    for endpoint, _, url in routes(editor_app, {"GET"}):
        if endpoint in ("live.websocket", "auth.logout"):
            continue  # the websocket upgrade is tested in tests/server; GET on logout: 405
        response = browser.get(url)
        html_pages += response.mimetype == "text/html"
        problems += check_page(url, response)
    assert html_pages >= 5, "the walk reached almost no pages"
    assert problems == [], "\n".join(problems)


@ONE_DATABASE
def test_the_check_catches_a_page_without_headers(editor_app) -> None:
    """The checker itself can fail: a bare HTML page with an inline script is caught."""
    from flask import Response

    page = Response('<p onclick="x()">hi</p><script>alert(1)</script>', mimetype="text/html")
    assert len(check_page("/bare", page)) == 7


@pytest.mark.parametrize("who", [None, "admin"])
def test_every_state_changing_route_refuses_a_request_without_the_csrf_token(
    editor_app, browser_for, who
) -> None:
    browser = browser_for(who)
    checked = []
    for endpoint, method, url in routes(editor_app, STATE_CHANGING):
        response = browser.client.open(url, method=method, data={"role": "admin", "x": "1"})
        checked.append(endpoint)
        body = response.get_data(as_text=True)
        assert response.status_code == 400 and "CSRF" in body, (method, url, response.status)
    assert {"admin.users", "editor.new_rule", "auth.login"} <= set(checked)


HOSTILE_QUERY = {
    "page": "9" * 30,
    "q": "<script>x</script>%",
    "sort": "zzz",
    "team": "\x00",
    "rule": "' OR 1=1 --",
    "days": "-1e309",
    "agent": "9" * 30,
    "question": "NaN",
    "since": "0001-01-01",
    "until": "9999-12-31",
    "start": "0001-01-01",
    "end": "9999-12-31",
}


@ONE_DATABASE
def test_hostile_query_strings_never_make_a_page_fail(editor_app, browser_for) -> None:
    """Every GET page with absurd query parameters answers (a page, a 4xx), never a 500."""
    admin = browser_for("admin")
    failed = []
    for endpoint, _, url in routes(editor_app, {"GET"}):
        if endpoint in ("live.websocket", "auth.logout"):
            continue
        response = admin.get(url, query_string=HOSTILE_QUERY)
        if response.status_code >= 500:
            failed.append(f"{url}: {response.status_code}")
    assert failed == []
