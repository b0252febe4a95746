"""`make demo`: deploy a `minimal` zPod on the vSphere simulator, end to end.

Starts Redis if needed, the simulator, the API, a deployer and a notifier
worker as local processes (state in var/demo/, fresh each run), then drives
everything with the `nestlab` CLI as a user would: registers the simulator as
an endpoint, deploys a zPod with live progress (the job's event stream), shows
what was built, destroys it (unless NESTLAB_DEMO_KEEP=1) and stops what it
started.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys

from nestlab import devstack
from nestlab.devstack import say
from shared.crypto import TOKEN_PREFIX
from shared.settings import ROOT

# Enough latency that progress is visible, as on a real vCenter (milliseconds).
SIM_DELAYS = "CreateVM_Task=400,PowerOnVM_Task=300,AddDVPortgroup_Task=500,CreateFolder=200"


def nestlab(env: dict, *args: str, secret: str | None = None) -> int:
    """Run the `nestlab` CLI as a user would, showing the command first."""
    shown = " ".join(args) if secret is None else " ".join(args).replace(secret, "***")
    print(f"\n$ nestlab {shown}", flush=True)
    return subprocess.call([sys.executable, "-m", "nestlab.cli", *args], env=env)


def run_demo(env: dict, url: str, token: str, sim, keep: bool) -> int:
    steps = [
        ("login", url, "--token", token, "--name", "demo"),
        ("endpoints", "create", "simulator", "--host", sim.host, "--port", str(sim.port),
         "--username", sim.username, "--password", sim.password, "--datacenter", "DC0",
         "--cluster", "DC0_C0", "--datastore", "LocalDS_0", "--switch", "DVS0",
         "--supernet", "10.96.0.0/16", "--vlan-range", "100-199", "--insecure"),
        ("endpoints", "verify", "simulator"),
        ("zpods", "create", "demo", "--endpoint", "simulator", "--profile", "minimal", "--wait"),
    ]
    if not keep:
        steps.append(("zpods", "destroy", "demo", "--wait", "--yes"))
    for args in steps:
        if nestlab(env, *args, secret=token if args[0] == "login" else sim.password) != 0:
            return 1
    if keep:
        say("NESTLAB_DEMO_KEEP=1: the zPod was left in place (the stack stops anyway)")
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
        # The simulator's datastore is this machine's disk and its disks hold no data:
        # let the demo's 148 GB of (virtual) disks fit on a small one too.
        env = dict(os.environ, REDIS_URL=redis_url, NESTLAB_VAR_DIR=str(var_dir),
                   NESTLAB_ADMIN_TOKEN=token, NESTLAB_CAPACITY_STORAGE_OVERCOMMIT="20")
        env.pop("DATABASE_URL", None)
        say("starting the API, a deployer and a notifier worker (logs in var/demo/)")
        url = devstack.start_api(stack, env, devstack.free_port(), var_dir)
        devstack.start_worker(stack, env, "deployer", var_dir)
        devstack.start_worker(stack, env, "notifier", var_dir)
        cli_env = dict(env, NESTLAB_CONFIG=str(var_dir / "cli.yaml"))
        status = run_demo(cli_env, url, token, sim, keep=bool(os.environ.get("NESTLAB_DEMO_KEEP")))
        if status == 0:
            say(f"done. The API documents itself at {url}/api/v1/openapi.json; `make run` "
                "keeps a stack up (docs at /api/v1/docs)")
        return status
    except (RuntimeError, TimeoutError) as exc:
        say(f"demo failed: {exc} (see the logs in {var_dir})")
        return 1
    finally:
        say("stopping the processes the demo started")
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
