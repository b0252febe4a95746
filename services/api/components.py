"""/api/v1/components: the library's appliance images — list, show, enable (download),
disable (remove the file), stage onto an endpoint as a template."""

from __future__ import annotations

from flask_smorest import Blueprint, abort
from sqlalchemy import select, update

from services.api.context import api_context, db
from services.api.endpoints import get_endpoint_or_404
from services.api.jobs import create_job
from services.api.libraries import get_library_or_404
from services.api.library_schemas import (
    ComponentListQuerySchema,
    LibraryComponentDetailSchema,
    LibraryComponentSchema,
    StageSchema,
    TemplateSchema,
)
from shared.library_files import component_users, final_path, partial_path
from shared.models import (
    ComponentStatus,
    JobKind,
    LibraryComponent,
    TemplateStatus,
)
from shared.staging import attach_job, template_row

blp = Blueprint("components", __name__, description="Library components (appliance images)")

DOWNLOADABLE = (ComponentStatus.NOT_DOWNLOADED, ComponentStatus.FAILED)
BUSY = (ComponentStatus.QUEUED, ComponentStatus.DOWNLOADING, ComponentStatus.VERIFYING)


def get_component_or_404(uid: str) -> LibraryComponent:
    found = db().scalar(select(LibraryComponent).where(LibraryComponent.uid == uid))
    if found is None:
        abort(404, message=f"component '{uid}' not found")
    return found


@blp.route("")
@blp.arguments(ComponentListQuerySchema, location="query")
@blp.response(200, LibraryComponentSchema(many=True))
def list_components(query):
    """List components, filtered by kind, status or library."""
    statement = select(LibraryComponent).order_by(LibraryComponent.uid)
    if query.get("kind"):
        statement = statement.where(LibraryComponent.kind == query["kind"])
    if query.get("status"):
        statement = statement.where(LibraryComponent.status == query["status"])
    if query.get("library"):
        library = get_library_or_404(query["library"])
        statement = statement.where(LibraryComponent.library_id == library.id)
    if not query["removed"]:
        statement = statement.where(LibraryComponent.removed.is_(False))
    return db().scalars(statement).all()


@blp.route("/<uid>")
@blp.response(200, LibraryComponentDetailSchema)
def get_component(uid):
    """A component with its download status, what its OVA declares, and its templates."""
    return get_component_or_404(uid)


@blp.route("/<uid>/enable", methods=["POST"])
@blp.response(202, LibraryComponentSchema)
def enable(uid):
    """Queue the component's download (202 with `job_id`); 200 when it is ready already.

    Enabling twice queues one download: the job is bound to the component with
    a conditional update, and a second request answers with the same job.
    """
    component = get_component_or_404(uid)
    if component.removed:
        abort(409, message=f"'{uid}' is no longer defined by a library; it cannot be downloaded")

    def claim(session, job) -> bool:
        taken = session.execute(update(LibraryComponent).where(
            LibraryComponent.id == component.id, LibraryComponent.status.in_(DOWNLOADABLE),
        ).values(status=ComponentStatus.QUEUED, status_message=None, download_job_id=job.id,
                 enabled=True))
        return taken.rowcount == 1

    job = create_job(JobKind.DOWNLOAD, claim=claim)
    db().refresh(component)
    if job is None and component.status == ComponentStatus.READY:
        return component, 200
    return component, 202, {"Location": f"/api/v1/jobs/{component.download_job_id}"}


@blp.route("/<uid>/disable", methods=["POST"])
@blp.response(200, LibraryComponentSchema)
def disable(uid):
    """Remove the component's file, unless a live zPod or a staging still uses it."""
    component = get_component_or_404(uid)
    session = db()
    if component.status in BUSY:
        abort(409, message=f"'{uid}' is being downloaded (job {component.download_job_id}); "
                           "wait for it to end")
    users = component_users(session, component)
    if users:
        abort(409, message=f"'{uid}' is in use by {', '.join(users)}; its file is kept")
    settings = api_context().settings
    for path in (final_path(settings, component), partial_path(settings, component)):
        path.unlink(missing_ok=True)
    component.status, component.status_message, component.enabled = (
        ComponentStatus.NOT_DOWNLOADED, None, False)
    component.path, component.bytes_done = None, 0
    session.commit()
    return component


@blp.route("/<uid>/stage", methods=["POST"])
@blp.arguments(StageSchema)
@blp.response(202, TemplateSchema)
def stage(data, uid):
    """Import the component once onto an endpoint as a template (folder nestlab-templates).

    Answers 200 when the template is there already, and the running job's
    template (202) when a staging is under way: it is never uploaded twice.
    """
    component = get_component_or_404(uid)
    endpoint = get_endpoint_or_404(data["endpoint"])
    if component.status != ComponentStatus.READY:
        abort(409, message=f"'{uid}' is not downloaded (status {component.status}); "
                           "enable it first")
    session = db()
    template = template_row(session, component.id, component.uid, endpoint.id)
    job = create_job(JobKind.STAGE, endpoint_id=endpoint.id,
                     claim=lambda session, job: attach_job(session, template.id, job.id))
    session.refresh(template)
    if job is None and template.status == TemplateStatus.READY:
        return template, 200
    return template, 202, {"Location": f"/api/v1/jobs/{template.job_id}"}
