"""The real entry point, end to end: `python server.py` in a subprocess, a real client."""

from __future__ import annotations

import urllib.request

from .client import Agent


def test_draft_gets_nudges_from_the_real_entry_point(empathy_server):
    with Agent(empathy_server.ws_url) as agent:
        ready = agent.hello(empathy_server.token, "basics-1", customer_name="Dana")
        assert ready["agent"] == "test-agent"
        nudges = agent.draft("d1", "We apologize for any inconvenience.")
        rules = [item["rule"] for item in nudges["items"]]
        assert "sorry-for-the-inconvenience" in rules
        item = nudges["items"][rules.index("sorry-for-the-inconvenience")]
        assert item["id"].startswith("n_")
        assert 1 <= item["question"] <= 5 and item["question_text"]
        assert item["suggestions"]


def test_clean_draft_gets_empty_nudges(empathy_server):
    with Agent(empathy_server.ws_url) as agent:
        agent.hello(empathy_server.token, "basics-2")
        assert agent.draft("d1", "Thanks!")["items"] == []


def test_demo_page_is_served_with_a_token_and_no_inline_script(empathy_server):
    with urllib.request.urlopen(empathy_server.demo_url, timeout=10) as response:
        html = response.read().decode()
        csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "ee_" in html  # the demo agent's token reaches the page as data
    with urllib.request.urlopen(empathy_server.url + "ui/nudges.js", timeout=10) as response:
        assert b"EmpathyNudgeUI" in response.read()
    with urllib.request.urlopen(empathy_server.url + "static/demo.js", timeout=10) as response:
        assert response.status == 200
