"""The notifier's Celery app factory, and its sweep.

The sweep is a thread in the worker's main process (a bootstep, so it starts
and stops with the worker). Every `notify_sweep_interval` seconds it queues
again what lost its task: events never routed (the deployer could not reach
the broker) and deliveries overdue or whose sender died mid-post. Tasks are
idempotent, so a duplicate from the sweep is harmless.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery, bootsteps

from services.notifier.delivery import overdue, unrouted
from services.notifier.tasks import enqueue, register
from shared.celery_app import create_celery
from shared.contract import Tasks
from shared.logs import configure_logging
from shared.settings import Settings
from shared.worker_context import context_for

log = logging.getLogger(__name__)


def sweep(app: Celery) -> tuple[int, int]:
    ctx = context_for(app)
    grace = ctx.settings.notify_sweep_grace
    events = unrouted(ctx, grace)
    for event_id in events:
        app.send_task(Tasks.NOTIFY_EVENT.name, args=[event_id], queue=Tasks.NOTIFY_EVENT.queue)
    deliveries = overdue(ctx, grace)
    for delivery_id in deliveries:
        enqueue(app, delivery_id)
    if events or deliveries:
        log.info("sweep: re-queued %d event(s) and %d delivery(ies)", len(events),
                 len(deliveries))
    return len(events), len(deliveries)


class Sweeper(bootsteps.StartStopStep):
    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.stopped = threading.Event()

    def start(self, worker) -> None:
        threading.Thread(target=self._run, args=(worker.app,), daemon=True,
                         name="nestlab-notifier-sweep").start()

    def stop(self, worker) -> None:
        self.stopped.set()

    # A cold shutdown (and the embedded test worker) terminates instead of stopping.
    terminate = stop

    def _run(self, app: Celery) -> None:
        while not self.stopped.wait(app.nestlab_settings.notify_sweep_interval):
            try:
                sweep(app)
            except Exception:  # noqa: BLE001 - try again next round; the DB may be back
                log.warning("notifier sweep failed", exc_info=True)


def create_worker(settings: Settings | None = None) -> Celery:
    settings = settings or Settings.from_env()
    configure_logging()
    app = create_celery(settings, name="nestlab-notifier")
    register(app)
    app.steps["worker"].add(Sweeper)
    return app
