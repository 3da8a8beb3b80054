"""How the reference client reaches the server: the ``Transport`` protocol, plain HTTP with the
standard library, and the two kinds of failure (``Retryable``: send again later; ``Fatal``: a
person must act)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class TransportError(Exception):
    """The request may or may not have reached the server; no response came back."""


class Transport(Protocol):
    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        data: bytes | None = None,
    ) -> Response: ...


class HttpTransport:
    """Plain HTTP with the standard library (the client has no web framework)."""

    def __init__(self, base_url: str, timeout_s: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

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
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = dict(headers)
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                return Response(reply.status, _json(reply.read()), dict(reply.headers))
        except urllib.error.HTTPError as error:
            return Response(error.code, _json(error.read()), dict(error.headers))
        except (urllib.error.URLError, OSError) as error:
            raise TransportError(str(error)) from error


def refusal(what: str, response: Response) -> str:
    """One line for a refusal resending cannot fix, from the service's error shape."""
    body = response.body if isinstance(response.body, dict) else {}
    code = body.get("code") or "error"
    message = body.get("message") or ""
    line = f"{what} refused: {response.status} {code}"
    return f"{line}: {message}" if message else line


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class Retryable(Exception):
    """The server is unreachable, overloaded or failed: the same batch is sent again later."""


class Fatal(Exception):
    """Resending cannot help (bad token, unsupported protocol): a person must act."""
