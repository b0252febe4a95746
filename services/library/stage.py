"""The stage job: a ready component imported once onto an endpoint as a template.

The template is VM `nestlab-tpl-<uid>` in folder `nestlab-templates`. Only the
job recorded on the (component, endpoint) row may stage it, taken with one
conditional UPDATE, so two zPods needing the same template never upload it
twice. A retry finds a finished template and keeps it, or removes a VM left
half-imported by an interrupted attempt and imports again.
"""

from __future__ import annotations

from pathlib import Path

from pyVmomi import vim
from sqlalchemy import select, update

from services.library.transfer import Meter
from shared.db import transaction
from shared.events import EventKind
from shared.library_files import TEMPLATES_FOLDER
from shared.models import ComponentStatus, StagedTemplate, TemplateStatus
from shared.ova import OvaError, parse_descriptor, read_descriptor
from shared.vsphere.collector import properties, retrieve, wait_for_tasks
from shared.vsphere.errors import PermanentError
from shared.vsphere.inventory import call, child_named, ensure_folder, locate
from shared.vsphere.ovf_import import import_ova


def take(run) -> StagedTemplate | None:
    with transaction(run.ctx.sessions) as session:
        session.execute(update(StagedTemplate).where(
            StagedTemplate.job_id == run.job_id,
            StagedTemplate.status.in_([TemplateStatus.QUEUED, TemplateStatus.STAGING]),
        ).values(status=TemplateStatus.STAGING, status_message=None))
        template = session.scalar(select(StagedTemplate).where(
            StagedTemplate.job_id == run.job_id))
        if template is not None:
            template.component, template.endpoint  # noqa: B018 - load before expunging
            session.expunge_all()
        return template


def network_map(si, place, declared: list[dict]) -> dict:
    """Each OVF network to the same-named vCenter network, else to a VM network.

    The deployer reconnects NICs when it clones, so a template's NICs only need
    a valid network.
    """
    found = {p["name"]: obj for obj, p in retrieve(si, place.datacenter, vim.Network, ["name"])}
    fallback = found.get("VM Network") or next(
        (obj for name, obj in found.items() if "uplink" not in name.lower()), None)
    mapping = {}
    for network in declared:
        target = found.get(network["name"]) or fallback
        if target is not None:
            mapping[network["name"]] = target
    return mapping


def is_template(si, vm) -> bool:
    return bool(properties(si, [vm], vim.VirtualMachine, ["config.template"])
                [vm._moId].get("config.template"))


class StageFlow:
    title = "stage template"

    def run(self, run) -> None:
        template = take(run)
        if template is None or template.status == TemplateStatus.READY:
            run.emit(EventKind.PROGRESS, "this job no longer owns a staging; nothing to do")
            return
        component, endpoint = template.component, template.endpoint
        ova = self._ova(run, component)
        si = run.ctx.vsphere(run.ctx.access(endpoint))
        place = locate(si, endpoint, need_switch=False)
        run.total_steps = 3
        with run.step(f"folder {TEMPLATES_FOLDER}"):
            folder = ensure_folder(si, place.vm_folder, TEMPLATES_FOLDER)
        with run.step(f"import {component.uid} as {template.name}"):
            vm = self._existing(run, si, folder, template.name)
            if vm is None:
                vm = self._import(run, si, endpoint, place, folder, template, ova)
            self._record(run, template.id, moref=vm._moId)
        with run.step("mark as template"):
            if not is_template(si, vm):
                call(f"mark '{template.name}' as a template", vm.MarkAsTemplate)

    def _ova(self, run, component) -> Path:
        if component.status != ComponentStatus.READY or not component.path:
            raise PermanentError(f"component '{component.uid}' is not downloaded (status "
                                 f"{component.status}); enable it first")
        path = Path(run.ctx.settings.library_dir) / component.path
        if not path.exists():
            raise PermanentError(f"the file of '{component.uid}' is missing from the library")
        return path

    def _existing(self, run, si, folder, name: str):
        vm = child_named(si, folder, vim.VirtualMachine, name)
        if vm is None or is_template(si, vm):
            return vm
        run.emit(EventKind.PROGRESS, f"removing '{name}', left half-imported by an earlier "
                                     "attempt")
        task = call(f"remove '{name}'", vm.Destroy_Task)
        wait_for_tasks(si, [task], f"remove '{name}'")
        return None

    def _import(self, run, si, endpoint, place, folder, template, ova: Path):
        try:
            _, descriptor, _ = read_descriptor(ova)
            declared = parse_descriptor(descriptor)
        except OvaError as exc:
            raise PermanentError(f"cannot stage '{template.component.uid}': {exc}") from None

        def report(percent: int, done: int, message: str) -> None:
            run.emit(EventKind.PROGRESS, f"uploading disks: {message}", percent)

        meter = Meter(sum(f["size"] for f in declared["files"]) or 1, report,
                      run.ctx.settings.progress_interval)
        return import_ova(
            si, run.ctx.access(endpoint), ova, descriptor.decode(), name=template.name,
            pool=place.root_pool, folder=folder, datastore=place.datastore,
            network_map=network_map(si, place, declared["networks"]),
            # The last figure always goes out, however fast the upload was.
            progress=lambda done, total: meter.update(done, force=done >= total),
            timeout=run.ctx.settings.vsphere_timeout)

    def _record(self, run, template_id: int, **values) -> None:
        with transaction(run.ctx.sessions) as session:
            session.execute(update(StagedTemplate).where(StagedTemplate.id == template_id)
                            .values(**values))

    def on_success(self, session, job) -> None:
        session.execute(update(StagedTemplate).where(StagedTemplate.job_id == job.id).values(
            status=TemplateStatus.READY, status_message=None))

    def on_failure(self, session, job, message: str) -> None:
        session.execute(update(StagedTemplate).where(
            StagedTemplate.job_id == job.id, StagedTemplate.status != TemplateStatus.READY,
        ).values(status=TemplateStatus.FAILED, status_message=message))
