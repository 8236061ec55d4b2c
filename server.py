"""Entry point. `gunicorn -c gunicorn.conf.py server:app` in production;
`python server.py [--host H] [--port P]` to run it here (with the demo at /demo)."""

from __future__ import annotations

import argparse
import logging
import os

from werkzeug.serving import make_server

from assistant import create_app

if __name__ == "__main__":
    os.environ.setdefault("EMPATHY_DEMO", "1")  # the demo is on when run by hand

app = create_app()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Empathy Engine server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    app.extensions["empathy"].start()  # build the engine now rather than on the first agent
    server = make_server(args.host, args.port, app, threaded=True)
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{server.server_port}/"
    demo = f" (demo: {url}demo)" if app.config["EMPATHY_DEMO"] else ""
    print(f"Empathy Engine serving on {url}{demo}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["empathy"].stop()


if __name__ == "__main__":
    main()
