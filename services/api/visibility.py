"""Which records a caller may see.

Every caller sees every job and event until users and roles arrive; then this
is the one place that narrows the queries the API (and its event streams) run.
The filter is built during the request, from the caller, and applied later,
possibly in a stream that outlives the request.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from sqlalchemy import Select


@dataclass(frozen=True)
class Visibility:
    token_id: int | None

    @classmethod
    def for_request(cls) -> Visibility:
        token = g.get("token")
        return cls(token_id=getattr(token, "id", None))

    def events(self, statement: Select) -> Select:
        """Restrict a query of `Event` rows to those the caller may see."""
        return statement
