"""`make run` as a user drives it: the stack as local processes, a zPod deployed and
destroyed over real HTTP, then SIGTERM stops every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from nestlab import devstack
from nestlab.client import ApiError, Client
from shared.crypto import new_api_token


def test_run_starts_everything_deploys_and_stops_on_sigterm(tmp_path, redis_url):
    api_port, sim_port, dead_redis = (devstack.free_port() for _ in range(3))
    token = new_api_token()
    env = dict(os.environ, NESTLAB_VAR_DIR=str(tmp_path), NESTLAB_PORT=str(api_port),
               NESTLAB_SIM_PORT=str(sim_port), NESTLAB_ADMIN_TOKEN=token,
               # No Redis answers here: `run` must start its own.
               REDIS_URL=f"redis://127.0.0.1:{dead_redis}/0")
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "nestlab.run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        devstack.wait_until(lambda: proc.poll() is not None or (
            devstack.port_open("127.0.0.1", api_port)), 90, "the API")
        assert proc.poll() is None, proc.stdout.read()
        api = Client(f"http://127.0.0.1:{api_port}", token)
        try:
            Client(f"http://127.0.0.1:{api_port}", "nlb_wrong").endpoints()
        except ApiError as exc:
            assert exc.status == 401
        api.create_endpoint(name="sim", host="127.0.0.1", port=sim_port, username="nestlab",
                            password="nestlab-sim", datacenter="DC0", cluster="DC0_C0",
                            datastore="LocalDS_0", switch="DVS0", verify_tls=False,
                            supernet="10.96.0.0/16", vlan_range="100-199")
        created = api.create_zpod("e2e", endpoint="sim")
        events = []
        job = api.wait_for_job(created["job_id"], on_event=events.append)
        assert job["status"] == "succeeded", job
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events == api.request("GET", f"/jobs/{job['id']}/events")
        assert {c["status"] for c in api.zpod("e2e")["components"]} == {"ready"}
        job = api.wait_for_job(api.destroy_zpod("e2e")["job_id"])
        assert job["status"] == "succeeded", job
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "starting redis-server" in output
    assert "stopping" in output
    for port in (api_port, sim_port):
        assert not devstack.port_open("127.0.0.1", port), f"port {port} still open"
    assert list(tmp_path.glob("vcsim-*.json")) == []
