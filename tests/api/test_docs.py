"""The API docs work on a machine without Internet access, and every answer says nosniff."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_docs_page_loads_everything_from_this_service(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    parser = _References()
    parser.feed(html)
    assert len(parser.urls) >= 3  # the stylesheet and the two scripts
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        with client.get(url) as asset:  # a file response: closed when read
            assert asset.status_code == 200 and len(asset.data) > 1000, url
    # No other host anywhere in the page: no CDN, and no validator badge (validatorUrl null).
    assert re.findall(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html) == []
    assert '"validatorUrl": null' in html
    assert client.get("/api/openapi.json").status_code == 200


def test_the_stylesheet_fetches_nothing_from_elsewhere(client):
    with client.get("/api/docs/static/swagger-ui.css") as response:
        css = response.get_data(as_text=True)
    urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", css)
    assert urls and all(u.startswith("data:") for u in urls)
    assert "@import" not in css


def test_docs_assets_stay_inside_their_folder(client):
    assert client.get("/api/docs/static/../../../../etc/passwd").status_code == 404


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("GET", "/healthz", 200),
        ("GET", "/api/v1/me", 401),
        ("GET", "/api/v1/no-such-route", 404),
        ("DELETE", "/healthz", 405),
        ("GET", "/api/docs", 200),
        ("GET", "/api/docs/static/swagger-ui-bundle.js", 200),
        ("GET", "/api/openapi.json", 200),
    ],
)
def test_every_answer_says_nosniff(client, method, path, status):
    with client.open(path, method=method) as response:
        assert response.status_code == status
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_authenticated_and_csv_answers_say_nosniff(client, create_user):
    supervisor = create_user(role="supervisor")
    for accept in ("application/json", "text/csv"):
        response = client.get(
            "/api/v1/presence/daily?date=2026-05-12",
            headers={**supervisor.headers, "Accept": accept},
        )
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
