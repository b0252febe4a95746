"""`nestlab zpods`: create (with live progress), list, show and destroy zPods."""

from __future__ import annotations

import time

import typer
from rich.live import Live

from nestlab.cli.progress import follow
from nestlab.cli.session import api, state

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("id", "ID"), ("name", "NAME"), ("status", "STATUS"), ("endpoint", "ENDPOINT"),
           ("profile", "PROFILE"), ("network.subnet", "SUBNET"), ("network.vlan", "VLAN")]
COMPONENTS = [("hostname", "HOSTNAME"), ("fqdn", "FQDN"), ("ip", "IP"), ("role", "ROLE"),
              ("vm_name", "VM"), ("moref", "MOREF"), ("status", "STATUS")]
DETAIL = COLUMNS + [("domain", "DOMAIN"), ("network.gateway", "GATEWAY"),
                    ("network.dns", "DNS"), ("status_message", "MESSAGE"),
                    ("job_id", "LAST JOB"), ("lease_expires_at", "LEASE ENDS"),
                    ("created_at", "CREATED")]
lease = typer.Typer(no_args_is_help=True)
app.add_typer(lease, name="lease", help="A zPod's lease: when it is destroyed by itself.")


def _finish(client, job: dict, title: str, wait: bool) -> None:
    if not wait:
        state.out.say(f"job {job['id']} queued; follow it with `nestlab jobs watch {job['id']}`")
        return
    job = follow(client, job["id"], state.out.err, title)
    if job["status"] != "succeeded":
        state.out.error(f"{job['error']}")
        state.out.say("after fixing the cause: `nestlab zpods destroy NAME` cleans up what "
                      "was made")
        raise typer.Exit(1)


@app.command()
def create(name: str, endpoint: str = typer.Option(..., "--endpoint", "-e"),
           profile: str = typer.Option("minimal", "--profile", "-p"),
           lease_for: str = typer.Option(None, "--lease", help="Destroy it after this long "
                                                                "(4h, PT4H, seconds)."),
           wait: bool = typer.Option(False, "--wait", "-w", help="Show live progress.")):
    """Deploy a zPod."""
    with api() as client:
        zpod = client.create_zpod(name, endpoint=endpoint, profile=profile, lease=lease_for)
        if state.out.fmt != "table" or not wait:
            state.out.data(zpod, DETAIL)
        _finish(client, client.job(zpod["job_id"]), f"deploy {name}", wait)
        if wait and state.out.fmt == "table":
            show_zpod(client.zpod(name))


def show_zpod(zpod: dict) -> None:
    state.out.data(zpod, DETAIL)
    if state.out.fmt == "table" and zpod["components"]:
        state.out.table(zpod["components"], COMPONENTS)


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
        _finish(client, client.job(zpod["job_id"]), f"destroy {ref}", wait)
        if wait:
            state.out.say(f"zPod '{ref}' destroyed")


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
