"""Which jobs and events a caller may see.

Admins see everything. A user sees the jobs they started and the jobs of the
zPods they own or were granted, and those jobs' events. The filter is built
during the request, from the caller, and applied later, possibly in a stream
that outlives the request (so it holds ids, never the request's objects).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from sqlalchemy import Select, or_, select

from services.api.access import visible_zpods
from shared.models import Event, Job, Zpod


@dataclass(frozen=True)
class Visibility:
    user_id: int | None
    admin: bool

    @classmethod
    def for_request(cls) -> Visibility:
        user = g.get("user")
        return cls(user_id=getattr(user, "id", None), admin=bool(user and user.is_admin))

    def job_condition(self):
        zpods = select(Zpod.id).where(visible_zpods(self.user_id))
        return or_(Job.user_id == self.user_id, Job.zpod_id.in_(zpods))

    def jobs(self, statement: Select) -> Select:
        """Restrict a query of `Job` rows to those the caller may see."""
        if self.admin:
            return statement
        return statement.where(self.job_condition())

    def events(self, statement: Select) -> Select:
        """Restrict a query of `Event` rows to those the caller may see."""
        if self.admin:
            return statement
        return statement.where(Event.job_id.in_(select(Job.id).where(self.job_condition())))

    def may_see_job(self, session, job_id: int) -> bool:
        return session.scalar(self.jobs(select(Job.id).where(Job.id == job_id))) is not None
