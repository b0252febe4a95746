"""`nestlab zpods power|check|remove-component`: operations on a live zPod.

Each starts a job; with `--wait` the command follows it live, then prints
what it found (power states, differences with vCenter) and exits 1 if the
job failed.
"""

from __future__ import annotations

import typer

from nestlab.cli.session import api, state
from nestlab.cli.zpods import app, finish

ACTIONS = ("start", "stop", "poweroff", "reset")
POWER = [("hostname", "HOSTNAME"), ("power_state", "POWER")]
DRIFT = [("kind", "KIND"), ("hostname", "HOSTNAME"), ("expected", "EXPECTED"),
         ("actual", "ACTUAL"), ("message", "DIFFERENCE")]


@app.command()
def power(ref: str, action: str = typer.Argument(..., help="start, stop, poweroff or reset."),
          component: str = typer.Option(None, "--component", help="One component's host name."),
          timeout: int = typer.Option(None, "--timeout",
                                      help="stop: seconds to wait for the guests."),
          wait: bool = typer.Option(False, "--wait", "-w", help="Show live progress.")):
    """Power a zPod's VMs, or one component's: start, stop (guest shutdown), poweroff, reset."""
    if action not in ACTIONS:
        raise typer.BadParameter(f"choose one of {', '.join(ACTIONS)}", param_hint="ACTION")
    with api() as client:
        job = client.power_zpod(ref, action, component=component, timeout=timeout)
        job = finish(client, job, f"{action} {component or ref}", wait, hint=False)
        if wait:
            states = job["result"].get("power_states", {})
            state.out.data([{"hostname": h, "power_state": s} for h, s in states.items()],
                           POWER)


@app.command()
def check(ref: str, wait: bool = typer.Option(False, "--wait", "-w",
                                              help="Wait and print the differences.")):
    """Compare a zPod with vCenter: missing or extra VMs, power states, sizes, network."""
    with api() as client:
        job = finish(client, client.check_zpod(ref), f"check {ref}", wait, hint=False)
        if not wait:
            return
        found = job["result"].get("drift", [])
        if state.out.fmt != "table" or found:
            state.out.data(found, DRIFT)
        state.out.say(f"{len(found)} difference(s) with vCenter" if found
                      else f"no drift: zPod '{ref}' matches vCenter")


@app.command("remove-component")
def remove_component(ref: str, hostname: str,
                     wait: bool = typer.Option(False, "--wait", "-w"),
                     yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")):
    """Remove one component: power off and destroy its VM, then forget it."""
    if not yes:
        typer.confirm(f"destroy the VM of '{hostname}' in zPod '{ref}'?", abort=True)
    with api() as client:
        finish(client, client.remove_component(ref, hostname), f"remove {hostname}", wait,
                hint=False)
        if wait:
            state.out.say(f"component '{hostname}' removed from zPod '{ref}'")
