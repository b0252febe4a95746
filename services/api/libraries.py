"""/api/v1/libraries: where component definitions come from, and syncing them."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select, update

from services.api.context import db
from services.api.jobs import create_job
from services.api.library_schemas import LibraryCreateSchema, LibraryPatchSchema, LibrarySchema
from services.api.schemas import JobSummarySchema
from shared.models import Job, JobKind, Library, LibraryComponent

blp = Blueprint("libraries", __name__, description="Component libraries")


def find_library(ref: str) -> Library | None:
    session = db()
    found = session.scalar(select(Library).where(Library.name == ref))
    if found is None and ref.isdigit():
        found = session.get(Library, int(ref))
    return found


def get_library_or_404(ref: str) -> Library:
    library = find_library(ref)
    if library is None:
        abort(404, message=f"library '{ref}' not found")
    return library


def _sync_running(library: Library) -> Job | None:
    if library.sync_job_id is None:
        return None
    job = db().get(Job, library.sync_job_id)
    return job if job is not None and not job.finished else None


@blp.route("")
class Libraries(MethodView):
    @blp.response(200, LibrarySchema(many=True))
    def get(self):
        """List libraries with their last sync's report."""
        return db().scalars(select(Library).order_by(Library.id)).all()

    @blp.arguments(LibraryCreateSchema)
    @blp.response(201, LibrarySchema)
    def post(self, data):
        """Add a library (a directory, a git repository or an index URL); then sync it."""
        session = db()
        if session.scalar(select(Library.id).where(Library.name == data["name"])):
            abort(409, message=f"a library named '{data['name']}' already exists")
        library = Library(**data)
        session.add(library)
        session.commit()
        return library


@blp.route("/<ref>")
class LibraryByRef(MethodView):
    @blp.response(200, LibrarySchema)
    def get(self, ref):
        """Show a library, by name or id."""
        return get_library_or_404(ref)

    @blp.arguments(LibraryPatchSchema(partial=True))
    @blp.response(200, LibrarySchema)
    def patch(self, data, ref):
        """Change a library's name, kind, source, ref or description; sync it to apply."""
        library = get_library_or_404(ref)
        merged = {key: getattr(library, key) for key in LibraryCreateSchema().fields} | data
        errors = LibraryCreateSchema().validate(merged)
        if errors:
            abort(422, errors={"json": errors})
        for key, value in data.items():
            setattr(library, key, value)
        db().commit()
        return library

    @blp.response(204)
    def delete(self, ref):
        """Delete a library. Its components are kept (files too) but marked removed."""
        library = get_library_or_404(ref)
        running = _sync_running(library)
        if running is not None:
            abort(409, message=f"library '{library.name}' is being synced (job {running.id})")
        session = db()
        session.execute(update(LibraryComponent).where(LibraryComponent.library_id == library.id)
                        .values(library_id=None, removed=True))
        session.delete(library)
        session.commit()


@blp.route("/<ref>/sync", methods=["POST"])
@blp.response(202, JobSummarySchema)
def sync(ref):
    """Queue a job that reads the library and updates its components; the job's result
    (and the library's `last_sync`) reports what was added, updated, removed or invalid."""
    library = get_library_or_404(ref)
    running = _sync_running(library)
    if running is not None:
        return running

    def link(session, job) -> bool:
        library.sync_job_id = job.id
        return True

    job = create_job(JobKind.LIBRARY_SYNC, claim=link)
    return job, 202, {"Location": f"/api/v1/jobs/{job.id}"}
