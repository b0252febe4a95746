"""Deploying a zPod's components: one Celery task per component, stage after stage.

The deploy job makes the zPod's network, then sends one `deployer.deploy_item`
task per component of its current stage and hands off (shared.jobs.HANDED_OFF):
the items run in parallel on whichever deployer workers take them, so more
workers build a big zPod faster. The item that finishes its stage's last
component advances the job (the job's row is locked while it counts): it sends
the next stage's items, or ends the job when there is none. A failed item fails
the job with its host name; `POST /jobs/<id>/retry` runs the deploy again, which
skips what is done and re-sends only the items that are not ready.

An item is claimed like a job (one conditional UPDATE, a heartbeat, taken
over when the heartbeat goes stale), so duplicate deliveries do no harm, and
takes one of its endpoint's slots (shared.limits) so vCenter never sees more
than `endpoint_concurrency` components being built at once.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pyVmomi import vim
from sqlalchemy import func, or_, select, update

from services.deployer import machine
from services.deployer.vcenter import POWERED_ON, vms_in_folder
from shared.contract import REQUEST_ID_HEADER, Tasks
from shared.db import transaction
from shared.errors import JobError, TransientError
from shared.events import EventKind
from shared.jobs import JobRun, add_soap_calls, backoff, finish_in, new_owner
from shared.limits import EndpointSlots
from shared.logs import job_id_var, request_id_var
from shared.models import (
    Component,
    ComponentStatus,
    Job,
    JobKind,
    JobStatus,
    LibraryComponent,
    StagedTemplate,
    TemplateStatus,
    Zpod,
    ZpodStatus,
    utcnow,
)
from shared.netplan import NetworkPlan
from shared.outbox import publish, publish_task
from shared.ova import OvaError, parse_descriptor, read_descriptor
from shared.staging import attach_job, template_row
from shared.templating import render_properties
from shared.vsphere.connection import soap_calls
from shared.vsphere.errors import PermanentError
from shared.vsphere.inventory import call
from shared.vsphere.ovf_import import import_ova
from shared.worker_context import context_for

log = logging.getLogger(__name__)

READY = "ready"
BUSY = "busy"  # another live worker holds the component's claim
BUILDING_JOBS = (JobKind.DEPLOY, JobKind.ADD_COMPONENT)
STAGING_POLL = 2.0  # seconds between looks at a template being staged


@dataclass
class ItemWork:
    """What one item task needs, read once when it claims its component."""

    component: Component
    job: Job
    zpod: Zpod
    password: str
    library: LibraryComponent | None
    template_moref: str | None
    total: int


def stage_started_message(name: str, count: int) -> str:
    return f"stage '{name}' started: {count} component(s)"


def dispatch(ctx, zpod_id: int, stage: int) -> int:
    """Send a task for every component of `stage` that is not ready; how many were sent."""
    with ctx.sessions() as session:
        ids = list(session.scalars(select(Component.id).where(
            Component.zpod_id == zpod_id, Component.stage_index == stage,
            Component.status != READY).order_by(Component.id)))
    for component_id in ids:
        publish_task(ctx, Tasks.DEPLOY_ITEM, component_id)
    return len(ids)


def next_stage(session, zpod_id: int, after: int | None) -> int | None:
    """The first stage (by index) after `after` that has components; None past the last."""
    statement = select(func.min(Component.stage_index)).where(Component.zpod_id == zpod_id)
    if after is not None:
        statement = statement.where(Component.stage_index > after)
    return session.scalar(statement)


def building_job(session, zpod_id: int) -> Job | None:
    """The zPod's running job that builds components (a deploy or an addition)."""
    return session.scalar(select(Job).where(
        Job.zpod_id == zpod_id, Job.kind.in_(BUILDING_JOBS),
        Job.status == JobStatus.RUNNING).order_by(Job.id.desc()).limit(1))


def pending_in(session, zpod_id: int, stage: int) -> int:
    return session.scalar(select(func.count()).select_from(Component).where(
        Component.zpod_id == zpod_id, Component.stage_index == stage,
        Component.status != READY))


def _claim(ctx, component_id: int, owner: str) -> ItemWork | str | None:
    stale = utcnow() - timedelta(seconds=ctx.settings.job_stale_after)
    with transaction(ctx.sessions) as session:
        zpod_id = session.scalar(select(Component.zpod_id).where(Component.id == component_id))
        job = building_job(session, zpod_id)
        if job is None:
            # Its job ended (failed by another item, say): a retry of the job sends it again.
            log.info("no running deploy job for component %s; leaving it", component_id)
            return None
        taken = session.execute(update(Component).where(
            Component.id == component_id, Component.status != READY,
            or_(Component.claimed_by.is_(None), Component.heartbeat_at < stale),
        ).values(claimed_by=owner, heartbeat_at=utcnow(), attempts=Component.attempts + 1,
                 status="deploying", error=None)).rowcount
        component = session.get(Component, component_id)
        if component is None or component.status == READY:
            log.info("component %s is ready or gone; nothing to do", component_id)
            return None
        if not taken:
            return BUSY
        zpod = component.zpod
        library = None
        template = None
        uid = (component.spec or {}).get("component")
        if uid:
            library = session.scalar(select(LibraryComponent).where(LibraryComponent.uid == uid))
            if library is not None and component.spec.get("template", "auto") != "never":
                template = session.scalar(select(StagedTemplate.moref).where(
                    StagedTemplate.component_id == library.id,
                    StagedTemplate.endpoint_id == zpod.endpoint_id,
                    StagedTemplate.status == TemplateStatus.READY))
        total = session.scalar(select(func.count()).select_from(Component).where(
            Component.zpod_id == zpod.id))
        job.steps, zpod.endpoint  # noqa: B018 - load before expunging
        password = ctx.secrets.decrypt(zpod.password_encrypted)
        session.expunge_all()
        return ItemWork(component, job, zpod, password, library, template, total)


def _waits_for_template(ctx, component_id: int) -> bool:
    """For an item with `template: stage`: True while its template is being staged (the
    staging is asked for here, once); False once it is ready, or staging failed (the
    item then imports the OVA instead, and says so)."""
    with transaction(ctx.sessions) as session:
        component = session.get(Component, component_id)
        spec = (component.spec or {}) if component is not None else {}
        if component is None or component.status == READY or spec.get("template") != "stage" \
                or not spec.get("component"):
            return False
        library = session.scalar(select(LibraryComponent).where(
            LibraryComponent.uid == spec["component"]))
        job = building_job(session, component.zpod_id)
        if library is None or library.status != ComponentStatus.READY or job is None:
            return False  # the item fails with the reason when it runs
        endpoint_id = component.zpod.endpoint_id
        zpod_id, host, job_id = component.zpod_id, component.hostname, job.id
        library_id, uid = library.id, library.uid
    with ctx.sessions() as session:
        template = template_row(session, library_id, uid, endpoint_id)
        if template.status == TemplateStatus.READY:
            return False
        if template.status == TemplateStatus.FAILED and template.job_id is not None:
            ctx.events.emit(job_id, zpod_id, EventKind.PROGRESS,
                            f"{host}: staging {template.name} failed "
                            f"({template.status_message}); importing the OVA instead")
            return False
        if template.status in (TemplateStatus.QUEUED, TemplateStatus.STAGING):
            return True
        stage_job = Job(kind=JobKind.STAGE, endpoint_id=endpoint_id)
        session.add(stage_job)
        session.flush()
        if not attach_job(session, template.id, stage_job.id, (TemplateStatus.NEW,)):
            session.rollback()
            return True
        session.commit()
        stage_job_id = stage_job.id
    publish(ctx, stage_job_id, JobKind.STAGE)
    ctx.events.emit(job_id, zpod_id, EventKind.PROGRESS,
                    f"{host}: staging {uid} as a template (job {stage_job_id}) "
                    f"before cloning it")
    return True


def _release(ctx, component_id: int, owner: str) -> None:
    with transaction(ctx.sessions) as session:
        session.execute(update(Component).where(
            Component.id == component_id, Component.claimed_by == owner,
        ).values(claimed_by=None, status="planned"))


class ItemHeartbeat(threading.Thread):
    """Keeps the component's claim, its endpoint slot and the job's sign of life fresh."""

    def __init__(self, ctx, work: ItemWork, owner: str, slots: EndpointSlots):
        super().__init__(daemon=True, name=f"item-{work.component.id}")
        self.ctx, self.work, self.owner, self.slots = ctx, work, owner, slots
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = max(0.5, self.ctx.settings.job_stale_after / 3)
        while not self.stopped.wait(interval):
            try:
                self.slots.refresh(self.owner)
                with transaction(self.ctx.sessions) as session:
                    now = utcnow()
                    session.execute(update(Component).where(
                        Component.id == self.work.component.id,
                        Component.claimed_by == self.owner).values(heartbeat_at=now))
                    session.execute(update(Job).where(
                        Job.id == self.work.job.id, Job.claimed_by.is_(None),
                        Job.status == JobStatus.RUNNING).values(heartbeat_at=now))
            except Exception:  # noqa: BLE001 - a missed beat is retried next interval
                log.warning("heartbeat of component %s failed", self.work.component.id,
                            exc_info=True)


def run_item(task, component_id: int) -> str | None:
    """The `deployer.deploy_item` task: build one component, then advance its stage."""
    ctx = context_for(task.app)
    request_id_var.set(task.request.get(REQUEST_ID_HEADER))
    owner = new_owner()
    if _waits_for_template(ctx, component_id):
        task.apply_async(args=[component_id], countdown=STAGING_POLL,
                         headers={REQUEST_ID_HEADER: request_id_var.get()})
        return "waiting for its template to be staged"
    work = _claim(ctx, component_id, owner)
    if work is None:
        return None
    if work == BUSY:
        # Its holder may have died: look again once its heartbeat could be stale.
        log.info("component %s is being built by another worker; trying again later",
                 component_id)
        raise task.retry(countdown=backoff(task.request.retries, ctx.settings.job_stale_after / 2))
    job_id_var.set(work.job.id)
    slots = EndpointSlots(ctx.redis, work.zpod.endpoint_id, ctx.settings.endpoint_concurrency,
                          ttl=max(10.0, ctx.settings.job_stale_after))
    if not slots.take(owner):
        _release(ctx, component_id, owner)
        task.apply_async(args=[component_id], countdown=random.uniform(0.5, 2.0),
                         headers={REQUEST_ID_HEADER: request_id_var.get()})
        return "waiting for an endpoint slot"
    run = JobRun(ctx, work.job, owner)
    if work.component.attempts > 1:
        run.emit(EventKind.JOB_RETRYING, f"{work.component.hostname}: resumed (attempt "
                                         f"{work.component.attempts})")
    heartbeat = ItemHeartbeat(ctx, work, owner, slots)
    heartbeat.start()
    calls_before = soap_calls.total
    host = work.component.hostname
    try:
        vm = build(run, work)
    except TransientError as exc:
        ctx.forget_vsphere()
        if task.request.retries < ctx.settings.task_retry_max:
            delay = backoff(task.request.retries, ctx.settings.task_retry_backoff)
            _release(ctx, component_id, owner)
            run.emit(EventKind.JOB_RETRYING, f"{host}: {exc}; retrying in {delay:.0f}s")
            raise task.retry(countdown=delay) from exc
        return _fail(run, work, f"{host}: {exc} (gave up after "
                                f"{task.request.retries + 1} attempts)")
    except JobError as exc:
        return _fail(run, work, f"{host}: {exc}")
    except Exception as exc:  # noqa: BLE001 - the job must end failed, readable, retryable
        log.exception("component %s: unexpected error", component_id)
        return _fail(run, work, f"{host}: internal error ({type(exc).__name__}); see the "
                                f"worker log")
    finally:
        heartbeat.stopped.set()
        slots.release(owner)
        run.soap_calls = soap_calls.total - calls_before
    _done(ctx, run, work, vm)
    return READY


def _variables(work: ItemWork) -> dict[str, str]:
    plan = NetworkPlan(subnet=work.zpod.subnet, vlan=work.zpod.vlan)
    return {"hostname": work.component.hostname, "ip": work.component.ip,
            "netmask": plan.netmask, "prefix": str(plan.network.prefixlen),
            "gateway": plan.gateway, "dns": plan.dns, "ntp": plan.gateway,
            "domain": work.zpod.domain, "password": work.password, "ssh_key": ""}


def _settings_for_guest(work: ItemWork) -> tuple[dict[str, str], dict[str, str]]:
    """(extraConfig, rendered properties) of the component's VM."""
    variables = _variables(work)
    templates = dict((work.library.definition or {}).get("properties") or {}) \
        if work.library else {}
    templates.update(work.component.spec.get("properties") or {})
    try:
        rendered = render_properties(templates, variables)
    except Exception as exc:  # noqa: BLE001 - ours (TemplateError) and Jinja's (undefined...)
        raise PermanentError(f"a property of '{work.component.hostname}' cannot be "
                             f"rendered: {exc}") from None
    extra = {f"guestinfo.{key}": variables[name] for key, name in (
        ("hostname", "hostname"), ("ipaddress", "ip"), ("netmask", "netmask"),
        ("gateway", "gateway"), ("dns", "dns"), ("domain", "domain"),
        ("password", "password"))}
    extra.update(rendered)
    return extra, rendered


def build(run: JobRun, work: ItemWork):
    """Make, configure and start the component's VM; returns it."""
    ctx, component = run.ctx, work.component
    host, name, spec = component.hostname, component.vm_name, component.spec
    si = ctx.vsphere(ctx.access(work.zpod.endpoint))
    placement = (work.job.result or {}).get("placement")
    if not placement:
        raise PermanentError("the deploy job has no recorded placement; retry the job")
    target = machine.Target.from_record(si, placement)
    extra, rendered = _settings_for_guest(work)
    source = ("create" if work.library is None else
              "clone" if work.template_moref else "import")
    made_step = f"{host}: {source}"
    # A first attempt has nothing to find: only a retry looks for what an earlier one made.
    existing = vms_in_folder(si, target.folder).get(name) if component.attempts > 1 else None
    vm, state = existing if existing else (None, None)
    fresh = False
    with run.step(made_step):
        if vm is not None and source == "import" and not run.done(made_step):
            _remove_half_made(run, si, vm, name)
            vm = None
        if vm is None:
            vm = _make(run, si, work, source, target, extra, rendered)
            fresh = source == "create"
        _record_moref(ctx, component.id, vm)
    if not fresh:  # a new empty VM was made with its whole configuration
        with run.step(f"{host}: configure"):
            found = machine.hardware(si, vm)
            if source != "clone" or not machine.matches(found, spec, target):
                devices, vapp = machine.devices_of(found)
                machine.reconfigure(si, vm, machine.reconfig_spec(
                    spec, target, devices, vapp, extra, rendered), name)
    with run.step(f"{host}: power on"):
        if state != POWERED_ON:
            machine.power_on(si, vm, name)
    if _waits_for_ip(spec, work):
        with run.step(f"{host}: guest IP"):
            ip = machine.wait_for_ip(si, vm, name, ctx.settings.guest_ip_timeout)
            if ip != component.ip:
                run.emit(EventKind.PROGRESS, f"{host} reports {ip}, planned {component.ip}")
    return vm


def _waits_for_ip(spec: dict, work: ItemWork) -> bool:
    wanted = spec.get("wait_for_ip")
    return (work.library is not None) if wanted is None else bool(wanted)


def _make(run, si, work: ItemWork, source: str, target, extra: dict, rendered: dict):
    component, spec = work.component, work.component.spec
    if source == "create":
        return machine.create(si, component.vm_name, target, machine.new_vm_config(
            component.vm_name, spec, target, extra))
    if source == "clone":
        template = vim.VirtualMachine(work.template_moref, si._stub)
        devices, vapp = machine.devices_of(machine.hardware(si, template))
        config = machine.reconfig_spec(spec, target, devices, vapp, extra, rendered)
        run.emit(EventKind.PROGRESS, f"{component.hostname}: cloning {work.library.uid}")
        return machine.clone(si, template, component.vm_name, target, config)
    return _import(run, si, work, target)


def _import(run, si, work: ItemWork, target):
    library, host = work.library, work.component.hostname
    if library.status != "ready" or not library.path:
        raise PermanentError(f"component '{library.uid}' is not downloaded (status "
                             f"{library.status}); enable it first")
    path = Path(run.ctx.settings.library_dir) / library.path
    if not path.exists():
        raise PermanentError(f"the file of '{library.uid}' is missing from the library")
    try:
        _, descriptor, _ = read_descriptor(path)
        declared = parse_descriptor(descriptor)
    except OvaError as exc:
        raise PermanentError(f"cannot import '{library.uid}': {exc}") from None
    total = sum(f["size"] for f in declared["files"]) or 1
    last = [-10]

    def progress(done: int, _total: int) -> None:
        percent = int(100 * done / total)
        if percent >= last[0] + 10:
            last[0] = percent
            run.emit(EventKind.PROGRESS, f"{host}: uploading disks of {library.uid} "
                                         f"({percent}%)")

    run.emit(EventKind.PROGRESS, f"{host}: importing {library.uid}")
    return import_ova(
        si, run.ctx.access(work.zpod.endpoint), path, descriptor.decode(),
        name=work.component.vm_name, pool=target.pool, folder=target.folder,
        datastore=target.datastore,
        network_map={n["name"]: target.portgroup for n in declared["networks"]},
        progress=progress, timeout=run.ctx.settings.vsphere_timeout)


def _remove_half_made(run, si, vm, name: str) -> None:
    run.emit(EventKind.PROGRESS, f"removing '{name}', left half-imported by an earlier attempt")
    task = call(f"remove '{name}'", vm.Destroy_Task)
    machine.wait_for_tasks(si, [task], f"remove '{name}'")


def _record_moref(ctx, component_id: int, vm) -> None:
    with transaction(ctx.sessions) as session:
        session.execute(update(Component).where(Component.id == component_id)
                        .values(moref=vm._moId))


def _done(ctx, run: JobRun, work: ItemWork, vm) -> None:
    """Mark the component ready and, if it was its stage's last, advance the job."""
    stage, zpod_id = work.component.stage_index, work.zpod.id
    payloads, send_stage = [], None
    with transaction(ctx.sessions) as session:
        session.execute(update(Component).where(Component.id == work.component.id).values(
            status=READY, claimed_by=None, moref=vm._moId, power_state="poweredOn",
            error=None))
        job = session.get(Job, work.job.id, with_for_update=True, populate_existing=True)
        add_soap_calls(job, run.soap_calls)
        run.soap_calls = 0
        ready = work.total - session.scalar(select(func.count()).select_from(Component).where(
            Component.zpod_id == zpod_id, Component.status != READY))
        percent = min(99, int(100 * ready / max(1, work.total)))
        payloads.append(ctx.events.add(session, job.id, zpod_id, EventKind.PROGRESS,
                                       f"{work.component.hostname} ready", percent))
        if job.status != JobStatus.RUNNING or job.stage != stage:
            pass
        elif not pending_in(session, zpod_id, stage):
            payloads.append(ctx.events.add(
                session, job.id, zpod_id, EventKind.STAGE_FINISHED,
                f"stage '{work.component.stage}' finished", percent))
            following = next_stage(session, zpod_id, stage)
            if following is None:
                title = "deploy" if job.kind == JobKind.DEPLOY else "add component"
                payloads += finish_in(session, run, JobStatus.SUCCEEDED,
                                      (EventKind.JOB_SUCCEEDED, f"{title} succeeded", 100),
                                      on_end=deploy_succeeded)
            else:
                job.stage, send_stage = following, following
                names = session.scalars(select(Component.stage).where(
                    Component.zpod_id == zpod_id, Component.stage_index == following)).all()
                payloads.append(ctx.events.add(
                    session, job.id, zpod_id, EventKind.PROGRESS,
                    stage_started_message(names[0], len(names)), percent))
    for payload in payloads:
        ctx.events.publish(payload)
    if send_stage is not None:
        dispatch(ctx, zpod_id, send_stage)


def _fail(run: JobRun, work: ItemWork, message: str) -> str:
    ctx = run.ctx
    with transaction(ctx.sessions) as session:
        session.execute(update(Component).where(Component.id == work.component.id).values(
            status=ComponentStatus.FAILED, claimed_by=None, error=message))
        payloads = finish_in(session, run, JobStatus.FAILED,
                             (EventKind.JOB_FAILED, message, None), message,
                             on_end=lambda s, job: deploy_failed(s, job, message))
    for payload in payloads:
        ctx.events.publish(payload)
    return JobStatus.FAILED


def deploy_succeeded(session, job) -> None:
    zpod = session.get(Zpod, job.zpod_id)
    zpod.status, zpod.status_message = ZpodStatus.READY, None


def deploy_failed(session, job, message: str) -> None:
    """A failed deploy fails its zPod; a failed addition leaves the zPod as it was, with
    the new component marked failed (retry the job, or remove the component)."""
    zpod = session.get(Zpod, job.zpod_id)
    if job.kind == JobKind.ADD_COMPONENT:
        zpod.status, zpod.status_message = ZpodStatus.READY, f"adding a component failed: " \
                                                             f"{message}"
    else:
        zpod.status, zpod.status_message = ZpodStatus.FAILED, f"deploy failed: {message}"
