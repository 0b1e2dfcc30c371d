"""The administrators' dashboard: figures, charts with their tables, the review queue."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from kb.extensions import db
from kb.models import Resource, ResourceEvent, utcnow
from kb.services import accounts, stats, workflow
from kb.services.errors import PermissionDenied
from tests.conftest import PASSWORD, sign_in
from tests.factories import make_resource


@pytest.fixture
def admin_client(app, make_user):
    client = app.test_client()
    sign_in(client, make_user("admin").email)
    return client


@pytest.fixture
def collection(make_user):
    editor, contributor = make_user("editor"), make_user("contributor")
    for _ in range(2):
        make_resource(editor, publisher=editor, objectives=["1"], kind="reform_document",
                      language=["en"], date="2020-03-01")
    make_resource(editor, publisher=editor, objectives=["1", "3"], kind="best_practice",
                  language=["en", "km"], date="2022-07-01", visibility="members")
    make_resource(editor, publisher=editor, objectives=["2"], kind="reform_document",
                  language=["km"])  # no date
    make_resource(editor, objectives=["2"], kind="meeting_record")  # a draft: not counted
    waiting = [make_resource(contributor, title=f"Waiting {n}") for n in range(2)]
    for resource in waiting:
        workflow.submit(contributor, resource)
    # The first has waited three days, the second one hour.
    for resource, age in zip(waiting, (timedelta(days=3), timedelta(hours=1))):
        db.session.execute(update(ResourceEvent).where(
            ResourceEvent.resource_id == resource.id, ResourceEvent.action == "submitted")
            .values(at=utcnow() - age))
    db.session.commit()
    accounts.request_to_join("newcomer@example.org", "New Comer", PASSWORD)


def table_of(page: str, key: str) -> dict[str, int]:
    """The text equivalent of one chart: {label: count}."""
    figure = re.search(rf'<figure class="chart" id="chart-{key}">(.*?)</figure>', page, re.S)
    assert figure, key
    return {label: int(count) for label, count in re.findall(
        r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td></tr>', figure.group(1))}


def test_the_dashboard_counts_what_the_collection_holds(admin_client, collection):
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert table_of(page, "objective") == {"1. Awareness and understanding": 3,
                                           "2. Influencing decisions": 1,
                                           "3. Transparency and accountability": 1}
    kinds = table_of(page, "kind")
    assert kinds["Reform document"] == 3 and kinds["Commune best practice"] == 1
    assert kinds["Meeting record"] == 0
    assert table_of(page, "language") == {"English": 3, "ខ្មែរ": 2}
    assert table_of(page, "year") == {"2020": 2, "2022": 1, "No date": 1}
    assert "4 published resources." in page

    assert "2 resources are waiting for review." in page
    assert "The oldest has waited 3 days." in page
    assert "1 request to join is waiting." in page


def activity_lines(page: str) -> list[str]:
    """The recent-activity list as text, one line per event, markup and spacing removed."""
    block = re.search(r'<ol class="activity-list">(.*?)</ol>', page, re.S).group(1)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split())
            for item in re.findall(r"<li>(.*?)</li>", block, re.S)]


def test_recent_activity_says_what_happened_to_what_linked(app, admin_client, collection):
    page = admin_client.get("/admin/").get_data(as_text=True)
    lines = activity_lines(page)
    assert not any(code in page for code in ("resource.submitted", "user.create", "resources #"))
    waiting = [line for line in lines if "sent “Waiting 1” for review" in line]
    assert waiting and waiting[0].split(" sent ")[0].endswith("Test Contributor")
    assert any(line.endswith("New Comer asked to join") for line in lines)
    assert not any(" system " in f" {line} " for line in lines)
    resource = db.session.scalar(db.select(Resource).where(Resource.title == "Waiting 1"))
    assert f'<a href="/resources/{resource.id}">“Waiting 1”</a> for review' in page
    newcomer = accounts.get_user_by_email("newcomer@example.org")
    assert f'<a href="/admin/users#user-{newcomer.id}">New Comer</a>' in page
    assert admin_client.get("/admin/users").status_code == 200

    admin_client.set_cookie("kb_lang", "km")
    khmer = admin_client.get("/admin/")
    assert khmer.status_code == 200
    text = " ".join(activity_lines(khmer.get_data(as_text=True)))
    assert "for review" not in text and "asked to join" not in text
    assert re.search(r"[\u17e0-\u17e9]", text) and not re.search(r"\b(AM|PM)\b", text)


def test_activity_names_a_deleted_resource_and_is_for_administrators_only(
        app, admin_client, make_user):
    from kb.services import activity, resources

    editor = make_user("editor")
    gone = make_resource(editor, title="Removed handbook")
    resources.delete_resource(editor, gone)
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert any("deleted Removed handbook" in line or "deleted “Removed handbook”" in line
               for line in activity_lines(page))
    with pytest.raises(PermissionDenied):
        activity.recent_activity(editor)


def test_the_charts_are_drawn_on_the_server_without_scripts_or_inline_styles(admin_client,
                                                                             collection):
    page = admin_client.get("/admin/").get_data(as_text=True)
    charts = re.findall(r'<svg class="bar-chart" role="img" aria-labelledby="([^"]+)"', page)
    assert len(charts) == 4
    for labelled_by in charts:
        for element_id in labelled_by.split():
            assert f'id="{element_id}"' in page
    objective_chart = re.search(r'<figure class="chart" id="chart-objective">.*?</svg>', page,
                                re.S).group(0)
    widths = [float(w) for w in re.findall(r'<rect class="chart-bar"[^>]* width="([\d.]+)"',
                                           objective_chart)]
    assert widths[0] > widths[1] == widths[2] > 0  # 3 : 1 : 1, the longest bar the largest
    assert widths[0] == pytest.approx(3 * widths[1])
    assert "<script" not in page.split("</header>", 1)[1]
    assert "style=" not in page


def test_an_empty_queue_has_no_age(admin_client):
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "0 resources are waiting for review." in page
    assert "The oldest has waited" not in page


def test_only_administrators_see_the_dashboard(app, client, make_user):
    assert client.get("/admin/").status_code == 302  # to the sign-in page
    for role in ("member", "contributor", "editor"):
        user, other = make_user(role), app.test_client()
        sign_in(other, user.email)
        assert other.get("/admin/").status_code == 403, role
        with pytest.raises(PermissionDenied):
            stats.collection_stats(user)
