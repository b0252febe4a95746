"""The contract between services: queues, task names and their arguments.

The API (and any other sender) publishes work by *name* with `send`; it never
imports worker code. Every task takes one argument, the id of a row that holds
everything else (a job, an event, a delivery), so a task can be re-run safely
from the database.
"""

from __future__ import annotations

from dataclasses import dataclass

# Message header carrying the id of the API request that caused a task, for the logs.
REQUEST_ID_HEADER = "nestlab_request_id"


class Queues:
    DEPLOYER = "deployer"
    LIBRARY = "library"
    NOTIFIER = "notifier"


@dataclass(frozen=True)
class TaskName:
    name: str
    queue: str
    args: tuple[str, ...] = ("job_id",)


class Tasks:
    DEPLOY_ZPOD = TaskName("deployer.deploy_zpod", Queues.DEPLOYER)
    DESTROY_ZPOD = TaskName("deployer.destroy_zpod", Queues.DEPLOYER)
    VERIFY_ENDPOINT = TaskName("deployer.verify_endpoint", Queues.DEPLOYER)
    # Operations on a live zPod: power, remove one component, compare with vCenter.
    POWER = TaskName("deployer.power", Queues.DEPLOYER)
    REMOVE_COMPONENT = TaskName("deployer.remove_component", Queues.DEPLOYER)
    CHECK_ZPOD = TaskName("deployer.check_zpod", Queues.DEPLOYER)
    # One component (VM) of a deploy job's current stage; a stage's items run in
    # parallel across deployer workers.
    DEPLOY_ITEM = TaskName("deployer.deploy_item", Queues.DEPLOYER, ("component_id",))
    # Periodic (beat): publish jobs the broker never took or may have lost.
    REPUBLISH_JOBS = TaskName("deployer.republish_jobs", Queues.DEPLOYER, ())
    # Periodic (beat): re-read every verified endpoint's cluster and datastore figures.
    REFRESH_CAPACITY = TaskName("deployer.refresh_capacity", Queues.DEPLOYER, ())
    # Periodic (beat): warn of zPod leases ending soon, destroy the zPods whose lease ended.
    EXPIRE_LEASES = TaskName("deployer.expire_leases", Queues.DEPLOYER, ())
    SYNC_LIBRARY = TaskName("library.sync_library", Queues.LIBRARY)
    DOWNLOAD_COMPONENT = TaskName("library.download_component", Queues.LIBRARY)
    STAGE_COMPONENT = TaskName("library.stage_component", Queues.LIBRARY)
    IMPORT_UPLOAD = TaskName("library.import_upload", Queues.LIBRARY)
    # Route one stored event to the channels subscribed to it.
    NOTIFY_EVENT = TaskName("notifier.event", Queues.NOTIFIER, ("event_id",))
    # Post one message (a row of `deliveries`) to its channel.
    DELIVER = TaskName("notifier.deliver", Queues.NOTIFIER, ("delivery_id",))


# The task that runs each kind of job (see shared.models.JobKind).
TASK_FOR_JOB_KIND: dict[str, TaskName] = {
    "deploy": Tasks.DEPLOY_ZPOD,
    # Adding a component to a live zPod is a deploy that finds only it to build.
    "add_component": Tasks.DEPLOY_ZPOD,
    "destroy": Tasks.DESTROY_ZPOD,
    "verify": Tasks.VERIFY_ENDPOINT,
    "power": Tasks.POWER,
    "remove_component": Tasks.REMOVE_COMPONENT,
    "check": Tasks.CHECK_ZPOD,
    "library_sync": Tasks.SYNC_LIBRARY,
    "download": Tasks.DOWNLOAD_COMPONENT,
    "stage": Tasks.STAGE_COMPONENT,
    "upload": Tasks.IMPORT_UPLOAD,
}


def all_tasks() -> list[TaskName]:
    return [value for value in vars(Tasks).values() if isinstance(value, TaskName)]


def task_routes() -> dict[str, dict[str, str]]:
    return {task.name: {"queue": task.queue} for task in all_tasks()}
