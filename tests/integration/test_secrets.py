"""No secret (endpoint password, zPod password, API token) in any response, event or log line."""

from __future__ import annotations

import logging

from sqlalchemy import select

from shared.models import Zpod
from tests.conftest import endpoint_body
from tests.helpers import wait_for_job


def test_secrets_stay_out_of_responses_events_and_logs(client, app, worker, simulator, caplog,
                                                       admin_token):
    caplog.set_level(logging.DEBUG)
    seen = []

    def call(method, path, **kwargs):
        response = client.open(path, method=method, **kwargs)
        seen.append(response.get_data(as_text=True))
        return response.get_json()

    call("POST", "/api/v1/endpoints", json=endpoint_body(simulator))
    call("POST", "/api/v1/endpoints/sim/verify")
    created = call("POST", "/api/v1/zpods", json={"name": "hush", "endpoint": "sim",
                                                  "profile": "minimal"})
    wait_for_job(client, created["job_id"])
    call("GET", f"/api/v1/jobs/{created['job_id']}")
    call("GET", f"/api/v1/jobs/{created['job_id']}/events")
    call("GET", "/api/v1/zpods/hush")
    call("GET", "/api/v1/endpoints")
    destroy = call("DELETE", "/api/v1/zpods/hush")
    wait_for_job(client, destroy["job_id"])
    call("GET", f"/api/v1/jobs/{destroy['job_id']}")

    ctx = app.extensions["nestlab"]
    with ctx.sessions() as session:
        zpod = session.scalar(select(Zpod).where(Zpod.name == "hush"))
        zpod_password = ctx.secrets.decrypt(zpod.password_encrypted)
    secrets = {"endpoint password": simulator.password, "zPod password": zpod_password,
               "api token": admin_token}
    everything = "\n".join(seen) + "\n" + caplog.text
    for label, secret in secrets.items():
        assert secret not in everything, f"{label} leaked"
    assert zpod_password not in zpod.password_encrypted
