"""Offline use: a component file uploaded in chunks, resumed from the server's offset,
then matched to its component by sha256."""

from __future__ import annotations

import hashlib

from tests.helpers import wait_for_job
from tests.library_helpers import component, definition, library_with
from tests.ova_builder import build_ova

CHUNK = 20_000


def open_upload(client, filename: str, size: int) -> dict:
    response = client.post("/api/v1/components/upload", json={"filename": filename,
                                                               "size": size})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["offset"] == 0
    return response.get_json()


def send(client, upload_id: str, offset: int, data: bytes):
    return client.patch(f"/api/v1/components/upload/{upload_id}", data=data,
                        headers={"Upload-Offset": str(offset),
                                 "Content-Type": "application/octet-stream"})


def test_chunked_upload_resumes_and_becomes_the_component(client, library_worker, tmp_path,
                                                          settings):
    ova = build_ova(tmp_path / "media" / "offline.ova", name="offline")
    data = ova.read_bytes()
    library_with(client, tmp_path / "defs", definition(
        "offline", "2", "https://unreachable.example/offline.ova", data))
    upload = open_upload(client, "offline.ova", len(data))
    uid = upload["id"]

    assert send(client, uid, 0, data[:CHUNK]).get_json()["offset"] == CHUNK
    # A repeated chunk (the client missed the answer) is refused with the server's offset.
    stale = send(client, uid, 0, data[:CHUNK])
    assert stale.status_code == 409 and stale.headers["Upload-Offset"] == str(CHUNK)
    assert f"at offset {CHUNK}" in stale.get_json()["message"]
    # The client asks where to resume, and goes on from there.
    offset = client.get(f"/api/v1/components/upload/{uid}").get_json()["offset"]
    assert offset == CHUNK
    while offset + CHUNK < len(data):
        response = send(client, uid, offset, data[offset:offset + CHUNK])
        assert response.status_code == 200, response.get_json()
        offset = response.get_json()["offset"]
    last = send(client, uid, offset, data[offset:])
    assert last.status_code == 202, last.get_json()
    job = wait_for_job(client, last.get_json()["job_id"])
    assert job["status"] == "succeeded", job

    shown = component(client, "offline-2")
    assert shown["status"] == "ready" and shown["ova"]["name"] == "offline"
    final = settings.library_dir / "offline" / "2" / "offline.ova"
    assert hashlib.sha256(final.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    done = client.get(f"/api/v1/components/upload/{uid}").get_json()
    assert done["status"] == "imported" and done["component"] == "offline-2"
    assert send(client, uid, len(data), b"x").status_code == 409


def test_upload_matching_no_component_fails_clearly(client, library_worker, tmp_path):
    data = b"nobody defines these bytes" * 100
    upload = open_upload(client, "mystery.bin", len(data))
    response = send(client, upload["id"], 0, data)
    assert response.status_code == 202
    job = wait_for_job(client, response.get_json()["job_id"])
    assert job["status"] == "failed"
    digest = hashlib.sha256(data).hexdigest()
    assert job["error"].startswith(f"no component has sha256 {digest}")
    shown = client.get(f"/api/v1/components/upload/{upload['id']}").get_json()
    assert shown["status"] == "failed" and shown["status_message"] == job["error"]


def test_chunk_past_the_size_is_refused(client, tmp_path):
    upload = open_upload(client, "small.bin", 10)
    response = send(client, upload["id"], 0, b"x" * 11)
    assert response.status_code == 413
    assert client.get(f"/api/v1/components/upload/{upload['id']}").get_json()["offset"] == 0
    bad = client.post("/api/v1/components/upload", json={"filename": "../x", "size": 0})
    assert bad.status_code == 422
    missing = client.patch(f"/api/v1/components/upload/{upload['id']}", data=b"x")
    assert missing.status_code == 422
