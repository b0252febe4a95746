"""`make run`: the whole stack as local processes, in the foreground.

Starts Redis if none is reachable, the vSphere simulator (unless
NESTLAB_NO_SIMULATOR=1), the API on NESTLAB_PORT (default 8080), a deployer
worker, a library worker, a notifier worker and the beat scheduler; stops all of it
on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from nestlab import devstack
from nestlab.devstack import say
from shared.db import upgrade
from shared.settings import Settings


def main() -> int:
    settings = Settings.from_env()
    var_dir = settings.var_dir
    var_dir.mkdir(parents=True, exist_ok=True)
    stack = devstack.Stack()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        redis_url = devstack.ensure_redis(stack, var_dir, os.environ.get("REDIS_URL"))
        env = dict(os.environ, REDIS_URL=redis_url, NESTLAB_VAR_DIR=str(var_dir))
        if not os.environ.get("NESTLAB_NO_SIMULATOR"):
            sim = devstack.start_vcsim(stack, var_dir,
                                       port=int(os.environ.get("NESTLAB_SIM_PORT", "8989")))
            say(f"vSphere simulator: https://{sim.host}:{sim.port}/sdk "
                f"(user {sim.username}, password {sim.password}, datacenter DC0, "
                "cluster DC0_C0, datastore LocalDS_0, switch DVS0)")
        say("applying database migrations")
        upgrade(settings.database_url)
        port = int(os.environ.get("NESTLAB_PORT", "8080"))
        url = devstack.start_api(stack, env, port, var_dir)
        devstack.start_worker(stack, env, "deployer", var_dir)
        devstack.start_worker(stack, env, "library", var_dir)
        devstack.start_worker(stack, env, "notifier", var_dir)
        devstack.start_beat(stack, env, var_dir)
        say(f"nestlab API: {url}/api/v1  (docs: {url}/api/v1/docs)")
        if not settings.admin_token:
            say(f"admin token: in {var_dir / 'admin-token'} when nestlab made one")
        say(f"logs: {var_dir}/*.log — Ctrl-C stops everything")
        while True:
            stack.check()
            time.sleep(1)
    except KeyboardInterrupt:
        say("stopping")
        return 0
    except Exception as exc:  # noqa: BLE001 - report and stop what was started
        say(f"error: {exc}")
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
