"""Small factories for test data, built through the real services."""
from kb.services import resources, workflow


def make_resource(owner, publisher=None, **data):
    """A resource owned by `owner`; published by `publisher` (an editor) when given."""
    data = {"title": "Commune council budget planning guide", "kind": "reform_document",
            "objectives": ["1"], "language": ["en"], **data}
    resource = resources.create_resource(owner, data)
    if publisher is not None:
        workflow.publish(publisher, resource)
    return resource
