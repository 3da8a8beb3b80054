"""The edges of the API document, in process: without a token every secured operation answers
401, and every method the document does not list is 405 in the error shape.

Schemathesis with all of its checks, for every role, runs against gunicorn in
``tests/integration/test_contract.py``.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.helpers.servers import REPO

SPEC = json.loads((REPO / "openapi" / "openapi.json").read_text("utf-8"))
SECURED = {
    (path, method.upper())
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if isinstance(op, dict) and op.get("security")
}

# tus PATCH bodies are raw bytes under their own media type; send them like octet-stream.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")


def _operation(app, path: str, method: str):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)[path][method]


@pytest.mark.parametrize(
    "path,method", sorted(SECURED), ids=[f"{m} {p}" for p, m in sorted(SECURED)]
)
def test_secured_operations_need_a_token(app, path, method):
    operation = _operation(app, path, method)

    @given(case=operation.as_strategy())
    @settings(
        max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    def check(case):
        for headers in ({}, {"Authorization": "Bearer sf_wrong"}):
            response = case.call(headers=headers)
            assert response.status_code == 401, (method, path, response.status_code)
            if method != "HEAD":  # a HEAD answer has no body to carry the code
                assert response.json()["code"] in {"unauthorized", "invalid_token"}

    check()


VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNDOCUMENTED = [
    (path, verb)
    for path, item in SPEC["paths"].items()
    for verb in VERBS
    if verb.lower() not in item
]


def _concrete(path: str) -> str:
    """The path with each parameter filled by a value its route converter accepts."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "sha256":
            return "0" * 64
        if name == "id" or name.endswith("_id"):
            return str(uuid.uuid4())
        return "x"

    return re.sub(r"\{(\w+)\}", value, path)


@pytest.mark.parametrize("path,verb", UNDOCUMENTED, ids=[f"{v} {p}" for p, v in UNDOCUMENTED])
def test_undocumented_methods_are_405_in_the_error_shape(client, admin, path, verb):
    # With the strongest token too: a method the spec does not list never reaches a view.
    for headers in ({}, admin.headers):
        response = client.open(_concrete(path), method=verb, headers=headers)
        assert response.status_code == 405, (verb, path, response.status_code)
        assert response.get_json()["code"] == "method_not_allowed"
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        documented = {m.upper() for m in SPEC["paths"][path]} & set(VERBS)
        assert documented <= allowed
