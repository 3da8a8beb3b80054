"""The PyPI GeoReport v2 client (``georeport``, nobody here wrote it) against the service under
gunicorn: the service list and definitions, and the requests a key may read, in JSON and XML.

The client sends no api_key on GETs; it reads requests with the key as the HTTP Basic user
name in the root address (``http://KEY:@host/open311/v2``), which the service accepts as the
README says."""

from __future__ import annotations

import json

import requests
from georeport import GeoReport

from tests.helpers.sync_items import batch, report


def test_georeport_reads_services_and_requests(app, runner, client, field_user, live_server):
    issued = runner.invoke(args=["open311", "issue-key", "--org", "trafikkontoret"])
    key = json.loads(issued.output)["api_key"]
    other = json.loads(
        runner.invoke(args=["open311", "issue-key", "--org", "fastighetskontoret"]).output
    )["api_key"]
    pushed = requests.post(
        f"{live_server.url}/api/v1/sync/push",
        json=batch([report()]),
        headers=field_user.headers,
        timeout=30,
    ).json()["results"][0]
    host = live_server.url.split("://", 1)[1]

    for fmt in ("json", "xml"):
        public = GeoReport(f"{live_server.url}/open311/v2", output_format=fmt)
        services = public.get_service_list()
        codes = [s["service_code"] for s in services]
        assert "litter.overflowing_bin" in codes and "damage.broken_light" in codes
        definition = public.get_service_definition("damage.broken_light")
        assert definition["service_code"] == "damage.broken_light"

        mine = GeoReport(f"http://{key}:@{host}/open311/v2", output_format=fmt)
        found = mine.get_service_requests()
        # xmltodict gives one request as a dict, several as a list.
        found = found if isinstance(found, list) else [found]
        assert [r["service_request_id"] for r in found] == [pushed["case_id"]]
        assert found[0]["status"] == "open"
        single = mine.get_service_request(pushed["case_id"])
        assert single["service_code"] == "litter.overflowing_bin"
        if fmt == "json":
            # (The client cannot read an empty XML list: xmltodict makes <service_requests/>
            # None, and it indexes into it.)
            assert mine.get_service_requests(status="closed") == []
            theirs = GeoReport(f"http://{other}:@{host}/open311/v2", output_format=fmt)
            assert theirs.get_service_requests() == []
    anonymous = requests.get(f"{live_server.url}/open311/v2/requests.xml", timeout=30)
    assert anonymous.status_code == 403
    assert b"<code>api_key_required</code>" in anonymous.content
