"""Webhook signing, destination rules and the retry schedule, without I/O."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from backend.delivery import webhook
from backend.delivery.event import Event
from backend.delivery.jobs import backoff_seconds


def test_signature_verifies_with_the_reference_implementation():
    secret = webhook.new_secret()
    body = b'{"type":"task.created","data":{"subject_id":"x"}}'
    msg_id = str(uuid.uuid4())
    now = int(time.time())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": webhook.sign(secret, msg_id, now, body),
    }
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    # A changed body, id or another secret does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"x", b"y"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": str(uuid.uuid4())})
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook.new_secret()).verify(body, headers)


def test_signature_matches_the_spec_example():
    # The example of the Standard Webhooks spec ("Verifying webhook authenticity").
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = webhook.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize(
    "secret", ["whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_YWJj"]
)
def test_bad_secrets_are_refused(secret):
    with pytest.raises(ValueError):
        webhook.secret_key(secret)


@pytest.mark.parametrize(
    "url,allowed",
    [
        ("http://hooks.example.org/x", ()),  # plain http to a host not allowlisted
        ("https://user:pw@hooks.example.org/x", ()),  # credentials in the URL
        ("https:///x", ()),  # no host
        ("ftp://hooks.example.org/x", ("hooks.example.org",)),
        ("https://hooks.example.org:99999/x", ()),
    ],
)
def test_url_shapes_that_are_refused(url, allowed):
    with pytest.raises(webhook.DestinationRefused):
        webhook.check_url_shape(url, allowed)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata, link-local
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fe80::1]/hook",
        "https://0.0.0.0/hook",
        "https://localhost/hook",
    ],
)
def test_internal_addresses_are_refused_unless_allowlisted(url):
    with pytest.raises(webhook.DestinationRefused, match="non-public"):
        webhook.resolve(url, ())


def test_an_allowlisted_host_may_use_http_and_loopback():
    target = webhook.resolve("http://127.0.0.1:8080/in?x=1", ("127.0.0.1",))
    assert (target.scheme, target.address, target.port, target.path) == (
        "http",
        "127.0.0.1",
        8080,
        "/in?x=1",
    )


def test_a_public_address_is_allowed_and_documentation_ranges_are_not():
    # Resolving an IP literal sends nothing anywhere.
    assert webhook.resolve("https://130.237.0.1/hook", ()).address == "130.237.0.1"
    with pytest.raises(webhook.DestinationRefused):
        webhook.resolve("https://192.0.2.1/hook", ())


def test_backoff_grows_exponentially_with_bounded_jitter():
    low = [backoff_seconds(n, 2.0, 3600.0, rand=lambda: 0.0) for n in range(1, 6)]
    high = [backoff_seconds(n, 2.0, 3600.0, rand=lambda: 1.0) for n in range(1, 6)]
    assert low == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert high == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert backoff_seconds(40, 2.0, 3600.0, rand=lambda: 1.0) == 3600.0


def test_event_payload_holds_ids_and_a_link_only():
    class Org:
        slug = "trafikkontoret"

    class Row:
        id = uuid.uuid4()
        event_type = "task.created"
        organisation = Org()
        subject_type = "task"
        subject_id = uuid.uuid4()
        created_at = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)

    event = Event.of(Row(), "https://samverkan.example/")  # type: ignore[arg-type]
    payload = json.loads(event.body())
    assert payload == {
        "type": "task.created",
        "timestamp": "2026-05-04T12:00:00Z",
        "data": {
            "delivery_id": str(Row.id),
            "organisation": "trafikkontoret",
            "subject_type": "task",
            "subject_id": str(Row.subject_id),
            "link": f"https://samverkan.example/api/v1/tasks/{Row.subject_id}",
        },
    }
