"""The OAI-PMH 2.0 endpoint: parses the request, asks kb.services.oai, writes the XML answer.

Protocol errors are part of the protocol: they are answered with HTTP 200 and an <error>
element, never with the site's error pages.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Response, current_app, request, url_for
from lxml import etree

from kb.models import Resource
from kb.services import oai
from kb.views.xmlout import XML_LANG, add, serialise, utc_stamp, xml_safe

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DC_NS = "http://purl.org/dc/elements/1.1/"
OAI_IDENTIFIER_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
SCHEMA_LOCATION = f"{{{XSI_NS}}}schemaLocation"
# Errors after which the <request> element must not echo the (unusable) arguments.
_UNECHOED = {"badVerb", "badArgument"}

bp = Blueprint("oai", __name__)


def _oai(parent, tag: str, text: str | None = None, **attributes):
    return add(parent, f"{{{OAI_NS}}}{tag}", text, **attributes)


def _repository() -> oai.Repository:
    return oai.repository(current_app.config)


@bp.route("/oai", methods=["GET", "POST"])
def endpoint():
    values = request.form if request.method == "POST" else request.args
    root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(SCHEMA_LOCATION, f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
    _oai(root, "responseDate", utc_stamp(datetime.now(timezone.utc)))
    echo = _oai(root, "request", url_for("oai.endpoint", _external=True))
    repository = _repository()
    try:
        parsed = oai.parse_request(values)
        for name, value in (("verb", parsed.verb), *parsed.args.items()):
            echo.set(name, xml_safe(value))
        ANSWERS[parsed.verb](root, repository, parsed)
    except oai.OAIError as error:
        if error.code in _UNECHOED:
            echo.attrib.clear()
        for child in list(root)[2:]:  # an answer begun before the error is dropped
            root.remove(child)
        _oai(root, "error", error.message, code=error.code)
    return Response(serialise(root), mimetype="text/xml")


def _identify(root, repository: oai.Repository, _request) -> None:
    answer = _oai(root, "Identify")
    _oai(answer, "repositoryName", "DDWG Knowledge Base")
    _oai(answer, "baseURL", url_for("oai.endpoint", _external=True))
    _oai(answer, "protocolVersion", "2.0")
    _oai(answer, "adminEmail", repository.admin_email)
    _oai(answer, "earliestDatestamp", utc_stamp(oai.earliest_datestamp()))
    _oai(answer, "deletedRecord", "persistent")
    _oai(answer, "granularity", "YYYY-MM-DDThh:mm:ssZ")
    if oai.DOMAIN.match(repository.identifier):
        description = _oai(answer, "description")
        scheme = etree.SubElement(description, f"{{{OAI_IDENTIFIER_NS}}}oai-identifier",
                                  nsmap={None: OAI_IDENTIFIER_NS})
        scheme.set(SCHEMA_LOCATION,
                   f"{OAI_IDENTIFIER_NS} http://www.openarchives.org/OAI/2.0/oai-identifier.xsd")
        for tag, text in (("scheme", "oai"), ("repositoryIdentifier", repository.identifier),
                          ("delimiter", ":"),
                          ("sampleIdentifier", f"oai:{repository.identifier}:1")):
            add(scheme, f"{{{OAI_IDENTIFIER_NS}}}{tag}", text)


def _list_metadata_formats(root, repository: oai.Repository, parsed: oai.OAIRequest) -> None:
    if "identifier" in parsed.args:
        oai.find_record(repository, parsed.args["identifier"])
    answer = _oai(root, "ListMetadataFormats")
    entry = _oai(answer, "metadataFormat")
    _oai(entry, "metadataPrefix", oai.METADATA_PREFIX)
    _oai(entry, "schema", oai.OAI_DC_SCHEMA)
    _oai(entry, "metadataNamespace", oai.OAI_DC_NAMESPACE)


def _list_sets(root, _repository, parsed: oai.OAIRequest) -> None:
    if "resumptionToken" in parsed.args:  # every set fits in one answer; we never issue one
        raise oai.OAIError("badResumptionToken", "ListSets does not use resumption tokens.")
    answer = _oai(root, "ListSets")
    for spec, name in oai.list_sets():
        entry = _oai(answer, "set")
        _oai(entry, "setSpec", spec)
        _oai(entry, "setName", name)


def _header(parent, repository: oai.Repository, record: Resource | oai.Deleted) -> None:
    deleted = isinstance(record, oai.Deleted)
    header = _oai(parent, "header", status="deleted" if deleted else None)
    _oai(header, "identifier", f"oai:{repository.identifier}:{oai.record_id(record)}")
    _oai(header, "datestamp", utc_stamp(oai.record_datestamp(record)))
    for spec in oai.record_sets(record):
        _oai(header, "setSpec", spec)


def _record(parent, repository: oai.Repository, resource: Resource | oai.Deleted) -> None:
    record = _oai(parent, "record")
    _header(record, repository, resource)
    if isinstance(resource, oai.Deleted):  # a deleted record has a header only
        return
    metadata = _oai(record, "metadata")
    dc = etree.SubElement(metadata, f"{{{oai.OAI_DC_NAMESPACE}}}dc",
                          nsmap={"oai_dc": oai.OAI_DC_NAMESPACE, "dc": DC_NS, "xsi": XSI_NS})
    dc.set(SCHEMA_LOCATION, f"{oai.OAI_DC_NAMESPACE} {oai.OAI_DC_SCHEMA}")
    url = url_for("main.resource_detail", resource_id=resource.id, _external=True)
    for value in oai.dublin_core(resource, url):
        element = add(dc, f"{{{DC_NS}}}{value.element}", value.value)
        if value.lang:
            element.set(XML_LANG, value.lang)


def _get_record(root, repository: oai.Repository, parsed: oai.OAIRequest) -> None:
    oai.check_prefix(parsed.args["metadataPrefix"])
    resource = oai.find_record(repository, parsed.args["identifier"])
    _record(_oai(root, "GetRecord"), repository, resource)


def _list(root, repository: oai.Repository, parsed: oai.OAIRequest) -> None:
    page = oai.list_records(repository, parsed)
    answer = _oai(root, parsed.verb)
    for resource in page.resources:
        if parsed.verb == "ListRecords":
            _record(answer, repository, resource)
        else:
            _header(answer, repository, resource)
    if page.token or page.resumed:  # the last page of a resumed list carries an empty token
        _oai(answer, "resumptionToken", page.token or "",
             completeListSize=str(page.complete_size), cursor=str(page.cursor))


ANSWERS = {
    "Identify": _identify,
    "ListMetadataFormats": _list_metadata_formats,
    "ListSets": _list_sets,
    "GetRecord": _get_record,
    "ListIdentifiers": _list,
    "ListRecords": _list,
}
