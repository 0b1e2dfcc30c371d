"""Field types of the API's schemas that marshmallow does not have, and how each is documented."""
from __future__ import annotations

from typing import Callable

from flask import g
from marshmallow import ValidationError, fields, validate
from werkzeug.datastructures import FileStorage

from kb.models import MAX_ID



def Id(**kwargs) -> fields.Integer:
    """A database id: a JSON integer (not a string, not a float) the database can hold."""
    return fields.Integer(strict=True, validate=validate.Range(1, MAX_ID), **kwargs)


# The characters Python's str.isspace() knows (what the services strip), written out: `\S` means
# other things in JSON Schema's (ECMA-262) patterns, which know no \x1c-\x1f or \x85.
SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


class Contains(validate.Regexp):
    """A pattern found anywhere in the value, as JSON Schema's `pattern` is (marshmallow's
    Regexp matches at the start only); documented as that pattern."""

    def __call__(self, value):
        if self.regex.search(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def Text(max_length: int, *, required: bool = False, not_blank: bool = False,
         **kwargs) -> fields.String:
    """Text of at most `max_length` characters; `not_blank` needs a visible character."""
    validators = [validate.Length(max=max_length,
                                  error="This is too long: at most {max} characters.")]
    if not_blank:
        validators.append(Contains(f"[^{SPACE}]", error="Must not be blank."))
    return fields.String(required=required, validate=validators, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON true or false only (marshmallow also takes "yes", 1, "on"...). Checked by identity:
    in a set, 1 and 0 are equal to True and False and would pass."""

    truthy = {True}
    falsy = {False}

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)


class FormBoolean(fields.Boolean):
    """A multipart form's yes/no: "true"/"false" (and 1/0, on/off, yes/no)."""

    truthy = {"true", "True", "1", "on", "yes"}
    falsy = {"false", "False", "0", "off", "no", ""}


class Upload(fields.Field):
    """A file part of a multipart body."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ValidationError("Send a file here, as a multipart file part.")
        return value


class VocabularyCode(fields.String):
    """One code of a controlled vocabulary kept in the database (kinds, organisations,
    communes): refused unless it is one, and documented with the list of them. `allow_blank`
    also takes "" (to clear the value)."""

    def __init__(self, vocabulary: str, *, allow_blank: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = vocabulary
        self.allow_blank = allow_blank

    def choices(self) -> list[str]:
        cache = g.setdefault("kb_vocabulary_choices", {})
        if self.vocabulary not in cache:
            cache[self.vocabulary] = VOCABULARIES[self.vocabulary]()
        return ([""] if self.allow_blank else []) + cache[self.vocabulary]

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value not in self.choices():
            raise ValidationError(f"Not a known {self.vocabulary} code (see /vocabularies).")
        return value


def _kinds() -> list[str]:
    from kb.services import vocabularies

    return [kind.code for kind in vocabularies.kinds()]


def _organisations() -> list[str]:
    from kb.services import vocabularies

    return [org.short_name for org in vocabularies.organisations(active_only=False)]


def _communes() -> list[str]:
    from kb.services import vocabularies

    return vocabularies.commune_codes()


VOCABULARIES: dict[str, Callable[[], list[str]]] = {
    "kind": _kinds, "organisation": _organisations, "commune": _communes}


def _vocabulary_enum(self, field, **kwargs) -> dict:
    """apispec attribute function: a vocabulary field lists its codes as an enum."""
    if isinstance(field, VocabularyCode):
        # OpenAPI 3.0: a nullable field's enum must list null too, or null is not allowed.
        return {"enum": field.choices() + ([None] if field.allow_none else [])}
    return {}


def register(plugin) -> None:
    """Teach apispec's marshmallow plugin these fields."""
    plugin.map_to_openapi_type(Upload, "string", "binary")
    plugin.map_to_openapi_type(StrictBoolean, "boolean", None)
    plugin.map_to_openapi_type(FormBoolean, "boolean", None)
    plugin.converter.add_attribute_function(_vocabulary_enum)
