"""Browser-test harness: the test pages' HTTP server and Chromium with the real extension loaded.

Kept apart from conftest.py so a dev script can drive the same browser by hand.
"""

from __future__ import annotations

import functools
import json
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


def configure(context: Any, settings: dict[str, Any]) -> None:
    """Store settings as the options page would and wait until the content script is registered."""
    worker = service_worker(context)
    worker.evaluate(
        "async (s) => { await chrome.storage.local.clear(); await chrome.storage.local.set({settings: s}); }",
        settings,
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
