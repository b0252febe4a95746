"""`nestlab profiles`: list, show, create, patch (overlay) and delete profiles."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml

from nestlab.cli import zpods
from nestlab.cli.session import api, state

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("id", "ID"), ("name", "NAME"), ("description", "DESCRIPTION"),
           ("updated_at", "UPDATED")]


def _read(path: Path) -> str:
    return path.read_text() if str(path) != "-" else typer.get_text_stream("stdin").read()


@app.command("list")
def list_profiles():
    """List profiles."""
    with api() as client:
        state.out.data(client.profiles(), COLUMNS)


@app.command()
def show(name: str):
    """Show a profile's document (YAML by default)."""
    with api() as client:
        found = client.profile(name)
    if state.out.fmt == "table":
        state.out.console.print(yaml.safe_dump(found["document"], sort_keys=False), end="")
    else:
        state.out.data(found)


@app.command()
def create(file: Path = typer.Argument(..., help="YAML or JSON document; - for stdin.")):
    """Create a profile from a document."""
    with api() as client:
        state.out.data(client.create_profile(_read(file)), COLUMNS)


@app.command()
def patch(name: str, file: Path = typer.Argument(..., help="Overlay (YAML or JSON); - for stdin.")):
    """Merge an overlay into a profile ("$delete", "$items" work as documented)."""
    with api() as client:
        state.out.data(client.patch_profile(name, _read(file)), COLUMNS)


@app.command()
def delete(name: str):
    """Delete a profile no live zPod uses."""
    with api() as client:
        client.delete_profile(name)
    state.out.say(f"profile '{name}' deleted")


@app.command("plan")
def plan(profile: str,
         endpoint: str = typer.Option(..., "--endpoint", "-e"),
         name: str = typer.Option("plan", "--name", "-n", help="The zPod name to plan for."),
         overlay: list[str] = typer.Option(None, "--overlay", help=(
             "A named overlay applied over the profile; repeat for several, in order.")),
         set_: list[str] = typer.Option(None, "--set", help=zpods.SET_HELP),
         overrides: Path = typer.Option(None, "--overrides", help=(
             "A YAML/JSON file merged last ('-' for standard input)."))):
    """Print the merged config, the vSphere objects and the IP plan a zPod of this profile
    would get on the endpoint, creating nothing; exit 1 when it would be refused."""
    zpods.plan(name, endpoint=endpoint, profile=profile, overlay=overlay, set_=set_,
               overrides=overrides)


overlays = typer.Typer(no_args_is_help=True)
OVERLAY_COLUMNS = [("id", "ID"), ("name", "NAME"), ("description", "DESCRIPTION"),
                   ("updated_at", "UPDATED")]


@overlays.command("list")
def list_overlays():
    """List named overlays."""
    with api() as client:
        state.out.data(client.overlays(), OVERLAY_COLUMNS)


@overlays.command("create")
def create_overlay(name: str,
                   file: Path = typer.Argument(..., help="The overlay document (YAML or JSON); "
                                                         "- for stdin."),
                   description: str = typer.Option("", "--description", "-d")):
    """Create a named overlay that zPod requests can apply (`--overlay NAME`)."""
    document = yaml.safe_load(_read(file))
    if not isinstance(document, dict):
        raise typer.BadParameter(f"{file}: an overlay is a mapping")
    with api() as client:
        state.out.data(client.create_overlay(name, document, description), OVERLAY_COLUMNS)


@overlays.command("delete")
def delete_overlay(name: str):
    """Delete a named overlay (zPods made with it keep their configuration)."""
    with api() as client:
        client.delete_overlay(name)
    state.out.say(f"overlay '{name}' deleted")
