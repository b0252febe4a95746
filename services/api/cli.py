"""`nestlab-api`: run the API server and its housekeeping.

  nestlab-api migrate            bring the database schema up to date
  nestlab-api serve [--port N]   migrate, make the first admin token, serve HTTP
"""

from __future__ import annotations

import argparse
import logging
import os

from services.api import create_app
from services.api.auth import ensure_admin_token
from services.api.publisher import Republisher
from shared.db import upgrade
from shared.logs import configure_logging
from shared.settings import Settings

log = logging.getLogger("nestlab.api")


def prepare(settings: Settings):
    """Migrate, make the app, announce a new admin token, start the re-publisher."""
    upgrade(settings.database_url)
    app = create_app(settings)
    ctx = app.extensions["nestlab"]
    token = ensure_admin_token(ctx)
    if token:
        # Shown once, on the operator's console; only its hash is stored.
        token_file = settings.var_dir / "admin-token"
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        # Printed once, on the console (not to the log), and kept in a 0600 file.
        print(f"nestlab: first admin API token (shown once, also in {token_file}):\n  {token}",
              flush=True)
    if settings.republish_interval > 0:
        Republisher(ctx).start()
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nestlab-api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    serve = sub.add_parser("serve", help="serve the API (development server, threaded)")
    serve.add_argument("--host", default=os.environ.get("NESTLAB_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("NESTLAB_PORT", "8080")))
    args = parser.parse_args(argv)
    configure_logging()
    settings = Settings.from_env()
    if args.command == "migrate":
        upgrade(settings.database_url)
        log.info("database is up to date")
        return
    app = prepare(settings)
    from werkzeug.serving import run_simple

    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
