"""`nestlab triggers`: webhooks that build zPods, and what they received."""

from __future__ import annotations

import typer

from nestlab.cli.session import api, state

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("id", "ID"), ("name", "NAME"), ("source", "SOURCE"), ("owner", "OWNER"),
           ("enabled", "ENABLED"), ("events", "EVENTS"), ("branches", "BRANCHES"),
           ("zpod_name", "ZPOD NAME"), ("on_push", "ON PUSH")]
DETAIL = COLUMNS + [("pr_actions", "PR ACTIONS"), ("tags", "TAGS"), ("profile", "PROFILE"),
                    ("endpoint", "ENDPOINT"), ("overlays", "OVERLAYS"), ("lease", "LEASE"),
                    ("hook_url", "HOOK URL"), ("created_at", "CREATED")]
DELIVERIES = [("received_at", "RECEIVED"), ("delivery_id", "DELIVERY"), ("event", "EVENT"),
              ("outcome", "OUTCOME"), ("status_code", "HTTP"), ("zpod_name", "ZPOD"),
              ("job_id", "JOB"), ("reason", "REASON")]


@app.command()
def create(name: str,
           source: str = typer.Option(..., help="github, gitlab or generic."),
           profile: str = typer.Option("minimal", "--profile", "-p"),
           endpoint: str = typer.Option(..., "--endpoint", "-e"),
           zpod_name: str = typer.Option("ci-{repo}-{ref}", help="zPod name pattern: {repo} "
                                         "{branch} {base} {tag} {pr} {sha} {ref} {event}."),
           events: list[str] = typer.Option(["push", "pull_request"], "--event",
                                            help="push, pull_request, tag (repeat)."),
           branches: list[str] = typer.Option(["*"], "--branch",
                                              help="Branch pattern, e.g. 'release/*' (repeat)."),
           overlays: list[str] = typer.Option([], "--overlay", help="Named overlay (repeat)."),
           lease: str = typer.Option(None, help="Lease of its zPods, e.g. 4h or PT4H."),
           on_push: str = typer.Option("replace", help="replace or keep an existing zPod."),
           owner: str = typer.Option(None, help="Owner (admins only).")):
    """Add a trigger and print its secret, once: give it to the sender."""
    fields = {"name": name, "source": source, "profile": profile, "endpoint": endpoint,
              "zpod_name": zpod_name, "events": events, "branches": branches,
              "overlays": overlays, "on_push": on_push}
    fields |= {k: v for k, v in (("lease", lease), ("owner", owner)) if v is not None}
    with api() as client:
        created = client.create_trigger(**fields)
    state.out.data(created, DETAIL + [("secret", "SECRET (shown once)")])


@app.command("list")
def list_triggers():
    """List triggers (yours; admins see all)."""
    with api() as client:
        state.out.data(client.triggers(), COLUMNS)


@app.command()
def show(ref: str):
    """Show a trigger (never its secret)."""
    with api() as client:
        state.out.data(client.trigger(ref), DETAIL)


@app.command()
def deliveries(ref: str, limit: int = typer.Option(50, "--limit", "-n")):
    """What the trigger received, newest first, and what came of it."""
    with api() as client:
        state.out.data(client.trigger_deliveries(ref, limit), DELIVERIES)


@app.command()
def delete(ref: str, yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")):
    """Remove a trigger (its zPods stay)."""
    if not yes:
        typer.confirm(f"remove trigger '{ref}'?", abort=True)
    with api() as client:
        client.delete_trigger(ref)
    state.out.say(f"trigger '{ref}' removed")
