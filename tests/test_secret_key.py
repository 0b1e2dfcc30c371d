"""The signing key on several nodes: configured once for all of them, never made per node when
the database is shared (API.md "Settings for several servers")."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb import create_app
from kb.config import ConfigurationError
from tests.conftest import PASSWORD, running_app, sign_in

# Never reached: the check happens before any connection is made.
SHARED_DATABASE = "postgresql+psycopg://kb@127.0.0.1:1/kb"


def test_a_node_on_a_shared_database_without_a_key_refuses_to_start(tmp_path, monkeypatch):
    monkeypatch.delenv("KB_SECRET_KEY", raising=False)
    monkeypatch.setenv("KB_SQLALCHEMY_DATABASE_URI", SHARED_DATABASE)
    folder = tmp_path / "node"
    with pytest.raises(ConfigurationError, match="KB_SECRET_KEY"):
        create_app(instance_path=str(folder))
    assert not (folder / "secret_key").exists()


def test_the_kb_command_says_which_setting_is_missing(tmp_path):
    env = {name: value for name, value in os.environ.items() if name != "KB_SECRET_KEY"}
    env.update(KB_SQLALCHEMY_DATABASE_URI=SHARED_DATABASE, KB_INSTANCE_PATH=str(tmp_path / "n"))
    result = subprocess.run([str(Path(sys.executable).parent / "kb"), "check"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "KB_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "n" / "secret_key").exists()


def test_a_configured_key_is_used_and_no_key_file_is_made(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_SQLALCHEMY_DATABASE_URI", SHARED_DATABASE)
    monkeypatch.setenv("KB_SECRET_KEY", "the one key of every node")
    app = create_app(instance_path=str(tmp_path / "node"))
    assert app.config["SECRET_KEY"] == "the one key of every node"
    assert not (tmp_path / "node" / "secret_key").exists()


def test_one_machine_still_generates_its_key(tmp_path, monkeypatch):
    for name in ("KB_SQLALCHEMY_DATABASE_URI", "KB_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = create_app(instance_path=str(tmp_path / "alone"))
    assert app.config["SECRET_KEY"] == (tmp_path / "alone" / "secret_key").read_text().strip()


def _account_page(node, cookie: str):
    client = node.test_client()
    client.set_cookie("kb_session", cookie)
    return client.get("/account")


def test_a_session_made_on_one_node_is_valid_on_the_other(instance, tmp_path, make_user):
    """Two nodes (one database, their own folders) with one key: signed in on A is signed in
    on B; a node with another key sees a visitor."""
    shared = {"SECRET_KEY": "one key for the whole cluster", "SESSION_COOKIE_SECURE": False}
    with running_app(instance, **shared) as node_a:
        url = node_a.config["SQLALCHEMY_DATABASE_URI"]
        user = make_user("member")
        client = node_a.test_client()
        assert sign_in(client, user.email, PASSWORD).status_code == 302
        cookie = client.get_cookie("kb_session").value
    settings = {"TESTING": True, "SERVER_NAME": None, "SQLALCHEMY_DATABASE_URI": url,
                "SESSION_COOKIE_SECURE": False}
    with running_app(tmp_path / "node-b", **settings, SECRET_KEY=shared["SECRET_KEY"]) as node_b:
        page = _account_page(node_b, cookie)
        assert page.status_code == 200, page.status_code
        assert user.email in page.get_data(as_text=True)
    with running_app(tmp_path / "node-c", **settings, SECRET_KEY="another key") as node_c:
        page = _account_page(node_c, cookie)
        assert page.status_code == 302 and "/signin" in page.headers["Location"]

