"""The deployer's Celery tasks, registered by name from the shared contract."""

from __future__ import annotations

from celery import Celery

from services.deployer.capacity import refresh_all
from services.deployer.components_ops import RemoveComponentFlow
from services.deployer.drift import CheckFlow
from services.deployer.flows import FLOWS
from services.deployer.items import run_item
from services.deployer.leases import expire_leases
from services.deployer.power import PowerFlow
from shared.contract import Tasks
from shared.jobs import JOB_TASK_OPTIONS, run_job
from shared.outbox import republish_due
from shared.worker_context import context_for


def register(app: Celery) -> None:
    @app.task(name=Tasks.DEPLOY_ZPOD.name, **JOB_TASK_OPTIONS)
    def deploy_zpod(self, job_id: int):
        return run_job(self, job_id, FLOWS["deploy"])

    @app.task(name=Tasks.DEPLOY_ITEM.name, **JOB_TASK_OPTIONS)
    def deploy_item(self, component_id: int):
        return run_item(self, component_id)

    @app.task(name=Tasks.DESTROY_ZPOD.name, **JOB_TASK_OPTIONS)
    def destroy_zpod(self, job_id: int):
        return run_job(self, job_id, FLOWS["destroy"])

    @app.task(name=Tasks.REPUBLISH_JOBS.name, shared=False, ignore_result=True)
    def republish_jobs():
        return republish_due(context_for(app))

    @app.task(name=Tasks.REFRESH_CAPACITY.name, shared=False, ignore_result=True)
    def refresh_capacity():
        return refresh_all(context_for(app))

    @app.task(name=Tasks.EXPIRE_LEASES.name, shared=False, ignore_result=True)
    def expire_leases_task():
        return expire_leases(context_for(app))

    @app.task(name=Tasks.VERIFY_ENDPOINT.name, **JOB_TASK_OPTIONS)
    def verify_endpoint(self, job_id: int):
        return run_job(self, job_id, FLOWS["verify"])

    @app.task(name=Tasks.POWER.name, **JOB_TASK_OPTIONS)
    def power(self, job_id: int):
        return run_job(self, job_id, PowerFlow())

    @app.task(name=Tasks.REMOVE_COMPONENT.name, **JOB_TASK_OPTIONS)
    def remove_component(self, job_id: int):
        return run_job(self, job_id, RemoveComponentFlow())

    @app.task(name=Tasks.CHECK_ZPOD.name, **JOB_TASK_OPTIONS)
    def check_zpod(self, job_id: int):
        return run_job(self, job_id, CheckFlow())
