"""Production server: `gunicorn -c gunicorn.conf.py server:app` (see docs/server.md).

gthread workers: flask-sock runs each websocket on a thread for its whole life, so a worker
holds as many open conversations as it has threads. Threads are cheap while they wait on a
socket, and drafts are analysed in well under a millisecond, so a few hundred per process
is comfortable; add workers (processes) for more cores.
"""

import os

from assistant.config import load_settings

bind = os.environ.get("EMPATHY_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("EMPATHY_THREADS", "300"))  # = open websockets per worker
# gthread accepts up to worker_connections sockets but serves only `threads` of them: more
# would sit connected and unanswered (bench/load measured it), so accept no more than served.
worker_connections = threads
timeout = 60  # worker heartbeat; open websockets are not cut by it with gthread
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
