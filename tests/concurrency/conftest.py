"""Races against a real server: the application served by Waitress with several worker threads,
and many client threads (or `kb` processes) acting at the same moment.

Each test runs on SQLite and, when KB_TEST_POSTGRES_URL names a PostgreSQL server whose user may
create databases (e.g. postgresql+psycopg://kb@127.0.0.1:5432/postgres), on PostgreSQL too: a
database is made for each test from a template that `kb init` filled once.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kb.services import accounts
from tests.conftest import PASSWORD, running_app, served

# The real `kb` command of the code under test (`python -c` so that PYTHONPATH decides which).
KB_COMMAND = [sys.executable, "-c", "from kb.cli import main; main()"]
POSTGRES_URL = os.environ.get("KB_TEST_POSTGRES_URL", "")
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="set KB_TEST_POSTGRES_URL to run on PostgreSQL too"))]


@contextmanager
def _admin_connection():
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def postgres_database(name: str) -> str:
    """The URL of database `name` on the test server."""
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def new_postgres_database(template: str | None = None):
    """A new, empty (or copied from `template`) database, dropped afterwards; yields its URL."""
    name = f"kb_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'
                          + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield postgres_database(name)
    finally:
        with _admin_connection() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_template(tmp_path_factory):
    """A PostgreSQL database that `kb init` filled, to copy for each test."""
    with new_postgres_database() as url:
        instance = tmp_path_factory.mktemp("pg-template") / "instance"
        # In a process of its own, so that no pooled connection is left on the template.
        done = subprocess.run(KB_COMMAND + ["init"], capture_output=True, text=True, timeout=600,
                              env={**os.environ, "KB_INSTANCE_PATH": str(instance),
                                   "KB_SQLALCHEMY_DATABASE_URI": url})
        assert done.returncode == 0, done.stdout + done.stderr
        yield make_url(url).database


@pytest.fixture(params=DATABASES)
def database(request):
    return request.param


@pytest.fixture
def app(database, instance, request):
    """The application on a copy of the template instance, on SQLite or on a copy of the
    PostgreSQL template database."""
    # The clients speak plain HTTP to 127.0.0.1: cookies must not be HTTPS-only for them.
    config = {"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False}
    with ExitStack() as stack:
        if database == "postgresql":
            template = request.getfixturevalue("postgres_template")
            config["SQLALCHEMY_DATABASE_URI"] = stack.enter_context(
                new_postgres_database(template))
        yield stack.enter_context(running_app(instance, **config))


@pytest.fixture
def server(app):
    """The application served by Waitress with 8 worker threads; yields its base URL."""
    with served(app, threads=8, ident="kb-race") as url:
        yield url


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(session: requests.Session, url: str) -> str:
    """The CSRF token of the form on the page at `url` (which must answer 200)."""
    page = session.get(url, timeout=60)
    assert page.status_code == 200, f"{url} answered {page.status_code}"
    match = CSRF_RE.search(page.text)
    assert match, f"no form on {url}"
    return match.group(1)


def browser_session(server: str) -> requests.Session:
    """A client that keeps cookies, as a browser does."""
    session = requests.Session()
    session.headers["Accept"] = "text/html"
    return session


def sign_in(session: requests.Session, server: str, email: str, password: str = PASSWORD,
            token: str | None = None):
    """Post the sign-in form (with the CSRF token of a page fetched before, if given)."""
    token = token or form_token(session, f"{server}/signin")
    return session.post(f"{server}/signin", timeout=120, allow_redirects=False,
                        data={"email": email, "password": password, "csrf_token": token})


def token_for(user) -> str:
    return accounts.create_token(user, label="race test")


def at_once(clients: int, work) -> list:
    """Run `work(i)` in `clients` threads released together by a barrier; the results (or the
    exceptions raised) in client order."""
    barrier = threading.Barrier(clients)
    results: list = [None] * clients

    def run(i):
        try:
            barrier.wait(timeout=60)
            results[i] = work(i)
        except BaseException as error:  # reported by the test, with the others
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,), name=f"client-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a client thread hung"
    return results


def statuses(responses) -> Counter:
    """How many answers had each status (a client's exception counted as its text)."""
    return Counter(getattr(r, "status_code", None) or f"{type(r).__name__}: {r}"[:200]
                   for r in responses)
