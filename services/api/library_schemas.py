"""Request and response schemas of the library resources: settings, libraries,
components, staged templates and uploads."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from shared.models import ComponentStatus
from shared.templating import TemplateError, settings_used

LIBRARY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
LIBRARY_KINDS = ("directory", "git", "url")
COMPONENT_KINDS = ("esxi", "router", "vcenter", "ova")


class SettingPutSchema(Schema):
    value = fields.String(required=True, load_only=True,
                          validate=validate.Length(min=1, max=8192))
    secret = fields.Boolean(load_default=True, metadata={
        "description": "stored encrypted and never returned (default true)"})


class SettingSchema(Schema):
    name = fields.String()
    secret = fields.Boolean()
    value = fields.Function(lambda s: None if s.secret else s.value, allow_none=True,
                            metadata={"description": "null for a secret setting"})
    updated_at = fields.DateTime()


class LibraryCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Regexp(
        LIBRARY_NAME, error="1-64 characters: letters, digits, '_', '.', '-'"))
    kind = fields.String(required=True, validate=validate.OneOf(LIBRARY_KINDS))
    source = fields.String(required=True, validate=validate.Length(min=1, max=2000), metadata={
        "description": "directory: an absolute path on the library workers; git: a repository "
                       "URL or path; url: an https:// index file (may use {{ settings.x }})"})
    ref = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                        metadata={"description": "git: the branch, tag or commit (default HEAD)"})
    description = fields.String(load_default=None, allow_none=True)

    @validates_schema
    def _source(self, data: dict, partial=False, **_) -> None:
        kind, source = data.get("kind"), data.get("source")
        if kind is None or source is None:
            return
        if kind == "directory" and not source.startswith("/"):
            raise ValidationError("a directory library needs an absolute path", "source")
        if kind == "url":
            if not source.lower().startswith(("https://", "http://")):
                raise ValidationError("an index URL starts with https:// or http://", "source")
            try:
                settings_used(source)
            except TemplateError as exc:
                raise ValidationError(str(exc), "source") from exc
        if data.get("ref") and kind != "git":
            raise ValidationError("only a git library has a ref", "ref")


class LibraryPatchSchema(LibraryCreateSchema):
    """Any of the fields; the result is validated whole (load it with partial=True)."""


class LibrarySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    source = fields.String()
    ref = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "new, ok or error (of the last sync)"})
    status_message = fields.String(allow_none=True)
    sync_job_id = fields.Integer(allow_none=True)
    last_sync = fields.Dict(metadata={
        "description": "the last sync's report: added, updated, unchanged, removed, errors"})
    synced_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ComponentListQuerySchema(Schema):
    kind = fields.String(validate=validate.OneOf(COMPONENT_KINDS))
    status = fields.String(validate=validate.OneOf([s.value for s in ComponentStatus]))
    library = fields.String(metadata={"description": "library name or id"})
    removed = fields.Boolean(load_default=False,
                             metadata={"description": "include components no library defines"})


class TemplateSchema(Schema):
    endpoint = fields.Function(lambda t: t.endpoint.name)
    name = fields.String()
    status = fields.String(metadata={"description": "queued, staging, ready or failed"})
    status_message = fields.String(allow_none=True)
    moref = fields.String(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime()


class LibraryComponentSchema(Schema):
    uid = fields.String()
    name = fields.String()
    version = fields.String()
    kind = fields.String()
    description = fields.String(allow_none=True)
    library = fields.Function(lambda c: c.library.name if c.library else None, allow_none=True)
    source_file = fields.String(allow_none=True)
    url = fields.Function(lambda c: c.definition.get("url"), metadata={
        "description": "the URL template; settings are filled in by the worker only"})
    sha256 = fields.String()
    size = fields.Integer()
    sizing = fields.Function(lambda c: c.definition.get("sizing") or {})
    properties = fields.Function(lambda c: c.definition.get("properties") or {})
    removed = fields.Boolean()
    enabled = fields.Boolean()
    status = fields.String(metadata={"description": "not_downloaded, queued, downloading, "
                                                    "verifying, ready or failed"})
    status_message = fields.String(allow_none=True)
    bytes_done = fields.Integer()
    percent = fields.Function(lambda c: min(100, int(100 * c.bytes_done / c.size)) if c.size
                              else None)
    path = fields.String(allow_none=True)
    job_id = fields.Integer(attribute="download_job_id", allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class LibraryComponentDetailSchema(LibraryComponentSchema):
    ova = fields.Dict(allow_none=True, metadata={
        "description": "what the OVF descriptor declares: hardware, disks, networks, nics, "
                       "properties (key, type, default), products, files"})
    templates = fields.List(fields.Nested(TemplateSchema))


class StageSchema(Schema):
    endpoint = fields.String(required=True, metadata={"description": "endpoint name or id"})


class UploadCreateSchema(Schema):
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))

    @validates("filename")
    def _filename(self, value: str, **_) -> None:
        if "/" in value or value in (".", ".."):
            raise ValidationError("a plain file name, without a path")


class UploadChunkHeadersSchema(Schema):
    offset = fields.Integer(required=True, data_key="Upload-Offset",
                            validate=validate.Range(min=0),
                            metadata={"description": "where this chunk starts"})


class UploadSchema(Schema):
    id = fields.String()
    filename = fields.String()
    size = fields.Integer()
    offset = fields.Integer(metadata={"description": "bytes received so far: send from here"})
    status = fields.String(metadata={"description": "receiving, complete, imported or failed"})
    status_message = fields.String(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    component = fields.String(allow_none=True, metadata={"description": "the matched uid"})
    created_at = fields.DateTime()
