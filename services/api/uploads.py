"""/api/v1/components/upload: a component file sent in chunks, for machines offline.

1. ``POST /components/upload`` with ``{"filename", "size"}`` opens an upload;
2. ``PATCH /components/upload/<id>`` with header ``Upload-Offset: N`` and the
   bytes as ``application/octet-stream`` appends a chunk that starts at N;
   a chunk at the wrong offset gets 409 and the server's offset;
3. ``GET /components/upload/<id>`` tells the server's offset, to resume after
   an interruption.

When the last byte arrives, a library job hashes the file and matches it to
the component with that sha256. Chunks are written under an exclusive lock,
so two requests for one upload never interleave.
"""

from __future__ import annotations

import fcntl
import os
import uuid

from flask import request
from flask_smorest import Blueprint, abort
from sqlalchemy import update

from services.api.context import api_context, db
from services.api.jobs import create_job
from services.api.library_schemas import (
    UploadChunkHeadersSchema,
    UploadCreateSchema,
    UploadSchema,
)
from shared.library_files import upload_path
from shared.models import JobKind, LibraryComponent, Upload

blp = Blueprint("uploads", __name__, description="Component files uploaded in chunks")

COPY_CHUNK = 1 << 20


def _offset(upload: Upload) -> int:
    path = upload_path(api_context().settings, upload.id)
    return path.stat().st_size if path.exists() else 0


def upload_view(upload: Upload) -> dict:
    component = db().get(LibraryComponent, upload.component_id) if upload.component_id else None
    return {"id": upload.id, "filename": upload.filename, "size": upload.size,
            "offset": _offset(upload), "status": upload.status,
            "status_message": upload.status_message, "job_id": upload.job_id,
            "component": component.uid if component else None,
            "created_at": upload.created_at}


def get_upload_or_404(upload_id: str) -> Upload:
    upload = db().get(Upload, upload_id)
    if upload is None:
        abort(404, message=f"upload '{upload_id}' not found")
    return upload


@blp.route("", methods=["POST"])
@blp.arguments(UploadCreateSchema)
@blp.response(201, UploadSchema)
def open_upload(data):
    """Open an upload of `size` bytes; send the bytes with PATCH."""
    upload = Upload(id=uuid.uuid4().hex, **data)
    session = db()
    session.add(upload)
    session.commit()
    path = upload_path(api_context().settings, upload.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return upload_view(upload)


@blp.route("/<upload_id>", methods=["GET"])
@blp.response(200, UploadSchema)
def show_upload(upload_id):
    """The upload's status and the server's offset (where to resume)."""
    return upload_view(get_upload_or_404(upload_id))


def _append(path, offset: int, limit: int) -> None:
    """Append the request body at `offset`, under an exclusive lock, at most `limit` bytes."""
    with open(path, "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        current = handle.seek(0, os.SEEK_END)
        if current != offset:
            abort(409, message=f"the upload is at offset {current}, not {offset}; send from "
                               f"{current}", headers={"Upload-Offset": str(current)})
        written = 0
        while chunk := request.stream.read(COPY_CHUNK):
            written += len(chunk)
            if written > limit:
                handle.truncate(current)  # refuse the whole chunk: the offset stays put
                abort(413, message="the chunk goes past the upload's size")
            handle.write(chunk)


@blp.route("/<upload_id>", methods=["PATCH"])
@blp.arguments(UploadChunkHeadersSchema, location="headers")
@blp.response(200, UploadSchema)
def send_chunk(headers, upload_id):
    """Append a chunk (raw bytes) starting at `Upload-Offset`; the last one queues the import
    (202 with `job_id`)."""
    upload = get_upload_or_404(upload_id)
    if upload.status != "receiving":
        abort(409, message=f"upload '{upload_id}' is {upload.status}; it takes no more bytes")
    settings = api_context().settings
    request.max_content_length = settings.upload_chunk_max
    path = upload_path(settings, upload.id)
    _append(path, headers["offset"], upload.size - headers["offset"])
    if path.stat().st_size < upload.size:
        return upload_view(upload)

    def claim(session, job) -> bool:
        taken = session.execute(update(Upload).where(
            Upload.id == upload.id, Upload.status == "receiving",
        ).values(status="complete", job_id=job.id))
        return taken.rowcount == 1

    create_job(JobKind.UPLOAD, claim=claim)
    db().refresh(upload)
    return upload_view(upload), 202, {"Location": f"/api/v1/jobs/{upload.job_id}"}
