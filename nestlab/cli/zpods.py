"""`nestlab zpods`: plan, create (with live progress), list, show and destroy zPods."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
import yaml
from rich.live import Live

from nestlab.cli.plans import apply_settings, show_plan
from nestlab.cli.progress import follow
from nestlab.cli.session import api, state

app = typer.Typer(no_args_is_help=True)

SET_HELP = ("path=value merged over the overrides, e.g. stages.hosts.items.esxi{n}.count=2 "
            "(repeat for several)")

COLUMNS = [("id", "ID"), ("name", "NAME"), ("status", "STATUS"), ("endpoint", "ENDPOINT"),
           ("profile", "PROFILE"), ("network.subnet", "SUBNET"), ("network.vlan", "VLAN")]
COMPONENTS = [("hostname", "HOSTNAME"), ("fqdn", "FQDN"), ("ip", "IP"), ("role", "ROLE"),
              ("stage", "STAGE"), ("vm_name", "VM"), ("moref", "MOREF"), ("status", "STATUS"),
              ("power_state", "POWER")]
DETAIL = COLUMNS + [("domain", "DOMAIN"), ("network.gateway", "GATEWAY"),
                    ("network.dns", "DNS"), ("status_message", "MESSAGE"),
                    ("job_id", "LAST JOB"), ("lease_expires_at", "LEASE ENDS"),
                    ("created_at", "CREATED")]
lease = typer.Typer(no_args_is_help=True)
app.add_typer(lease, name="lease", help="A zPod's lease: when it is destroyed by itself.")


def finish(client, job: dict, title: str, wait: bool, components: list[dict] | None = None,
           hint: bool = True) -> dict:
    """Follow the job when asked to (exit 1 if it fails, with how to go on); return it."""
    if not wait:
        state.out.say(f"job {job['id']} queued; follow it with `nestlab jobs watch {job['id']}`")
        return job
    job = follow(client, job["id"], state.out.err, title, components)
    if job["status"] != "succeeded":
        state.out.error(f"{job['error']}")
        if hint:
            state.out.say(f"after fixing the cause: `nestlab jobs retry {job['id']}` resumes "
                          "where it failed, `nestlab zpods destroy NAME` cleans up what was made")
        raise typer.Exit(1)
    return job


def read_overrides(path: Path | None) -> dict:
    """An overrides document from a YAML or JSON file ('-' for standard input)."""
    if path is None:
        return {}
    text = sys.stdin.read() if str(path) == "-" else path.read_text()
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise typer.BadParameter(f"{path}: not YAML or JSON ({exc})") from None
    if not isinstance(document, dict):
        raise typer.BadParameter(f"{path}: an overrides document is a mapping")
    return document


@app.command()
def create(name: str, endpoint: str = typer.Option(..., "--endpoint", "-e"),
           profile: str = typer.Option("minimal", "--profile", "-p"),
           overlay: list[str] = typer.Option(None, "--overlay", help=(
               "A named overlay applied over the profile; repeat for several, in order.")),
           overrides: Path = typer.Option(None, "--overrides", help=(
               "A YAML/JSON file merged last ('-' for standard input).")),
           set_: list[str] = typer.Option(None, "--set", help=SET_HELP),
           lease_for: str = typer.Option(None, "--lease", help="Destroy it after this long "
                                                                "(4h, PT4H, seconds)."),
           wait: bool = typer.Option(False, "--wait", "-w", help="Show live progress.")):
    """Deploy a zPod."""
    body = apply_settings(read_overrides(overrides), set_ or [])
    with api() as client:
        zpod = client.create_zpod(name, endpoint=endpoint, profile=profile,
                                  overlays=overlay or [], overrides=body, lease=lease_for)
        if state.out.fmt != "table" or not wait:
            state.out.data(zpod, DETAIL)
        finish(client, client.job(zpod["job_id"]), f"deploy {name}", wait, zpod["components"])
        if wait and state.out.fmt == "table":
            show_zpod(client.zpod(name))


@app.command()
def plan(name: str, endpoint: str = typer.Option(..., "--endpoint", "-e"),
         profile: str = typer.Option("minimal", "--profile", "-p"),
         overlay: list[str] = typer.Option(None, "--overlay", help=(
             "A named overlay applied over the profile; repeat for several, in order.")),
         set_: list[str] = typer.Option(None, "--set", help=SET_HELP),
         overrides: Path = typer.Option(None, "--overrides", help=(
             "A YAML/JSON file merged last ('-' for standard input)."))):
    """Show what creating a zPod would do, without doing it; exit 1 when it would be refused."""
    body = apply_settings(read_overrides(overrides), set_ or [])
    with api() as client:
        result = client.plan_zpod(name, endpoint=endpoint, profile=profile,
                                  overlays=overlay or [], overrides=body)
    show_plan(result)
    if not result["ok"]:
        raise typer.Exit(1)


# The columns that matter most, for terminals too narrow for all of them.
NARROW = [("hostname", "HOSTNAME"), ("ip", "IP"), ("stage", "STAGE"), ("status", "STATUS"),
          ("power_state", "POWER")]


def show_zpod(zpod: dict) -> None:
    state.out.data(zpod, DETAIL)
    if state.out.fmt == "table" and zpod["components"]:
        wide = state.out.console.width >= 140
        state.out.table(zpod["components"], COMPONENTS if wide else NARROW)


@app.command("list")
def list_zpods(all_: bool = typer.Option(False, "--all", help="Include destroyed zPods."),
               watch: bool = typer.Option(False, "--watch", help="Refresh until Ctrl-C.")):
    """List zPods."""
    with api() as client:
        if not watch:
            state.out.data(client.zpods(all_), COLUMNS)
            return
        with Live(console=state.out.console, auto_refresh=False) as live:
            try:
                while True:
                    live.update(_table(client.zpods(all_)), refresh=True)
                    time.sleep(2)
            except KeyboardInterrupt:
                pass


def _table(rows):
    from rich.table import Table

    from nestlab.cli.output import cell

    table = Table(header_style="bold")
    for _, header in COLUMNS:
        table.add_column(header)
    for row in rows:
        table.add_row(*(cell(row, key) for key, _ in COLUMNS))
    return table


@app.command("add-component")
def add_component(ref: str, item_file: Path = typer.Argument(..., help=(
        "The component as a profile item, in a YAML/JSON file ('-' for standard input).")),
                  wait: bool = typer.Option(False, "--wait", "-w", help="Show live progress.")):
    """Add a component to a live zPod."""
    with api() as client:
        zpod = client.add_component(ref, read_overrides(item_file))
        finish(client, client.job(zpod["job_id"]), f"add to {ref}", wait, zpod["components"])
        if wait and state.out.fmt == "table":
            show_zpod(client.zpod(ref))


@app.command()
def show(ref: str):
    """Show a zPod: its network and components."""
    with api() as client:
        show_zpod(client.zpod(ref))


@app.command()
def destroy(ref: str, wait: bool = typer.Option(False, "--wait", "-w"),
            yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")):
    """Destroy a zPod and everything it has on vCenter."""
    if not yes:
        typer.confirm(f"destroy zPod '{ref}'?", abort=True)
    with api() as client:
        zpod = client.destroy_zpod(ref)
        finish(client, client.job(zpod["job_id"]), f"destroy {ref}", wait)
        if wait:
            state.out.say(f"zPod '{ref}' destroyed")


PERMISSIONS = [("id", "ID"), ("user", "USER"), ("group", "GROUP"), ("role", "ROLE"),
               ("created_at", "GRANTED")]


@app.command()
def grant(ref: str, user: str = typer.Option(None, "--user", "-u"),
          group: str = typer.Option(None, "--group", "-g"),
          role: str = typer.Option(..., "--role", "-r", help="viewer or admin.")):
    """Let a user or a group see (viewer) or also manage (admin) a zPod."""
    if (user is None) == (group is None):
        raise typer.BadParameter("give --user or --group (one of them)")
    with api() as client:
        state.out.data(client.grant_zpod(ref, role, user=user, group=group), PERMISSIONS)


@app.command()
def permissions(ref: str):
    """Who else may see or manage a zPod."""
    with api() as client:
        state.out.data(client.zpod_permissions(ref), PERMISSIONS)


@app.command()
def revoke(ref: str, permission_id: int):
    """Take a grant back (its id from `nestlab zpods permissions`)."""
    with api() as client:
        client.revoke_zpod_permission(ref, permission_id)
    state.out.say(f"permission {permission_id} revoked")
@lease.command("extend")
def extend_lease(ref: str,
                 by: str = typer.Option(None, "--by", help="Add this much: 2h, PT2H, seconds."),
                 until: str = typer.Option(None, "--until",
                                           help="Set the end, ISO 8601 with a zone.")):
    """Extend a zPod's lease (within the server's lease_max)."""
    if (by is None) == (until is None):
        raise typer.BadParameter("give --by or --until")
    with api() as client:
        zpod = client.extend_lease(ref, by=by, until=until)
    state.out.data(zpod, [("name", "NAME"), ("lease_expires_at", "LEASE ENDS")])
