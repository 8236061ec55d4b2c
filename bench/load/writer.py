"""Storage writer throughput alone: records a second one writer stores on PostgreSQL.

    python bench/load/writer.py [--messages 5000] [--conversations 500] [--no-gevent]

Queues `--messages` customer messages (each with one finding) and a nudge for every fourth one,
spread over `--conversations` new conversations, on one Writer in this process, and times them
until the last ack. By default under gevent, as in the production workers (gunicorn.conf.py),
so every database round trip goes through the event loop. Uses a throwaway database on
PostgreSQL at 127.0.0.1:5432.
"""

from __future__ import annotations

import sys

if "--no-gevent" not in sys.argv:
    from gevent import monkey

    monkey.patch_all()  # before psycopg is imported, as gunicorn.conf.py does

import argparse
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from target import REPO, create_database, drop_database, init_database

sys.path.insert(0, str(REPO))

FINDING = {
    "rule": "r", "category": "c", "question": 1, "severity": "warning",
    "start": 0, "end": 5, "text": "hello",
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--no-gevent", action="store_true", help="plain OS threads")
    args = parser.parse_args()

    from assistant.storage import accounts
    from assistant.storage.db import make_engine, make_session_factory
    from assistant.storage.writer import ConversationKey, StoreMessage, StoreNudge, Writer

    with tempfile.TemporaryDirectory() as scratch:
        url = create_database("postgresql", Path(scratch))
        try:
            init_database(url)
            engine = make_engine(url)
            sessions = make_session_factory(engine)
            with sessions.begin() as session:
                team_id = accounts.create_agent(session, "writer-bench", "bench").team_id
            writer = Writer(sessions, max_queue=10 * args.messages)
            done, acked = threading.Event(), [0]

            def on_stored(duplicate: bool) -> None:
                acked[0] += 1
                if acked[0] == args.messages:
                    done.set()

            started = time.perf_counter()
            for n in range(args.messages):
                key = ConversationKey(team_id, f"c{n % args.conversations}")
                text = "Thanks for waiting, I can help with that booking today."
                now = datetime.now(UTC)
                message = StoreMessage(key, f"m{n}", "customer", text, now, [FINDING])
                message.on_stored = on_stored
                writer.submit(message)
                if n % 4 == 0:
                    writer.submit(StoreNudge(key, f"n_{n}", "draft", FINDING))
            if not done.wait(600):
                sys.exit(f"only {acked[0]} of {args.messages} acked within 600 s")
            elapsed = time.perf_counter() - started
            mode = "OS threads" if args.no_gevent else "gevent"
            print(
                f"{args.messages} messages + {args.messages // 4} nudges in {elapsed:.2f} s "
                f"({mode}): {args.messages / elapsed:.0f} messages/s"
            )
            writer.stop()
            engine.dispose()
        finally:
            drop_database(url)


if __name__ == "__main__":
    main()
