"""The download job: one component's file, fetched, verified, inspected, put in place.

Only the job the API recorded as the component's `download_job_id` may
download it, and it takes the component with one conditional UPDATE, so two
enables (or two workers) never download the same component at once. A retry
(connection dropped, worker killed) resumes from the partial file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy import select, update

from services.library.fetch import fetch
from services.library.resolve import resolve
from services.library.transfer import Meter, WriteFailed, human_bytes
from shared.db import transaction
from shared.errors import JobError, PermanentError
from shared.events import EventKind
from shared.library_files import final_path, partial_path, relative
from shared.models import ComponentStatus, LibraryComponent
from shared.ova import OvaError, inspect_ova, is_ova

RESUMABLE = (ComponentStatus.QUEUED, ComponentStatus.DOWNLOADING, ComponentStatus.VERIFYING)


def take(run) -> LibraryComponent | None:
    """The component this job owns, now `downloading`; None when it owns none."""
    with transaction(run.ctx.sessions) as session:
        session.execute(update(LibraryComponent).where(
            LibraryComponent.download_job_id == run.job_id,
            LibraryComponent.status.in_(RESUMABLE),
        ).values(status=ComponentStatus.DOWNLOADING, status_message=None))
        component = session.scalar(select(LibraryComponent).where(
            LibraryComponent.download_job_id == run.job_id))
        if component is not None:
            session.expunge(component)
        return component


def set_status(run, component_id: int, **values) -> None:
    """Update the component while this job owns it; PermanentError once it does not.

    A sync that changes the definition's checksum takes the component from
    its download, which then stops at its next progress report.
    """
    with transaction(run.ctx.sessions) as session:
        done = session.execute(update(LibraryComponent).where(
            LibraryComponent.id == component_id, LibraryComponent.download_job_id == run.job_id,
        ).values(**values))
    if done.rowcount != 1:
        raise PermanentError("the component's definition changed during the download (a "
                             "library sync); this download was abandoned")


def check_space(settings, part: Path, size: int) -> None:
    have = part.stat().st_size if part.exists() else 0
    needed = max(0, size - have)
    probe = part.parent
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < needed + settings.library_min_free:
        raise PermanentError(
            f"not enough free space in {settings.library_dir}: the download needs "
            f"{human_bytes(needed)} and {human_bytes(settings.library_min_free)} must stay free, "
            f"but only {human_bytes(free)} is free")


class DownloadFlow:
    title = "download"

    def run(self, run) -> None:
        component = take(run)
        if component is None or component.status == ComponentStatus.READY:
            run.emit(EventKind.PROGRESS, "this job no longer owns a download; nothing to do")
            return
        settings = run.ctx.settings
        part, final = partial_path(settings, component), final_path(settings, component)
        part.parent.mkdir(parents=True, exist_ok=True)
        if final.exists() and not part.exists():
            final.rename(part)  # put in place by an attempt that died before recording it
        run.total_steps = 3
        with run.step("check free space"):
            check_space(settings, part, component.size)
        with run.step(f"download {component.uid}"):
            digest = self._fetch(run, component, part)
        with run.step("verify and inspect"):
            set_status(run, component.id, status=ComponentStatus.VERIFYING)
            ova = self._verify(component, part, digest)
            os.replace(part, final)
            try:
                set_status(run, component.id, status=ComponentStatus.READY, status_message=None,
                           path=relative(settings, final), ova=ova, bytes_done=component.size,
                           enabled=True)
            except PermanentError:
                final.unlink(missing_ok=True)
                raise

    def _fetch(self, run, component: LibraryComponent, part: Path) -> str:
        settings = run.ctx.settings
        definition = component.definition
        source = resolve(run.ctx, definition["url"], definition.get("headers"))

        def report(percent: int, done: int, message: str) -> None:
            set_status(run, component.id, bytes_done=done)
            run.emit(EventKind.PROGRESS, f"{component.uid}: {message}", percent)

        def notify(message: str) -> None:
            run.emit(EventKind.PROGRESS, f"{component.uid}: {message}")

        meter = Meter(component.size, report, settings.progress_interval)
        timeouts = (settings.download_connect_timeout, settings.download_timeout)
        try:
            return fetch(source, part, component.size, meter, timeouts, notify)
        except JobError as exc:
            raise type(exc)(source.redact(str(exc))) from None
        except WriteFailed as exc:
            raise PermanentError(f"cannot write {part}: {exc}") from None

    def _verify(self, component: LibraryComponent, part: Path, digest: str) -> dict | None:
        if digest != component.sha256:
            part.unlink(missing_ok=True)
            raise PermanentError(f"checksum mismatch: expected {component.sha256}, got {digest}")
        if not is_ova(part):
            return None
        try:
            return inspect_ova(part)
        except OvaError as exc:
            part.unlink(missing_ok=True)
            raise PermanentError(f"the file is not a valid OVA: {exc}") from None

    def on_success(self, session, job) -> None:
        pass

    def on_failure(self, session, job, message: str) -> None:
        session.execute(update(LibraryComponent).where(
            LibraryComponent.download_job_id == job.id,
            LibraryComponent.status != ComponentStatus.READY,
        ).values(status=ComponentStatus.FAILED, status_message=message))
