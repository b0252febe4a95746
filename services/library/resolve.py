"""Rendering URL and header templates with settings, at the moment they are used.

Secret settings are decrypted only here, in the worker; the result carries a
`Redactor` for them, and the template (`shown`) for every message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from shared.errors import PermanentError
from shared.models import Setting
from shared.templating import Redactor, render_with_settings, settings_used


@dataclass
class Resolved:
    url: str = field(repr=False)
    shown: str
    headers: dict = field(repr=False, default_factory=dict)
    redact: Redactor = field(repr=False, default_factory=Redactor)


def setting_values(ctx, names: set[str]) -> tuple[dict[str, str], list[str]]:
    """({name: value}, [secret values]) for `names`; PermanentError naming a missing one."""
    if not names:
        return {}, []
    with ctx.sessions() as session:
        rows = list(session.scalars(select(Setting).where(Setting.name.in_(sorted(names)))))
    values, secrets = {}, []
    for row in rows:
        value = ctx.secrets.decrypt(row.value) if row.secret else row.value
        values[row.name] = value
        if row.secret:
            secrets.append(value)
    missing = sorted(names - values.keys())
    if missing:
        raise PermanentError(f"setting '{missing[0]}' is not set "
                             f"(PUT /api/v1/settings/{missing[0]})")
    return values, secrets


def resolve(ctx, url: str, headers: dict | None = None) -> Resolved:
    headers = headers or {}
    names = settings_used(url)
    for text in headers.values():
        names |= settings_used(text)
    values, secrets = setting_values(ctx, names)
    return Resolved(url=render_with_settings(url, values), shown=url,
                    headers={k: render_with_settings(v, values) for k, v in headers.items()},
                    redact=Redactor(secrets))
