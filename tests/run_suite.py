"""`make test`: the whole suite on SQLite, then the database-backed tests on PostgreSQL.

PostgreSQL is used when DATABASE_URL names one, else the local server at
NESTLAB_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test)
when it answers. NESTLAB_TEST_POSTGRES=0 skips that pass. Extra arguments go
to pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DB_TESTS = ["tests/integration", "tests/e2e"]


def postgres_url() -> str | None:
    if os.environ.get("NESTLAB_TEST_POSTGRES") == "0":
        return None
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        url = os.environ.get("NESTLAB_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except OperationalError:
        print(f"==> no PostgreSQL answers at {url.split('@')[-1]}; skipping that pass",
              flush=True)
        return None
    return url


def pytest(args: list[str], env: dict) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *args], env=env)


def main(args: list[str]) -> int:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    print("==> test suite on SQLite", flush=True)
    status = pytest(args, env)
    url = postgres_url()
    if url:
        print(f"==> database-backed tests on PostgreSQL ({url.split('@')[-1]})", flush=True)
        status = pytest(args or DB_TESTS, dict(env, DATABASE_URL=url)) or status
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
