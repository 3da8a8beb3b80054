"""The API document is exact: schemathesis with every one of its checks (``st run --checks
all``), against the service under gunicorn as the README starts it, once per role.

Each operation of the committed ``openapi/openapi.json`` gets schemathesis's examples,
coverage (boundary values, missing parameters, undocumented methods) and fuzzing phases, both
schema-valid and schema-violating requests, sent with a valid token of the role. Every check
must pass: no 5xx; every status, content type, header and body documented; every request the
document calls valid accepted, every one it calls invalid refused; auth enforced.

A few findings are false alarms for reasons the document states but a JSON schema cannot
express; each is named in ``FALSE_ALARMS`` with its reason and matched narrowly (the check,
the operation, the status and the error code). Anything else fails the test.

The number of operations, roles and requests is printed in the session's summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from schemathesis.checks import CHECKS, is_check_class, load_all_checks
from schemathesis.core.failures import AcceptedNegativeData, Failure, FailureGroup
from schemathesis.openapi.checks import MissingHeaderNotRejected, RejectedPositiveData

from tests.conftest import CONTRACT_RUN, server_env
from tests.helpers.servers import REPO, Gunicorn

SPEC_PATH = REPO / "openapi" / "openapi.json"
SPEC = json.loads(SPEC_PATH.read_text("utf-8"))
ROLES = ("field", "department", "supervisor", "admin")

load_all_checks()
ALL_CHECKS = [check for check in CHECKS.get_all() if not is_check_class(check)]
"""What ``--checks all`` runs (schemathesis 4: every registered check function)."""

# Examples per operation and phase. The coverage phase adds its boundary cases on top.
CONFIG = """
[generation]
max-examples = 6
deterministic = true
[phases.stateful]
enabled = false
"""

# tus PATCH bodies are raw bytes under their own media type; send them like octet-stream.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
schema = schemathesis.openapi.from_path(
    SPEC_PATH, config=schemathesis.config.SchemathesisConfig.from_str(CONFIG)
)
PUSH_ITEM = OAS30Validator({"components": SPEC["components"], "oneOf": [
    {"$ref": "#/components/schemas/ReportItem"},
    {"$ref": "#/components/schemas/ContactItem"},
    {"$ref": "#/components/schemas/PresenceItem"},
]}, format_checker=oas30_format_checker)  # fmt: skip


@dataclass(frozen=True)
class Sent:
    case: Any
    response: Any

    @property
    def operation(self) -> str:
        return f"{self.case.method.upper()} {self.case.operation.path}"

    def code(self) -> str | None:
        try:
            return self.response.json().get("code")
        except ValueError:
            return None


def _tus_412(failure: Failure, sent: Sent) -> bool:
    version = {k.lower(): v for k, v in (sent.case.headers or {}).items()}.get("tus-resumable")
    return (
        sent.case.operation.path.startswith("/api/v1/uploads/")
        and version != "1.0.0"
        and sent.response.status_code == 412
    )


def _opaque_cursor(failure: Failure, sent: Sent) -> bool:
    return sent.response.status_code == 400 and sent.code() == "invalid_cursor"


def _related_parameters(failure: Failure, sent: Sent) -> bool:
    return sent.response.status_code == 422 and sent.code() in {
        "range_reversed",
        "range_too_long",
    }


def _rejected_items(failure: Failure, sent: Sent) -> bool:
    if sent.operation != "POST /api/v1/sync/push" or sent.response.status_code != 200:
        return False
    items = sent.case.body.get("items") if isinstance(sent.case.body, dict) else None
    if not isinstance(items, list):
        return False
    results = sent.response.json()["results"]
    invalid = [n for n, item in enumerate(items) if not PUSH_ITEM.is_valid(item)]
    return bool(invalid) and all(results[n]["status"] == "rejected" for n in invalid)


def _batch_too_large(failure: Failure, sent: Sent) -> bool:
    return sent.response.status_code == 413


def _unstorable_text(failure: Failure, sent: Sent) -> bool:
    if sent.response.status_code != 422 or sent.code() != "validation_error":
        return False
    messages = [m for ms in sent.response.json()["errors"].values() for m in ms]
    return bool(messages) and all(
        m.endswith(("contains a NUL character", "is not valid Unicode text (a lone surrogate)"))
        for m in messages
    )


def _photo_bytes(failure: Failure, sent: Sent) -> bool:
    return sent.case.operation.path.startswith(("/api/v1/photos/", "/api/v1/uploads/")) and (
        sent.code() in {"sha256_mismatch", "invalid_sha256", "invalid_upload_metadata"}
    )


def _mislabelled_valid(failure: Failure, sent: Sent) -> bool:
    """A "valid" request whose header or query value breaks its documented pattern."""
    operation = SPEC["paths"][sent.case.operation.path][sent.case.method.lower()]
    given = {
        "header": {k.lower(): v for k, v in (sent.case.headers or {}).items()},
        "query": sent.case.query or {},
    }
    for parameter in operation.get("parameters", []):
        value = given.get(parameter["in"], {}).get(
            parameter["name"].lower() if parameter["in"] == "header" else parameter["name"]
        )
        pattern = parameter["schema"].get("pattern")
        if isinstance(value, str) and pattern and re.search(pattern, value) is None:
            return True
    return False


def _runtime_reference(failure: Failure, sent: Sent) -> bool:
    return sent.response.status_code == 422 and sent.code() in {
        "unknown_organisation",
        "invalid_rule_set",
    }


@dataclass(frozen=True)
class FalseAlarm:
    failure: tuple[type[Failure], ...]
    applies: Callable[[Failure, Sent], bool]
    reason: str


FALSE_ALARMS = (
    FalseAlarm(
        (AcceptedNegativeData, MissingHeaderNotRejected),
        _tus_412,
        "tus 1.0 (core protocol, Tus-Resumable): a request without a supported Tus-Resumable "
        "MUST be answered 412 Precondition Failed with Tus-Version; the document lists 412, "
        "the checks expect 400/422.",
    ),
    FalseAlarm(
        (RejectedPositiveData,),
        _opaque_cursor,
        "A cursor is opaque: only one this service issued (to this user) is valid. The document "
        "gives its alphabet and lists 400 invalid_cursor; no schema can list the issued ones.",
    ),
    FalseAlarm(
        (RejectedPositiveData,),
        _related_parameters,
        "from/to relate to each other (to before from, more than the documented number of "
        "days): OpenAPI 3.0 cannot relate two parameters; the document describes both codes.",
    ),
    FalseAlarm(
        (AcceptedNegativeData,),
        _rejected_items,
        "The push answers 200 with each item that breaks its schema `rejected` (its code in "
        "its result), so one bad item never stalls a phone's outbox: checked item by item.",
    ),
    FalseAlarm(
        (AcceptedNegativeData,),
        _batch_too_large,
        "413 (batch_too_large, payload_too_large) refuses the request; the check does not count "
        "413 among refusals.",
    ),
    FalseAlarm(
        (RejectedPositiveData,),
        _unstorable_text,
        "Strings may not contain NUL or a lone surrogate (neither can be stored; the document's "
        "description says so): JSON Schema has no way to exclude them from every string.",
    ),
    FalseAlarm(
        (RejectedPositiveData,),
        _photo_bytes,
        "A photo is named by the SHA-256 of its bytes (tus: of the upload, base64 in "
        "Upload-Metadata): a schema cannot tie a path or header to the body's hash.",
    ),
    FalseAlarm(
        (RejectedPositiveData,),
        _mislabelled_valid,
        "schemathesis 4.32's coverage phase offers '0' as a valid value of an optional header "
        "whose pattern it cannot satisfy (Upload-Checksum): the request was not valid.",
    ),
    FalseAlarm(
        (RejectedPositiveData,),
        _runtime_reference,
        "Organisations are created at run time: a well-formed slug that names none is 422 "
        "unknown_organisation (a reroute) or invalid_rule_set; the document cannot enumerate them.",
    ),
)


@pytest.fixture(scope="module")
def contract_server(base_app, tmp_path_factory):
    """One gunicorn for the module: the test's tables are emptied between tests, and the
    server reads them afresh on every request."""
    server = Gunicorn(server_env(base_app), tmp_path_factory.mktemp("contract") / "gunicorn.log")
    yield server
    server.stop()


@pytest.fixture
def contract_run(request, db_backend):
    """This backend's tally for the summary line (tests/conftest.py prints it)."""
    runs = request.config.stash.setdefault(CONTRACT_RUN, {})
    return runs.setdefault(
        db_backend,
        {"checks": len(ALL_CHECKS), "operations": set(), "roles": set(), "requests": 0},
    )


@pytest.fixture(params=ROLES)
def role(request):
    return request.param


def _validate(case, response, headers, base_url) -> None:
    try:
        case.validate_response(
            response, checks=ALL_CHECKS, headers=headers, transport_kwargs={"base_url": base_url}
        )
    except FailureGroup as group:
        sent = Sent(case, response)
        real = [
            failure
            for failure in group.exceptions
            if not any(
                isinstance(failure, alarm.failure) and alarm.applies(failure, sent)
                for alarm in FALSE_ALARMS
            )
        ]
        if real:
            phase = case.meta.phase.name.value if case.meta is not None else "?"
            raise FailureGroup(real, f"{group} (phase: {phase})") from None


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck))
def test_the_document_is_exact(case, role, role_headers, contract_server, contract_run):
    headers = role_headers[role]
    response = case.call(base_url=contract_server.url, headers=headers)
    contract_run["operations"].add(case.operation.label)
    contract_run["roles"].add(role)
    contract_run["requests"] += 1
    _validate(case, response, headers, contract_server.url)
