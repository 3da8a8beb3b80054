from __future__ import annotations

import json

from openapi_spec_validator import validate

from tests.helpers.servers import REPO

COMMITTED = REPO / "openapi" / "openapi.json"


def test_committed_spec_matches_the_running_app(client):
    served = client.get("/api/openapi.json")
    assert served.status_code == 200
    committed = json.loads(COMMITTED.read_text("utf-8"))
    assert served.get_json() == committed, (
        "openapi/openapi.json is stale: run `make openapi` and commit the result"
    )


def test_committed_spec_is_valid_openapi_3():
    spec = json.loads(COMMITTED.read_text("utf-8"))
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_docs_ui_is_served(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert b"swagger" in response.data.lower()
