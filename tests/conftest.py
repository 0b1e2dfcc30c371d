"""Fixtures: an application on tmp_path with a real SQLite database and a real Whoosh index.

`kb init` runs once per test session into a template instance; each test gets a copy of it, so
every test starts from a fully migrated and seeded database without paying for it each time.
"""
from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import g

from kb import create_app
from kb.cli import main as kb_main
from kb.extensions import db
from kb.models import Role
from kb.services import accounts
from kb.services.worker import stop_worker

PASSWORD = "correct horse battery"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def run_kb(instance: Path, *args: str, input: str | None = None, env: dict | None = None):
    """Run the real `kb` command on an instance folder (`env`: more KB_* settings)."""
    return CliRunner().invoke(kb_main, list(args), input=input,
                              env={"KB_INSTANCE_PATH": str(instance), **(env or {})},
                              catch_exceptions=False)


@pytest.fixture(scope="session")
def template_instance(tmp_path_factory) -> Path:
    instance = tmp_path_factory.mktemp("template") / "instance"
    result = run_kb(instance, "init")
    assert result.exit_code == 0, result.output
    return instance


def _app_config() -> dict:
    return {"TESTING": True, "SIGNIN_RATE_LIMIT": "1000 per minute",
            "SERVER_NAME": None}


@pytest.fixture
def instance(template_instance, tmp_path) -> Path:
    target = tmp_path / "instance"
    shutil.copytree(template_instance, target)
    (target / "secret_key").unlink()  # each test instance makes its own
    return target


def _fresh_globals_per_request():
    """The test's app context stays pushed, and Flask reuses it for requests; clear `g` so each
    request starts as it would in production (Flask-Login and Flask-WTF cache in `g`)."""
    for name in list(g):
        g.pop(name)


@contextmanager
def running_app(instance: Path, **config):
    """The application on `instance` (with `config` over the test settings), its context
    pushed; its background worker stopped and its connections closed afterwards."""
    app = create_app(config={**_app_config(), **config}, instance_path=str(instance))
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_globals_per_request)
    with app.app_context():
        yield app
        stop_worker(app)
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(instance):
    with running_app(instance) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Create an active user with a role; returns the User."""
    counter = iter(range(1, 10_000))

    def factory(role: str = "member", email: str | None = None, org: str | None = None,
                password: str = PASSWORD):
        email = email or f"{role}{next(counter)}@example.org"
        return accounts.create_user(email, f"Test {role.title()}", Role(role), password=password,
                                    org=org)

    return factory


def finish_background_work(app) -> None:
    """Wait until the application's worker has done every queued job (text, thumbnails)."""
    worker = app.extensions.get("kb_worker")
    if worker is not None:
        assert worker.drain(timeout=120), "background jobs did not finish"
    db.session.expire_all()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/signin") -> str:
    """The CSRF token a real form on `path` carries."""
    page = client.get(path)
    assert page.status_code == 200, f"{path} answered {page.status_code}"
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD, follow_redirects: bool = False):
    token = csrf_token(client, "/signin")
    return client.post("/signin", data={"email": email, "password": password,
                                        "csrf_token": token},
                       follow_redirects=follow_redirects)


@contextmanager
def served(app, threads: int = 4, ident: str = "kb-test"):
    """`app` served by Waitress on 127.0.0.1 (a port the system picks) in a daemon thread;
    yields the base URL. Each server has its own socket map, so stopping one never closes
    another's sockets."""
    import threading

    import waitress
    from waitress import wasyncore

    server = waitress.create_server(app, map={}, host="127.0.0.1", port=0, threads=threads,
                                    ident=ident)
    port = int(server.effective_port)
    thread = threading.Thread(target=server.run, name=f"waitress-{port}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        # Close everything from inside the server's own loop (woken by its trigger), so the
        # loop ends at once instead of waiting for its select() timeout; then stop the workers.
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:
            pass
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()
        assert not thread.is_alive(), "the live server did not stop"


# --- object storage ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3 server on loopback for the session: SeaweedFS (tests/seaweedfs.py)."""
    from tests import seaweedfs

    server = seaweedfs.start(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_settings(s3_server, monkeypatch) -> dict:
    """KB settings for a store of this test's own in the session's bucket (a prefix of its
    own), with the standard AWS variables set for the credentials, as an operator would."""
    import uuid

    for name, value in s3_server.environment.items():
        monkeypatch.setenv(name, value)
    return {"FILE_STORE_URL": f"s3://{s3_server.bucket}/test-{uuid.uuid4().hex[:12]}",
            "S3_ENDPOINT_URL": s3_server.endpoint}


def kb_environment(settings: dict) -> dict:
    """Settings as the KB_* variables `run_kb` passes to the command."""
    return {f"KB_{name}": str(value) for name, value in settings.items()}
