"""Per-process resources of a worker (any service), made lazily after the fork.

A worker process opens its own database engine, Redis client and vCenter
sessions the first time a task needs them; nothing connects at import time and
no connection crosses a fork.
"""

from __future__ import annotations

import os
import threading
from functools import cached_property

import redis

from shared.crypto import SecretBox
from shared.db import make_engine, make_session_factory
from shared.events import EventRecorder, notifier_hook
from shared.models import Endpoint
from shared.settings import Settings
from shared.vsphere.connection import Access, connect, disconnect


class WorkerContext:
    def __init__(self, settings: Settings, celery_app=None):
        self.settings = settings
        self.celery_app = celery_app
        self.pid = os.getpid()
        self._sessions_lock = threading.Lock()
        self._vsphere: dict[str, object] = {}

    @property
    def celery(self):
        """The worker's Celery app: workers publish too (shared.outbox)."""
        return self.celery_app

    @cached_property
    def engine(self):
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self):
        return make_session_factory(self.engine)

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.redis_url, socket_timeout=5,
                                    socket_connect_timeout=5)

    @cached_property
    def events(self) -> EventRecorder:
        notify = notifier_hook(self.celery_app) if self.celery_app is not None else None
        return EventRecorder(self.sessions, self.redis, self.settings.events_stream,
                             self.settings.events_stream_maxlen, notify=notify)

    @cached_property
    def secrets(self) -> SecretBox:
        return SecretBox.from_settings(self.settings)

    def access(self, endpoint: Endpoint) -> Access:
        return Access(host=endpoint.host, port=endpoint.port, username=endpoint.username,
                      password=self.secrets.decrypt(endpoint.password_encrypted),
                      verify_tls=endpoint.verify_tls, thumbprint=endpoint.thumbprint)

    def vsphere(self, access: Access):
        """A logged-in ServiceInstance for `access`, reused across tasks of this process."""
        with self._sessions_lock:
            si = self._vsphere.get(access.key)
            if si is None:
                si = connect(access, timeout=self.settings.vsphere_timeout)
                self._vsphere[access.key] = si
            return si

    def forget_vsphere(self) -> None:
        """Drop cached sessions (after a connection or session fault)."""
        with self._sessions_lock:
            sessions, self._vsphere = list(self._vsphere.values()), {}
        for si in sessions:
            disconnect(si)


def context_for(app) -> WorkerContext:
    """The context of this process for `app` (a new one after a fork)."""
    ctx = getattr(app, "_nestlab_ctx", None)
    if ctx is None or ctx.pid != os.getpid():
        ctx = WorkerContext(app.nestlab_settings, app)
        app._nestlab_ctx = ctx
    return ctx
