"""One declaration per API operation: it parses and validates the request, and it documents it.

Each route is declared with `operation(...)`: the marshmallow schemas for its query string and
body, the responses it can give. The same declaration

- loads the request before the view runs (a view receives typed, bounded values, never the raw
  request), answering 400 with the offending field for anything its schema refuses; and
- becomes the operation's entry in the OpenAPI document (`openapi_document()`, built with
  apispec's marshmallow plugin), so the document cannot drift from what is enforced.

This is the shape flask-smorest and Invenio use (marshmallow + apispec), kept small.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import wraps
from typing import Callable

import marshmallow
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import UnsupportedMediaType

from kb.models import MAX_ID
from kb.services.errors import NotFound, ValidationError

JSON = "application/json"
MULTIPART = "multipart/form-data"

# What every error response looks like; `code` and `message` always, `field` when one is to blame.
ERROR_DESCRIPTIONS = {
    400: "Bad input: the message says what, `field` names the part to blame",
    401: "A token is needed here, or the one sent is not valid",
    403: "The caller's role does not allow this",
    404: "No such thing, or the caller may not see it",
    405: "Method not allowed",
    409: "In the way of something already there (a duplicate, or a state that forbids it)",
    413: "The request body is larger than the server accepts",
    415: "The body is not of the media type this operation takes",
    416: "The Range asked for lies beyond the end of the file",
    503: "The file store cannot be reached now; nothing was recorded, try again later",
}


@dataclass
class Operation:
    """What the OpenAPI document says of one route."""

    method: str
    rule: str
    summary: str
    operation_id: str
    description: str = ""
    query: type[marshmallow.Schema] | None = None
    body: type[marshmallow.Schema] | None = None
    body_type: str = JSON
    body_encoding: dict[str, dict] | None = None  # multipart: each part's content types
    responses: dict[int, dict] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    token: str = "optional"  # "required", "optional" or "none"
    tags: tuple[str, ...] = ()


OPERATIONS: list[Operation] = []


def operation(blueprint, method: str, rule: str, *, summary: str, operation_id: str,
              responses: dict[int, dict], errors: tuple[int, ...] = (),
              query: type[marshmallow.Schema] | None = None,
              body: type[marshmallow.Schema] | None = None, body_type: str = JSON,
              body_encoding: dict[str, dict] | None = None, token: str = "optional",
              description: str = "", tags: tuple[str, ...] = ()):
    """Register `view` on `blueprint` for `method rule`; the view gets `args=` (the loaded
    query) and `body=` (the loaded body) as keyword arguments when those schemas are given."""
    errors = tuple(sorted(set(errors) | {401} | ({400, 413, 415} if body else set())
                          | ({400} if query else set())))
    declared = Operation(method.lower(), rule, summary, operation_id, description, query, body,
                         body_type, body_encoding, responses, errors, token, tags)

    def decorator(view: Callable):
        @wraps(view)
        def loaded(**path_args):
            if token == "required":
                from kb.views.api import require_caller

                require_caller()  # 401 before any complaint about the input
            if any(value == 0 for value in path_args.values() if isinstance(value, int)):
                # An id no row can have (see kb.views.guard.DatabaseId): 404, whatever the body.
                raise NotFound(_l("No such thing here."))
            if query is not None:
                path_args["args"] = load_query(query)
            if body is not None:
                path_args["body"] = load_json(body) if body_type == JSON else load_form(body)
            return view(**path_args)

        blueprint.add_url_rule(rule, view.__name__, loaded, methods=[method.upper()])
        OPERATIONS.append(declared)
        return loaded

    return decorator


# --- loading requests --------------------------------------------------------------------------

def _refusal(error: marshmallow.ValidationError) -> ValidationError:
    """marshmallow's message dict as the contract's error: the first offending field, named."""
    path, message = _first_message(error.messages)
    return ValidationError(f"{path}: {message}" if path else message, field=path or None)


def _first_message(messages, prefix: str = "") -> tuple[str, str]:
    if isinstance(messages, dict):
        name, inner = next(iter(messages.items()))
        # The field is named, not the list index within it ("objectives", not "objectives.0").
        name = "" if name == "_schema" or isinstance(name, int) else str(name)
        return _first_message(inner, f"{prefix}.{name}".strip(".") if name else prefix)
    if isinstance(messages, list) and messages:
        return _first_message(messages[0], prefix)
    return prefix, str(messages)


def _load(schema_cls: type[marshmallow.Schema], data) -> dict:
    try:
        return schema_cls().load(data)
    except marshmallow.ValidationError as error:
        raise _refusal(error) from None


def _from_multidict(schema_cls: type[marshmallow.Schema], values, files=None) -> dict:
    """A form or query string as the schema expects it: lists for list fields, else the first
    value; unknown names are left out (a query string may carry anything, e.g. cache busters)."""
    data = {}
    for name, declared in schema_cls().load_fields.items():
        key = declared.data_key or name
        source = files if files is not None and key in files else values
        if key not in source:
            continue
        if isinstance(declared, marshmallow.fields.List):
            data[key] = source.getlist(key)
        else:
            data[key] = source.get(key)
    return data


def load_query(schema_cls: type[marshmallow.Schema]) -> dict:
    return _load(schema_cls, _from_multidict(schema_cls, request.args))


def load_json(schema_cls: type[marshmallow.Schema]) -> dict:
    if not request.is_json:
        raise UnsupportedMediaType(_l("Send the body as application/json."))
    body = request.get_json()  # a body that is not JSON: 400 (see kb.views.guard)
    if not isinstance(body, dict):
        raise ValidationError(_l("The body must be a JSON object."))
    return _load(schema_cls, body)


def load_form(schema_cls: type[marshmallow.Schema]) -> dict:
    if request.mimetype != MULTIPART:
        raise UnsupportedMediaType(_l("Send the body as multipart/form-data."))
    return _load(schema_cls, _from_multidict(schema_cls, request.form, request.files))


# --- the OpenAPI document ----------------------------------------------------------------------

_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(rule: str) -> tuple[str, list[dict]]:
    """A Flask rule as an OpenAPI path, with its path parameters."""
    parameters = []
    for converter, name in _PATH_PARAM.findall(rule):
        schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID} if converter == "int" \
            else {"type": "string", "minLength": 1}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _PATH_PARAM.sub(lambda m: "{" + m.group(2) + "}", rule), parameters


def _security(token: str) -> list[dict]:
    return {"required": [{"bearer": []}], "optional": [{"bearer": []}, {}], "none": [{}]}[token]


def _response(spec_response: dict) -> dict:
    """`{"description", "schema"?, "content_types"?}` as an OpenAPI response object."""
    out = {"description": spec_response["description"]}
    if "schema" in spec_response:
        out["content"] = {JSON: {"schema": spec_response["schema"]}}
    for content_type in spec_response.get("content_types", ()):
        out.setdefault("content", {})[content_type] = {
            "schema": {"type": "string", "format": "binary"}}
    return out


def build_spec(title: str, version: str, description: str, server_url: str,
               schema_components: dict[str, type[marshmallow.Schema]],
               attribute_functions=()) -> dict:
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(title=title, version=version, openapi_version="3.0.3", plugins=[plugin],
                   info={"description": description}, servers=[{"url": server_url}])
    for function in attribute_functions:
        plugin.converter.add_attribute_function(function)
    from kb.views.api import fields as api_fields

    api_fields.register(plugin)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in schema_components.items():
        if name not in spec.components.schemas:  # nested ones are added with their parent
            spec.components.schema(name, schema=schema)
    spec.components.response("Error", {"description": "An error",
                                       "content": {JSON: {"schema": "Error"}}})
    by_path: dict[str, dict] = {}
    for op in OPERATIONS:
        path, path_params = openapi_path(op.rule)
        entry = {"summary": op.summary, "operationId": op.operation_id,
                 "security": _security(op.token),
                 "responses": {str(code): _response(r) for code, r in op.responses.items()}}
        if op.description:
            entry["description"] = op.description
        if op.tags:
            entry["tags"] = list(op.tags)
        parameters = list(path_params)
        if op.query is not None:
            parameters.append({"in": "query", "schema": op.query})
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            media = {"schema": op.body}
            if op.body_encoding:
                media["encoding"] = op.body_encoding
            entry["requestBody"] = {"required": True, "content": {op.body_type: media}}
        for code in op.errors:
            entry["responses"].setdefault(str(code), {
                "description": ERROR_DESCRIPTIONS[code],
                "content": {JSON: {"schema": "Error"}}})
        by_path.setdefault(path, {})[op.method] = entry
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _schema_name(schema) -> str | None:
    """Named schemas become components; anonymous ones (query strings, bodies) stay inline."""
    cls = schema if isinstance(schema, type) else type(schema)
    return getattr(getattr(cls, "Meta", None), "component", None)


def current_server_url() -> str:
    return request.host_url.rstrip("/") + current_app.config.get("API_PREFIX", "/api/v1")
