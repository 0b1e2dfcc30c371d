"""OAI-PMH 2.0, harvested by a real client (Sickle) from a live Waitress server, plus the error
conditions the protocol defines, checked on the raw XML."""
from __future__ import annotations

import io
import time
from datetime import datetime, timedelta

import pytest
from lxml import etree
from sickle import Sickle, oaiexceptions
from sickle.iterator import OAIResponseIterator
from sqlalchemy import update

from kb.extensions import db
from kb.models import Resource, Status
from kb.services import ingestion
from tests.conftest import served
from tests.factories import make_resource
from tests.standards import assert_valid, oai_schema

OAI = "{http://www.openarchives.org/OAI/2.0/}"


@pytest.fixture
def live_url(app, monkeypatch):
    """The test application served by Waitress on 127.0.0.1 (a port the system picks); every
    answer it gives is checked against the official schemas (OAI-PMH, oai_dc, oai-identifier)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    invalid = []

    def check(response):
        try:
            assert_valid(oai_schema(), response.get_data(), "an OAI-PMH answer")
        except AssertionError as error:
            invalid.append(str(error))
        return response

    app.after_request_funcs.setdefault("oai", []).append(check)
    with served(app, threads=2, ident="kb-oai") as url:
        yield url
    assert not invalid, "\n".join(invalid)


@pytest.fixture
def collection(make_user):
    """Five published public resources, and three that must never be harvested."""
    editor = make_user("editor")
    full = ingestion.contribute(editor, {
        "title": "Commune water user groups", "alt_title": "ក្រុមអ្នកប្រើប្រាស់ទឹក",
        "kind": "best_practice", "objectives": ["2", "3"], "language": ["en", "km"],
        "summary": "How <em>communes</em> share water.", "tags": "water, irrigation",
        "org": "CARD", "date": "2019-05-04", "authors": ["Sok Dara", "Chan Sophea"],
        "commune_code": "010201"}, [ingestion.Upload("notes.txt", io.BytesIO(b"Water notes"))],
        publish=True, process=False)
    others = [make_resource(editor, publisher=editor, title=f"Public guide {n}",
                            objectives=[str(1 + n % 3)]) for n in range(4)]
    hidden = [make_resource(editor, publisher=editor, title="Members only guide",
                            visibility="members"),
              make_resource(editor, title="Draft guide"),
              make_resource(editor, publisher=editor, title="Archived guide")]
    db.session.execute(update(Resource).where(Resource.id == hidden[2].id)
                       .values(status=Status.ARCHIVED))
    db.session.commit()
    return {"full": full, "public": [full] + others, "hidden": hidden}


def oai_get(client, **params):
    """GET /oai; the answer must be valid by the official schemas, whatever was asked."""
    response = client.get("/oai", query_string=params)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    root = etree.fromstring(response.data)
    assert_valid(oai_schema(), root, f"the answer to {params}")
    return root


def error_code(root) -> str | None:
    error = root.find(f"{OAI}error")
    return None if error is None else error.get("code")


def test_identify(app, live_url, collection):
    app.config["OAI_REPOSITORY_IDENTIFIER"] = "kb.ddwg.example"
    identify = Sickle(f"{live_url}/oai", timeout=10).Identify()
    assert identify.repositoryName == "DDWG Knowledge Base"
    assert identify.baseURL == f"{live_url}/oai"
    assert identify.protocolVersion == "2.0"
    assert identify.deletedRecord == "persistent"
    assert identify.granularity == "YYYY-MM-DDThh:mm:ssZ"
    datetime.strptime(identify.earliestDatestamp, "%Y-%m-%dT%H:%M:%SZ")
    assert "@" in identify.adminEmail
    assert identify.sampleIdentifier == "oai:kb.ddwg.example:1"


def test_metadata_formats_and_sets(live_url, collection):
    sickle = Sickle(f"{live_url}/oai", timeout=10)
    formats = list(sickle.ListMetadataFormats())
    assert [f.metadataPrefix for f in formats] == ["oai_dc"]
    assert formats[0].metadataNamespace == "http://www.openarchives.org/OAI/2.0/oai_dc/"
    identifier = f"oai:kb.ddwg:{collection['full'].id}"
    assert [f.metadataPrefix for f in sickle.ListMetadataFormats(identifier=identifier)] == [
        "oai_dc"]
    with pytest.raises(oaiexceptions.IdDoesNotExist):
        list(sickle.ListMetadataFormats(identifier="oai:kb.ddwg:99999"))
    sets = {s.setSpec: s.setName for s in sickle.ListSets()}
    assert sets["kind:best_practice"] == "Commune best practice"
    assert {"kind", "objective", "objective:1", "objective:2", "objective:3",
            "kind:reform_document"} <= set(sets)


def test_harvest_every_public_record_through_resumption_tokens(app, live_url, collection):
    app.config["OAI_PAGE_SIZE"] = 2
    sickle = Sickle(f"{live_url}/oai", timeout=10)
    records = list(sickle.ListRecords(metadataPrefix="oai_dc"))
    titles = sorted(r.metadata["title"][0] for r in records)
    assert titles == sorted(r.title for r in collection["public"])
    assert all(not r.deleted for r in records)
    headers = list(sickle.ListIdentifiers(metadataPrefix="oai_dc"))
    assert sorted(h.identifier for h in headers) == sorted(
        f"oai:kb.ddwg:{r.id}" for r in collection["public"])

    pages = list(Sickle(f"{live_url}/oai", iterator=OAIResponseIterator, timeout=10)
                 .ListRecords(metadataPrefix="oai_dc"))
    tokens = [page.xml.find(f".//{OAI}resumptionToken") for page in pages]
    assert [len(page.xml.findall(f".//{OAI}record")) for page in pages] == [2, 2, 1]
    assert [t.get("cursor") for t in tokens] == ["0", "2", "4"]
    assert {t.get("completeListSize") for t in tokens} == {"5"}
    assert tokens[0].text and tokens[1].text and not tokens[2].text  # the last one is empty


def test_a_record_in_dublin_core(live_url, collection):
    full = collection["full"]
    record = Sickle(f"{live_url}/oai", timeout=10).GetRecord(
        identifier=f"oai:kb.ddwg:{full.id}", metadataPrefix="oai_dc")
    dc = record.metadata
    assert dc["title"] == ["Commune water user groups", "ក្រុមអ្នកប្រើប្រាស់ទឹក"]
    assert dc["creator"] == ["Sok Dara", "Chan Sophea"]
    assert {"water", "irrigation"} <= set(dc["subject"])
    assert any("influence government decisions" in s for s in dc["subject"])
    assert dc["description"] == ["How communes share water."]
    assert dc["publisher"] == ["CARD"]
    assert dc["date"] == ["2019-05-04"]
    assert "Commune best practice" in dc["type"]
    assert dc["format"] == ["text/plain"]
    assert dc["identifier"] == [f"{live_url}/resources/{full.id}"]
    assert dc["language"] == ["en", "km"]
    assert {"Banteay Neang", "Mangkul Bourei", "Banteay Meanchey"} <= set(dc["coverage"])
    assert sorted(record.header.setSpecs) == ["kind:best_practice", "objective:2",
                                              "objective:3"]
    datestamp = record.header.datestamp
    assert datetime.strptime(datestamp, "%Y-%m-%dT%H:%M:%SZ")


def test_hidden_resources_are_never_served(client, collection):
    for resource in collection["hidden"]:
        root = oai_get(client, verb="GetRecord", identifier=f"oai:kb.ddwg:{resource.id}",
                       metadataPrefix="oai_dc")
        assert error_code(root) == "idDoesNotExist"
    listed = oai_get(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    identifiers = {e.text for e in listed.iter(f"{OAI}identifier")}
    assert identifiers == {f"oai:kb.ddwg:{r.id}" for r in collection["public"]}


def test_sets_and_dates_select_records(client, collection):
    full, others = collection["full"], collection["public"][1:]
    db.session.execute(update(Resource).where(Resource.id == others[0].id)
                       .values(updated_at=datetime(2020, 3, 1, 10, 30, 15)))
    db.session.execute(update(Resource).where(Resource.id == others[1].id)
                       .values(updated_at=datetime(2020, 3, 2, 8, 0, 0)))
    db.session.commit()

    def listed(**params):
        root = oai_get(client, verb="ListIdentifiers", metadataPrefix="oai_dc", **params)
        return {int(e.text.rsplit(":", 1)[1]) for e in root.iter(f"{OAI}identifier")}

    assert listed(set="kind:best_practice") == {full.id}
    assert listed(set="kind") == {r.id for r in collection["public"]}
    assert listed(set="objective:2") == {r.id for r in collection["public"]
                                         if 2 in [o.number for o in r.objectives]}
    assert listed(until="2020-03-01") == {others[0].id}
    assert listed(**{"from": "2020-03-01", "until": "2020-03-02"}) == {others[0].id,
                                                                        others[1].id}
    assert listed(**{"from": "2020-03-01T10:30:15Z", "until": "2020-03-01T10:30:15Z"}) == {
        others[0].id}
    root = oai_get(client, verb="ListIdentifiers", metadataPrefix="oai_dc",
                   **{"from": "2020-03-01T10:30:16Z", "until": "2020-03-02T07:59:59Z"})
    assert error_code(root) == "noRecordsMatch"
    assert full.id in listed(**{"from": "2021-01-01"})


# Every error condition of the protocol (section 3.6), with the arguments that cause it.
ERROR_CASES = [
    ({}, "badVerb"),
    ({"verb": "ListEverything"}, "badVerb"),
    ({"verb": ["Identify", "Identify"]}, "badVerb"),
    ({"verb": "Identify", "metadataPrefix": "oai_dc"}, "badArgument"),
    ({"verb": "ListRecords"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": ["oai_dc", "oai_dc"]}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "colour": "red"}, "badArgument"),
    ({"verb": "GetRecord", "identifier": "oai:kb.ddwg:1"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-13-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01T00:00:00.5Z"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01",
      "until": "2021-01-01T00:00:00Z"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2021-01-01",
      "until": "2020-01-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "resumptionToken": "x"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "identifier": "oai:kb.ddwg:1", "metadataPrefix": "marc21"},
     "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "identifier": "oai:elsewhere:1", "metadataPrefix": "oai_dc"},
     "idDoesNotExist"),
    ({"verb": "GetRecord", "identifier": "1", "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "kind:novels"},
     "noRecordsMatch"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2199-01-01"},
     "noRecordsMatch"),
    ({"verb": "ListRecords", "resumptionToken": "not-a-token"}, "badResumptionToken"),
    ({"verb": "ListSets", "resumptionToken": "not-a-token"}, "badResumptionToken"),
]


def test_error_conditions(client):
    """One test for all cases: none needs records, and an application per case is slow."""
    for params, code in ERROR_CASES:
        root = oai_get(client, **params)
        assert error_code(root) == code, params
        assert len(root) == 3, params  # responseDate, request, error: no partial answer
        echoed = root.find(f"{OAI}request")
        assert echoed.text == "http://localhost/oai"
        if code in ("badVerb", "badArgument"):
            assert echoed.attrib == {}, params  # the spec: no attributes after these errors
        else:
            assert echoed.get("verb") == params["verb"], params


def test_resumption_tokens_are_signed_and_tied_to_their_verb(app, client, collection):
    app.config["OAI_PAGE_SIZE"] = 2
    first = oai_get(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = first.find(f".//{OAI}resumptionToken").text
    following = oai_get(client, verb="ListIdentifiers", resumptionToken=token)
    assert error_code(following) is None
    assert following.find(f".//{OAI}resumptionToken").get("cursor") == "2"
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert error_code(oai_get(client, verb="ListIdentifiers",
                              resumptionToken=tampered)) == "badResumptionToken"
    assert error_code(oai_get(client, verb="ListRecords",
                              resumptionToken=token)) == "badResumptionToken"


def test_post_works_without_a_csrf_token(live_url, collection):
    sickle = Sickle(f"{live_url}/oai", http_method="POST", timeout=10)
    assert len(list(sickle.ListIdentifiers(metadataPrefix="oai_dc"))) == 5


def test_a_record_changed_during_a_harvest_is_not_lost(app, client, collection):
    """Tokens continue after the last record sent, so a change mid-harvest (which moves a
    record to the end of the list) cannot push an unsent record out of it."""
    app.config["OAI_PAGE_SIZE"] = 2
    first = oai_get(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    seen = [e.text for e in first.iter(f"{OAI}identifier")]
    sent_id = int(seen[0].rsplit(":", 1)[1])
    db.session.execute(update(Resource).where(Resource.id == sent_id)
                       .values(updated_at=datetime(2199, 1, 1)))
    db.session.commit()
    token = first.find(f".//{OAI}resumptionToken").text
    while token:
        page = oai_get(client, verb="ListIdentifiers", resumptionToken=token)
        seen += [e.text for e in page.iter(f"{OAI}identifier")]
        token = page.find(f".//{OAI}resumptionToken").text
    assert set(seen) == {f"oai:kb.ddwg:{r.id}" for r in collection["public"]}


# --- out of the box, and whatever the request --------------------------------------------------

def test_identify_out_of_the_box_is_valid_and_names_a_real_address(app, client):
    app.config["MAIL_FROM"] = "kb@localhost"  # the notifications' default: not an address
    root = oai_get(client, verb="Identify")
    identify = root.find(f"{OAI}Identify")
    assert identify.find(f"{OAI}adminEmail").text == "kb@kb.ddwg"
    assert identify.find(f"{OAI}deletedRecord").text == "persistent"
    sample = root.find(".//{http://www.openarchives.org/OAI/2.0/oai-identifier}sampleIdentifier")
    assert sample.text == "oai:kb.ddwg:1"
    app.config.update(OAI_ADMIN_EMAIL="library@ddwg.example", PUBLIC_URL="https://kb.ddwg.example")
    root = oai_get(client, verb="Identify")
    assert root.find(f".//{OAI}adminEmail").text == "library@ddwg.example"
    assert root.find(".//{http://www.openarchives.org/OAI/2.0/oai-identifier}"
                     "repositoryIdentifier").text == "kb.ddwg.example"


def test_identifiers_do_not_change_with_the_host_header(client, collection):
    seen = []
    for host in ("localhost", "10.1.2.3:8080", "kb.other.example"):
        response = client.get("/oai", query_string={"verb": "ListIdentifiers",
                                                    "metadataPrefix": "oai_dc"},
                              headers={"Host": host})
        root = etree.fromstring(response.data)
        assert_valid(oai_schema(), root, host)
        seen.append(sorted(e.text for e in root.iter(f"{OAI}identifier")))
    assert seen[0] == seen[1] == seen[2]
    assert seen[0] == sorted(f"oai:kb.ddwg:{r.id}" for r in collection["public"])


@pytest.mark.parametrize("name,value", [
    ("set", "ភូមិ"), ("set", "kind:best practice"), ("set", "kind::x"), ("set", "a\u00e9"),
    ("metadataPrefix", "oai dc"), ("metadataPrefix", "ឯកសារ"),
    ("identifier", "oai:kb.ddwg:1 2"), ("identifier", "oai:ឃុំ:1"),
])
def test_an_argument_the_answer_could_not_echo_is_a_bad_argument(client, name, value):
    verb = "GetRecord" if name == "identifier" else "ListRecords"
    params = {"verb": verb, "metadataPrefix": "oai_dc", name: value}
    if verb == "GetRecord":
        params.setdefault("identifier", "oai:kb.ddwg:1")
    root = oai_get(client, **params)  # valid by the schema: nothing unechoable is echoed
    assert error_code(root) == "badArgument"
    assert root.find(f"{OAI}request").attrib == {}


# --- deletions -----------------------------------------------------------------------------------

def headers_of(root) -> dict[str, str | None]:
    """identifier -> status ("deleted" or None) of every header in a list answer."""
    return {h.find(f"{OAI}identifier").text: h.get("status") for h in root.iter(f"{OAI}header")}


def test_removed_records_are_answered_as_deleted_for_good(app, client, collection, make_user):
    from kb.services import resources, workflow

    editor = make_user("editor")
    archived, members, removed = collection["public"][1:4]
    kept = collection["public"][4]
    before = oai_get(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert set(headers_of(before).values()) == {None}
    # OAI-PMH datestamps have whole seconds: the harvest is taken to be at the next second,
    # and the removals wait for it, so records made in this second are not "since" it.
    harvested_at = datetime.utcnow().replace(microsecond=0) + timedelta(seconds=1)
    time.sleep(max(0.0, (harvested_at - datetime.utcnow()).total_seconds()))
    removed_sets = [f"kind:{removed.kind.code}"] + [f"objective:{o.number}"
                                                     for o in removed.objectives]

    workflow.unpublish(editor, archived, "Outdated")
    resources.update_resource(editor, members, {"visibility": "members"})
    resources.delete_resource(editor, removed)

    # An incremental harvest since the last one learns of all three removals.
    since = oai_get(client, verb="ListIdentifiers", metadataPrefix="oai_dc",
                    **{"from": harvested_at.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert headers_of(since) == {f"oai:kb.ddwg:{r.id}": "deleted"
                                 for r in (archived, members, removed)}
    # ListRecords gives deleted records a header and no metadata.
    records = oai_get(client, verb="ListRecords", metadataPrefix="oai_dc")
    for record in records.iter(f"{OAI}record"):
        deleted = record.find(f"{OAI}header").get("status") == "deleted"
        assert (record.find(f"{OAI}metadata") is None) is deleted
    assert len(list(records.iter(f"{OAI}record"))) == 5
    gone = oai_get(client, verb="GetRecord", identifier=f"oai:kb.ddwg:{removed.id}",
                   metadataPrefix="oai_dc")
    header = gone.find(f".//{OAI}header")
    assert header.get("status") == "deleted"
    assert [s.text for s in header.iter(f"{OAI}setSpec")] == removed_sets  # as it was
    assert error_code(oai_get(client, verb="ListIdentifiers", metadataPrefix="oai_dc",
                              set="objective:2")) is None
    assert headers_of(oai_get(client, verb="GetRecord", identifier=f"oai:kb.ddwg:{kept.id}",
                              metadataPrefix="oai_dc")) == {f"oai:kb.ddwg:{kept.id}": None}

    # Coming back removes the tombstone: the record is live again.
    workflow.restore(editor, archived)
    again = headers_of(oai_get(client, verb="ListIdentifiers", metadataPrefix="oai_dc"))
    assert again[f"oai:kb.ddwg:{archived.id}"] is None
    assert again[f"oai:kb.ddwg:{members.id}"] == "deleted"
    # Resources never harvested (drafts, members-only from the start) leave no tombstone.
    assert not {f"oai:kb.ddwg:{r.id}" for r in collection["hidden"]} & set(again)


def test_a_harvester_pages_through_live_and_deleted_records(app, live_url, collection,
                                                            make_user):
    from kb.services import workflow

    editor = make_user("editor")
    for resource in collection["public"][:2]:
        workflow.unpublish(editor, resource)
    app.config["OAI_PAGE_SIZE"] = 2
    headers = list(Sickle(f"{live_url}/oai", timeout=10).ListIdentifiers(
        metadataPrefix="oai_dc"))
    assert len(headers) == 5 and len({h.identifier for h in headers}) == 5
    assert sorted(h.identifier for h in headers if h.deleted) == sorted(
        f"oai:kb.ddwg:{r.id}" for r in collection["public"][:2])
    identify = Sickle(f"{live_url}/oai", timeout=10).Identify()
    assert identify.deletedRecord == "persistent"
