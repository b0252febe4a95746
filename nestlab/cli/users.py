"""`nestlab users` and `nestlab tokens`: people, roles, quotas and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer

from nestlab.cli.session import api, state

users = typer.Typer(no_args_is_help=True)
tokens = typer.Typer(no_args_is_help=True)

COLUMNS = [("id", "ID"), ("name", "NAME"), ("role", "ROLE"), ("enabled", "ENABLED"),
           ("usage.zpods", "ZPODS"), ("max_zpods", "MAX ZPODS"), ("usage.vcpu", "VCPU"),
           ("max_vcpu", "MAX VCPU"), ("usage.memory_mb", "MEMORY MB"),
           ("max_memory_mb", "MAX MEMORY MB")]
TOKENS = [("id", "ID"), ("name", "NAME"), ("scope", "SCOPE"), ("prefix", "PREFIX"),
          ("expires_at", "EXPIRES"), ("revoked_at", "REVOKED"), ("created_at", "CREATED")]


@users.command("me")
def me():
    """Who this token belongs to."""
    with api() as client:
        state.out.data(client.me(), COLUMNS)


@users.command("list")
def list_users():
    """List users (admins)."""
    with api() as client:
        state.out.data(client.users(), COLUMNS)


@users.command("create")
def create_user(name: str, role: str = typer.Option("user", help="user or admin."),
                email: str = typer.Option(None), max_zpods: int = typer.Option(None),
                max_vcpu: int = typer.Option(None), max_memory_mb: int = typer.Option(None)):
    """Add a user (admins)."""
    fields = dict(name=name, role=role, email=email, max_zpods=max_zpods, max_vcpu=max_vcpu,
                  max_memory_mb=max_memory_mb)
    with api() as client:
        state.out.data(client.create_user(**fields), COLUMNS)


@users.command("disable")
def disable_user(ref: str):
    """Disable a user: their tokens stop working at once."""
    with api() as client:
        state.out.data(client.update_user(ref, enabled=False), COLUMNS)


@users.command("enable")
def enable_user(ref: str):
    with api() as client:
        state.out.data(client.update_user(ref, enabled=True), COLUMNS)


@tokens.command("list")
def list_tokens(user: str = typer.Option("me", help="User name or id (admins: anyone).")):
    """List a user's tokens (never their values)."""
    with api() as client:
        ref = client.me()["id"] if user == "me" else user
        state.out.data(client.tokens(ref), TOKENS)


@tokens.command("create")
def create_token(name: str, user: str = typer.Option("me"),
                 scope: str = typer.Option("write", help="read or write."),
                 days: int = typer.Option(None, help="Expire after this many days.")):
    """Make a token; its value is shown once."""
    fields = {"name": name, "scope": scope}
    if days:
        fields["expires_at"] = (datetime.now(UTC) + timedelta(days=days)).isoformat()
    with api() as client:
        ref = client.me()["id"] if user == "me" else user
        created = client.create_token(ref, **fields)
    state.out.data(created, TOKENS + [("token", "TOKEN (shown once)")])


@tokens.command("revoke")
def revoke_token(token_id: int, user: str = typer.Option("me")):
    """Revoke a token: it stops working at once."""
    with api() as client:
        ref = client.me()["id"] if user == "me" else user
        client.revoke_token(ref, token_id)
    state.out.say(f"token {token_id} revoked")
