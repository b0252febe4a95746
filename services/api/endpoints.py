"""/api/v1/endpoints: the vCenters zPods are deployed onto."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from services.api import capacity as endpoint_capacity
from services.api.access import (
    current_user,
    is_admin,
    may_use_endpoint,
    require_admin,
    usable_endpoints,
)
from services.api.context import api_context, db
from services.api.grants import grant
from services.api.jobs import create_job
from services.api.schemas import (
    EndpointCapacitySchema,
    EndpointCreateSchema,
    EndpointSchema,
    JobSummarySchema,
)
from services.api.user_schemas import EndpointPermissionCreateSchema, PermissionSchema
from shared.models import Endpoint, EndpointPermission, JobKind
from shared.netplan import parse_vlan_range

blp = Blueprint("endpoints", __name__, description="vCenter endpoints")


def find_endpoint(ref: str | int) -> Endpoint | None:
    session = db()
    if isinstance(ref, int) or str(ref).isdigit():
        found = session.get(Endpoint, int(ref))
        if found is not None:
            return found
    return session.scalar(select(Endpoint).where(Endpoint.name == str(ref)))


def get_endpoint_or_404(ref: str) -> Endpoint:
    endpoint = find_endpoint(ref)
    if endpoint is None or not may_use_endpoint(db(), endpoint.id):
        abort(404, message=f"endpoint '{ref}' not found")
    return endpoint


@blp.route("")
class Endpoints(MethodView):
    @blp.response(200, EndpointSchema(many=True))
    def get(self):
        """List endpoints (those the caller may use, for a user)."""
        statement = select(Endpoint).order_by(Endpoint.id)
        if not is_admin():
            statement = statement.where(usable_endpoints(current_user().id))
        return db().scalars(statement).all()

    @blp.arguments(EndpointCreateSchema)
    @blp.response(201, EndpointSchema)
    def post(self, data):
        """Register a vCenter endpoint. The password is stored encrypted and never returned."""
        session = db()
        if session.scalar(select(Endpoint.id).where(Endpoint.name == data["name"])):
            abort(409, message=f"an endpoint named '{data['name']}' already exists")
        vlan_min, vlan_max = parse_vlan_range(data.pop("vlan_range"))
        password = data.pop("password")
        endpoint = Endpoint(**data, vlan_min=vlan_min, vlan_max=vlan_max,
                            password_encrypted=api_context().secrets.encrypt(password))
        session.add(endpoint)
        session.commit()
        return endpoint


@blp.route("/<ref>")
class EndpointById(MethodView):
    @blp.response(200, EndpointSchema)
    def get(self, ref):
        """Show one endpoint, by id or name."""
        return get_endpoint_or_404(ref)


@blp.route("/<ref>/verify", methods=["POST"])
@blp.response(202, JobSummarySchema)
def verify(ref):
    """Queue a job that logs in and checks the datacenter, cluster, datastore and switch."""
    endpoint = get_endpoint_or_404(ref)
    return create_job(JobKind.VERIFY, endpoint_id=endpoint.id)



@blp.route("/<ref>/capacity")
@blp.response(200, EndpointCapacitySchema)
def capacity(ref):
    """CPU, memory and storage of the endpoint's cluster and datastore (as the deployer
    last read them: `read_at`), what nestlab's live zPods hold, what is free for new
    ones after the overcommit ratios, and its VLAN ids and subnets.

    Figures appear once the endpoint is verified and are refreshed periodically.
    """
    endpoint = get_endpoint_or_404(ref)
    return endpoint_capacity.figures(db(), endpoint, api_context().settings)


@blp.route("/<ref>/permissions")
class EndpointPermissions(MethodView):
    @blp.response(200, PermissionSchema(many=True))
    def get(self, ref):
        """Who may deploy zPods onto this endpoint (admins)."""
        require_admin()
        endpoint = get_endpoint_or_404(ref)
        rows = db().scalars(select(EndpointPermission).where(
            EndpointPermission.endpoint_id == endpoint.id).order_by(EndpointPermission.id))
        return rows

    @blp.arguments(EndpointPermissionCreateSchema)
    @blp.response(201, PermissionSchema)
    def post(self, data, ref):
        """Grant a user or a group `use` of the endpoint (admins)."""
        endpoint = get_endpoint_or_404(ref)
        return grant(db(), EndpointPermission, {"endpoint_id": endpoint.id}, data)


@blp.route("/<ref>/permissions/<int:permission_id>", methods=["DELETE"])
@blp.response(204)
def revoke_permission(ref, permission_id):
    """Take a grant back (admins)."""
    endpoint = get_endpoint_or_404(ref)
    session = db()
    permission = session.get(EndpointPermission, permission_id)
    if permission is None or permission.endpoint_id != endpoint.id:
        abort(404, message=f"permission {permission_id} not found on endpoint '{ref}'")
    session.delete(permission)
    session.commit()
