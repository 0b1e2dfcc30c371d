"""The one error mapper's safety net: a duplicate refused by a unique index that no service
turned into a domain error answers 409 (JSON for the API, a page for people), logged as a
warning; any other integrity error stays a logged 500."""
from __future__ import annotations

import logging

import pytest

from kb.extensions import db
from kb.models import Tag


@pytest.fixture
def client_with_racy_routes(app):
    """Routes that insert what a unique index refuses (as a forgotten race would), or what
    another constraint refuses, on a page and in the API."""

    def duplicate_tag():
        db.session.add(Tag(name="Budget", name_key="budget"))
        db.session.commit()
        db.session.add(Tag(name="BUDGET", name_key="budget"))
        db.session.commit()
        return "not reached"

    def missing_name():
        db.session.add(Tag(name=None, name_key="nameless"))
        db.session.commit()
        return "not reached"

    for prefix in ("/test", "/api/v1/test"):
        app.add_url_rule(f"{prefix}/duplicate", f"{prefix}-duplicate", duplicate_tag,
                         methods=["POST"])
        app.add_url_rule(f"{prefix}/missing", f"{prefix}-missing", missing_name,
                         methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


def test_a_unique_violation_is_a_conflict_in_the_api(client_with_racy_routes, caplog):
    with caplog.at_level(logging.WARNING):
        answer = client_with_racy_routes.post("/api/v1/test/duplicate")
    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["code"] == "conflict" and "same moment" in error["message"]
    assert any(r.levelno == logging.WARNING and "Unique constraint" in r.getMessage()
               for r in caplog.records)
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    # The session was rolled back: the first tag stays, the application goes on working.
    assert db.session.query(Tag).filter_by(name_key="budget").count() == 1


def test_a_unique_violation_is_a_conflict_page_in_khmer_too(client_with_racy_routes):
    answer = client_with_racy_routes.post("/test/duplicate", headers={"Accept": "text/html"})
    assert answer.status_code == 409
    assert "same moment" in answer.get_data(as_text=True)
    client_with_racy_routes.set_cookie("kb_lang", "km")
    answer = client_with_racy_routes.post("/test/duplicate", headers={"Accept": "text/html"})
    assert answer.status_code == 409
    assert "same moment" not in answer.get_data(as_text=True)
    assert "ពេលតែមួយ" in answer.get_data(as_text=True)


def test_other_integrity_errors_stay_server_errors(client_with_racy_routes, caplog):
    with caplog.at_level(logging.ERROR):
        answer = client_with_racy_routes.post("/api/v1/test/missing")
    assert answer.status_code == 500
    assert answer.get_json()["error"]["code"] == "internal_error"
    assert any(r.levelno == logging.ERROR for r in caplog.records)
