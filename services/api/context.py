"""The API process's resources, made once per app and reached through `api_context()`."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.api.client_address import parse_networks
from shared.celery_app import create_celery
from shared.crypto import SecretBox
from shared.db import make_engine, make_session_factory
from shared.settings import Settings


@dataclass
class ApiContext:
    settings: Settings
    _hub: object = field(default=None, init=False, repr=False)
    _hub_pid: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    trusted_proxies: tuple = field(default=(), init=False)

    def __post_init__(self) -> None:
        # Parsed once, at start: a bad NESTLAB_TRUSTED_PROXIES stops the API from starting.
        self.trusted_proxies = parse_networks(self.settings.trusted_proxies)

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

    @cached_property
    def stream_slots(self) -> threading.BoundedSemaphore:
        return threading.BoundedSemaphore(self.settings.sse_max_streams)

    @property
    def hub(self):
        """This process's event hub, started on first use (gunicorn may fork after import)."""
        from services.api.stream import EventHub

        with self._lock:
            if self._hub is None or self._hub_pid != os.getpid():
                self._hub = EventHub(self.settings.redis_url, self.settings.events_stream)
                self._hub_pid = os.getpid()
            return self._hub

    def close(self) -> None:
        if self._hub is not None:
            self._hub.stop()


def api_context() -> ApiContext:
    return current_app.extensions["nestlab"]


def db() -> Session:
    """The request's database session (closed at the end of the request)."""
    from flask import g

    if "db" not in g:
        g.db = api_context().sessions()
    return g.db


def find_by_ref(model, ref: str):
    """The row of `model` whose `name` is `ref`, else the one whose id it is; None if neither."""
    session = db()
    found = session.scalar(select(model).where(model.name == ref))
    if found is None and str(ref).isdigit():
        found = session.get(model, int(ref))
    return found
