"""The library's Celery tasks, registered by name from the shared contract."""

from __future__ import annotations

import random
from pathlib import Path

from celery import Celery

from services.library.flows import FLOWS
from services.library.slots import download_slot
from shared.contract import Tasks
from shared.jobs import JOB_TASK_OPTIONS, run_job
from shared.worker_context import context_for

SLOT_WAIT = (1.0, 5.0)


def register(app: Celery) -> None:
    @app.task(name=Tasks.SYNC_LIBRARY.name, **JOB_TASK_OPTIONS)
    def sync_library(self, job_id: int):
        return run_job(self, job_id, FLOWS["library_sync"])

    @app.task(name=Tasks.DOWNLOAD_COMPONENT.name, **JOB_TASK_OPTIONS)
    def download_component(self, job_id: int):
        settings = context_for(self.app).settings
        with download_slot(Path(settings.var_dir) / "run" / "download-slots",
                           settings.library_downloads) as slot:
            if slot is not None:
                return run_job(self, job_id, FLOWS["download"])
        # Every slot is busy: come back later as a fresh message, so waiting
        # does not use up the job's retries.
        download_component.apply_async(args=[job_id], countdown=random.uniform(*SLOT_WAIT))
        return None

    @app.task(name=Tasks.STAGE_COMPONENT.name, **JOB_TASK_OPTIONS)
    def stage_component(self, job_id: int):
        return run_job(self, job_id, FLOWS["stage"])

    @app.task(name=Tasks.IMPORT_UPLOAD.name, **JOB_TASK_OPTIONS)
    def import_upload(self, job_id: int):
        return run_job(self, job_id, FLOWS["upload"])
