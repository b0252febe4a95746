"""`make demo`: deploy a `minimal` zPod on the vSphere simulator, end to end.

Starts Redis if needed, the simulator, the API, a deployer and a notifier
worker as local processes (state in var/demo/, fresh each run), registers the
simulator as an endpoint, deploys a zPod while printing its live progress (the
job's event stream), prints what was built,
destroys it (unless NESTLAB_DEMO_KEEP=1) and stops what it started.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys

from nestlab import devstack
from nestlab.client import ApiError, Client
from nestlab.devstack import say
from shared.crypto import TOKEN_PREFIX
from shared.settings import ROOT

# Enough latency that progress is visible, as on a real vCenter (milliseconds).
SIM_DELAYS = "CreateVM_Task=400,PowerOnVM_Task=300,AddDVPortgroup_Task=500,CreateFolder=200"


def bar(percent: int | None, width: int = 30) -> str:
    filled = int(width * (percent or 0) / 100)
    return "[" + "#" * filled + "." * (width - filled) + f"] {percent or 0:3d}%"


def show_event(event: dict) -> None:
    print(f"  {bar(event['percent'])}  {event['kind']:<14} {event['message']}", flush=True)


def show_zpod(zpod: dict) -> None:
    net = zpod["network"]
    print(f"\nzPod '{zpod['name']}' is {zpod['status']} on endpoint '{zpod['endpoint']}'")
    print(f"  network: {net['subnet']}  VLAN {net['vlan']}  gateway/DNS {net['gateway']}"
          f"  domain {zpod['domain']}")
    print(f"  {'hostname':<10} {'ip':<15} {'vSphere VM':<28} {'moref':<10} status")
    for c in zpod["components"]:
        print(f"  {c['hostname']:<10} {c['ip']:<15} {c['vm_name']:<28} {c['moref'] or '-':<10} "
              f"{c['status']}")
    print(f"  also: folder, resource pool and portgroup 'nestlab-{zpod['name']}'\n")


def run_demo(api: Client, sim, keep: bool) -> int:
    say("registering the simulator as endpoint 'simulator'")
    api.create_endpoint(name="simulator", host=sim.host, port=sim.port, username=sim.username,
                        password=sim.password, datacenter="DC0", cluster="DC0_C0",
                        datastore="LocalDS_0", switch="DVS0", verify_tls=False,
                        supernet="10.96.0.0/16", vlan_range="100-199")
    verify = api.wait_for_job(api.verify_endpoint("simulator")["id"])
    if verify["status"] != "succeeded":
        say(f"endpoint check failed: {verify['error']}")
        return 1
    say("endpoint verified; deploying zPod 'demo' (profile minimal: router + 3 nested ESXi)")
    zpod = api.create_zpod("demo", endpoint="simulator", profile="minimal")
    job = api.follow_job(zpod["job_id"], on_event=show_event)
    if job["status"] != "succeeded":
        say(f"deployment failed: {job['error']}")
        return 1
    show_zpod(api.zpod("demo"))
    if keep:
        say("NESTLAB_DEMO_KEEP=1: leaving the zPod in place (the stack stops anyway)")
        return 0
    say("destroying zPod 'demo'")
    job = api.follow_job(api.destroy_zpod("demo")["job_id"], on_event=show_event)
    if job["status"] != "succeeded":
        say(f"destroy failed: {job['error']}")
        return 1
    say("zPod destroyed: VMs, folder, resource pool and portgroup removed; VLAN and subnet freed")
    return 0


def main() -> int:
    var_dir = ROOT / "var" / "demo"
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    stack = devstack.Stack()
    try:
        redis_url = devstack.ensure_redis(stack, var_dir, os.environ.get("REDIS_URL"))
        say("starting the vSphere simulator (TLS, password enforced)")
        sim = devstack.start_vcsim(stack, var_dir, flags=["-method-delay", SIM_DELAYS])
        env = dict(os.environ, REDIS_URL=redis_url, NESTLAB_VAR_DIR=str(var_dir),
                   NESTLAB_ADMIN_TOKEN=token)
        env.pop("DATABASE_URL", None)
        say("starting the API, a deployer and a notifier worker (logs in var/demo/)")
        url = devstack.start_api(stack, env, devstack.free_port(), var_dir)
        devstack.start_worker(stack, env, "deployer", var_dir)
        devstack.start_worker(stack, env, "notifier", var_dir)
        status = run_demo(Client(url, token), sim, keep=bool(os.environ.get("NESTLAB_DEMO_KEEP")))
        if status == 0:
            say(f"done. The API documents itself at {url}/api/v1/openapi.json; `make run` "
                "keeps a stack up (docs at /api/v1/docs)")
        return status
    except (ApiError, RuntimeError, TimeoutError) as exc:
        say(f"demo failed: {exc} (see the logs in {var_dir})")
        return 1
    finally:
        say("stopping the processes the demo started")
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
