"""Worker health for orchestrators: `python -m shared.healthcheck deployer [TIMEOUT]`.

Pings the worker named `<service>@<this host>` over the broker (workers run
with `-n <service>@%h`) and exits 0 when it answers, 1 otherwise.
"""

from __future__ import annotations

import socket
import sys

from shared.celery_app import create_celery
from shared.settings import Settings


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python -m shared.healthcheck SERVICE [TIMEOUT-SECONDS]", file=sys.stderr)
        return 2
    node = f"{argv[0]}@{socket.gethostname()}"
    timeout = float(argv[1]) if len(argv) == 2 else 5.0
    app = create_celery(Settings.from_env(), name="nestlab-healthcheck")
    try:
        replies = app.control.ping(destination=[node], timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        print(f"{node}: broker unreachable ({type(exc).__name__})", file=sys.stderr)
        return 1
    if not replies:
        print(f"{node}: no answer", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
