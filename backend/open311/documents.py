"""GeoReport v2 documents as JSON or XML, from plain dicts and lists.

The XML follows the spec's mapping (its "Spark convention"): an object is an element with one
child per field, a list is a wrapper element whose children take the singular name
(``services`` -> ``service``). It is built with ``xml.etree`` from text nodes only, so every
``<``, ``&`` and quote is escaped by the library and no entity or DOCTYPE is ever written.
Characters that XML 1.0 cannot carry at all (NUL, most C0 controls, lone surrogates) are
replaced by U+FFFD: stored text from the phones may hold them, and one such character must not
make a department's parser reject a whole feed.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

FORMATS = ("json", "xml")
CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
}

ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
    "service_request_updates": "request_update",
}
"""A list's element name -> its items' element name."""

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def w3c(value: datetime) -> str:
    """The W3C date-time the spec requires, in UTC with a ``Z``."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return w3c(value)
    return _NOT_XML.sub("\ufffd", str(value))


def _element(name: str, value: Any) -> ET.Element:
    element = ET.Element(name)
    if isinstance(value, Mapping):
        for key, child in value.items():
            element.append(_element(key, child))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        item = ITEM_NAMES[name]
        for child in value:
            element.append(_element(item, child))
    else:
        element.text = _text(value)
    return element


def xml_bytes(root: str, value: Any) -> bytes:
    tree = _element(root, value)
    ET.indent(tree)
    body = ET.tostring(tree, encoding="unicode", short_empty_elements=True)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body.encode("utf-8") + b"\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return w3c(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_bytes(value: Any) -> bytes:
    # A lone surrogate in stored text cannot be UTF-8: it becomes "?" rather than a 500.
    text = json.dumps(value, ensure_ascii=False, default=_json_default)
    return text.encode("utf-8", errors="replace")


def render(fmt: str, root: str, value: Any) -> tuple[bytes, str]:
    """The document ``value`` under ``root`` (the XML root element; JSON has no root: a list
    is the array itself, an object the object) and its content type."""
    if fmt == "xml":
        return xml_bytes(root, value), CONTENT_TYPES["xml"]
    return json_bytes(value), CONTENT_TYPES["json"]


def errors_document(
    status: int, code: str, message: str, field_errors: Mapping[str, Any] | None = None
) -> list[dict[str, str]]:
    """The spec's errors: one ``{code, description}`` per problem. The spec lets ``code`` be
    more specific than the HTTP status, so it is the service's machine-readable code; a field
    error names the parameter first."""
    found: list[dict[str, str]] = []
    for field, messages in (field_errors or {}).items():
        listed = messages if isinstance(messages, list | tuple) else [messages]
        for text in listed:
            found.append({"code": code, "description": f"{field}: {_flatten(text)}"})
    return found or [{"code": code, "description": message}]


def _flatten(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_flatten(v) for v in value)
    return str(value)


def format_of(path: str) -> str:
    """The format a path asks for by its extension; JSON when it names none we serve (the
    answer to ``/open311/v2/nothing`` still has to be some document)."""
    return "xml" if path.rsplit("/", 1)[-1].endswith(".xml") else "json"


def render_error(
    path: str, status: int, code: str, message: str, field_errors: Mapping[str, Any] | None
) -> tuple[bytes, str]:
    return render(format_of(path), "errors", errors_document(status, code, message, field_errors))
