"""Writing XML answers (Atom feeds, OAI-PMH) with lxml, safely for any text we store."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from lxml import etree

# Characters XML 1.0 cannot carry at all; text extracted from old documents sometimes has them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def add(parent, tag: str, text: str | None = None, **attributes):
    """A child element; attributes given as None are left out."""
    node = etree.SubElement(parent, tag, {k: xml_safe(str(v)) for k, v in attributes.items()
                                          if v is not None})
    if text is not None:
        node.text = xml_safe(text)
    return node


def utc_stamp(moment: datetime) -> str:
    """ISO 8601 / RFC 3339 to the second, in UTC (the database stores naive UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def serialise(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
