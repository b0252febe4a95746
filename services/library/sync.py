"""Syncing a library: read its definitions, upsert its components, report what changed.

New definitions are added, changed ones updated, and components whose
definition disappeared are marked `removed` (their files stay: a live zPod may
use them). A definition whose checksum changed makes a downloaded file stale:
the component goes back to `not_downloaded` and its old file is removed unless
something uses it. Invalid definitions are reported per file and skipped.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from services.library import sources
from services.library.definitions import parse_catalog
from services.library.resolve import resolve
from shared.db import transaction
from shared.events import EventKind
from shared.library_files import component_users, final_path
from shared.models import ComponentStatus, Job, Library, LibraryComponent, utcnow

# Definition fields kept in columns; the rest stays in `definition`.
COLUMNS = ("name", "version", "kind", "description", "sha256", "size", "source_file")


def _library(run) -> Library | None:
    with run.ctx.sessions() as session:
        library = session.scalar(select(Library).where(Library.sync_job_id == run.job_id))
        if library is not None:
            session.expunge(library)
        return library


def read_files(run, library: Library) -> tuple[list[tuple[str, str]], dict]:
    settings = run.ctx.settings
    if library.kind == "directory":
        return sources.directory_files(Path(library.source)), {}
    if library.kind == "git":
        workdir = Path(settings.var_dir) / "git" / f"library-{library.id}"
        commit = sources.git_checkout(library.source, library.ref, workdir, settings.git_timeout)
        return sources.directory_files(workdir), {"commit": commit}
    # Messages name the URL template only: the rendered one may hold a secret.
    index = resolve(run.ctx, library.source)
    return sources.index_files(index.url, index.shown, settings.download_timeout), {}


def _definition(defn: dict) -> dict:
    return {k: v for k, v in defn.items() if k not in ("source_file", "uid")}


def _stale_file(run, session, component: LibraryComponent) -> None:
    """The checksum changed: the downloaded file is not this definition's any more."""
    if component.status == ComponentStatus.NOT_DOWNLOADED:
        return
    path = final_path(run.ctx.settings, component)
    if not component_users(session, component):
        path.unlink(missing_ok=True)
    component.status, component.path, component.bytes_done, component.ova = (
        ComponentStatus.NOT_DOWNLOADED, None, 0, None)
    component.download_job_id = None  # a download under way stops at its next report
    component.status_message = "the definition's checksum changed; enable it to download again"


def _upsert(run, session, library: Library, defn: dict, report: dict) -> None:
    component = session.scalar(select(LibraryComponent).where(
        LibraryComponent.uid == defn["uid"]))
    if component is None:
        session.add(LibraryComponent(uid=defn["uid"], library_id=library.id,
                                     definition=_definition(defn),
                                     **{k: defn.get(k) for k in COLUMNS}))
        report["added"].append(defn["uid"])
        return
    if component.library_id not in (None, library.id) and not component.removed:
        report["errors"].append({"file": defn["source_file"], "message":
                                 f"'{defn['uid']}' is already defined by another library"})
        return
    changed = (component.definition != _definition(defn) or component.removed
               or component.library_id != library.id
               or any(getattr(component, k) != defn.get(k) for k in COLUMNS))
    if not changed:
        report["unchanged"].append(defn["uid"])
        return
    if component.sha256 != defn["sha256"] or component.size != defn["size"]:
        _stale_file(run, session, component)
    for key in COLUMNS:
        setattr(component, key, defn.get(key))
    component.definition, component.library_id, component.removed = (
        _definition(defn), library.id, False)
    report["updated"].append(defn["uid"])


def apply(run, library: Library, definitions: list[dict], errors: list[dict],
          info: dict) -> dict:
    """Upsert and mark removed in one transaction, which also records the report."""
    report = {"added": [], "updated": [], "unchanged": [], "removed": [], "errors": errors,
              **info}
    seen = {d["uid"] for d in definitions}
    with transaction(run.ctx.sessions) as session:
        for defn in definitions:
            _upsert(run, session, library, defn, report)
        for component in session.scalars(select(LibraryComponent).where(
                LibraryComponent.library_id == library.id,
                LibraryComponent.removed.is_(False))):
            if component.uid not in seen:
                component.removed = True
                report["removed"].append(component.uid)
        session.get(Library, library.id).last_sync = report
        job = session.get(Job, run.job_id)
        job.result = {**(job.result or {}), "sync": report}
    return report


def summary(report: dict) -> str:
    counts = [f"{len(report[k])} {k}" for k in ("added", "updated", "removed") if report[k]]
    counts.append(f"{len(report['unchanged'])} unchanged")
    if report["errors"]:
        counts.append(f"{len(report['errors'])} invalid")
    return ", ".join(counts)


class SyncFlow:
    title = "library sync"

    def run(self, run) -> None:
        library = _library(run)
        if library is None:
            run.emit(EventKind.PROGRESS, "the library was deleted or synced again; nothing to do")
            return
        run.total_steps = 2
        with run.step(f"read {library.kind} library '{library.name}'"):
            files, info = read_files(run, library)
            definitions, errors = parse_catalog(files)
        for error in errors:
            run.emit(EventKind.PROGRESS, f"skipped {error['file']}: {error['message']}")
        with run.step(f"update components ({len(definitions)} definitions)"):
            report = apply(run, library, definitions, errors, info)
        run.emit(EventKind.PROGRESS, f"library '{library.name}': {summary(report)}", 99)

    def on_success(self, session, job) -> None:
        library = session.scalar(select(Library).where(Library.sync_job_id == job.id))
        if library is not None:
            library.status, library.status_message, library.synced_at = "ok", None, utcnow()

    def on_failure(self, session, job, message: str) -> None:
        library = session.scalar(select(Library).where(Library.sync_job_id == job.id))
        if library is not None:
            library.status, library.status_message = "error", message
