"""Small factories for test data: resources through the real services, and documents as the
search index holds them (for tests of kb.search alone)."""
from datetime import datetime

from kb import search
from kb.services import resources, workflow


def make_resource(owner, publisher=None, **data):
    """A resource owned by `owner`; published by `publisher` (an editor) when given."""
    data = {"title": "Commune council budget planning guide", "kind": "reform_document",
            "objectives": ["1"], "language": ["en"], **data}
    resource = resources.create_resource(owner, data)
    if publisher is not None:
        workflow.publish(publisher, resource)
    return resource


def index_document(id: int, **fields) -> search.IndexDocument:
    """A published, public English reform document as the index holds it, owned by user 1,
    dated 1 January 2020; `fields` replace any of that."""
    moment = fields.pop("date", datetime(2020, 1, 1))
    values = dict(version="1", title=f"Report {id}", body="", tags=[], kind="reform_document",
                  objectives=["1"], languages=["en"], org="", date=moment, published=moment,
                  province="", district="", commune="", status="published",
                  visibility="public", owner=1)
    return search.IndexDocument(id=id, **{**values, **fields})
