"""The API process's resources, made once per app and reached through `api_context()`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from shared.celery_app import create_celery
from shared.crypto import SecretBox
from shared.db import make_engine, make_session_factory
from shared.settings import Settings


@dataclass
class ApiContext:
    settings: Settings

    @cached_property
    def engine(self):
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def celery(self):
        return create_celery(self.settings, name="nestlab-api")

    @cached_property
    def secrets(self) -> SecretBox:
        return SecretBox.from_settings(self.settings)


def api_context() -> ApiContext:
    return current_app.extensions["nestlab"]


def db() -> Session:
    """The request's database session (closed at the end of the request)."""
    from flask import g

    if "db" not in g:
        g.db = api_context().sessions()
    return g.db
