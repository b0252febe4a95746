"""The live event stream (SSE) over real HTTP: a werkzeug server in a thread, a real
deployer worker deploying on the simulator, a client that disconnects and resumes."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from werkzeug.serving import make_server

from nestlab import devstack
from tests.conftest import endpoint_body
from tests.helpers import sse_messages

SLOW_SOAP = "CreateFolder=200,CreateVM_Task=300,PowerOnVM_Task=300,AddDVPortgroup_Task=300"


@pytest.fixture
def server(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture
def slow_simulator(tmp_path, vcsim_binary):
    sim = devstack.start_vcsim(None, tmp_path / "sim", binary=vcsim_binary,
                               flags=["-method-delay", SLOW_SOAP])
    yield sim
    sim.stop()


@pytest.fixture
def http(admin_token):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {admin_token}"
    yield session
    session.close()


def sse(response):
    """Parse a text/event-stream body into dicts (a comment is {'comment': ...})."""
    return sse_messages(response.iter_lines(chunk_size=None, decode_unicode=True))


def open_stream(http, url, **headers):
    response = http.get(url, headers={"Accept": "text/event-stream", **headers}, stream=True,
                        timeout=(5, 10))
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["X-Accel-Buffering"] == "no"
    return response


def test_job_stream_resumes_after_a_reconnect_without_gaps_or_duplicates(
        server, http, worker, slow_simulator):
    assert http.post(f"{server}/api/v1/endpoints",
                     json=endpoint_body(slow_simulator)).status_code == 201
    job_id = http.post(f"{server}/api/v1/zpods", json={
        "name": "live", "endpoint": "sim", "profile": "minimal"}).json()["job_id"]
    url = f"{server}/api/v1/jobs/{job_id}/events"

    first = []
    response = open_stream(http, url)
    for message in sse(response):
        if "id" in message:
            first.append(message)
        if len(first) == 3:
            break
    response.close()  # the client drops the connection mid-job
    status_at_reconnect = http.get(f"{server}/api/v1/jobs/{job_id}").json()["status"]

    second, comments, ended = [], [], None
    response = open_stream(http, url, **{"Last-Event-ID": first[-1]["id"]})
    for message in sse(response):
        if "comment" in message:
            comments.append(message["comment"])
        elif message.get("event") == "end":
            ended = message
        elif "id" in message:
            second.append(message)
    # The server closed the stream by itself once the job had ended.
    assert ended is not None
    assert status_at_reconnect == "running"  # so the rest came live, not from the backlog

    got = [json.loads(m["data"]) for m in first + second]
    stored = http.get(url).json()  # without the header: the stored list
    assert [e["seq"] for e in got] == list(range(1, len(stored) + 1))
    assert got == stored
    assert [int(m["id"]) for m in first + second] == [e["seq"] for e in stored]
    assert [m["event"] for m in first + second] == [e["kind"] for e in stored]
    assert stored[-1]["kind"] == "job_succeeded"

    # Reconnecting after the end: 204, which tells EventSource to stop.
    done = http.get(url, headers={"Accept": "text/event-stream",
                                  "Last-Event-ID": str(stored[-1]["seq"])})
    assert done.status_code == 204

    # The global stream, by event id, resumes the same way.
    everything = http.get(f"{server}/api/v1/events", params={"limit": 1000}).json()
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids) and len(ids) >= len(stored)
    response = open_stream(http, f"{server}/api/v1/events?after=0")
    head = []
    for message in sse(response):
        if "id" in message:
            head.append(message)
        if len(head) == 2:
            break
    response.close()
    response = open_stream(http, f"{server}/api/v1/events",
                           **{"Last-Event-ID": head[-1]["id"]})
    tail = []
    for message in sse(response):
        if "id" in message:
            tail.append(message)
        if len(tail) == len(ids) - 2:
            break
    response.close()
    assert [int(m["id"]) for m in head + tail] == ids


def test_a_quiet_stream_sends_keep_alives_and_starts_at_the_newest_event(server, http):
    response = open_stream(http, f"{server}/api/v1/events")
    received = []
    for message in sse(response):
        received.append(message)
        if "comment" in message:
            break
    response.close()
    assert received == [{"retry": "500"}, {"comment": "keep-alive"}]


def test_streams_are_capped_per_process(app, client):
    from services.api import create_app

    small = create_app(app.extensions["nestlab"].settings.with_overrides(sse_max_streams=1))
    small_client = small.test_client()
    small_client.environ_base.update(client.environ_base)
    headers = {"Accept": "text/event-stream"}
    first = small_client.get("/api/v1/events", headers=headers)
    assert first.status_code == 200
    refused = small_client.get("/api/v1/events", headers=headers)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    first.close()  # frees the slot
    again = small_client.get("/api/v1/events", headers=headers)
    assert again.status_code == 200
    again.close()
    small.extensions["nestlab"].close()


def test_bad_last_event_id_and_unknown_job(client):
    response = client.get("/api/v1/events", headers={"Accept": "text/event-stream",
                                                      "Last-Event-ID": "abc"})
    assert response.status_code == 422
    assert client.get("/api/v1/jobs/999/events",
                      headers={"Accept": "text/event-stream"}).status_code == 404
    assert client.get("/api/v1/events?kind=nope").status_code == 422


def test_streams_under_gunicorn_gthread_workers(settings, app, tmp_path):
    """The production server: forked gthread workers (with --preload, so the app is made
    before the fork), a client resuming on whichever worker takes the reconnect."""
    import os
    import signal
    import subprocess
    import sys

    from shared.crypto import new_api_token
    from shared.db import transaction
    from shared.events import EventKind
    from shared.models import Job
    from tests.conftest import settings_env
    from tests.notify_helpers import seed_job

    token, port = new_api_token(), devstack.free_port()
    env = dict(settings_env(settings), NESTLAB_ADMIN_TOKEN=token, NESTLAB_REPUBLISH_INTERVAL="0",
               NESTLAB_SSE_KEEPALIVE="1")
    with open(tmp_path / "gunicorn.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--preload",
             "--worker-class", "gthread", "--threads", "4", "--workers", "2",
             "services.api.wsgi:app"], env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        devstack.wait_until(lambda: devstack.port_open("127.0.0.1", port), 60, "gunicorn")
        job = seed_job(app.extensions["nestlab"], notify=False)
        job.emit(EventKind.JOB_STARTED, "deploy started", 0)
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        url = f"http://127.0.0.1:{port}/api/v1/jobs/{job.job_id}/events"

        def finish_later():
            for n in range(1, 4):
                threading.Event().wait(0.3)
                job.emit(EventKind.STEP_FINISHED, f"step {n}", 25 * n)
            # The last event is stored but never put on the Redis stream (as when
            # an XADD fails): the stream must find it in the database anyway.
            with transaction(app.extensions["nestlab"].sessions) as session:
                session.get(Job, job.job_id).status = "succeeded"
                job.recorder.add(session, job.job_id, job.zpod_id, EventKind.JOB_SUCCEEDED,
                                 "deploy succeeded", 100)

        seen = []
        response = open_stream(http, url)
        for message in sse(response):
            if "id" in message:
                seen.append(int(message["id"]))
                break
        response.close()
        threading.Thread(target=finish_later, daemon=True).start()
        ended = False
        response = open_stream(http, url, **{"Last-Event-ID": str(seen[-1])})
        for message in sse(response):
            if "id" in message:
                seen.append(int(message["id"]))
            ended = ended or message.get("event") == "end"
        assert ended and seen == [1, 2, 3, 4, 5]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
