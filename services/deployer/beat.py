"""The beat scheduler (run exactly one): `celery -A services.deployer.beat beat`.

It only sends periodic tasks by name; the deployer workers run them.
"""

from __future__ import annotations

from celery import Celery

from shared.celery_app import create_celery
from shared.contract import Tasks
from shared.logs import configure_logging
from shared.settings import Settings


def create_beat(settings: Settings | None = None) -> Celery:
    settings = settings or Settings.from_env()
    configure_logging()
    app = create_celery(settings, name="nestlab-beat")
    interval = max(1.0, settings.republish_interval)
    capacity_interval = max(10.0, settings.capacity_refresh_interval)
    lease_interval = max(1.0, settings.lease_check_interval)
    app.conf.beat_schedule = {
        "republish-jobs": {
            "task": Tasks.REPUBLISH_JOBS.name,
            "schedule": interval,
            # A late run is useless once the next one is due.
            "options": {"queue": Tasks.REPUBLISH_JOBS.queue, "expires": interval},
        },
        "refresh-capacity": {
            "task": Tasks.REFRESH_CAPACITY.name,
            "schedule": capacity_interval,
            "options": {"queue": Tasks.REFRESH_CAPACITY.queue, "expires": capacity_interval},
        },
        "expire-leases": {
            "task": Tasks.EXPIRE_LEASES.name,
            "schedule": lease_interval,
            "options": {"queue": Tasks.EXPIRE_LEASES.queue, "expires": lease_interval},
        },
    }
    app.conf.beat_schedule_filename = str(settings.var_dir / "celerybeat-schedule")
    # Write the schedule file after every task sent: its age is beat's health.
    app.conf.beat_sync_every = 1
    return app


app = create_beat()
