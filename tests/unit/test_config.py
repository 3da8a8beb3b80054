from __future__ import annotations

import pytest

from backend import config


@pytest.mark.parametrize(
    "raw,expected",
    [
        (None, f"sqlite:///{config.INSTANCE / 'samverkan.db'}"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_forms(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("DATABASE_URL", raw)
    assert config.from_env()["SQLALCHEMY_DATABASE_URI"] == expected


def test_bad_integer_limit_names_the_variable(monkeypatch):
    monkeypatch.setenv("MAX_BODY_BYTES", "lots")
    with pytest.raises(RuntimeError, match="MAX_BODY_BYTES"):
        config.from_env()
