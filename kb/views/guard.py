"""Input at the edge, once, for every request (pages and API alike).

- Ids in URLs are numbers the database can hold: a larger one is a route that does not match
  (404), as for an id that does not exist, instead of an overflow deep in the database driver.
- Text never carries a NUL character (PostgreSQL cannot store one) or half of a surrogate pair
  (no encoding can write one): a request that carries either is refused with 400 naming the
  field, on both databases alike, before any view or service sees it.
- JSON nests at most MAX_JSON_DEPTH levels; deeper bodies are refused (400), not parsed until
  the interpreter's recursion limit breaks.

Each view then validates its own fields (the API through its schemas, see api/contract.py).
"""
from __future__ import annotations

from flask import Request, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from kb.models import MAX_ID
from kb.services.errors import ValidationError

MAX_JSON_DEPTH = 32
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class DatabaseId(IntegerConverter):
    """`<int:...>` in every route. An id beyond what the database can hold becomes 0, an id
    that no row has, so the view answers 404 as for any missing id (a converter that refused
    it would make Werkzeug answer 405 for the route's other methods)."""

    def to_python(self, value: str):
        if len(value) > len(str(MAX_ID)):
            return 0
        number = super().to_python(value)
        return number if number <= MAX_ID else 0


def unstorable(text: str) -> bool:
    """True for text with a NUL character or an unpaired surrogate."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def refuse(field: str) -> ValidationError:
    return ValidationError(_l("%(field)s contains a character that cannot be stored (a NUL "
                              "character or half of a surrogate pair).", field=field or "body"),
                           field=field or None)


def check_json(value, path: str = "") -> None:
    """Every key and string of a JSON value storable, and the value at most MAX_JSON_DEPTH deep
    (walked without recursion)."""
    stack = [(value, path, 1)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValidationError(_l("The JSON body nests deeper than %(n)d levels.",
                                     n=MAX_JSON_DEPTH), field=where or None)
        if isinstance(item, str):
            if unstorable(item):
                raise refuse(where)
        elif isinstance(item, dict):
            for key, inner in item.items():
                name = f"{where}.{key}" if where else str(key)
                if unstorable(key):
                    raise refuse(where)
                stack.append((inner, name, depth + 1))
        elif isinstance(item, list):
            for index, inner in enumerate(item):
                stack.append((inner, f"{where}.{index}" if where else str(index), depth + 1))


class CheckedRequest(Request):
    """A request whose JSON is checked as it is parsed (see check_json)."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        try:
            value = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest(_l("The JSON body nests too deeply.")) from None
        if value is not None:
            check_json(value)
        return value


def check_request_text() -> None:
    """before_request: refuse unstorable characters in the path, the query string and forms."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and unstorable(value):
            raise refuse(name)
    sources = [request.args]
    if request.mimetype in FORM_TYPES:
        sources.append(request.form)
    for source in sources:
        for name, values in source.lists():
            if unstorable(name):
                raise refuse("")
            if any(unstorable(value) for value in values):
                raise refuse(name)
    if request.is_json and request.content_length:
        request.get_json()  # parsed and checked now, so no view sees an unchecked body


def init_app(app) -> None:
    """Before the blueprints are registered: routes pick their converters when added."""
    app.request_class = CheckedRequest
    app.url_map.converters["int"] = DatabaseId
    app.before_request(check_request_text)
