"""One JSON error envelope for the whole API.

Every error, from a schema's 422 to an unexpected 500, answers
``{"code": 404, "status": "Not Found", "message": "...", "errors": {...}}``
(``errors`` only when there are field-level details). Stack traces go to the
log, never to the client.
"""

from __future__ import annotations

import logging

from flask import jsonify
from flask_smorest import Api
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class ErrorSchema(Schema):
    code = fields.Integer(metadata={"description": "HTTP status code"})
    status = fields.String(metadata={"description": "HTTP status name"})
    message = fields.String(metadata={"description": "What went wrong, for a person"})
    errors = fields.Dict(metadata={"description": "Field-level details, by location and field"})


def envelope(code: int, status: str, message: str, errors: dict | None = None) -> dict:
    body = {"code": code, "status": status, "message": message}
    if errors:
        body["errors"] = errors
    return body


INVALID = "the request is not valid; see errors for each field"


def describe(error: HTTPException) -> tuple[str, dict | None]:
    """The message and field errors an HTTP error (e.g. from `abort`) carries."""
    data = getattr(error, "data", {}) or {}
    message = data.get("message") or error.description or error.name
    errors = data.get("errors") or data.get("messages")
    if errors and not data.get("message"):
        message = INVALID
    return message, errors


class NestlabApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        message, errors = describe(error)
        if isinstance(error, InternalServerError) and error.original_exception is not None:
            log.error("unhandled error", exc_info=error.original_exception)
            message = "internal error; the server log has the details"
        data = getattr(error, "data", {}) or {}
        response = jsonify(envelope(error.code, error.name, message, errors))
        response.status_code = error.code
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        return response
