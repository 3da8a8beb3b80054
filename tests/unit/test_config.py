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


@pytest.mark.parametrize(
    "raw,bucket,prefix",
    [
        ("s3://photos", "photos", ""),
        ("s3://photos/", "photos", ""),
        ("s3://city-photos.prod/samverkan/photos/", "city-photos.prod", "samverkan/photos/"),
    ],
)
def test_photo_storage_url_forms(monkeypatch, raw, bucket, prefix):
    from media.storage import parse_url

    monkeypatch.setenv("PHOTO_STORAGE_URL", raw)
    assert config.from_env()["PHOTO_STORAGE_URL"] == raw
    parsed = parse_url(raw)
    assert (parsed.scheme, parsed.bucket, parsed.prefix) == ("s3", bucket, prefix)


@pytest.mark.parametrize(
    "raw,says",
    [
        ("ftp://photos/x", "use s3://BUCKET/PREFIX"),
        ("s3://", "not a valid bucket name"),
        ("s3://UPPER/x", "not a valid bucket name"),
        ("s3://ab/x", "not a valid bucket name"),
        ("s3://photos/../etc", "the prefix may hold"),
        ("s3://photos/a b", "the prefix may hold"),
        ("s3://photos/x?versionId=1", "no query"),
        ("file://host/srv/media", "file:///absolute/path"),
        ("/srv/media", "use s3://BUCKET/PREFIX"),
    ],
)
def test_bad_photo_storage_url_stops_start_up_naming_the_problem(monkeypatch, raw, says):
    monkeypatch.setenv("PHOTO_STORAGE_URL", raw)
    with pytest.raises(RuntimeError, match="PHOTO_STORAGE_URL") as caught:
        config.from_env()
    assert says in str(caught.value)


def test_storage_settings_default_to_the_filesystem_and_streaming(monkeypatch):
    for name in ("PHOTO_STORAGE_URL", "S3_ENDPOINT_URL", "PHOTO_SERVE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    settings = config.from_env()
    assert settings["PHOTO_STORAGE_URL"] == ""
    assert settings["S3_ENDPOINT_URL"] is None
    assert settings["PHOTO_SERVE"] == "stream"
    assert settings["AWS_REGION"] == "us-east-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    assert config.from_env()["AWS_REGION"] == "eu-north-1"
    monkeypatch.setenv("PHOTO_SERVE", "proxy")
    with pytest.raises(RuntimeError, match="PHOTO_SERVE"):
        config.from_env()
