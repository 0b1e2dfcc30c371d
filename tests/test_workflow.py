"""Review before publication: every transition and who may make it (services, pages with CSRF,
API), the history, new versions of files, notifications and their e-mails, and search following
publication at once."""
from __future__ import annotations

import email
import email.policy
import io
import re
import socket
import time

import pytest
from sqlalchemy import select

from kb.extensions import db
from kb.models import Notification, Resource, ResourceEvent, ResourceFile, Status
from kb.services import accounts, ingestion, notifications, resources, workflow
from kb.services.errors import Conflict, PermissionDenied, ValidationError
from tests.conftest import csrf_token, sign_in
from tests.factories import make_resource

WORD = "zebracrossing"  # a word no other resource has, to find ours in search


def bearer(user):
    return {"Authorization": f"Bearer {accounts.create_token(user)}"}


@pytest.fixture
def people(make_user):
    return {"editor": make_user("editor"), "admin": make_user("admin"),
            "alice": make_user("contributor"), "bob": make_user("contributor"),
            "member": make_user("member")}


def draft(people, **data):
    return make_resource(people["alice"], title=f"Village water {WORD} guide", **data)


def submitted(people, **data):
    resource = draft(people, **data)
    workflow.submit(people["alice"], resource)
    return resource


def events(resource) -> list[tuple]:
    db.session.expire_all()
    rows = db.session.scalars(select(ResourceEvent).where(ResourceEvent.resource_id == resource.id)
                              .order_by(ResourceEvent.id))
    return [(e.action, e.from_status, e.to_status, e.actor_id, e.comment) for e in rows]


def inbox(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def search_ids(client, headers=None, q=WORD) -> list[int]:
    response = client.get("/api/v1/search", query_string={"q": q}, headers=headers or {})
    assert response.status_code == 200, response.get_json()
    return [r["id"] for r in response.get_json()["results"]]


def assert_error(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


# --- services: the transitions and who may make them ---------------------------------------------

def test_the_whole_way_through_the_services_is_recorded(people):
    alice, editor = people["alice"], people["editor"]
    resource = draft(people)
    assert resource.status == Status.DRAFT

    workflow.submit(alice, resource)
    workflow.reject(editor, resource, "Please add the 2023 figures.")
    assert resource.status == Status.REJECTED and resource.published_at is None
    workflow.submit(alice, resource)
    workflow.approve(editor, resource, "Thank you.")
    assert resource.status == Status.PUBLISHED and resource.published_at is not None
    first_published = resource.published_at
    workflow.unpublish(editor, resource, "Superseded by the 2024 guide.")
    assert resource.status == Status.ARCHIVED
    workflow.restore(editor, resource)
    assert resource.status == Status.PUBLISHED and resource.published_at == first_published

    assert events(resource) == [
        ("created", None, "draft", alice.id, ""),
        ("submitted", "draft", "submitted", alice.id, ""),
        ("rejected", "submitted", "rejected", editor.id, "Please add the 2023 figures."),
        ("submitted", "rejected", "submitted", alice.id, ""),
        ("approved", "submitted", "published", editor.id, "Thank you."),
        ("archived", "published", "archived", editor.id, "Superseded by the 2024 guide."),
        ("restored", "archived", "published", editor.id, ""),
    ]
    times = [e.at for e in resource.history]
    assert times == sorted(times)


def test_only_the_owner_submits_and_only_drafts_or_returned_resources(people):
    resource = draft(people)
    for someone in (people["bob"], people["editor"], people["admin"], people["member"]):
        with pytest.raises(PermissionDenied):
            workflow.submit(someone, resource)
    workflow.submit(people["alice"], resource)
    with pytest.raises(Conflict):
        workflow.submit(people["alice"], resource)  # already submitted
    workflow.approve(people["editor"], resource)
    with pytest.raises(Conflict):
        workflow.submit(people["alice"], resource)  # published
    assert resource.status == Status.PUBLISHED


def test_only_editors_and_admins_review_publish_unpublish_and_restore(people):
    resource = submitted(people)
    for someone in (people["alice"], people["bob"], people["member"]):
        for step in (workflow.approve, workflow.reject, workflow.publish, workflow.unpublish,
                     workflow.restore):
            with pytest.raises(PermissionDenied):
                step(someone, resource, "")
    assert resource.status == Status.SUBMITTED
    workflow.approve(people["admin"], resource)  # admins are editors too
    assert resource.status == Status.PUBLISHED


def test_a_review_needs_a_submitted_resource_and_a_known_decision(people):
    editor = people["editor"]
    resource = draft(people)
    with pytest.raises(Conflict) as refused:
        workflow.approve(editor, resource)
    assert refused.value.field == "status"
    workflow.submit(people["alice"], resource)
    with pytest.raises(ValidationError) as refused:
        workflow.review(editor, resource, "maybe")
    assert refused.value.field == "decision"
    with pytest.raises(Conflict):
        workflow.unpublish(editor, resource)  # not published
    with pytest.raises(Conflict):
        workflow.restore(editor, resource)  # not archived
    assert resource.status == Status.SUBMITTED


def test_editors_publish_directly_from_any_status(people):
    editor = people["editor"]
    for start in ("draft", "submitted", "rejected"):
        resource = draft(people)
        if start != "draft":
            workflow.submit(people["alice"], resource)
        if start == "rejected":
            workflow.reject(editor, resource, "No.")
        workflow.publish(editor, resource, "Direct.")
        assert resource.status == Status.PUBLISHED, start
        assert events(resource)[-1][:3] == ("published", start, "published")
    workflow.unpublish(editor, resource)
    workflow.publish(editor, resource)  # an archived resource is restored
    assert resource.status == Status.PUBLISHED and events(resource)[-1][0] == "restored"


def test_owners_edit_until_publication_editors_always(people):
    alice, editor = people["alice"], people["editor"]
    resource = draft(people)
    resources.update_resource(alice, resource, {"title": "Draft title"})
    with pytest.raises(PermissionDenied):
        resources.update_resource(people["bob"], resource, {"title": "Not mine"})
    workflow.submit(alice, resource)
    workflow.reject(editor, resource, "Change the title.")
    resources.update_resource(alice, resource, {"title": "Better title"})  # returned: editable
    workflow.submit(alice, resource)
    workflow.approve(editor, resource)
    with pytest.raises(PermissionDenied):
        resources.update_resource(alice, resource, {"title": "After publication"})
    resources.update_resource(editor, resource, {"title": "Editor's fix"})
    assert resource.title == "Editor's fix"


# --- notifications -------------------------------------------------------------------------------

def test_editors_are_told_of_submissions_and_owners_of_decisions(people):
    alice, editor, admin = people["alice"], people["editor"], people["admin"]
    resource = draft(people)
    workflow.submit(alice, resource)
    for reviewer in (editor, admin):
        (note,) = inbox(reviewer)
        assert notifications.text(note) == (f"Test Contributor sent “{resource.title}” "
                                            "for review.")
        assert note.link == f"/resources/{resource.id}" and note.read_at is None
    assert inbox(people["bob"]) == [] and inbox(people["member"]) == [] and inbox(alice) == []

    workflow.reject(editor, resource, "Add the budget table.")
    workflow.submit(alice, resource)
    workflow.approve(editor, resource)
    workflow.unpublish(admin, resource, "Outdated.")
    workflow.restore(editor, resource)
    texts = [notifications.text(n) for n in inbox(alice)]
    assert texts == [
        f"Test Editor returned “{resource.title}” for changes.",
        f"Test Editor approved “{resource.title}”. It is now published.",
        (f"Test Admin unpublished “{resource.title}”. It is archived and no longer shown to "
         "readers."),
        f"Test Editor restored “{resource.title}”. It is published again.",
    ]
    assert [notifications.comment(n) for n in inbox(alice)] == [
        "Add the budget table.", "", "Outdated.", ""]
    assert notifications.unread_count(alice) == 4


def test_nobody_is_told_of_their_own_action(people):
    editor = people["editor"]
    resource = make_resource(editor, title="Editor's own")
    workflow.submit(editor, resource)
    assert inbox(editor) == [] and len(inbox(people["admin"])) == 1
    workflow.approve(editor, resource)
    workflow.unpublish(editor, resource)
    assert inbox(editor) == []


def test_submitting_while_contributing_tells_the_editors(app, people):
    app.config["EXTRACTION_MODE"] = "off"
    upload = ingestion.Upload("plan.txt", io.BytesIO(b"A commune investment plan."))
    resource = ingestion.contribute(people["alice"], {"kind": "reform_document"}, [upload],
                                    submit=True)
    assert resource.status == Status.SUBMITTED
    assert len(inbox(people["editor"])) == 1 and len(inbox(people["admin"])) == 1


def test_notifications_are_counted_listed_and_marked_read(client, people):
    alice = people["alice"]
    resource = submitted(people)
    workflow.reject(people["editor"], resource, "Needs <b>a</b> source.")
    sign_in(client, alice.email)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'class="notifications-link">Notifications <span class="count"[^>]*>1</span>',
                     page)
    listing = client.get("/notifications").get_data(as_text=True)
    assert f"Test Editor returned “{resource.title}” for changes." in listing
    assert "Needs &lt;b&gt;a&lt;/b&gt; source." in listing  # the comment, escaped
    assert f'href="/resources/{resource.id}"' in listing and 'class="badge new"' in listing
    assert notifications.unread_count(alice) == 0
    again = client.get("/notifications").get_data(as_text=True)
    assert 'class="badge new"' not in again
    assert '<span class="count"' not in client.get("/").get_data(as_text=True)


def test_notifications_are_shown_in_the_readers_language(client, people):
    resource = submitted(people)
    workflow.reject(people["editor"], resource, "")
    sign_in(client, people["alice"].email)
    client.get("/language/km")
    listing = client.get("/notifications").get_data(as_text=True)
    assert resource.title in listing
    assert "returned" not in listing
    assert re.search(r"[\u1780-\u17FF]", listing)


def test_signed_out_visitors_have_no_notifications(client):
    assert "notifications-link" not in client.get("/").get_data(as_text=True)
    response = client.get("/notifications")
    assert response.status_code == 302 and "/signin" in response.headers["Location"]


# --- e-mail --------------------------------------------------------------------------------------

class Collect:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    from aiosmtpd.controller import Controller

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port,
                      MAIL_FROM="kb@ddwg.example")
    yield handler
    controller.stop()


def test_decisions_are_emailed_when_a_mail_server_is_configured(client, people, smtp_server):
    alice, editor = people["alice"], people["editor"]
    resource = draft(people)
    sign_in(client, alice.email)
    response = client.post(f"/resources/{resource.id}/submit",
                           data={"csrf_token": csrf_token(client, f"/resources/{resource.id}")})
    assert response.status_code == 302
    recipients = sorted(rcpt for _, rcpts, _ in smtp_server.messages for rcpt in rcpts)
    assert recipients == sorted([editor.email, people["admin"].email])

    smtp_server.messages.clear()
    client.post("/signout", data={"csrf_token": csrf_token(client, "/")})
    sign_in(client, editor.email)
    client.post(f"/resources/{resource.id}/review",
                data={"decision": "reject", "comment": "Please add the 2023 figures.",
                      "csrf_token": csrf_token(client, "/review")})
    assert db.session.get(Resource, resource.id).status == Status.REJECTED
    ((sender, rcpts, message),) = smtp_server.messages
    assert sender == "kb@ddwg.example" and rcpts == [alice.email]
    assert message["To"] == alice.email and message["From"] == "kb@ddwg.example"
    assert message["Subject"] == f"Test Editor returned “{resource.title}” for changes."
    body = message.get_content()
    assert "Please add the 2023 figures." in body
    assert f"http://localhost/resources/{resource.id}" in body
    assert re.search(r"[\u1780-\u17FF]", body)  # no language chosen yet: Khmer too


def test_email_follows_the_recipients_language(people, smtp_server):
    alice = people["alice"]
    alice.locale = "km"
    db.session.commit()
    resource = submitted(people)
    smtp_server.messages.clear()
    workflow.approve(people["editor"], resource, "ល្អណាស់")
    ((_, _, message),) = smtp_server.messages
    body = message.get_content()
    assert "approved" not in body and "ល្អណាស់" in body and re.search(r"[\u1780-\u17FF]",
                                                                        message["Subject"])


def test_a_broken_mail_server_is_logged_and_the_decision_stands(app, people, caplog,
                                                                 monkeypatch):
    # `kb init` in this process ran Alembic's fileConfig, which disables existing loggers.
    monkeypatch.setattr(notifications.log, "disabled", False)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    resource = submitted(people)
    workflow.approve(people["editor"], resource)
    db.session.expire_all()
    assert db.session.get(Resource, resource.id).status == Status.PUBLISHED
    assert len(inbox(people["alice"])) == 1
    assert "could not be used" in caplog.text


def test_no_email_without_a_mail_server_or_after_a_rollback(app, people, monkeypatch):
    sent = []
    monkeypatch.setattr(notifications, "send", lambda settings: sent.append(settings))
    resource = submitted(people)  # no MAIL_SERVER: nothing queued
    assert sent == [] and notifications.OUTBOX not in db.session.info
    app.config["MAIL_SERVER"] = "127.0.0.1"
    workflow.approve(people["editor"], resource, commit=False)
    db.session.rollback()
    assert sent == [] and len(inbox(people["alice"])) == 0
    db.session.expire_all()
    resource = db.session.get(Resource, resource.id)
    workflow.approve(people["editor"], resource)
    assert len(sent) == 1 and len(sent[0].messages) == 1


# --- search follows publication at once ----------------------------------------------------------

def test_search_shows_publication_and_unpublication_at_once(client, people):
    editor = people["editor"]
    resource = submitted(people)
    assert search_ids(client) == []
    workflow.approve(editor, resource)
    assert search_ids(client) == [resource.id]
    workflow.unpublish(editor, resource)
    assert search_ids(client) == []
    assert search_ids(client, bearer(people["member"])) == []
    assert search_ids(client, bearer(editor)) == [resource.id]  # editors still find it
    workflow.restore(editor, resource)
    assert search_ids(client) == [resource.id]


# --- pages ---------------------------------------------------------------------------------------

def page_of(client, resource) -> str:
    return client.get(f"/resources/{resource.id}").get_data(as_text=True)


def post_form(client, path, data=None, token_page="/"):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, token_page)})


def test_owner_submits_from_the_resource_page(client, people):
    resource = draft(people)
    sign_in(client, people["alice"].email)
    page = page_of(client, resource)
    assert f'action="/resources/{resource.id}/submit"' in page
    assert "Approve and publish" not in page and "Publish now" not in page
    response = post_form(client, f"/resources/{resource.id}/submit")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/resources/{resource.id}"
    db.session.expire_all()
    assert db.session.get(Resource, resource.id).status == Status.SUBMITTED
    page = page_of(client, resource)
    assert "Sent for review. You will be told when an editor has decided." in page
    assert f'action="/resources/{resource.id}/submit"' not in page


def test_forms_without_the_csrf_token_are_refused(client, people):
    resource = submitted(people)
    sign_in(client, people["editor"].email)
    for path, data in ((f"/resources/{resource.id}/review", {"decision": "approve"}),
                       (f"/resources/{resource.id}/publish", {}),
                       (f"/resources/{resource.id}/edit", {"title": "x"})):
        assert client.post(path, data=data).status_code == 400, path
    db.session.expire_all()
    assert db.session.get(Resource, resource.id).status == Status.SUBMITTED


def test_others_may_not_submit_or_review_through_pages(client, people):
    resource = submitted(people)
    sign_in(client, people["bob"].email)
    # Bob cannot see Alice's submitted resource at all: as if it did not exist.
    assert client.get(f"/resources/{resource.id}").status_code == 404
    assert post_form(client, f"/resources/{resource.id}/review",
                     {"decision": "approve"}).status_code == 404
    client.post("/signout", data={"csrf_token": csrf_token(client, "/")})
    sign_in(client, people["alice"].email)
    assert post_form(client, f"/resources/{resource.id}/review",
                     {"decision": "approve"}).status_code == 403  # hers: visible, not to review
    assert post_form(client, f"/resources/{resource.id}/publish").status_code == 403
    assert client.get("/review").status_code == 403
    db.session.expire_all()
    assert db.session.get(Resource, resource.id).status == Status.SUBMITTED


def test_review_queue_lists_the_oldest_first_with_previews(app, client, people):
    from PIL import Image

    app.config.update(EXTRACTION_MODE="inline", EXTRACTION_OCR=False)
    alice, editor = people["alice"], people["editor"]
    first = ingestion.contribute(alice, {"title": "First sent", "kind": "reform_document"}, [
        ingestion.Upload("budget.txt", io.BytesIO(f"The commune budget {WORD} table.".encode()))])
    image = io.BytesIO()
    Image.new("RGB", (120, 90), (200, 30, 30)).save(image, "PNG")
    image.seek(0)
    second = ingestion.contribute(alice, {"title": "Second sent", "kind": "best_practice"},
                                  [ingestion.Upload("poster.png", image)])
    never = draft(people)
    workflow.submit(alice, second)
    time.sleep(0.01)
    workflow.submit(alice, first)  # sent later, though created earlier
    sign_in(client, editor.email)
    page = client.get("/review").get_data(as_text=True)
    assert page.index("Second sent") < page.index("First sent")
    assert f"/resources/{never.id}\"" not in page
    budget = first.current_files[0]
    poster = second.current_files[0]
    assert f"/files/{poster.id}/thumbnail.png" in page
    assert f"The commune budget {WORD} table." in page
    assert f'href="/files/{budget.id}/text"' in page
    assert 'class="review-link">Review <span class="count"' in page

    response = post_form(client, f"/resources/{second.id}/review?next=/review",
                         {"decision": "approve"}, "/review")
    assert response.status_code == 302 and response.headers["Location"] == "/review"
    page = client.get("/review").get_data(as_text=True)
    assert "“Second sent” is approved and published." in page
    assert "Second sent</a>" not in page and "First sent" in page


def test_returning_a_resource_needs_a_comment(client, people):
    resource = submitted(people)
    sign_in(client, people["editor"].email)
    post_form(client, f"/resources/{resource.id}/review", {"decision": "reject",
                                                          "comment": "  "})
    page = page_of(client, resource)
    assert "Say what should change before returning a resource." in page
    db.session.expire_all()
    assert db.session.get(Resource, resource.id).status == Status.SUBMITTED
    post_form(client, f"/resources/{resource.id}/review", {"decision": "sometime"})
    assert 'The decision is "approve" or "reject".' in page_of(client, resource).replace(
        "&#34;", '"').replace("&quot;", '"')


def test_contributor_reads_the_decision_edits_and_resubmits(client, people):
    alice, editor = people["alice"], people["editor"]
    resource = submitted(people)
    workflow.reject(editor, resource, "Add the province\nand the date.")
    sign_in(client, alice.email)
    page = page_of(client, resource)
    assert "Returned for changes" in page
    assert '<blockquote class="review-comment">Add the province\nand the date.</blockquote>' \
        in page
    assert f'href="/resources/{resource.id}/edit"' in page

    edit = client.get(f"/resources/{resource.id}/edit").get_data(as_text=True)
    assert f'value="{resource.title}"' in edit and "Save and send for review" in edit
    assert 'value="1" checked' in edit  # objective 1, as it was
    token = csrf_token(client, f"/resources/{resource.id}/edit")
    response = client.post(f"/resources/{resource.id}/edit", data={
        "csrf_token": token, "action": "submit", "title": "Village water guide, 2023",
        "kind": "reform_document", "objectives": ["1", "2"], "language": ["en"],
        "date": "2023-05-01", "summary": "", "alt_title": "", "authors": "", "event": "",
        "source_url": "", "tags": "", "org": "", "visibility": "public", "commune_code": ""})
    assert response.status_code == 302
    db.session.expire_all()
    resource = db.session.get(Resource, resource.id)
    assert resource.status == Status.SUBMITTED and resource.title == "Village water guide, 2023"
    assert [o.number for o in resource.objectives] == [1, 2]
    edited = [e for e in resource.history if e.action == "edited"][-1]
    assert edited.comment == "date, objectives, title"  # only what changed
    page = page_of(client, resource)
    assert "Saved and sent for review." in page
    assert re.search(r"Details changed</strong>.*Changed: Date, Objectives, Title", page, re.DOTALL)


def test_edit_page_shows_errors_and_belongs_to_owners_and_editors(client, people):
    resource = draft(people)
    sign_in(client, people["alice"].email)
    token = csrf_token(client, f"/resources/{resource.id}/edit")
    response = client.post(f"/resources/{resource.id}/edit", data={
        "csrf_token": token, "title": "  ", "kind": "reform_document", "objectives": ["1"]})
    assert response.status_code == 400
    assert "Enter a title." in response.get_data(as_text=True)
    response = client.post(f"/resources/{resource.id}/edit", data={
        "csrf_token": token, "title": resource.title, "kind": "reform_document",
        "objectives": ["1"], "language": ["en"], "visibility": "public"})
    assert response.status_code == 302
    assert "Nothing was changed." in page_of(client, resource)
    workflow.submit(people["alice"], resource)
    workflow.approve(people["editor"], resource)
    assert client.get(f"/resources/{resource.id}/edit").status_code == 403  # published
    assert f'href="/resources/{resource.id}/edit"' not in page_of(client, resource)
    client.post("/signout", data={"csrf_token": csrf_token(client, "/")})
    sign_in(client, people["editor"].email)
    assert client.get(f"/resources/{resource.id}/edit").status_code == 200
    client.post("/signout", data={"csrf_token": csrf_token(client, "/")})
    sign_in(client, people["member"].email)
    assert client.get(f"/resources/{resource.id}/edit").status_code == 403


def test_editors_publish_unpublish_and_restore_from_the_page(client, people):
    resource = draft(people)
    sign_in(client, people["editor"].email)
    page = page_of(client, resource)
    assert "Publish now" in page and "Unpublish" not in page
    post_form(client, f"/resources/{resource.id}/publish")
    page = page_of(client, resource)
    assert "Publish now" not in page and "Unpublish (archive)" in page
    post_form(client, f"/resources/{resource.id}/unpublish", {"comment": "Outdated."})
    db.session.expire_all()
    assert db.session.get(Resource, resource.id).status == Status.ARCHIVED
    assert client.get(f"/resources/{resource.id}").status_code == 200  # editors still see it
    post_form(client, f"/resources/{resource.id}/restore")
    db.session.expire_all()
    assert db.session.get(Resource, resource.id).status == Status.PUBLISHED
    assert post_form(client, f"/resources/{resource.id}/restore").status_code == 302
    assert "Only archived resources can be restored." in page_of(client, resource)


def test_history_is_for_owners_and_editors_members_see_the_publication_date(client, people):
    resource = submitted(people)
    workflow.reject(people["editor"], resource, "Secret reviewer remark.")
    workflow.submit(people["alice"], resource)
    workflow.approve(people["editor"], resource, "Fine now.")
    for who in ("alice", "editor"):
        sign_in(client, people[who].email)
        page = page_of(client, resource)
        history = re.search(r'<section class="history".*?</section>', page, re.DOTALL).group(0)
        for step in ("Created", "Sent for review", "Returned for changes",
                     "Approved and published", "Secret reviewer remark.", "Fine now.",
                     "by Test Editor", "Submitted for review → Returned for changes"):
            assert step in history, (who, step)
        client.post("/signout", data={"csrf_token": csrf_token(client, "/")})
    sign_in(client, people["member"].email)
    page = page_of(client, resource)
    assert 'class="history"' not in page and "Secret reviewer remark." not in page
    assert '<dd class="published-at">' in page
    client.post("/signout", data={"csrf_token": csrf_token(client, "/")})
    page = page_of(client, resource)  # anonymous, public resource
    assert 'class="history"' not in page and '<dd class="published-at">' in page


# --- new versions of files -----------------------------------------------------------------------

@pytest.fixture
def published_with_file(app, people):
    app.config.update(EXTRACTION_MODE="inline")
    upload = ingestion.Upload("report.txt", io.BytesIO(b"The old figures: oldfigureword."))
    resource = ingestion.contribute(people["alice"], {"title": "Annual report",
                                                      "kind": "reform_document"}, [upload])
    workflow.submit(people["alice"], resource)
    workflow.approve(people["editor"], resource)
    return resource


def version_upload(content: bytes, name="report-v2.txt"):
    return ingestion.Upload(name, io.BytesIO(content))


def test_a_new_version_replaces_the_file_and_keeps_the_old_one(client, people,
                                                               published_with_file):
    resource = published_with_file
    (old,) = resource.current_files
    assert search_ids(client, q="oldfigureword") == [resource.id]
    newer = workflow.new_version(people["alice"], old,
                                 version_upload(b"The new figures: newfigureword."),
                                 "Corrected totals.")
    db.session.expire_all()
    resource = db.session.get(Resource, resource.id)
    old = db.session.get(ResourceFile, old.id)
    assert old.replaced_by_id == newer.id and newer.version == 2 and old.version == 1
    assert newer.position == old.position
    assert resource.current_files == [newer]
    assert resource.status == Status.PUBLISHED
    assert search_ids(client, q="newfigureword") == [resource.id]
    assert search_ids(client, q="oldfigureword") == []  # only the newest is searched
    assert client.get(f"/files/{old.id}/download").data == b"The old figures: oldfigureword."
    api = client.get(f"/api/v1/resources/{resource.id}").get_json()
    assert [(f["id"], f["version"]) for f in api["files"]] == [(newer.id, 2)]
    last = resource.history[-1]
    assert last.action == "new_version" and last.comment == "report-v2.txt (v2)\nCorrected totals."
    texts = [notifications.text(n) for n in inbox(people["editor"])]
    assert texts[-1] == ("Test Contributor uploaded a new version of report-v2.txt in "
                         "“Annual report”.")

    with pytest.raises(ValidationError):
        workflow.new_version(people["alice"], old, version_upload(b"third"))  # not the newest
    third = workflow.new_version(people["editor"], newer, version_upload(b"third", "r3.txt"))
    assert third.version == 3
    assert workflow.file_versions(resource, third) == [newer, old]


def test_who_may_upload_a_new_version(people, published_with_file):
    resource = published_with_file
    (stored,) = resource.current_files
    for someone in (people["bob"], people["member"]):
        with pytest.raises(PermissionDenied):
            workflow.new_version(someone, stored, version_upload(b"not yours"))
    with pytest.raises(Conflict):  # the same bytes as the current version
        workflow.new_version(people["alice"], stored,
                             version_upload(b"The old figures: oldfigureword."))
    workflow.unpublish(people["editor"], resource)
    with pytest.raises(PermissionDenied):  # archived: only editors
        workflow.new_version(people["alice"], stored, version_upload(b"archived"))
    workflow.new_version(people["admin"], stored, version_upload(b"by an admin"))
    newest = db.session.scalar(select(ResourceFile).where(
        ResourceFile.replaced_by_id.is_(None), ResourceFile.resource_id == resource.id))
    assert newest.version == 2


def test_new_version_through_the_resource_page(client, people, published_with_file):
    resource = published_with_file
    (old,) = resource.current_files
    sign_in(client, people["bob"].email)
    page = page_of(client, resource)
    assert "Upload a new version" not in page
    response = client.post(f"/files/{old.id}/versions", data={
        "csrf_token": csrf_token(client, f"/resources/{resource.id}"),
        "file": (io.BytesIO(b"Bob's version"), "report.txt")},
        content_type="multipart/form-data")
    assert response.status_code == 403
    client.post("/signout", data={"csrf_token": csrf_token(client, "/")})

    sign_in(client, people["alice"].email)
    page = page_of(client, resource)
    assert f'action="/files/{old.id}/versions"' in page
    response = client.post(f"/files/{old.id}/versions", data={
        "csrf_token": csrf_token(client, f"/resources/{resource.id}"), "note": "Typo fixed",
        "file": (io.BytesIO(b"Second version text."), "report.txt")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    page = page_of(client, resource)
    assert "Version 2 of report.txt was uploaded; earlier versions stay available." in page
    assert "Earlier versions (1)" in page and f'href="/files/{old.id}/download"' in page
    assert "New version of a file" in page and "Typo fixed" in page
    response = client.post(f"/files/{old.id}/versions", data={
        "csrf_token": csrf_token(client, f"/resources/{resource.id}")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    assert "Choose one file as the new version." in page_of(client, resource)


# --- the API -------------------------------------------------------------------------------------

def test_api_review_approves_and_rejects(client, people):
    editor = bearer(people["editor"])
    first, second = submitted(people), submitted(people)
    response = client.post(f"/api/v1/resources/{first.id}/review", headers=editor,
                           json={"decision": "approve", "comment": "Good."})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "published" and response.get_json()["id"] == first.id
    response = client.post(f"/api/v1/resources/{second.id}/review", headers=editor,
                           json={"decision": "reject", "comment": "Add sources."})
    assert response.status_code == 200 and response.get_json()["status"] == "rejected"
    assert events(second)[-1][:3] == ("rejected", "submitted", "rejected")
    assert events(second)[-1][4] == "Add sources."
    assert notifications.comment(inbox(people["alice"])[-1]) == "Add sources."
    assert search_ids(client) == [first.id]


def test_api_review_errors(client, people):
    resource = submitted(people)
    url = f"/api/v1/resources/{resource.id}/review"
    assert_error(client.post(url, json={"decision": "approve"}), 401, "unauthenticated")
    # Bob may not see Alice's submitted resource: 404, as if it did not exist.
    assert_error(client.post(url, headers=bearer(people["bob"]), json={"decision": "approve"}),
                 404, "not_found")
    assert_error(client.post("/api/v1/resources/999999/review", headers=bearer(people["editor"]),
                             json={"decision": "approve"}), 404, "not_found")
    # Alice sees her own resource but is no editor.
    assert_error(client.post(url, headers=bearer(people["alice"]), json={"decision": "approve"}),
                 403, "forbidden")
    editor = bearer(people["editor"])
    for body in ({"decision": "maybe"}, {}, {"decision": ["approve"]}):
        error = assert_error(client.post(url, headers=editor, json=body), 400)
        assert error["field"] == "decision"
    assert_error(client.post(url, headers=editor, data="decision=approve",
                             content_type="application/x-www-form-urlencoded"), 415)
    assert_error(client.post(url, headers=editor, json={"decision": "reject", "comment": 5}),
                 400)
    published = make_resource(people["alice"], publisher=people["editor"])
    error = assert_error(client.post(f"/api/v1/resources/{published.id}/review", headers=editor,
                                     json={"decision": "approve"}), 409)
    assert error["field"] == "status"
    db.session.expire_all()
    assert db.session.get(Resource, resource.id).status == Status.SUBMITTED


def test_api_review_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/resources/{resource_id}/review"]["post"]
    assert operation["operationId"] == "reviewResource"
    assert {"400", "401", "403", "404", "409", "413", "415"} <= set(operation["responses"])
    schema = document["components"]["schemas"]["ReviewDecision"]
    assert schema["properties"]["decision"]["enum"] == ["approve", "reject"]
