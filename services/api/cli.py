"""`nestlab-api`: run the API server and its housekeeping.

  nestlab-api migrate            bring the database schema up to date
  nestlab-api serve [--port N]   migrate, make the first admin token, serve HTTP
  nestlab-api new-key            print a new encryption key for NESTLAB_SECRET_KEY
  nestlab-api rotate-keys        re-encrypt every stored secret with the newest key

Rotating the encryption key: put a new key first in NESTLAB_SECRET_KEY
("new,old"), restart the services, run `nestlab-api rotate-keys`, then drop
the old key. With the default key file (var/secret.key) instead,
`nestlab-api rotate-keys --generate` adds the new key to the file first.
"""

from __future__ import annotations

import argparse
import logging
import os

from cryptography.fernet import Fernet

from services.api import create_app
from services.api.auth import ensure_admin_token
from shared.crypto import SecretBox, add_key_to_file
from shared.db import upgrade
from shared.logs import configure_logging
from shared.rotation import rotate_all
from shared.settings import Settings

log = logging.getLogger("nestlab.api")


def prepare(settings: Settings):
    """Migrate, make the app, announce a new admin token."""
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
    # gunicorn --preload forks after this: no pooled connection may be shared by
    # the workers (a PostgreSQL connection used by two processes breaks).
    ctx.engine.dispose()
    return app


def rotate_keys(settings: Settings, generate: bool = False) -> None:
    if generate:
        if settings.secret_keys:
            raise SystemExit("--generate works on the key file; with NESTLAB_SECRET_KEY set, "
                             "put the new key first there instead")
        add_key_to_file(settings.var_dir)
    app = create_app(settings)
    ctx = app.extensions["nestlab"]
    for column, count in rotate_all(ctx.sessions, SecretBox.from_settings(settings)).items():
        print(f"{column}: {count} re-encrypted")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nestlab-api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("new-key", help="print a new encryption key")
    rotate = sub.add_parser("rotate-keys", help="re-encrypt stored secrets with the newest key")
    rotate.add_argument("--generate", action="store_true",
                        help="first add a new key at the top of the key file")
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
    if args.command == "new-key":
        print(Fernet.generate_key().decode())
        return
    if args.command == "rotate-keys":
        rotate_keys(settings, generate=args.generate)
        return
    app = prepare(settings)
    from werkzeug.serving import run_simple

    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
