"""Downloads from real HTTP servers on localhost: resumable, checksummed, with clear failures."""

from __future__ import annotations

import hashlib
import logging

import pytest

from nestlab.fileserver import FileServer
from tests.helpers import wait_for_job
from tests.library_helpers import (
    component,
    definition,
    enable,
    library_with,
    payload,
    write_definitions,
)


@pytest.fixture
def files(tmp_path):
    return payload(tmp_path / "www")


def serve(files, **kwargs) -> FileServer:
    return FileServer(files[0].parent, **kwargs).start()


def test_download_streams_verifies_and_moves_into_place(client, library_worker, settings,
                                                       tmp_path, files):
    path, data = files
    with serve(files) as server:
        library_with(client, tmp_path / "defs", definition("appliance", "1.0",
                                                           server.url("payload.bin"), data))
        job = enable(client, "appliance-1.0")
    assert job["status"] == "succeeded", job
    shown = component(client, "appliance-1.0")
    assert shown["status"] == "ready" and shown["enabled"] and shown["percent"] == 100
    assert shown["path"] == "appliance/1.0/payload.bin"
    final = settings.library_dir / "appliance" / "1.0" / "payload.bin"
    assert hashlib.sha256(final.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert list(final.parent.iterdir()) == [final], "no partial file left behind"
    progress = [e for e in job["events"] if e["kind"] == "progress"]
    assert progress and "5.0 MiB of 5.0 MiB (100%)" in progress[-1]["message"]
    assert "/s" in progress[-1]["message"]
    assert [s["name"] for s in job["steps"]] == [
        "check free space", "download appliance-1.0", "verify and inspect"]


def test_two_enables_make_one_download(client, tmp_path, files, settings, library_worker):
    path, data = files
    with serve(files) as server:
        library_with(client, tmp_path / "defs", definition("twice", "1", server.url("payload.bin"),
                                                           data))
        first = client.post("/api/v1/components/twice-1/enable")
        second = client.post("/api/v1/components/twice-1/enable")
        assert first.status_code == second.status_code == 202
        assert first.get_json()["job_id"] == second.get_json()["job_id"]
        job = wait_for_job(client, first.get_json()["job_id"])
        assert job["status"] == "succeeded", job
        again = client.post("/api/v1/components/twice-1/enable")
        assert again.status_code == 200 and again.get_json()["status"] == "ready"
        assert len(server.requests) == 1
    jobs = client.get("/api/v1/jobs").get_json()
    assert [j["kind"] for j in jobs].count("download") == 1


def test_dropped_connection_resumes_with_range(client, library_worker, tmp_path, files, settings):
    path, data = files
    with serve(files, mode="drop") as server:
        library_with(client, tmp_path / "defs", definition("dropped", "1",
                                                           server.url("payload.bin"), data))
        job = enable(client, "dropped-1")
        assert job["status"] == "succeeded", job
        assert len(server.requests) == 2
        assert "Range" not in server.requests[0][1]
        assert server.requests[1][1]["Range"] == f"bytes={len(data) // 2}-"
    assert job["attempts"] == 2
    assert any("resuming at 2.5 MiB" in e["message"] for e in job["events"])
    final = settings.library_dir / "dropped" / "1" / "payload.bin"
    assert final.read_bytes() == data


def _partial(settings, name: str, version: str, data: bytes):
    part = settings.library_dir / name / version / ".payload.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[: len(data) // 3])
    return part


def test_partial_file_left_by_a_killed_worker_is_resumed(client, library_worker, tmp_path, files,
                                                         settings):
    path, data = files
    _partial(settings, "resumed", "1", data)
    with serve(files) as server:
        library_with(client, tmp_path / "defs", definition("resumed", "1",
                                                           server.url("payload.bin"), data))
        job = enable(client, "resumed-1")
        assert job["status"] == "succeeded", job
        [(_, headers)] = server.requests
        assert headers["Range"] == f"bytes={len(data) // 3}-"
    assert (settings.library_dir / "resumed" / "1" / "payload.bin").read_bytes() == data


def test_server_ignoring_range_starts_over(client, library_worker, tmp_path, files, settings):
    path, data = files
    _partial(settings, "norange", "1", b"x" * len(data))  # a wrong prefix: must be replaced
    with serve(files, mode="norange") as server:
        library_with(client, tmp_path / "defs", definition("norange", "1",
                                                           server.url("payload.bin"), data))
        job = enable(client, "norange-1")
        assert job["status"] == "succeeded", job
        assert len(server.requests) == 1 and "Range" in server.requests[0][1]
    assert any("ignores Range" in e["message"] for e in job["events"])
    assert (settings.library_dir / "norange" / "1" / "payload.bin").read_bytes() == data


@pytest.mark.parametrize("status, words", [
    (404, "404 Not Found: nothing at this URL"),
    (403, "403 Forbidden: the server refused access"),
    (401, "401 Unauthorized: the server asks for credentials"),
])
def test_client_errors_are_permanent_and_clear(client, library_worker, tmp_path, files, status,
                                               words):
    path, data = files
    with serve(files, mode="status", status=status) as server:
        url = server.url("payload.bin")
        library_with(client, tmp_path / "defs", definition("denied", "1", url, data))
        job = enable(client, "denied-1")
        assert len(server.requests) == 1, "not retried"
    assert job["status"] == "failed" and job["attempts"] == 1
    assert job["error"].startswith(f"GET {url}: {words}")
    shown = component(client, "denied-1")
    assert shown["status"] == "failed" and shown["status_message"] == job["error"]


def test_wrong_checksum_fails_and_leaves_no_file(client, library_worker, tmp_path, files,
                                                 settings):
    path, data = files
    wrong = "0" * 64
    with serve(files) as server:
        library_with(client, tmp_path / "defs", definition(
            "corrupt", "1", server.url("payload.bin"), sha256=wrong, size=len(data)))
        job = enable(client, "corrupt-1")
    actual = hashlib.sha256(data).hexdigest()
    assert job["status"] == "failed"
    assert job["error"] == f"checksum mismatch: expected {wrong}, got {actual}"
    assert component(client, "corrupt-1")["status_message"] == job["error"]
    assert list((settings.library_dir / "corrupt" / "1").iterdir()) == []


def test_size_mismatch_is_reported(client, library_worker, tmp_path, files):
    path, data = files
    with serve(files) as server:
        library_with(client, tmp_path / "defs", definition(
            "short", "1", server.url("payload.bin"), data, size=len(data) + 10))
        job = enable(client, "short-1")
    assert job["status"] == "failed"
    assert f"is {len(data)} bytes, the definition says {len(data) + 10}" in job["error"]


def test_transient_503_is_retried(client, library_worker, tmp_path, files):
    path, data = files
    with serve(files, mode="flaky") as server:
        library_with(client, tmp_path / "defs", definition("flaky", "1",
                                                           server.url("payload.bin"), data))
        job = enable(client, "flaky-1")
        assert len(server.requests) == 2
    assert job["status"] == "succeeded" and job["attempts"] == 2
    assert any(e["kind"] == "job_retrying" and "503" in e["message"] for e in job["events"])


def test_redirects_are_followed(client, library_worker, tmp_path, files):
    path, data = files
    with serve(files) as server:
        library_with(client, tmp_path / "defs", definition(
            "moved", "1", server.url("redirect/payload.bin"), data))
        job = enable(client, "moved-1")
        assert [p for p, _ in server.requests] == ["/redirect/payload.bin", "/payload.bin"]
    assert job["status"] == "succeeded", job


def test_file_url_source(client, library_worker, tmp_path, files, settings):
    path, data = files
    library_with(client, tmp_path / "defs", definition("local", "1", path.as_uri(), data))
    job = enable(client, "local-1")
    assert job["status"] == "succeeded", job
    assert (settings.library_dir / "local" / "1" / "payload.bin").read_bytes() == data


def test_secret_setting_is_used_and_never_shown(client, library_worker, tmp_path, files, caplog,
                                                redis_client):
    path, data = files
    token = "vendor-s3cr3t-token"
    response = client.put("/api/v1/settings/vendor_token", json={"value": token})
    assert response.status_code == 200 and response.get_json()["value"] is None
    caplog.set_level(logging.DEBUG)
    with serve(files, token=token) as server:
        url = server.url("payload.bin") + "?token={{ settings.vendor_token }}"
        library_with(client, tmp_path / "defs", definition("vendor", "1", url, data))
        job = enable(client, "vendor-1")
        assert job["status"] == "succeeded", job
        # The token was rendered into the request, and nowhere else.
        client.put("/api/v1/settings/vendor_token", json={"value": "wrong-token-value"})
        client.post("/api/v1/components/vendor-1/disable")
        failed = enable(client, "vendor-1")
    assert failed["status"] == "failed" and "403 Forbidden" in failed["error"]
    assert "{{ settings.vendor_token }}" in failed["error"]
    seen = " ".join([str(job), str(failed), str(client.get("/api/v1/components/vendor-1").json),
                     str(client.get("/api/v1/settings").json), caplog.text,
                     str(redis_client.xrange("nestlab:events"))])
    for secret in (token, "wrong-token-value"):
        assert secret not in seen


def test_missing_setting_fails_with_its_name(client, library_worker, tmp_path, files):
    path, data = files
    library_with(client, tmp_path / "defs", definition(
        "nosetting", "1", "https://example.invalid/a.ova?t={{ settings.nope }}", data))
    job = enable(client, "nosetting-1")
    assert job["status"] == "failed"
    assert job["error"] == "setting 'nope' is not set (PUT /api/v1/settings/nope)"


def test_not_enough_free_space(client, app, tmp_path, files, settings, redis_client):
    from celery.contrib.testing.worker import start_worker

    from services.library.app import create_worker

    path, data = files
    greedy = settings.with_overrides(library_min_free=1 << 60)
    with serve(files) as server, start_worker(create_worker(greedy), pool="solo",
                                              perform_ping_check=False, queues=["library"],
                                              loglevel="WARNING"):
        library_with(client, tmp_path / "defs", definition("big", "1", server.url("payload.bin"),
                                                           data))
        job = enable(client, "big-1")
        assert server.requests == []
    assert job["status"] == "failed"
    assert "not enough free space" in job["error"] and "must stay free" in job["error"]


def test_disable_removes_the_file_unless_in_use(client, app, library_worker, tmp_path, files,
                                                settings):
    from shared.db import transaction
    from shared.models import Component, Endpoint, Zpod

    path, data = files
    library_with(client, tmp_path / "defs", definition("used", "1", path.as_uri(), data))
    assert enable(client, "used-1")["status"] == "succeeded"
    final = settings.library_dir / "used" / "1" / "payload.bin"
    sessions = app.extensions["nestlab"].sessions
    with transaction(sessions) as session:
        endpoint = Endpoint(name="e", host="h", username="u", password_encrypted="x",
                            datacenter="d", cluster="c", datastore="s", switch="w",
                            supernet="10.0.0.0/16", vlan_min=1, vlan_max=2)
        zpod = Zpod(name="z1", live_name="z1", endpoint=endpoint, profile="minimal", domain="d",
                    password_encrypted="x")
        session.add(Component(zpod=zpod, hostname="esxi1", role="esxi", ip="10.0.0.11",
                              vm_name="nestlab-z1-esxi1", spec={"component": "used-1"}))
    refused = client.post("/api/v1/components/used-1/disable")
    assert refused.status_code == 409
    assert "in use by zPod 'z1'" in refused.get_json()["message"]
    assert final.exists()
    with transaction(sessions) as session:
        session.query(Zpod).filter_by(name="z1").one().status = "destroyed"
    done = client.post("/api/v1/components/used-1/disable")
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "not_downloaded" and not done.get_json()["enabled"]
    assert not final.exists()


def test_a_job_that_does_not_own_the_component_downloads_nothing(client, app, library_worker,
                                                                 tmp_path, files):
    from shared.db import transaction
    from shared.models import Job
    from shared.outbox import publish

    path, data = files
    with serve(files) as server:
        library_with(client, tmp_path / "defs", definition("owned", "1",
                                                           server.url("payload.bin"), data))
        assert enable(client, "owned-1")["status"] == "succeeded"
        # A stray second download job (e.g. from another API process) is not the owner.
        ctx = app.extensions["nestlab"]
        with transaction(ctx.sessions) as session:
            stray = Job(kind="download")
            session.add(stray)
            session.flush()
            stray_id = stray.id
        publish(ctx, stray_id, "download")
        job = wait_for_job(client, stray_id)
        assert len(server.requests) == 1
    assert job["status"] == "succeeded"
    assert any("no longer owns a download" in e["message"] for e in job["events"])
    assert component(client, "owned-1")["job_id"] != stray_id


def test_sync_changing_the_checksum_abandons_the_download(client, library_worker, tmp_path,
                                                           files, settings):
    from nestlab.devstack import wait_until
    from shared.contract import Tasks

    path, data = files
    defs = tmp_path / "defs"
    with serve(files, rate=len(data) // 8) as server:  # up to eight seconds
        item = definition("moving", "1", server.url("payload.bin"), data)
        library_with(client, defs, item)
        response = client.post("/api/v1/components/moving-1/enable")
        wait_until(lambda: component(client, "moving-1")["bytes_done"] > 0, 30,
                   "the download to start")
        write_definitions(defs, {**item, "sha256": "1" * 64})
        # The worker is busy downloading: run the sync task here, as a second worker would.
        sync_job = client.post("/api/v1/libraries/lab/sync").get_json()["id"]
        library_worker.tasks[Tasks.SYNC_LIBRARY.name].apply(args=[sync_job])
        assert wait_for_job(client, sync_job)["status"] == "succeeded"
        job = wait_for_job(client, response.get_json()["job_id"])
    assert job["status"] == "failed", [(e["kind"], e["message"]) for e in job["events"]]
    assert "definition changed during the download" in job["error"], job
    shown = component(client, "moving-1")
    assert shown["status"] == "not_downloaded" and shown["sha256"] == "1" * 64
    assert not (settings.library_dir / "moving" / "1" / "payload.bin").exists()


def test_a_stalled_server_times_out_and_the_download_resumes(client, tmp_path, files, settings,
                                                             redis_client):
    from celery.contrib.testing.worker import start_worker

    from services.library.app import create_worker

    path, data = files
    impatient = settings.with_overrides(download_timeout=0.5)
    with serve(files, mode="stall") as server, start_worker(
            create_worker(impatient), pool="solo", perform_ping_check=False,
            queues=["library"], loglevel="WARNING"):
        library_with(client, tmp_path / "defs", definition("stalled", "1",
                                                           server.url("payload.bin"), data))
        job = enable(client, "stalled-1")
        assert server.requests[1][1]["Range"] == f"bytes={len(data) // 2}-"
    assert job["status"] == "succeeded", job
    assert any(e["kind"] == "job_retrying" and "timed out waiting for data" in e["message"]
               for e in job["events"])
    assert (settings.library_dir / "stalled" / "1" / "payload.bin").read_bytes() == data
