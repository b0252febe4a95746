"""The upload job: a file sent to the API in chunks becomes a component's file.

The finished file is hashed, matched to the component with that sha256,
inspected, and moved into place (same filesystem: an atomic rename). The
component is taken with the same conditional UPDATE as a download, so an
upload and a download never fill one component at once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import select, update

from services.library.download import DownloadFlow, set_status
from services.library.transfer import CHUNK, Meter
from shared.db import transaction
from shared.errors import PermanentError
from shared.events import EventKind
from shared.library_files import final_path, relative, upload_path
from shared.models import ComponentStatus, LibraryComponent, Upload

CLAIMABLE = (ComponentStatus.NOT_DOWNLOADED, ComponentStatus.FAILED)


def _upload(run) -> Upload | None:
    with run.ctx.sessions() as session:
        upload = session.scalar(select(Upload).where(Upload.job_id == run.job_id))
        if upload is not None:
            session.expunge(upload)
        return upload


def sha256_file(path: Path, meter: Meter) -> str:
    hasher, done = hashlib.sha256(), 0
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(CHUNK)
        while count := handle.readinto(buffer):
            hasher.update(memoryview(buffer)[:count])
            done += count
            meter.update(done)
    return hasher.hexdigest()


def match(run, upload: Upload, digest: str, size: int) -> LibraryComponent:
    """Take the component with this checksum for this job, or say why not."""
    with transaction(run.ctx.sessions) as session:
        found = list(session.scalars(select(LibraryComponent).where(
            LibraryComponent.sha256 == digest).order_by(LibraryComponent.removed,
                                                        LibraryComponent.id)))
        if not found:
            raise PermanentError(f"no component has sha256 {digest}: sync the library that "
                                 "defines it, then upload again")
        component = found[0]
        if component.size != size:
            raise PermanentError(f"'{component.uid}' is {component.size} bytes, the upload "
                                 f"{size}")
        session.execute(update(LibraryComponent).where(
            LibraryComponent.id == component.id,
            (LibraryComponent.download_job_id == run.job_id)
            | LibraryComponent.status.in_(CLAIMABLE),
        ).values(status=ComponentStatus.VERIFYING, download_job_id=run.job_id))
        session.refresh(component)
        session.get(Upload, upload.id).component_id = component.id
        session.expunge(component)
    if component.download_job_id != run.job_id and component.status != ComponentStatus.READY:
        raise PermanentError(f"'{component.uid}' is being downloaded (job "
                             f"{component.download_job_id}); the upload was not used")
    return component


class UploadFlow:
    title = "import upload"

    def run(self, run) -> None:
        upload = _upload(run)
        path = upload_path(run.ctx.settings, upload.id) if upload else None
        if upload is None or not path.exists():
            run.emit(EventKind.PROGRESS, "the upload is gone or was imported; nothing to do")
            return
        run.total_steps = 3
        try:
            self._import(run, upload, path)
        except PermanentError:
            path.unlink(missing_ok=True)  # the client must upload again anyway
            raise

    def _import(self, run, upload: Upload, path: Path) -> None:
        with run.step(f"checksum {upload.filename}"):
            size = path.stat().st_size
            meter = Meter(size, lambda p, d, m: run.emit(EventKind.PROGRESS, f"hashing: {m}", p),
                          run.ctx.settings.progress_interval)
            digest = sha256_file(path, meter)
        with run.step("match a component"):
            component = match(run, upload, digest, size)
            run.emit(EventKind.PROGRESS, f"{upload.filename} is {component.uid}")
        with run.step("inspect and put in place"):
            if component.status == ComponentStatus.READY:
                path.unlink()
                return
            ova = DownloadFlow()._verify(component, path, digest)
            final = final_path(run.ctx.settings, component)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, final)
            set_status(run, component.id, status=ComponentStatus.READY, status_message=None,
                       path=relative(run.ctx.settings, final), ova=ova,
                       bytes_done=component.size, enabled=True)

    def on_success(self, session, job) -> None:
        session.execute(update(Upload).where(Upload.job_id == job.id).values(
            status="imported", status_message=None))

    def on_failure(self, session, job, message: str) -> None:
        session.execute(update(Upload).where(Upload.job_id == job.id).values(
            status="failed", status_message=message))
        session.execute(update(LibraryComponent).where(
            LibraryComponent.download_job_id == job.id,
            LibraryComponent.status != ComponentStatus.READY,
        ).values(status=ComponentStatus.FAILED, status_message=message))
