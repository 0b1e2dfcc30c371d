"""Races against a real server: the application served by Waitress with several worker threads,
and many client threads (or `kb` processes) acting at the same moment.

They run on the suite's database (`--database=sqlite` or `postgresql`; see tests/conftest.py):
on PostgreSQL each test has a database of its own, copied from the template `kb init` filled.
"""
from __future__ import annotations

import re
import sys
import threading
from collections import Counter

import pytest
import requests

from kb.services import accounts
from tests.conftest import PASSWORD, running_app, served

# The real `kb` command of the code under test (`python -c` so that PYTHONPATH decides which).
KB_COMMAND = [sys.executable, "-c", "from kb.cli import main; main()"]


@pytest.fixture
def app(instance):
    """The application on this test's instance and database."""
    # The clients speak plain HTTP to 127.0.0.1: cookies must not be HTTPS-only for them.
    with running_app(instance, SESSION_COOKIE_SECURE=False,
                     REMEMBER_COOKIE_SECURE=False) as app:
        yield app


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
