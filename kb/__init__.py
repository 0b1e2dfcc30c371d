"""DDWG knowledge base: the application factory."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_instance_path() -> str:
    """KB_INSTANCE_PATH, else ./instance in the working directory (as the `kb` contract says)."""
    return str(Path(os.environ.get("KB_INSTANCE_PATH") or Path.cwd() / "instance").resolve())


def create_app(config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the application; `config` overrides everything else (tests use it)."""
    app = Flask(
        __name__,
        instance_path=instance_path or default_instance_path(),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    from kb.config import load_config

    load_config(app, config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    if app.config["PROXY_FIX_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from kb import i18n, responses, security
    from kb.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    login_manager.init_app(app)
    responses.init_app(app)

    from kb.services import filestore, indexing, oai_tombstones

    filestore.init_app(app)
    indexing.init_app(app)
    oai_tombstones.init_app(app)

    from kb.views import guard, register_blueprints

    guard.init_app(app)  # before the routes: they take its converter for ids
    register_blueprints(app)
    return app
