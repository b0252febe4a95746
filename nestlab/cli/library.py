"""`nestlab libraries` and `nestlab components`: catalogs, downloads, staging."""

from __future__ import annotations

import typer

from nestlab.cli.progress import follow
from nestlab.cli.session import api, state

libraries = typer.Typer(no_args_is_help=True)
components = typer.Typer(no_args_is_help=True)

LIBRARY_COLUMNS = [("id", "ID"), ("name", "NAME"), ("kind", "KIND"), ("source", "SOURCE"),
                   ("status", "STATUS"), ("synced_at", "SYNCED")]
COMPONENT_COLUMNS = [("uid", "UID"), ("kind", "KIND"), ("library", "LIBRARY"),
                     ("status", "STATUS"), ("percent", "%"), ("size", "BYTES")]
COMPONENT_DETAIL = COMPONENT_COLUMNS + [("description", "DESCRIPTION"), ("sha256", "SHA256"),
                                        ("url", "URL"), ("status_message", "MESSAGE"),
                                        ("path", "FILE"), ("job_id", "JOB")]


def _wait(client, job_id: int, title: str) -> None:
    job = follow(client, job_id, state.out.err, title)
    if job["status"] != "succeeded":
        state.out.error(job["error"] or job["status"])
        raise typer.Exit(1)


@libraries.command("list")
def list_libraries():
    """List component libraries."""
    with api() as client:
        state.out.data(client.libraries(), LIBRARY_COLUMNS)


@libraries.command("create")
def create_library(name: str, kind: str = typer.Option(..., help="directory, git or url."),
                   source: str = typer.Option(..., help="Path, git URL or index URL."),
                   ref: str = typer.Option(None, help="git branch, tag or commit.")):
    """Add a library."""
    with api() as client:
        state.out.data(client.create_library(name=name, kind=kind, source=source, ref=ref),
                       LIBRARY_COLUMNS)


@libraries.command("sync")
def sync_library(ref: str, wait: bool = typer.Option(True, help="Wait and show progress.")):
    """Sync a library: add, update and remove its components."""
    with api() as client:
        job = client.sync_library(ref)
        if wait:
            _wait(client, job["id"], f"sync {ref}")
            state.out.data(client.library(ref)["last_sync"] or {},
                           [("added", "added"), ("updated", "updated"),
                            ("unchanged", "unchanged"), ("removed", "removed"),
                            ("errors", "errors")])


@libraries.command("delete")
def delete_library(ref: str):
    """Remove a library (its components are marked removed)."""
    with api() as client:
        client.delete_library(ref)
    state.out.say(f"library '{ref}' removed")


@components.command("list")
def list_components(kind: str = typer.Option(None), status: str = typer.Option(None),
                    library: str = typer.Option(None)):
    """List components, optionally filtered."""
    with api() as client:
        state.out.data(client.components(kind=kind, status=status, library=library),
                       COMPONENT_COLUMNS)


@components.command("show")
def show_component(uid: str):
    """Show a component: its file, its OVA's declarations, its staged templates."""
    with api() as client:
        state.out.data(client.component(uid), COMPONENT_DETAIL)


@components.command("enable")
def enable_component(uid: str, wait: bool = typer.Option(False, "--wait", "-w",
                                                         help="Show the download's progress.")):
    """Download a component (once, however many ask)."""
    with api() as client:
        found = client.enable_component(uid)
        if wait and found.get("job_id") and found["status"] != "ready":
            _wait(client, found["job_id"], f"download {uid}")
            found = client.component(uid)
        state.out.data(found, COMPONENT_COLUMNS)


@components.command("disable")
def disable_component(uid: str):
    """Remove a component's file (refused while a live zPod uses it)."""
    with api() as client:
        state.out.data(client.disable_component(uid), COMPONENT_COLUMNS)


@components.command("stage")
def stage_component(uid: str, endpoint: str = typer.Option(..., "--endpoint", "-e"),
                    wait: bool = typer.Option(False, "--wait", "-w")):
    """Import a component onto an endpoint as a template, once."""
    with api() as client:
        template = client.stage_component(uid, endpoint)
        if wait and template.get("job_id") and template["status"] != "ready":
            _wait(client, template["job_id"], f"stage {uid} on {endpoint}")
        state.out.data(template, [("name", "TEMPLATE"), ("endpoint", "ENDPOINT"),
                                  ("status", "STATUS"), ("moref", "MOREF")])
