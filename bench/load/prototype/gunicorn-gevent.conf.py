"""MEASUREMENT PROTOTYPE of the server settings proposed in docs/benchmarks.md ("Load: agents on
one machine"): gunicorn.conf.py, but with gevent workers, the batching storage writer
(batch_writer.py) and the engine's objects frozen out of the garbage collector.

    python bench/load/run.py --database postgresql \
        --config bench/load/prototype/gunicorn-gevent.conf.py

Needs `pip install gevent` (not in requirements.txt yet).
"""

import gc
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
globals().update(
    {k: v for k, v in runpy.run_path(str(HERE.parents[2] / "gunicorn.conf.py")).items()
     if not k.startswith("__")}
)  # fmt: skip
_production_post_worker_init = post_worker_init  # noqa: F821 (from gunicorn.conf.py)

# One event loop per worker instead of two OS threads per websocket: no GIL hand-offs between
# hundreds of threads on every frame. psycopg >= 3.1.14 cooperates with gevent by itself.
worker_class = "gevent"
worker_connections = 1000  # open websockets per worker


def post_worker_init(worker) -> None:
    sys.path.insert(0, str(HERE))
    import batch_writer

    batch_writer.install()
    _production_post_worker_init(worker)  # builds the engine
    # A full collection walks the engine's ~270,000 objects (130 ms, measured); frozen, they
    # are skipped, and a larger first threshold makes collections rarer.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
