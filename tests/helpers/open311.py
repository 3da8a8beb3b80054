"""The GeoReport v2 documents as JSON Schemas, written from the specification's text
(wiki.open311.org/GeoReport_v2: the response tables of each method, its "Errors" section, the
Service Discovery page, and FixMyStreet's servicerequestupdates extension), and helpers to read
the XML form with the standard library.

Where the spec says "may not be returned" a field is optional and may be null; what it lists
without that note is required. Options the spec enumerates are enums.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import jsonschema

W3C = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
NULLABLE_TEXT = {"type": ["string", "null"]}
NULLABLE_W3C = {"type": ["string", "null"], "pattern": W3C}

SERVICE = {
    "type": "object",
    "required": ["service_code", "service_name", "description", "metadata", "type", "group"],
    "properties": {
        "service_code": {"type": "string", "minLength": 1},
        "service_name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "metadata": {"type": "boolean"},
        "type": {"enum": ["realtime", "batch", "blackbox"]},
        "keywords": {"type": "string"},
        "group": {"type": "string"},
    },
    "additionalProperties": False,
}
SERVICES = {"type": "array", "items": SERVICE}

SERVICE_DEFINITION = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "properties": {
        "service_code": {"type": "string"},
        "attributes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["variable", "code", "datatype", "required", "order", "description"],
                "properties": {
                    "variable": {"type": "boolean"},
                    "code": {"type": "string", "minLength": 1},
                    "datatype": {
                        "enum": [
                            "string",
                            "number",
                            "datetime",
                            "text",
                            "singlevaluelist",
                            "multivaluelist",
                        ]
                    },
                    "required": {"type": "boolean"},
                    "datatype_description": NULLABLE_TEXT,
                    "order": {"type": "integer", "minimum": 1},
                    "description": {"type": "string"},
                    "values": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["key", "name"],
                            "properties": {"key": {"type": "string"}, "name": {"type": "string"}},
                        },
                    },
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}

REQUEST = {
    "type": "object",
    "required": [
        "service_request_id",
        "status",
        "service_name",
        "service_code",
        "description",
        "requested_datetime",
        "updated_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ],
    "properties": {
        "service_request_id": {"type": "string", "minLength": 1},
        "status": {"enum": ["open", "closed"]},
        "status_notes": NULLABLE_TEXT,
        "service_name": {"type": "string"},
        "service_code": {"type": "string"},
        # "free form text limited to 4,000 characters"
        "description": {"type": ["string", "null"], "maxLength": 4000},
        "agency_responsible": NULLABLE_TEXT,
        "service_notice": NULLABLE_TEXT,
        "requested_datetime": {"type": "string", "pattern": W3C},
        "updated_datetime": {"type": "string", "pattern": W3C},
        "expected_datetime": NULLABLE_W3C,
        "address": NULLABLE_TEXT,
        "address_id": NULLABLE_TEXT,
        "zipcode": NULLABLE_TEXT,
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "media_url": {"type": ["string", "null"], "pattern": "^https?://"},
    },
    "additionalProperties": False,
}
REQUESTS = {"type": "array", "items": REQUEST}

# POST Service Request: service_request_id (not with a token), service_notice and account_id
# ("may not be returned").
CREATED = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": {
        "type": "object",
        "required": ["service_request_id"],
        "properties": {
            "service_request_id": {"type": "string", "minLength": 1},
            "service_notice": NULLABLE_TEXT,
            "account_id": NULLABLE_TEXT,
        },
        "not": {"required": ["token"]},
        "additionalProperties": False,
    },
}

# FixMyStreet: POST Service Request Update answers the update's id.
UPDATED = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": {
        "type": "object",
        "required": ["update_id"],
        "properties": {"update_id": {"type": "string", "minLength": 1}},
        "additionalProperties": False,
    },
}

ERRORS = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {
            "code": {"type": ["string", "integer"]},
            "description": {"type": "string", "minLength": 1},
        },
        "additionalProperties": False,
    },
}

DISCOVERY = {
    "type": "object",
    "required": ["changeset", "contact", "key_service", "endpoints"],
    "properties": {
        "changeset": {"type": "string"},
        "contact": {"type": "string"},
        "key_service": {"type": "string"},
        "endpoints": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["specification", "url", "changeset", "type", "formats"],
                "properties": {
                    "specification": {"const": "http://wiki.open311.org/GeoReport_v2"},
                    "url": {"type": "string", "pattern": "^https?://"},
                    "changeset": {"type": "string"},
                    "type": {"enum": ["production", "test"]},
                    "formats": {
                        "type": "array",
                        "items": {"enum": ["text/xml", "application/json"]},
                        "contains": {"const": "text/xml"},
                    },
                },
            },
        },
    },
}


def check(document: Any, schema: dict[str, Any]) -> Any:
    jsonschema.validate(document, schema)
    return document


def xml_root(data: bytes) -> ET.Element:
    """The parsed document; the spec requires the declaration with the UTF-8 encoding."""
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), data[:80]
    return ET.fromstring(data)


def xml_items(data: bytes, root: str, item: str) -> list[dict[str, str]]:
    """``<root><item><field>text</field>...</item>...</root>`` as a list of flat dicts."""
    element = xml_root(data)
    assert element.tag == root, element.tag
    found = []
    for child in element:
        assert child.tag == item, child.tag
        found.append({field.tag: field.text or "" for field in child})
    return found


def xml_errors(data: bytes) -> list[dict[str, str]]:
    return xml_items(data, "errors", "error")
