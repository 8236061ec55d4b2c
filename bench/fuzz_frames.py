"""Long fuzz run: generated websocket frames against a real server over a real websocket.

    python bench/fuzz_frames.py [--frames 100000] [--seed 8] [--database-url URL]

Starts `python server.py --port 0` (werkzeug, threaded, as it runs by hand; fresh SQLite file
unless --database-url; rate limit raised so the frames reach the handlers) with its log in a
file, says hello as a real agent, then sends frames from a seeded generator: valid frames of every
type, valid frames with a field mutated, removed or added, truncated JSON, wrong types, huge
frames (over the 64 KB frame limit, and a few over the 1 MB websocket message limit), binary
frames and odd unicode (lone surrogates, NUL, right-to-left marks, emoji). After every batch a
marker frame must be answered, so every frame is answered before the next batch.

Counts: frames tried (per kind), server frames received per type and `error` frames per code,
connections the server closed (per close code; the client says hello again), unhandled exceptions
(`internal` errors, and ERROR records in the server log), whether the server still
answers a fresh connection at the end, and the server's resident memory before and after.
Prints a Markdown summary for docs/benchmarks.md ("Fuzzing") and, with --json, the raw counts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TYPES = ["hello", "customer", "draft", "sent", "feedback", "ping"]
WORDS = (  # noqa: SIM905 (a sentence reads better than a list of words)
    "I'm sorry calm down as per our policy unfortunately there is nothing I can do refund order "
    "third time asking card 4111 1111 1111 1111 jane@example.com 12 Elm Road"
).split()
ODD = ["\ud800", "\udfff", "\x00", "\u202e", "\u200b", "\ufeff", "🙂", "👩‍👩‍👧", "é", "\u0301", "ß"]
BATCH = 50
# A message over 1 MB makes the websocket library close the connection (1009), and the client
# says hello again: a few of those, not one in a thousand frames.
OVERSIZE_EVERY = 5_000


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, -(2**70), 10**20])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e308, 1e-320, 3.14])
    if kind in (4, 5):
        return "".join(rng.choice(ODD + list('abc{}[]"\\ ')) for _ in range(rng.randrange(12)))
    if kind == 6:
        return [_json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(["type", "id", "text", "x", ""]): _json_value(rng, depth + 1)
        for _ in range(rng.randrange(4))
    }


def valid_frame(rng: random.Random, token: str, counter: int) -> dict[str, Any]:
    kind = rng.choice(TYPES)
    frame: dict[str, Any] = {"type": kind}
    if kind == "hello":
        frame |= {"token": token, "conversation": f"fuzz-{counter}"}
    elif kind in ("customer", "sent", "draft"):
        frame |= {"id": f"f{counter}", "text": _text(rng, rng.randrange(1, 30))}
        if kind != "draft" and rng.random() < 0.5:
            frame["ts"] = int(time.time() * 1000)
    elif kind == "feedback":
        frame |= {"nudge": f"n{rng.randrange(10**6)}", "action": rng.choice(["applied", "no"])}
    return frame


def generate(rng: random.Random, token: str, counter: int) -> tuple[str, str | bytes]:
    """One frame: (kind, raw text or bytes)."""
    roll = rng.random()
    frame = valid_frame(rng, token, counter)
    if counter % OVERSIZE_EVERY == OVERSIZE_EVERY - 1:  # past the 1 MB websocket message limit
        frame["text"] = "x" * 1_100_000
        return "over-1MB", json.dumps(frame)
    if roll < 0.30:
        return "valid", json.dumps(frame)
    if roll < 0.50:  # one field changed, removed or added
        key = rng.choice([*frame, "extra"])
        action = rng.randrange(3)
        if action == 0:
            frame[key] = _json_value(rng)
        elif action == 1:
            frame.pop(key, None)
        else:
            frame[rng.choice(["type", "id", "text", "ts", "nudge"])] = _json_value(rng)
        return "mutated", json.dumps(frame)
    if roll < 0.62:
        raw = json.dumps(frame)
        return "truncated", raw[: rng.randrange(len(raw))]
    if roll < 0.74:
        return "wrong-type", json.dumps(_json_value(rng))
    if roll < 0.78:  # past the 64 KB frame limit
        frame["text"] = "x" * rng.choice([70_000, 200_000, 900_000])
        return "huge", json.dumps(frame)
    if roll < 0.88:
        return "binary", rng.randbytes(rng.randrange(1, 200))
    frame["text" if "text" in frame else "id"] = "".join(
        rng.choice(ODD + WORDS) for _ in range(rng.randrange(1, 40))
    )
    return "unicode", json.dumps(frame)


@dataclass
class Result:
    frames: int = 0
    kinds: Counter = field(default_factory=Counter)
    received: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    closes: Counter = field(default_factory=Counter)
    log_failures: int = 0
    answering_at_end: bool = False
    rss_before_kb: int = 0
    rss_after_kb: int = 0
    seconds: float = 0.0
    log_excerpt: list[str] = field(default_factory=list)

    @property
    def unhandled(self) -> int:
        return self.errors["internal"] + self.log_failures

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "kinds": dict(self.kinds),
            "received": dict(self.received),
            "errors": dict(self.errors),
            "closes": dict(self.closes),
            "log_failures": self.log_failures,
            "unhandled": self.unhandled,
            "answering_at_end": self.answering_at_end,
            "rss_before_kb": self.rss_before_kb,
            "rss_after_kb": self.rss_after_kb,
            "seconds": round(self.seconds, 1),
        }


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Server:
    """`python server.py --port 0` in a subprocess, its log in a file."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self.log_path = folder / "server.log"
        self.database_url = database_url
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "EMPATHY_DEMO": "0",
            # Fuzzing the handlers, not the limiter: nearly every frame must reach them.
            "EMPATHY_FRAMES_PER_SECOND": "1000000",
            "EMPATHY_FRAME_BURST": "1000000",
        }
        self.process = subprocess.Popen(
            [sys.executable, "server.py", "--host", "127.0.0.1", "--port", "0"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=open(self.log_path, "w"),  # noqa: SIM115 (closed with the process)
            text=True,
        )
        line = self.process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not match:
            self.stop()
            raise RuntimeError(f"server did not start: {line!r}; see {self.log_path}")
        self.ws_url = f"ws://127.0.0.1:{match.group(1)}/ws"

    def mint_token(self, name: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "server", "agents", "create", name],
            cwd=REPO,
            env={**os.environ, "DATABASE_URL": self.database_url, "EMPATHY_DEMO": "0"},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip().splitlines()[-1]

    def log_failures(self) -> tuple[int, list[str]]:
        """ERROR (or worse) records in the server log: an exception that escaped a handler
        (one such event can log a record per layer it passed through), and their lines."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        records = [line for line in lines if re.match(r"\S+ \S+ (ERROR|CRITICAL) ", line)]
        excerpt = [line for line in lines if line in records or "Error" in line]
        return len(records), excerpt[:20]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Client:
    """A real websocket agent that reconnects (and says hello) when the server closes."""

    def __init__(self, ws_url: str, token: str, result: Result) -> None:
        self.ws_url, self.token, self.result = ws_url, token, result
        self.ws: Any = None
        self.markers = 0
        self.connect()

    def connect(self) -> None:
        from websockets.sync.client import connect

        self.ws = connect(self.ws_url, open_timeout=10, max_size=None, close_timeout=2).__enter__()
        self.ws.send(json.dumps({"type": "hello", "token": self.token, "conversation": "fuzz"}))
        while json.loads(self.ws.recv(timeout=30))["type"] != "ready":
            pass

    def batch(self, raws: list[str | bytes]) -> None:
        """Send the frames and a marker; read everything up to the marker's answer.

        The marker is a `sent` frame with a number for text: its `bad-frame` error names the
        marker's id and is not counted. (A `ping` can't be the marker: the batch has its own.)"""
        from websockets.exceptions import ConnectionClosed

        self.markers += 1
        marker = f"sync-{self.markers}"
        try:
            for raw in raws:
                self.ws.send(raw)
            self.ws.send(json.dumps({"type": "sent", "id": marker, "text": 0}))
            while True:
                frame = json.loads(self.ws.recv(timeout=60))
                if frame["type"] == "error" and frame.get("for") == marker:
                    return
                self.result.received[frame["type"]] += 1
                if frame["type"] == "error":
                    self.result.errors[frame["code"]] += 1
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else "none"
            self.result.closes[code] += 1
            self.connect()
        except TimeoutError:  # no answer within a minute: counted, and a fresh connection
            self.result.closes["no answer in 60 s"] += 1
            self.ws.close()
            self.connect()

    def close(self) -> None:
        self.ws.close()


def still_answers(ws_url: str, token: str) -> bool:
    """A fresh connection: hello, then a draft that must get its nudges."""
    client = Client(ws_url, token, Result())
    try:
        client.ws.send(json.dumps({"type": "draft", "id": "end", "text": "Please calm down."}))
        while True:
            frame = json.loads(client.ws.recv(timeout=30))
            if frame["type"] == "nudges" and frame["for"] == "end":
                return True
    finally:
        client.close()


def run(frames: int = 100_000, seed: int = 8, database_url: str | None = None) -> Result:
    result = Result()
    with tempfile.TemporaryDirectory(prefix="fuzz-frames-") as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'fuzz.sqlite3'}"
        server = Server(url, Path(folder))
        try:
            token = server.mint_token("fuzzer")
            client = Client(server.ws_url, token, result)
            client.batch([json.dumps({"type": "draft", "id": "warm", "text": "calm down"})])
            result.rss_before_kb = rss_kb(server.process.pid)
            rng = random.Random(seed)
            started = time.perf_counter()
            pending: list[str | bytes] = []
            for counter in range(frames):
                kind, raw = generate(rng, token, counter)
                result.kinds[kind] += 1
                pending.append(raw)
                if len(pending) == BATCH or counter == frames - 1:
                    client.batch(pending)
                    result.frames += len(pending)
                    pending = []
                if counter % 10_000 == 9_999:
                    print(
                        f"{counter + 1:,} frames, {time.perf_counter() - started:.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )
            result.seconds = time.perf_counter() - started
            client.close()
            result.answering_at_end = still_answers(server.ws_url, token)
            time.sleep(1)  # the writer's last commits, before memory is read
            result.rss_after_kb = rss_kb(server.process.pid)
            result.log_failures, result.log_excerpt = server.log_failures()
        finally:
            server.stop()
    return result


def markdown(result: Result, command: str) -> str:
    errors = ", ".join(f"`{code}` {n:,}" for code, n in result.errors.most_common())
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in result.kinds.most_common())
    closes = ", ".join(f"{code}: {n}" for code, n in result.closes.items()) or "none"
    return "\n".join(
        [
            f"`{command}`",
            "",
            "| measure | value |",
            "| --- | --- |",
            f"| frames tried | {result.frames:,} ({kinds}) |",
            f"| time | {result.seconds:.0f} s ({result.frames / max(result.seconds, 1e-9):,.0f}"
            " frames/s) |",
            f"| answers | {', '.join(f'{t} {n:,}' for t, n in result.received.most_common())} |",
            f"| errors answered, per code | {errors} |",
            f"| connections closed by the server (code: count) | {closes} |",
            f"| unhandled exceptions (`internal` answers + ERROR log records) | "
            f"{result.unhandled} |",
            f"| still answering at the end | {'yes' if result.answering_at_end else 'NO'} |",
            f"| server memory (RSS) before → after | {result.rss_before_kb / 1024:.0f} MB → "
            f"{result.rss_after_kb / 1024:.0f} MB |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--json", action="store_true", help="also print the raw counts")
    args = parser.parse_args()
    result = run(args.frames, args.seed, args.database_url)
    command = f"python bench/fuzz_frames.py --frames {args.frames} --seed {args.seed}"
    print(markdown(result, command))
    if args.json:
        print(json.dumps(result.as_dict(), indent=1))
    for line in result.log_excerpt:
        print("log:", line, file=sys.stderr)
    sys.exit(0 if result.unhandled == 0 and result.answering_at_end else 1)


if __name__ == "__main__":
    main()
