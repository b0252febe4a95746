"""Per-user limits on live zPods, their total vCPUs and memory, checked when a zPod is asked for.

A limit left NULL is no limit. Usage is what the user's live zPods were
planned with (their components' sizing, fixed when the zPod was accepted,
whatever later happens to its profile), so a zPod counts from the moment it
is accepted until it is destroyed.

Two requests of one user must not both pass a limit only one of them fits, so
`check` first takes a per-user lock and must run in the transaction that then
records the zPod: on PostgreSQL the user's row is locked (SELECT ... FOR
UPDATE) until that transaction ends, and the second request counts only once
the first has committed; on SQLite every write transaction already starts with
BEGIN IMMEDIATE (shared/db.py), one at a time.
"""

from __future__ import annotations

from flask_smorest import abort
from sqlalchemy import func, select

from services.api.capacity import Sizing, profile_sizing
from shared.models import Component, User, Zpod
from shared.profiles import Profile


def usage(session, user: User) -> dict:
    live = Zpod.owner_id == user.id, Zpod.live_name.is_not(None)
    zpods = session.scalar(select(func.count()).select_from(Zpod).where(*live))
    specs = session.scalars(select(Component.spec).join(Zpod).where(*live)).all()
    return {"zpods": zpods, "vcpu": sum(spec.get("cpus", 0) for spec in specs),
            "memory_mb": sum(spec.get("memory_mb", 0) for spec in specs)}


def lock(session, user: User) -> None:
    """Hold the user's row until the transaction ends (a no-op on SQLite, see above)."""
    session.execute(select(User.id).where(User.id == user.id).with_for_update())


def exceeded(session, user: User, profile: Profile | None,
             new_zpod: bool = True) -> list[str]:
    """Every limit that `profile`'s VMs (a new zPod, or added to one of `user`'s) would take
    the user past, as messages.

    Without a profile (a request whose configuration is invalid) only the
    number of zPods is checked.
    """
    used = usage(session, user)
    asked = profile_sizing(profile) if profile is not None else Sizing()
    what = "zPod" if new_zpod else "component"
    wanted = (("max_zpods", used["zpods"] + int(new_zpod), "live zPods"),
              ("max_vcpu", used["vcpu"] + asked.vcpus, "vCPUs"),
              ("max_memory_mb", used["memory_mb"] + asked.memory_mb, "MB of memory"))
    problems = []
    for field, total, unit in wanted:
        limit = getattr(user, field)
        if limit is not None and total > limit:
            problems.append(f"quota exceeded: {field} is {limit} {unit} and this {what} "
                            f"would bring {user.name} to {total}")
    return problems


def check(session, user: User, profile: Profile, new_zpod: bool = True) -> None:
    """409 naming the first limit `exceeded` finds; call it in the transaction that records
    the zPod or component (it serializes the user's requests until the commit)."""
    lock(session, user)
    problems = exceeded(session, user, profile, new_zpod)
    if problems:
        abort(409, message=problems[0])
