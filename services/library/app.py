"""The library's Celery app factory."""

from __future__ import annotations

from celery import Celery

from services.library.tasks import register
from shared.celery_app import create_celery
from shared.logs import configure_logging
from shared.settings import Settings


def create_worker(settings: Settings | None = None) -> Celery:
    settings = settings or Settings.from_env()
    configure_logging()
    app = create_celery(settings, name="nestlab-library")
    register(app)
    return app
