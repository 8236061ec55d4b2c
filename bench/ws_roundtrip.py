"""Draft -> nudges round trip over a real websocket on loopback, against a bare echo endpoint.

    python bench/ws_roundtrip.py [--messages N] [--repeat R]

Starts one server process (werkzeug, threaded, as `python server.py` runs it) that serves both
the real /ws endpoint (fresh SQLite database, default lexicons, storage writer running) and a
bare flask-sock /echo endpoint. One client in this process then times, alternately per message,
a `draft` frame until its `nudges` answer and the same frame echoed back. Drafts are real agent
replies (SYSTEM turns of ../shared/data/sgd/turns.tsv), plus a share of scripted phrasing so
nudges are found and stored. Prints a Markdown table for docs/benchmarks.md (best of R runs by
p99).
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TURNS = REPO.parent / "shared" / "data" / "sgd" / "turns.tsv"
SCRIPTED = [
    "We apologize for any inconvenience. As per our policy refunds take 7-10 business days.",
    "Please calm down, that's not my department.",
    "Unfortunately there is nothing I can do.",
]


def serve() -> None:
    """Child process: the real app plus a bare echo endpoint on the same server."""
    from flask_sock import Sock
    from werkzeug.serving import make_server

    from assistant import create_app

    app = create_app()
    app.extensions["empathy"].start()

    @Sock(app).route("/echo")
    def echo(ws) -> None:
        while True:
            ws.send(ws.receive())

    with app.extensions["empathy"].sessions.begin() as session:
        from assistant.storage import accounts

        token = accounts.mint_token(session, accounts.create_agent(session, "bench"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(json.dumps({"port": server.server_port, "token": token}), flush=True)
    server.serve_forever()


def drafts(limit: int) -> list[str]:
    with TURNS.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        replies = [r["utterance"] for r in rows if r["speaker"] == "SYSTEM"]
    texts = [t for t in replies if len(t) <= 500][:limit]
    for i in range(0, len(texts), 10):  # one draft in ten is scripted phrasing
        texts[i] = SCRIPTED[(i // 10) % len(SCRIPTED)]
    return texts


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def run(port: int, token: str, texts: list[str]) -> tuple[list[float], list[float], int]:
    from websockets.sync.client import connect

    clock = time.perf_counter_ns
    nudged = 0
    draft_ms, echo_ms = [], []
    with (
        connect(f"ws://127.0.0.1:{port}/ws") as agent,
        connect(f"ws://127.0.0.1:{port}/echo") as echo,
    ):
        agent.send(json.dumps({"type": "hello", "token": token, "conversation": "bench"}))
        assert json.loads(agent.recv())["type"] == "ready"
        for i, text in enumerate(texts):
            frame = json.dumps({"type": "draft", "id": f"d{i}", "text": text})
            start = clock()
            agent.send(frame)
            answer = json.loads(agent.recv())
            draft_ms.append((clock() - start) / 1e6)
            assert answer["type"] == "nudges" and answer["for"] == f"d{i}", answer
            nudged += bool(answer["items"])
            start = clock()
            echo.send(frame)
            echo.recv()
            echo_ms.append((clock() - start) / 1e6)
    return draft_ms, echo_ms, nudged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return

    texts = drafts(args.messages)
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
            "EMPATHY_DEMO": "0",
            # Back to back drafts, far faster than a debouncing client: lift the rate limit.
            "EMPATHY_FRAMES_PER_SECOND": "1000000",
            "EMPATHY_FRAME_BURST": "1000000",
        }
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve"], env=env, stdout=subprocess.PIPE, text=True
        )
        try:
            started = json.loads(server.stdout.readline())
            run(started["port"], started["token"], texts[:300])  # warm up both paths
            runs = []
            for _ in range(args.repeat):
                gc.disable()
                runs.append(run(started["port"], started["token"], texts))
                gc.enable()
        finally:
            server.terminate()
            server.wait(10)

    draft_ms, echo_ms, nudged = min(runs, key=lambda r: percentile(r[0], 99))
    rows = [("bare flask-sock echo (same frame)", echo_ms), ("draft -> nudges (/ws)", draft_ms)]
    print(f"{len(texts)} drafts ({nudged} with nudges), best of {args.repeat} runs by p99, "
          f"Python {platform.python_version()}, {os.cpu_count()} cores\n")  # fmt: skip
    print("| path | p50 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: |")
    for name, samples in rows:
        print(f"| {name} | {percentile(samples, 50):.3f} | {percentile(samples, 99):.3f} "
              f"| {max(samples):.3f} |")  # fmt: skip
    ratio = percentile(draft_ms, 99) / percentile(echo_ms, 99)
    print(f"\np99 draft / p99 echo: **{ratio:.2f}x** (target <= 1.5x); "
          f"p99 draft **{percentile(draft_ms, 99):.3f} ms** (target < 10 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
