"""/api/v1/overlays: named overlay documents a zPod request applies over its profile.

An overlay is a partial profile document (see shared.overlays for the merge
rules), e.g. "bigger hosts" or "no vCenter". It is checked when a request
uses it: the merged result must be a valid profile.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from services.api.context import db, find_by_ref
from services.api.profile_schemas import PROFILE_NAME
from services.api.profiles import request_document
from shared.models import OverlayRecord

blp = Blueprint("overlays", __name__, description="Named overlays for zPod requests")


class OverlayCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Regexp(
        PROFILE_NAME, error="1-64 characters: lowercase letters, digits and '-'"))
    description = fields.String(load_default="")
    document = fields.Dict(required=True, metadata={
        "description": "merged over the profile: mappings merge, lists and scalars replace, "
                       "\"$delete\" removes a key, \"$items\" edits list items by name"})


class OverlayPatchSchema(Schema):
    description = fields.String()
    document = fields.Dict()


class OverlaySchema(OverlayCreateSchema):
    id = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


def _load(schema: Schema) -> dict:
    try:
        return schema.load(request_document())
    except ValidationError as exc:
        abort(422, errors={"json": exc.messages})


def get_overlay_or_404(ref: str) -> OverlayRecord:
    found = find_by_ref(OverlayRecord, ref)
    if found is None:
        abort(404, message=f"overlay '{ref}' not found")
    return found


@blp.route("")
class Overlays(MethodView):
    @blp.response(200, OverlaySchema(many=True))
    def get(self):
        """List named overlays."""
        return db().scalars(select(OverlayRecord).order_by(OverlayRecord.name)).all()

    @blp.response(201, OverlaySchema)
    @blp.doc(requestBody={"content": {"application/json": {"schema": OverlayCreateSchema},
                                      "application/yaml": {"schema": OverlayCreateSchema}}})
    def post(self):
        """Create an overlay (JSON, or YAML with Content-Type application/yaml)."""
        data = _load(OverlayCreateSchema())
        session = db()
        if session.scalar(select(OverlayRecord.id).where(OverlayRecord.name == data["name"])):
            abort(409, message=f"an overlay named '{data['name']}' already exists")
        record = OverlayRecord(**data)
        session.add(record)
        session.commit()
        return record


@blp.route("/<ref>")
class OverlayByRef(MethodView):
    @blp.response(200, OverlaySchema)
    def get(self, ref):
        """Show an overlay."""
        return get_overlay_or_404(ref)

    @blp.response(200, OverlaySchema)
    @blp.doc(requestBody={"content": {"application/json": {"schema": OverlayPatchSchema}}})
    def patch(self, ref):
        """Replace an overlay's description and/or document."""
        record = get_overlay_or_404(ref)
        for key, value in _load(OverlayPatchSchema()).items():
            setattr(record, key, value)
        db().commit()
        return record

    @blp.response(204)
    def delete(self, ref):
        """Delete an overlay (zPods made with it keep their merged configuration)."""
        session = db()
        session.delete(get_overlay_or_404(ref))
        session.commit()
