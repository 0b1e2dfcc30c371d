"""Fixtures: an application on tmp_path with a real database and a real Whoosh index.

The database is SQLite (in the instance folder) or, with `--database=postgresql`, PostgreSQL: a
private server started for the session (tests/postgres.py) or the one KB_TEST_POSTGRESQL_URL
names. `kb init` runs once per session into a template instance (and template database); each
test gets a copy of both, so every test starts from a fully migrated and seeded database of its
own without paying for it each time. The test's database URL is set as
KB_SQLALCHEMY_DATABASE_URI, so the application, `run_kb` and child processes all use it.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import g
from sqlalchemy import create_engine

from kb import create_app
from kb.cli import main as kb_main
from kb.extensions import db
from kb.models import Role
from kb.services import accounts
from kb.services.worker import stop_worker

PASSWORD = "correct horse battery"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


DATABASE_URL_VARIABLE = "KB_SQLALCHEMY_DATABASE_URI"
# A shared database needs the one key of every node from configuration (kb/config.py): on
# PostgreSQL the tests give it this way, and the `kb` processes they start inherit it.
SECRET_KEY_VARIABLE = "KB_SECRET_KEY"


def run_kb(instance: Path, *args: str, input: str | None = None, env: dict | None = None):
    """Run the real `kb` command on an instance folder (and the test's database)."""
    return CliRunner().invoke(kb_main, list(args), input=input,
                              env={"KB_INSTANCE_PATH": str(instance), **(env or {})},
                              catch_exceptions=False)


@contextmanager
def database_connection(instance: Path):
    """A connection (in a transaction, committed at the end) to the database that the
    application and the `kb` command use for `instance`, whichever kind it is."""
    app = create_app(instance_path=str(instance))
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


# --- which database ---------------------------------------------------------------------------

def pytest_addoption(parser):
    parser.addoption("--database", choices=("sqlite", "postgresql"),
                     default=os.environ.get("KB_TEST_DATABASE") or "sqlite",
                     help="the database the tests run on (default: KB_TEST_DATABASE, else "
                          "sqlite); postgresql starts a private server unless "
                          "KB_TEST_POSTGRESQL_URL names one")


def pytest_report_header(config):
    return f"database: {config.getoption('--database')}"


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, tests marked sqlite_only are skipped, with the reason they give."""
    if config.getoption("--database") == "sqlite":
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            assert reason, f"{item.nodeid}: sqlite_only needs a reason"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(scope="session")
def database_kind(request) -> str:
    return request.config.getoption("--database")


@pytest.fixture(scope="session")
def postgres_cluster(database_kind):
    """The PostgreSQL server of this session (None on SQLite)."""
    if database_kind != "postgresql":
        yield None
        return
    from tests.postgres import start_cluster

    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


class TestDatabase:
    """This test's own database. On SQLite it is the file in the instance folder and there is
    nothing to do; on PostgreSQL it is created by `create()` (by the `instance` fixture from the
    template, or empty for a test that runs `kb init` itself) and dropped after the test."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, cluster):
        self.cluster = cluster
        self.name = cluster.new_name() if cluster else None
        self.url = cluster.url(self.name) if cluster else None
        self.created = False

    def create(self, template: str | None = None) -> None:
        if self.cluster is not None and not self.created:
            self.cluster.create_database(self.name, template=template)
            self.created = True

    def drop(self) -> None:
        if self.created:
            self.cluster.drop_database(self.name)


@pytest.fixture(autouse=True)
def test_database(postgres_cluster, monkeypatch):
    database = TestDatabase(postgres_cluster)
    if database.url:
        monkeypatch.setenv(DATABASE_URL_VARIABLE, database.url)
        monkeypatch.setenv(SECRET_KEY_VARIABLE, secrets.token_hex(32))
    yield database
    database.drop()


@pytest.fixture
def empty_database(test_database):
    """For a test that makes its own instance with `kb init`: an empty database to init."""
    test_database.create()
    return test_database


@pytest.fixture(scope="session")
def template_database(postgres_cluster):
    """On PostgreSQL, the name of the session's template database (kb init fills it)."""
    if postgres_cluster is None:
        return None
    name = postgres_cluster.new_name("template_")
    postgres_cluster.create_database(name)
    return name


@pytest.fixture(scope="session")
def template_instance(tmp_path_factory, postgres_cluster, template_database) -> Path:
    instance = tmp_path_factory.mktemp("template") / "instance"
    env = {DATABASE_URL_VARIABLE: postgres_cluster.url(template_database),
           SECRET_KEY_VARIABLE: secrets.token_hex(32)} if postgres_cluster else {}
    result = run_kb(instance, "init", env=env)
    assert result.exit_code == 0, result.output
    return instance


def _app_config() -> dict:
    return {"TESTING": True, "SIGNIN_RATE_LIMIT": "1000 per minute",
            "SERVER_NAME": None}


@pytest.fixture
def instance(template_instance, template_database, test_database, tmp_path) -> Path:
    target = tmp_path / "instance"
    shutil.copytree(template_instance, target)
    test_database.create(template=template_database)
    (target / "secret_key").unlink(missing_ok=True)  # each test instance makes its own
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
def other_node(app, tmp_path):
    """A second node in this process: the same database, secret key and file store, its own
    instance folder and search indexes (as two machines would have them)."""
    from kb.services import indexing

    node = create_app(config={"TESTING": True, "SERVER_NAME": None,
                              "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                              "SECRET_KEY": app.config["SECRET_KEY"],
                              "FILE_STORE_URL": app.config["FILE_STORE_URL"],
                              "INDEX_NODE_NAME": "node-b"},
                      instance_path=str(tmp_path / "node-b"))
    yield node
    with node.app_context():
        indexing.stop_follower(node)
        stop_worker(node)
        db.session.remove()
        db.engine.dispose()


@contextmanager
def on(node):
    """Work as `node` (its application context) for a while."""
    with node.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def quick_password_hashing(monkeypatch):
    """For tests that sign many people in: cheap Argon2 parameters (password hashing is tested
    elsewhere, at full cost)."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1))


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


# --- shared rate limits ----------------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A private Redis server on loopback for the session (tests/redis_server.py)."""
    from tests import redis_server as servers

    server = servers.start(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """A Redis database of this test's own (emptied first): what RATELIMIT_STORAGE_URI names."""
    redis_server.client(1).flushdb()
    return redis_server.url(1)


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
