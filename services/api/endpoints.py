"""/api/v1/endpoints: the vCenters zPods are deployed onto."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from services.api.context import api_context, db
from services.api.jobs import create_job
from services.api.schemas import EndpointCreateSchema, EndpointSchema, JobSummarySchema
from shared.models import Endpoint, JobKind
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
    if endpoint is None:
        abort(404, message=f"endpoint '{ref}' not found")
    return endpoint


@blp.route("")
class Endpoints(MethodView):
    @blp.response(200, EndpointSchema(many=True))
    def get(self):
        """List endpoints."""
        return db().scalars(select(Endpoint).order_by(Endpoint.id)).all()

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
