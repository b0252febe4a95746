"""/api/v1/profiles: what zPods are made of, as JSON or YAML documents.

PATCH takes an overlay merged into the stored document with the rules of
shared.overlays (mappings merge, lists and scalars replace, "$delete",
"$items"), then validates the result like a new profile.
"""

from __future__ import annotations

import yaml
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError
from sqlalchemy import select

from services.api.context import db, find_by_ref
from services.api.profile_schemas import ProfileDocumentSchema, ProfileSchema
from shared.models import ProfileRecord, Zpod
from shared.overlays import OverlayError, merge

blp = Blueprint("profiles", __name__, description="zPod profiles")
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def request_document() -> dict:
    """The body as a mapping, from JSON or (by Content-Type) YAML; 400 when unreadable."""
    if request.mimetype in YAML_TYPES:
        try:
            body = yaml.safe_load(request.get_data(as_text=True))
        except yaml.YAMLError as exc:
            abort(400, message=f"invalid YAML body: {getattr(exc, 'problem', exc)}")
    else:
        body = request.get_json(silent=True)
        if body is None:
            abort(400, message="send a JSON body, or YAML with Content-Type application/yaml")
    if not isinstance(body, dict):
        abort(422, message="a profile document is a mapping (name, description, stages)")
    return body


def validated(document: dict) -> dict:
    try:
        return ProfileDocumentSchema().load(document)
    except ValidationError as exc:
        abort(422, errors={"json": exc.messages})


def get_profile_or_404(ref: str) -> ProfileRecord:
    found = find_by_ref(ProfileRecord, ref)
    if found is None:
        abort(404, message=f"profile '{ref}' not found")
    return found


@blp.route("")
class Profiles(MethodView):
    @blp.response(200, ProfileSchema(many=True))
    def get(self):
        """List profiles."""
        return db().scalars(select(ProfileRecord).order_by(ProfileRecord.name)).all()

    @blp.response(201, ProfileSchema)
    @blp.doc(requestBody={"content": {
        "application/json": {"schema": ProfileDocumentSchema},
        "application/yaml": {"schema": ProfileDocumentSchema}}})
    def post(self):
        """Create a profile from a JSON or YAML document."""
        document = validated(request_document())
        session = db()
        if session.scalar(select(ProfileRecord.id).where(
                ProfileRecord.name == document["name"])):
            abort(409, message=f"a profile named '{document['name']}' already exists")
        record = ProfileRecord(name=document["name"], description=document["description"],
                               document=document)
        session.add(record)
        session.commit()
        return record


@blp.route("/<ref>")
class ProfileByRef(MethodView):
    @blp.response(200, ProfileSchema)
    def get(self, ref):
        """Show a profile's document."""
        return get_profile_or_404(ref)

    @blp.response(200, ProfileSchema)
    def patch(self, ref):
        """Merge an overlay (JSON or YAML) into the profile and validate the result."""
        record = get_profile_or_404(ref)
        try:
            merged = merge(record.document, request_document())
        except OverlayError as exc:
            abort(422, message=str(exc))
        document = validated(merged)
        if document["name"] != record.name:
            abort(422, message="a profile keeps its name; create a new one to rename it")
        record.document, record.description = document, document["description"]
        db().commit()
        return record

    @blp.response(204)
    def delete(self, ref):
        """Delete a profile no live zPod uses."""
        record = get_profile_or_404(ref)
        session = db()
        if session.scalar(select(Zpod.id).where(Zpod.profile == record.name,
                                                Zpod.live_name.is_not(None)).limit(1)):
            abort(409, message=f"live zPods use profile '{record.name}'")
        session.delete(record)
        session.commit()
