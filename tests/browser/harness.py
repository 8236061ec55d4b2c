"""Browser-test harness: the test pages' HTTP server and Chromium with the real extension loaded.

Kept apart from conftest.py so a dev script can drive the same browser by hand.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
EXTENSION = REPO / "extension"
CHROMIUM = Path("/usr/bin/chromium")
# The same pages are served under two prefixes: /on/ is in the extension's Sites, /off/ is not.
PREFIXES = ("/on/", "/off/")


class PageHandler(SimpleHTTPRequestHandler):
    """Serves tests/browser (pages/, dist/, node_modules/) under /on/ and /off/."""

    def translate_path(self, path: str) -> str:
        for prefix in PREFIXES:
            if path.startswith(prefix):
                path = "/" + path[len(prefix) :]
                break
        return super().translate_path(path)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


class PageServer:
    """Static server for the test pages on a free loopback port, in a daemon thread."""

    def __init__(self) -> None:
        handler = functools.partial(PageHandler, directory=str(HERE))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, page: str, enabled: bool = True) -> str:
        return f"{self.origin}/{'on' if enabled else 'off'}/pages/{page}"

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def launch_args() -> list[str]:
    ext = str(EXTENSION)
    return [
        "--headless=new",
        f"--disable-extensions-except={ext}",
        f"--load-extension={ext}",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]


def launch(playwright: Any, user_data_dir: Path) -> Any:
    """Chromium (Debian's, never a downloaded one) with the unpacked extension loaded."""
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(CHROMIUM),
        headless=False,  # --headless=new is passed by hand: extensions need the new headless mode
        args=launch_args(),
        viewport={"width": 1100, "height": 800},
    )


def service_worker(context: Any, timeout: float = 10.0) -> Any:
    workers = context.service_workers
    if workers:
        return workers[0]
    return context.wait_for_event("serviceworker", timeout=timeout * 1000)


def configure(context: Any, settings: dict[str, Any], open_shadow: bool = True) -> None:
    """Store settings as the options page would and wait until the content script is registered.

    open_shadow: the test-only switch (never set by the options page) that draws nudges in an
    open shadow root, so Playwright locators reach the cards; production roots are closed.
    """
    worker = service_worker(context)
    worker.evaluate(
        """async ([{token, ...s}, open]) => {
            await chrome.storage.local.clear();
            await EmpathyToken.save(token || "");  // where the options page keeps it
            await chrome.storage.local.set({settings: s, testHooks: {openShadow: open}});
        }""",
        [settings, open_shadow],
    )
    want = sorted(settings.get("sites", []))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        scripts = worker.evaluate("chrome.scripting.getRegisteredContentScripts()")
        matches = sorted(m for s in scripts for m in s["matches"] if "/demo" not in m)
        if matches == want:
            return
        time.sleep(0.1)
    raise AssertionError(f"content script not registered for {want}: {json.dumps(scripts)}")


def outbox(context: Any) -> list[dict[str, Any]]:
    """The service worker's persistent queue of messages waiting for the server's ack."""
    worker = service_worker(context)
    return worker.evaluate("chrome.storage.local.get('outbox').then((s) => s.outbox || [])")


# ---- Page helpers ----

NUDGE_HOST = "empathy-engine-nudges"


def open_editor_page(context: Any, url: str) -> Any:
    """Open a test page and wait until its editor is up (window.testEditor)."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(
        "window.testEditorReady ? window.testEditorReady.then(() => true) : !!window.testEditor"
    )
    return page


def editor_frame(page: Any) -> Any:
    """The frame that holds the editor: the iframe's for the iframe page, else the page's."""
    frame_element = page.query_selector("iframe.composer-frame")
    return frame_element.content_frame() if frame_element else page.main_frame


def type_into_editor(page: Any, text: str) -> None:
    page.evaluate("window.testEditor.root.focus()")
    page.keyboard.type(text)


def editor_text(page: Any) -> str:
    return page.evaluate("window.testEditor.text()")


def editor_html(page: Any) -> str:
    return page.evaluate("window.testEditor.root.innerHTML")


def wait_for_nudge(frame: Any, rule: str | None = None, timeout: float = 10.0) -> Any:
    selector = f".card[data-empathy-nudge='{rule}']" if rule else ".card[data-empathy-nudge]"
    card = frame.locator(f"{NUDGE_HOST} {selector}").first
    card.wait_for(state="visible", timeout=timeout * 1000)
    return card


def in_closed_nudges(page: Any, function: str) -> Any:
    """Run `function` (JS, `this` = the nudge overlay's shadow root) even when the root is closed.

    Page scripts cannot reach a closed shadow root; the DevTools protocol can (pierce: true), so
    tests see what the agent sees without any hook in the extension. None when there is no overlay.
    """
    cdp = page.context.new_cdp_session(page)
    try:
        tree = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
        stack, root = [tree], None
        while stack and root is None:
            node = stack.pop()
            if node.get("nodeName") == NUDGE_HOST.upper() and node.get("shadowRoots"):
                root = node["shadowRoots"][0]
            stack.extend(node.get("children", []))
        if root is None:
            return None
        handle = cdp.send("DOM.resolveNode", {"backendNodeId": root["backendNodeId"]})
        result = cdp.send(
            "Runtime.callFunctionOn",
            {
                "objectId": handle["object"]["objectId"],
                "functionDeclaration": function,
                "returnByValue": True,
            },
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"in_closed_nudges: {result['exceptionDetails']}")
        return result["result"].get("value")
    finally:
        cdp.detach()


def closed_card_js(rule: str) -> str:
    """JS for in_closed_nudges: the shown card for `rule` (its text, style and Apply button)."""
    return f"""function () {{
        const rule = {json.dumps(rule)};
        const card = this.querySelector(`.card[data-empathy-nudge="${{rule}}"]`);
        if (!card || card.closest("[hidden]")) return null;
        const apply = card.querySelector("button.apply")?.getBoundingClientRect();
        return {{
            question: card.querySelector(".question")?.textContent || "",
            text: card.textContent,
            borderLeftWidth: getComputedStyle(card).borderLeftWidth,
            apply: apply && {{x: apply.x + apply.width / 2, y: apply.y + apply.height / 2}},
        }};
    }}"""


def wait_for_closed_card(page: Any, rule: str, timeout: float = 10.0) -> dict[str, Any]:
    """The card for `rule` in a closed overlay (see in_closed_nudges), once it is shown."""
    deadline = time.monotonic() + timeout
    while True:
        card = in_closed_nudges(page, closed_card_js(rule))
        if card or time.monotonic() > deadline:
            assert card, f"no '{rule}' card within {timeout} s"
            return card
        page.wait_for_timeout(100)


def card_is_styled(card: Any) -> bool:
    """The shadow root's stylesheet (ui/nudges.css) reached the card, whatever the page's CSP."""
    return card.evaluate("(c) => getComputedStyle(c).borderLeftWidth") == "4px"


def marks(frame: Any) -> list[dict[str, Any]]:
    """Highlight boxes drawn by the overlay, with their rule ids."""
    return frame.evaluate(
        """(host) => {
            const root = document.querySelector(host)?.shadowRoot;
            return [...(root ? root.querySelectorAll('.mark') : [])].map((m) => ({
                rule: m.dataset.empathyNudge, ...m.getBoundingClientRect().toJSON(),
            }));
        }""",
        NUDGE_HOST,
    )


def text_under(frame: Any, x: float, y: float) -> dict[str, Any] | None:
    """Text node and offset the browser itself finds at a point (overlays let clicks through)."""
    return frame.evaluate(
        """([x, y]) => {
            const r = document.caretRangeFromPoint(x, y);
            if (!r || r.startContainer.nodeType !== Node.TEXT_NODE) return null;
            return {data: r.startContainer.data, offset: r.startOffset};
        }""",
        [x, y],
    )


def layout(page: Any) -> list[list[float]]:
    """Positions and sizes of every element in the page's body: the page's own layout."""
    return page.evaluate(
        """() => [...document.body.querySelectorAll('*')].map((e) => {
            const r = e.getBoundingClientRect();
            return [r.x, r.y, r.width, r.height].map((v) => Math.round(v * 10) / 10);
        })"""
    )


# ---- A server this test can stop and start again (same port, same database) ----


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RestartableServer:
    """`python server.py` on a fixed loopback port with its own SQLite file."""

    def __init__(self, folder: Path, **env: str) -> None:
        # Demo off: the "default" team and its agents are this test's alone.
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.database_url = f"sqlite:///{folder / 'empathy.sqlite3'}"
        self.log = folder / "server.log"
        self.env = {**os.environ, "DATABASE_URL": self.database_url, "EMPATHY_DEMO": "0", **env}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "server.py", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=open(self.log, "a"),  # noqa: SIM115 (lives as long as the process)
            text=True,
        )
        line = self.process.stdout.readline()
        if "serving on" not in line:
            raise RuntimeError(f"server did not start: {line!r}; see {self.log}")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def cli(self, *args: str) -> str:
        """Run the server's own Flask CLI against this server's database."""
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "server", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip()

    def new_token(self, name: str = "agent") -> str:
        """A fresh agent's token (in team "default"); the CLI prints it alone on the last line."""
        return self.cli("agents", "create", name).splitlines()[-1]
