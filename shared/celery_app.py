"""The Celery application factory shared by the API (as a sender) and the workers.

Reliability settings live here, once: tasks are acknowledged only after they
finish (`acks_late`) and re-queued if their worker process dies, so a killed
worker's job is redelivered; a worker takes one message at a time.
"""

from __future__ import annotations

from celery import Celery

from shared.contract import all_tasks, task_routes
from shared.settings import Settings


def create_celery(settings: Settings, name: str = "nestlab") -> Celery:
    app = Celery(name, broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_routes=task_routes(),
        task_queues=None,
        task_create_missing_queues=True,
        task_default_queue=all_tasks()[0].queue,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=settings.publish_timeout,
        broker_transport_options={
            # Redis transport: a message a dead worker took comes back after
            # `visibility_timeout`; sweep for such messages every few seconds.
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": max(1, min(60, settings.visibility_timeout // 10)),
            "unacked_restore_throttle": 1,
            "socket_connect_timeout": settings.publish_timeout,
            "socket_timeout": max(settings.publish_timeout, 5.0),
        },
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 1.0,
        },
    )
    app.nestlab_settings = settings
    return app
