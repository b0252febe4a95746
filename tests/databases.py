"""A fresh, migrated database for each test, on SQLite or PostgreSQL.

The schema is made once per session by Alembic (never `create_all`) in a
template; each test gets a copy: a file copy on SQLite, `CREATE DATABASE ...
TEMPLATE` on PostgreSQL. The suite runs on PostgreSQL when DATABASE_URL names
one (`make test` does that when a PostgreSQL server answers).
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.db import upgrade


def postgres_url_from_env() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


class SqliteDatabases:
    name = "sqlite"

    def __init__(self, workdir: Path):
        self.template = workdir / "template.db"
        upgrade(f"sqlite:///{self.template}")

    def new(self, directory: Path) -> str:
        path = directory / "nestlab.db"
        shutil.copy(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        """Nothing to do: the file goes with the test's temporary directory."""

    def close(self) -> None:
        """Nothing to do: the template goes with the session's temporary directory."""


class PostgresDatabases:
    name = "postgresql"

    def __init__(self, admin_url: str):
        self.admin_url = make_url(admin_url)
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self.prefix = f"nestlab_test_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self.counter = itertools.count()
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{self.template}"')
        upgrade(self._url(self.template))
        # PostgreSQL 15 copies a template through the WAL by default: four times slower
        # for a database this small than copying its files.
        with self.admin.connect() as connection:
            version = connection.execute(text("SHOW server_version_num")).scalar()
        self.strategy = " STRATEGY = FILE_COPY" if int(version) >= 150000 else ""

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(sql))

    def _url(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def new(self, directory: Path) -> str:
        name = f"{self.prefix}_{next(self.counter)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"{self.strategy}')
        return self._url(name)

    def drop(self, url: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def close(self) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self.admin.dispose()
