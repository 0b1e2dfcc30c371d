"""OAI-PMH 2.0 (openarchives.org/OAI/openarchivesprotocol.html): the protocol's rules.

This module checks requests, selects records and pages through them; kb/views/oai.py writes the
answers as XML. Only published public resources are served (the access rule for an anonymous
reader). Deletions are kept for good (deletedRecord "persistent"): a resource that is archived,
deleted, made members-only or taken back leaves a tombstone (kb/services/oai_tombstones.py),
listed as a header with status="deleted", so incremental harvesters learn of it.

Identifiers are oai:<repository identifier>:<resource id>, the repository identifier coming from
the configuration (never from the Host header a request happened to use), so they stay the same
whatever address a harvester uses.

Datestamps are a resource's `updated_at` (a tombstone's `deleted_at`) to the second, in UTC.
Lists are ordered by (datestamp, id); a resumption token is stateless: the request's arguments,
how many records came before, and the last (datestamp, id) sent, signed with the application's
secret. Continuing after that key, rather than at an offset, means a record changed during a
harvest moves to the end of the list instead of pushing another one out of it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, false, func, or_, select, true
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.ingest.sanitize import plain_text
from kb.models import Objective, OaiTombstone, Resource, ResourceKind, valid_id
from kb.services import access

METADATA_PREFIX = "oai_dc"
OAI_DC_NAMESPACE = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DEFAULT_PAGE_SIZE = 100
EARLIEST_FALLBACK = datetime(2000, 1, 1)
_TOKEN_SALT = "oai-pmh-resumption-token"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# The schema's patterns for what <request> echoes (setSpecType, metadataPrefixType): a request
# whose argument could not be echoed is a bad argument.
_SET_SPEC = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$")
_PREFIX = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+$")
_IDENTIFIER = re.compile(r"^[\x21-\x7e]+$")  # a URI: printable ASCII, no spaces
# The oai-identifier scheme allows only domain-like repository identifiers.
DOMAIN = re.compile(r"^[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+$")
DEFAULT_IDENTIFIER = "kb.ddwg"
# adminEmailType in OAI-PMH.xsd.
EMAIL = re.compile(r"^\S+@(\S+\.)+\S+$")


@dataclass(frozen=True)
class VerbRule:
    required: frozenset = frozenset()
    optional: frozenset = frozenset()
    exclusive: str | None = None  # an argument that must come alone (resumptionToken)


_LIST = VerbRule(frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"}),
                 "resumptionToken")
VERBS = {
    "Identify": VerbRule(),
    "ListMetadataFormats": VerbRule(optional=frozenset({"identifier"})),
    "ListSets": VerbRule(exclusive="resumptionToken"),
    "GetRecord": VerbRule(frozenset({"identifier", "metadataPrefix"})),
    "ListIdentifiers": _LIST,
    "ListRecords": _LIST,
}


class OAIError(Exception):
    """An OAI-PMH error condition; `code` is the protocol's code (badArgument, ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Repository:
    """What the protocol needs from the configuration."""
    identifier: str  # OAI identifiers are oai:<identifier>:<resource id>
    secret: str
    page_size: int = DEFAULT_PAGE_SIZE
    admin_email: str = f"kb@{DEFAULT_IDENTIFIER}"


def repository(config) -> Repository:
    """The repository as configured: OAI_REPOSITORY_IDENTIFIER, else the host of PUBLIC_URL,
    else a fixed default; OAI_ADMIN_EMAIL, else MAIL_FROM, else an address at the identifier,
    whichever first is a valid address (Identify must carry one)."""
    from urllib.parse import urlsplit

    identifier = (config.get("OAI_REPOSITORY_IDENTIFIER") or "").strip()
    if not identifier and config.get("PUBLIC_URL"):
        host = urlsplit(config["PUBLIC_URL"]).hostname or ""
        identifier = host if DOMAIN.match(host) else ""
    identifier = identifier or DEFAULT_IDENTIFIER
    emails = [config.get("OAI_ADMIN_EMAIL"), config.get("MAIL_FROM"), f"kb@{identifier}"]
    admin = next(e for e in emails if e and EMAIL.match(e))
    return Repository(identifier=identifier, secret=config["SECRET_KEY"], admin_email=admin,
                      page_size=max(1, int(config.get("OAI_PAGE_SIZE") or DEFAULT_PAGE_SIZE)))


@dataclass
class OAIRequest:
    verb: str
    args: dict[str, str]


def parse_request(values) -> OAIRequest:
    """The verb and its arguments from a MultiDict. Raises OAIError (badVerb, badArgument)."""
    verbs = values.getlist("verb")
    if len(verbs) != 1 or verbs[0] not in VERBS:
        raise OAIError("badVerb", "The verb is missing, repeated or not an OAI-PMH verb.")
    verb, rule = verbs[0], VERBS[verbs[0]]
    args = {}
    for name in values.keys():
        if name == "verb":
            continue
        given = values.getlist(name)
        if len(given) > 1:
            raise OAIError("badArgument", f"The argument {name} is repeated.")
        args[name] = given[0]
    if rule.exclusive and rule.exclusive in args:
        if len(args) > 1:
            raise OAIError("badArgument", f"{rule.exclusive} must be the only argument.")
        return OAIRequest(verb, args)
    illegal = sorted(set(args) - rule.required - rule.optional)
    if illegal:
        raise OAIError("badArgument", f"{verb} does not take {', '.join(illegal)}.")
    missing = sorted(rule.required - set(args))
    if missing:
        raise OAIError("badArgument", f"{verb} needs {', '.join(missing)}.")
    for name, pattern in (("set", _SET_SPEC), ("metadataPrefix", _PREFIX),
                          ("identifier", _IDENTIFIER)):
        if name in args and not pattern.match(args[name]):
            raise OAIError("badArgument", f"{name} is not a valid {name} value.")
    return OAIRequest(verb, args)


# --- records ------------------------------------------------------------------------------

def _harvestable():
    return access.visible_resources_clause(None)


def datestamp(resource: Resource) -> datetime:
    return (resource.updated_at or resource.created_at).replace(microsecond=0)


def oai_identifier(repository: Repository, resource: Resource) -> str:
    return f"oai:{repository.identifier}:{resource.id}"


def set_specs(resource: Resource) -> list[str]:
    return [f"kind:{resource.kind.code}"] + [f"objective:{o.number}" for o in resource.objectives]


@dataclass(frozen=True)
class Deleted:
    """A record harvesters had and no longer may: only its header is answered."""
    resource_id: int
    datestamp: datetime
    set_specs: tuple[str, ...]


def find_record(repository: Repository, identifier: str) -> Resource | Deleted:
    """The harvestable resource an OAI identifier names, or its tombstone. Raises OAIError
    (idDoesNotExist)."""
    prefix = f"oai:{repository.identifier}:"
    local = identifier[len(prefix):] if identifier.startswith(prefix) else ""
    number = valid_id(local)
    resource = db.session.get(Resource, number) if number is not None else None
    if resource is not None and access.can_view_resource(None, resource):
        return resource
    stone = db.session.get(OaiTombstone, number) if number is not None else None
    if stone is not None:
        return _deleted(stone)
    raise OAIError("idDoesNotExist", f"No record has the identifier {identifier}.")


def _deleted(stone: OaiTombstone) -> Deleted:
    return Deleted(stone.resource_id, stone.deleted_at.replace(microsecond=0),
                   tuple(stone.set_specs or ()))


def record_id(record: Resource | Deleted) -> int:
    return record.resource_id if isinstance(record, Deleted) else record.id


def record_datestamp(record: Resource | Deleted) -> datetime:
    return record.datestamp if isinstance(record, Deleted) else datestamp(record)


def record_sets(record: Resource | Deleted) -> list[str]:
    return list(record.set_specs) if isinstance(record, Deleted) else set_specs(record)


def check_prefix(prefix: str) -> None:
    if prefix != METADATA_PREFIX:
        raise OAIError("cannotDisseminateFormat",
                       f"Records are available as {METADATA_PREFIX} only, not {prefix}.")


def earliest_datestamp() -> datetime:
    moments = [db.session.scalar(select(func.min(Resource.updated_at)).where(_harvestable())),
               db.session.scalar(select(func.min(OaiTombstone.deleted_at)))]
    earliest = min((m for m in moments if m is not None), default=None)
    return (earliest or EARLIEST_FALLBACK).replace(microsecond=0)


def list_sets() -> list[tuple[str, str]]:
    """(setSpec, setName): a set per kind and per objective, under a "kind" and an "objective"
    set, as the colon in their names makes them a hierarchy."""
    out = [("kind", "Kinds of resource")]
    out += [(f"kind:{k.code}", k.name_en) for k in db.session.scalars(
        select(ResourceKind).order_by(ResourceKind.position))]
    out.append(("objective", "Objectives of the working group"))
    out += [(f"objective:{o.number}", o.name_en) for o in db.session.scalars(
        select(Objective).order_by(Objective.number))]
    return out


def _set_condition(spec: str | None):
    if spec is None or spec == "kind":  # every resource has a kind
        return true()
    if spec == "objective":
        return Resource.objectives.any()
    family, _, value = spec.partition(":")
    if family == "kind" and value:
        return Resource.kind.has(ResourceKind.code == value)
    if family == "objective" and value.isdigit():
        return Resource.objectives.any(Objective.number == int(value))
    return false()  # an unknown set has no records


def _bound(raw: str, name: str, until: bool) -> tuple[datetime, str]:
    """(moment, granularity) of a from/until argument; `until` bounds are made exclusive."""
    try:
        if _DAY.match(raw):
            moment = datetime.combine(date.fromisoformat(raw), datetime.min.time())
            return (moment + timedelta(days=1) if until else moment), "day"
        if _SECOND.match(raw):
            moment = datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ")
            return (moment + timedelta(seconds=1) if until else moment), "second"
    except ValueError:
        pass
    raise OAIError("badArgument", f"{name} must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (UTC).")


@dataclass
class ListQuery:
    """The arguments of a ListIdentifiers/ListRecords request, as a token repeats them."""
    verb: str
    prefix: str
    start: str | None = None
    until: str | None = None
    set_spec: str | None = None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[low, high) of datestamps. Raises OAIError (badArgument) for bad dates."""
        low = _bound(self.start, "from", until=False) if self.start is not None else None
        high = _bound(self.until, "until", until=True) if self.until is not None else None
        if low and high:
            if low[1] != high[1]:
                raise OAIError("badArgument", "from and until must have the same granularity.")
            if low[0] >= high[0]:
                raise OAIError("badArgument", "from is later than until.")
        return (low[0] if low else None), (high[0] if high else None)

    def condition(self):
        """The SQL condition for the live records of this list."""
        low, high = self.bounds()
        parts = [_harvestable(), _set_condition(self.set_spec)]
        if low:
            parts.append(Resource.updated_at >= low)
        if high:
            parts.append(Resource.updated_at < high)
        return and_(*parts)

    def tombstones(self) -> list[OaiTombstone]:
        """The deleted records of this list, in (datestamp, id) order. Deletions are few; their
        sets are matched here rather than in SQL (they are a JSON list)."""
        low, high = self.bounds()
        query = select(OaiTombstone)
        if low:
            query = query.where(OaiTombstone.deleted_at >= low)
        if high:
            query = query.where(OaiTombstone.deleted_at < high)
        stones = db.session.scalars(query.order_by(OaiTombstone.deleted_at,
                                                   OaiTombstone.resource_id))
        return [s for s in stones if _in_set(self.set_spec, s.set_specs or [])]


def _in_set(spec: str | None, specs: list[str]) -> bool:
    """The same rule as _set_condition, for the sets a tombstone kept."""
    if spec is None or spec == "kind":
        return True
    if spec == "objective":
        return any(s.startswith("objective:") for s in specs)
    return spec in specs


@dataclass
class ListPage:
    resources: list[Resource | Deleted]
    complete_size: int
    cursor: int  # how many records of the list came before this page
    token: str | None  # to ask for the next page; None on the last one
    resumed: bool  # this page was asked for with a token (so the last one says it is last)


def _serializer(repository: Repository) -> URLSafeSerializer:
    return URLSafeSerializer(repository.secret, salt=_TOKEN_SALT)


def _read_token(repository: Repository, verb: str, token: str) -> tuple[ListQuery, int, list]:
    try:
        data = _serializer(repository).loads(token)
        query = ListQuery(verb=data["v"], prefix=data["p"], start=data["f"], until=data["u"],
                          set_spec=data["s"])
        cursor, after = int(data["c"]), [datetime.fromisoformat(data["a"][0]), int(data["a"][1])]
    except (BadSignature, KeyError, TypeError, ValueError, IndexError):
        raise OAIError("badResumptionToken", "The resumption token is invalid.") from None
    if query.verb != verb:
        raise OAIError("badResumptionToken", f"The resumption token is not for {verb}.")
    return query, cursor, after


def _make_token(repository: Repository, query: ListQuery, cursor: int,
                last: tuple[datetime, int]) -> str:
    return _serializer(repository).dumps({
        "v": query.verb, "p": query.prefix, "f": query.start, "u": query.until,
        "s": query.set_spec, "c": cursor, "a": [last[0].isoformat(), last[1]]})


def list_records(repository: Repository, request: OAIRequest) -> ListPage:
    """One page of ListIdentifiers/ListRecords. Raises OAIError (badArgument,
    badResumptionToken, cannotDisseminateFormat, noRecordsMatch)."""
    args = request.args
    if "resumptionToken" in args:
        query, cursor, after = _read_token(repository, request.verb, args["resumptionToken"])
    else:
        query = ListQuery(request.verb, args["metadataPrefix"], args.get("from"),
                          args.get("until"), args.get("set"))
        cursor, after = 0, None
    check_prefix(query.prefix)
    condition = query.condition()
    stones = query.tombstones()
    complete_size = db.session.scalar(select(func.count(Resource.id)).where(condition)) + \
        len(stones)
    page_query = select(Resource).where(condition)
    if after is not None:
        moment, last_id = after
        page_query = page_query.where(or_(Resource.updated_at > moment,
                                          and_(Resource.updated_at == moment,
                                               Resource.id > last_id)))
        stones = [s for s in stones if (s.deleted_at, s.resource_id) > (moment, last_id)]
    page_query = (page_query.order_by(Resource.updated_at, Resource.id)
                  .limit(repository.page_size + 1)
                  .options(selectinload(Resource.kind), selectinload(Resource.objectives),
                           selectinload(Resource.tags), selectinload(Resource.authors),
                           selectinload(Resource.language_rows), selectinload(Resource.files),
                           selectinload(Resource.organisation)))
    # Live records and tombstones in one (datestamp, id) order.
    keyed = [((r.updated_at, r.id), r) for r in db.session.scalars(page_query)]
    keyed += [((s.deleted_at, s.resource_id), _deleted(s)) for s in stones]
    keyed.sort(key=lambda pair: pair[0])
    if not keyed and after is None:
        raise OAIError("noRecordsMatch", "No records match the request.")
    shown = keyed[:repository.page_size]
    token = None
    if len(keyed) > repository.page_size:
        token = _make_token(repository, query, cursor + len(shown), shown[-1][0])
    return ListPage([record for _, record in shown], complete_size, cursor, token,
                    after is not None)


# --- metadata -----------------------------------------------------------------------------

@dataclass(frozen=True)
class DCValue:
    element: str  # a Dublin Core element: title, creator, ...
    value: str
    lang: str | None = None


def dublin_core(resource: Resource, url: str) -> list[DCValue]:
    """The resource in simple Dublin Core (oai_dc), in the element order the schema lists.

    Vocabulary names are given in English and Khmer, each marked with its xml:lang.
    """
    out = [DCValue("title", resource.title)]
    if resource.alt_title:
        out.append(DCValue("title", resource.alt_title))
    out += [DCValue("creator", author.name) for author in resource.authors]
    out += [DCValue("subject", tag.name) for tag in resource.tags]
    out += _both_languages("subject", resource.objectives)
    summary = plain_text(resource.summary_html)
    if summary:
        out.append(DCValue("description", summary))
    if resource.organisation:
        out.append(DCValue("publisher", resource.organisation.name("en")))
    when = resource.date or (resource.published_at or resource.created_at).date()
    out.append(DCValue("date", when.isoformat()))
    out += _both_languages("type", [resource.kind])
    content_types = dict.fromkeys(f.content_type for f in resource.current_files)
    out += [DCValue("format", content_type) for content_type in content_types]
    out.append(DCValue("identifier", url))
    out += [DCValue("language", code) for code in resource.languages]
    places = [p for p in (resource.commune, resource.district, resource.province) if p]
    out += _both_languages("coverage", places)
    return out


def _both_languages(element: str, terms) -> list[DCValue]:
    out = []
    for term in terms:
        out.append(DCValue(element, term.name_en, "en"))
        if term.name_km:
            out.append(DCValue(element, term.name_km, "km"))
    return out
