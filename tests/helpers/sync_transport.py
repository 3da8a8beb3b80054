"""A ``sync.client.Transport`` over Flask's test client, with a network that fails on purpose."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from sync.transport import Response, TransportError

NETWORK_MODES = ("up", "down", "drop_responses")


class FlaskTransport:
    """``down``: requests never arrive. ``drop_responses``: the server does the work, then the
    response is lost on the way back (the case that makes phones resend)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.mode = "up"
        self.requests = 0

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        data: bytes | None = None,
    ) -> Response:
        if self.mode == "down":
            raise TransportError("no signal")
        self.requests += 1
        reply = self.client.open(
            path, method=method, headers=headers, json=json_body, query_string=params, data=data
        )
        if self.mode == "drop_responses":
            raise TransportError("response lost")
        return Response(reply.status_code, reply.get_json(silent=True), dict(reply.headers))
