"""Production server: `gunicorn -c gunicorn.conf.py server:app` (docs/server.md, docs/deploy.md).

gthread workers: every open websocket holds a thread of the worker (plus the websocket library's
reader thread) for its whole life. Measured with bench/load on this project's 2-core machine,
which is shared with other work (docs/benchmarks.md, "Load"): gthread workers answered 1,000
agents with 0 lost drafts and every message acked, where gevent workers (one OS thread each, so
a small share of a busy machine's CPU) fell seconds behind.
`EMPATHY_WORKER_CLASS=gevent` runs gevent workers instead (a greenlet per websocket; ~52 KiB per
connection instead of ~140; better up to ~750 agents on a machine of its own, worse at 1,000).
"""

import os

worker_class = os.environ.get("EMPATHY_WORKER_CLASS", "gthread")

if worker_class == "gevent":
    # Patch before anything below imports threading, socket or psycopg: psycopg picks its way
    # of waiting for the database when first imported, and one picked before the patch blocks
    # the whole worker (every agent) on each query; gunicorn's own patch comes too late for the
    # modules this file imports in the master, which the workers inherit.
    from gevent import monkey

    monkey.patch_all()

from assistant.config import load_settings  # noqa: E402 (after the patch, on purpose)

bind = os.environ.get("EMPATHY_BIND", "0.0.0.0:8000")
# Three gthread workers on 2 cores: the GIL is per process, and 1,000 agents as 3 × ~333 (each
# two threads) waited far less for it than as 2 × 500 (p99 52 against 158 ms, bench/load).
workers = int(os.environ.get("WEB_CONCURRENCY", "3" if worker_class == "gthread" else "2"))
if worker_class == "gevent":
    # Open websockets per worker. A connection costs ~52 KiB; the cap only stops one worker
    # from taking far more than its share (gunicorn's workers do not share out connections).
    worker_connections = int(os.environ.get("EMPATHY_WORKER_CONNECTIONS", "2000"))
else:
    threads = int(os.environ.get("EMPATHY_THREADS", "400"))  # = open websockets per worker
    # gthread accepts up to worker_connections sockets but serves only `threads` of them: more
    # would sit connected and unanswered (bench/load measured it): accept no more than served.
    worker_connections = threads
timeout = 60  # worker heartbeat; open websockets are not cut by it
graceful_timeout = 15
keepalive = 5
accesslog = "-"


def on_starting(server) -> None:
    """Migrate and seed once, in the master, before any worker starts (no race between them)."""
    from assistant.runtime import initialise_database
    from assistant.storage.db import default_database_url, make_engine

    settings = load_settings()
    db = make_engine(settings["DATABASE_URL"] or default_database_url())
    initialise_database(db, settings["EMPATHY_LEXICON_DIR"])
    db.dispose()
    os.environ["EMPATHY_AUTO_INIT"] = "0"  # the workers need not do it again


def post_worker_init(worker) -> None:
    """Build the engine before the first agent connects to this worker, then move what
    exists now (rules, matchers, vocabulary) out of the garbage collector's sight: a full
    collection over them paused a loaded worker for up to a second (bench/load)."""
    import gc

    worker.wsgi.extensions["empathy"].start()
    gc.collect()
    gc.freeze()
    # Collections of the young generation are cheap, full ones are not: make the older ones
    # rarer (each frame allocates a few hundred short-lived objects).
    gc.set_threshold(50_000, 20, 100)
