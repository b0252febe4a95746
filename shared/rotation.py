"""Re-encrypting every stored secret with the newest key (key rotation).

A secret column is any mapped column whose name ends in `_encrypted`; new
secret columns must follow that naming so rotation finds them. All rows are
re-encrypted in one transaction: either every secret moves to the new key or
none does.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.crypto import SecretBox
from shared.db import transaction
from shared.models import Base

SUFFIX = "_encrypted"


def encrypted_columns() -> Iterator[tuple[type, str]]:
    for mapper in Base.registry.mappers:
        for column in mapper.columns:
            if column.key.endswith(SUFFIX):
                yield mapper.class_, column.key


def rotate_all(sessions: sessionmaker[Session], box: SecretBox) -> dict[str, int]:
    """Re-encrypt every secret with the box's first key; returns counts per column."""
    counts: dict[str, int] = {}
    with transaction(sessions) as session:
        for model, attribute in encrypted_columns():
            done = 0
            for row in session.scalars(select(model)):
                value = getattr(row, attribute)
                if value:
                    setattr(row, attribute, box.rotate(value))
                    done += 1
            counts[f"{model.__tablename__}.{attribute}"] = done
    return counts
