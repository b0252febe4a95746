"""`make test`: the whole suite on SQLite and the database-backed tests on PostgreSQL.

PostgreSQL is used when DATABASE_URL names one, else the local server at
NESTLAB_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test)
when it answers. NESTLAB_TEST_POSTGRES=0 skips that pass. The tests run in
several pytest processes at once (SHARDS per database, split by file), each
with its own Redis database counted down from NESTLAB_TEST_REDIS_DB (15) and
its own log under var/. Extra arguments go to pytest, one process per database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


SHARDS = 2  # pytest processes per database; the tests mostly wait on I/O


def shards(paths: list[str], count: int, env: dict) -> list[list[str]]:
    """The tests under `paths`, dealt round-robin into `count` groups: every group gets
    its share of each module's slow and fast tests (a module-scoped fixture is then made
    once per group that uses it)."""
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                                *paths], env=env, capture_output=True, text=True)
    ids = [line.strip() for line in collected.stdout.splitlines() if "::" in line]
    if collected.returncode or not ids:
        return [paths]  # let pytest itself report what is wrong
    return [group for group in (ids[n::count] for n in range(count)) if group]


def start(name: str, args: list[str], env: dict) -> tuple[str, subprocess.Popen, Path]:
    log_path = Path("var") / f"test-{name}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", *args], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    return name, proc, log_path


def main(args: list[str]) -> int:
    """Each database's tests in SHARDS processes at once, each process on its own Redis
    database; a failing process's whole output is printed, the others' summary."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    redis_db = int(os.environ.get("NESTLAB_TEST_REDIS_DB", "15"))
    passes = [("sqlite", ["tests"], env)]
    url = postgres_url()
    if url:
        passes.append(("postgresql", DB_TESTS, dict(env, DATABASE_URL=url)))
    running = []
    for name, paths, pass_env in passes:
        groups = [args] if args else shards(paths, SHARDS, pass_env)
        for n, group in enumerate(groups, 1):
            shard_env = dict(pass_env, NESTLAB_TEST_REDIS_DB=str(redis_db - len(running)))
            running.append(start(f"{name}-{n}", group, shard_env))
    where = ", ".join(f"var/test-{name}.log" for name, _, _ in running)
    print(f"==> {len(running)} test processes (SQLite{', PostgreSQL' if url else ''}): {where}",
          flush=True)
    status = 0
    for name, proc, log_path in running:
        code = proc.wait()
        output = log_path.read_text(errors="replace")
        if code:
            print(f"==> {name}: FAILED (exit {code})", flush=True)
            sys.stdout.write(output)
        else:
            summary = [line for line in output.splitlines() if " passed" in line]
            print(f"==> {name}: {summary[-1].strip('= ') if summary else 'ok'}", flush=True)
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
