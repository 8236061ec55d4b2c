"""Empathy Engine server: the Flask app factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from .config import load_settings
from .runtime import Runtime

log = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. Without DATABASE_URL it uses instance/empathy.sqlite3, created with its
    schema and seeded with the default lexicons on first start."""
    # static_folder=None: the web blueprint serves /static (assistant/web/static).
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.config.update(load_settings(config))

    runtime = Runtime.from_app(app)
    app.extensions["empathy"] = runtime
    if app.config["EMPATHY_AUTO_INIT"]:
        runtime.init_database()
    if app.config["EMPATHY_DEMO"]:
        runtime.enable_demo()

    from .cli import register_cli
    from .live import live
    from .web import web

    app.register_blueprint(live)
    app.register_blueprint(web)
    register_cli(app)

    from .editor.setup import init_editor  # sign-in, lexicon pages, `flask rules`

    init_editor(app)
    from .dashboard import dashboard  # charts: /dashboard, /me/dashboard

    app.register_blueprint(dashboard)
    return app


def get_runtime(app: Flask) -> Runtime:
    return app.extensions["empathy"]
