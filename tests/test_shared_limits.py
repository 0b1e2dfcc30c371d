"""Sign-in limits shared by several nodes through Redis (RATELIMIT_STORAGE_URI=redis://):
attempts refused on one node count on the other, so guessing a password does not get faster
with the number of nodes behind the load balancer. Two real `kb run` processes, one private
Redis server."""
from __future__ import annotations

import re
import secrets

import requests

from tests.conftest import PASSWORD
from tests.nodes import start_node

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def attempt(session: requests.Session, base: str, email: str, password: str) -> int:
    form = session.get(base + "/signin", timeout=30)
    assert form.status_code == 200, form.status_code
    token = CSRF.search(form.text).group(1)
    return session.post(base + "/signin", data={"email": email, "password": password,
                                                "csrf_token": token},
                        allow_redirects=False, timeout=30).status_code


def test_refused_sign_ins_on_one_node_count_on_the_other(app, make_user, instance, tmp_path,
                                                         redis_server, redis_url):
    user = make_user("member")
    # One database, one key, one file store, one Redis; a folder (and index) per node.
    shared = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
              "SECRET_KEY": secrets.token_hex(32), "SESSION_COOKIE_SECURE": "0",
              "RATELIMIT_STORAGE_URI": redis_url, "SIGNIN_RATE_LIMIT": "3 per minute",
              "FILE_STORE_URL": app.config["FILE_STORE_URL"], "INDEX_POLL_SECONDS": "0.5"}
    node_a = start_node("node-a", instance, shared, tmp_path)
    node_b = start_node("node-b", tmp_path / "node-b", shared, tmp_path)
    try:
        browser = requests.Session()  # one person (one address) trying one account
        assert attempt(browser, node_a.url, user.email, "wrong 1") == 401
        assert attempt(browser, node_a.url, user.email, "wrong 2") == 401
        assert attempt(browser, node_b.url, user.email, "wrong 3") == 401
        assert redis_server.client(1).keys("LIMITS*"), "nothing counted in Redis"
        # The fourth attempt is over the limit on either node, even with the right password.
        assert attempt(browser, node_b.url, user.email, PASSWORD) == 429
        assert attempt(browser, node_a.url, user.email, PASSWORD) == 429
        # Another account from the same address is not held back by this one's count.
        other = make_user("member")
        assert attempt(requests.Session(), node_b.url, other.email, PASSWORD) == 302
    finally:
        node_a.stop()
        node_b.stop()


def test_while_redis_is_down_sign_in_works_and_is_still_limited(instance, make_user):
    """Redis unreachable (nothing listens on its port): each node counts in its own memory
    meanwhile — no error page, and guessing is still slowed down."""
    from tests.conftest import running_app, sign_in
    from tests.processes import free_port

    with running_app(instance, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",
                     SIGNIN_RATE_LIMIT="2 per minute") as node:
        user = make_user("member")
        client = node.test_client()
        assert sign_in(client, user.email, "wrong 1").status_code == 401
        assert sign_in(client, user.email, "wrong 2").status_code == 401
        assert sign_in(client, user.email, PASSWORD).status_code == 429
        other = make_user("member")
        assert sign_in(node.test_client(), other.email, PASSWORD).status_code == 302
