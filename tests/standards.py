"""The official schemas of the standards we speak, read in place from the shared data
(../shared/data/standards-schemas, see its SOURCE.md), for validating our answers."""
from __future__ import annotations

from functools import lru_cache

from lxml import etree

from tests.conftest import SHARED_DATA

SCHEMAS = SHARED_DATA / "standards-schemas"

# OAI-PMH checks the metadata and descriptions inside an answer strictly (processContents
# "strict"), so the envelope, oai_dc and oai-identifier are loaded as one schema set.
_OAI_DRIVER = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/"
             schemaLocation="{(SCHEMAS / 'OAI-PMH.xsd').as_uri()}"/>
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/oai_dc/"
             schemaLocation="{(SCHEMAS / 'oai_dc.xsd').as_uri()}"/>
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/oai-identifier"
             schemaLocation="{(SCHEMAS / 'oai-identifier.xsd').as_uri()}"/>
</xs:schema>"""


@lru_cache(maxsize=1)
def oai_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(_OAI_DRIVER.encode(), base_url=str(SCHEMAS) + "/"))


@lru_cache(maxsize=1)
def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMAS / "atom.rng")))


def assert_valid(schema, document: bytes | etree._Element, what: str = "") -> None:
    root = document if isinstance(document, etree._Element) else etree.fromstring(document)
    if not schema.validate(root):
        errors = "\n".join(f"  line {e.line}: {e.message}" for e in schema.error_log)
        raise AssertionError(f"{what} is not valid:\n{errors}")
