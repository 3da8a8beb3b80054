"""Extensions, created unbound and bound to an app in ``create_app`` with ``init_app``."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from redis import Redis
from sqlalchemy import MetaData

# Stable constraint names, so Alembic migrations can name what they alter on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# expire_on_commit=False: objects a use case committed are serialised as they were written,
# without a second SELECT, and the authenticated user survives the commit that ends the token
# lookup's read transaction (see backend.auth.authenticate).
db = SQLAlchemy(
    metadata=MetaData(naming_convention=NAMING), session_options={"expire_on_commit": False}
)
migrate = Migrate()
# The flask-smorest Api is made per app in create_app: it keeps its app and spec on itself.


class RedisExtension:
    """One Redis client per app, created lazily so the app starts while Redis is down."""

    def init_app(self, app: Flask) -> None:
        app.extensions["redis"] = None

    @property
    def client(self) -> Redis:
        client: Redis | None = current_app.extensions.get("redis")
        if client is None:
            client = Redis.from_url(
                current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
            )
            current_app.extensions["redis"] = client
        return client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


redis = RedisExtension()
