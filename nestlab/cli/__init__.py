"""The `nestlab` command: drive a nestlab server from a terminal or a script.

    nestlab login http://127.0.0.1:8080 --token nlb_...
    nestlab endpoints list
    nestlab zpods create lab1 --endpoint sim --wait
    nestlab zpods list -o json
"""

from __future__ import annotations

import sys

import typer

from nestlab.cli import (
    channels,
    endpoints,
    groups,
    jobs,
    library,
    profiles,
    session,
    triggers,
    users,
    zpod_ops,  # noqa: F401 - adds power, check and remove-component to `zpods`
    zpods,
)
from nestlab.cli.session import state

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})


@app.callback()
def main_options(
    context: str = typer.Option(None, "--context", "-c", help="Server context to use.",
                                envvar="NESTLAB_CONTEXT"),
    output: str = typer.Option("table", "--output", "-o", help="table, json or yaml."),
    no_color: bool = typer.Option(False, "--no-color", help="Plain output.",
                                  envvar="NO_COLOR"),
):
    if output not in ("table", "json", "yaml"):
        raise typer.BadParameter("choose table, json or yaml", param_hint="--output")
    state.configure(context, output, not no_color)


session.register(app)
app.add_typer(endpoints.app, name="endpoints", help="vCenter endpoints.")
app.add_typer(zpods.app, name="zpods", help="zPods: create, list, show, power, check, "
                                             "grant, lease, destroy.")
app.add_typer(jobs.app, name="jobs", help="Jobs and their events.")
app.add_typer(library.libraries, name="libraries", help="Component libraries.")
app.add_typer(library.components, name="components",
              help="Components: list, download, stage.")
app.add_typer(channels.app, name="channels", help="Chat channels.")
app.add_typer(profiles.app, name="profiles", help="zPod profiles (documents, plans).")
app.add_typer(profiles.overlays, name="overlays", help="Named overlays for zPod requests.")
app.add_typer(users.users, name="users", help="Users, roles and quotas.")
app.add_typer(users.tokens, name="tokens", help="API tokens.")
app.add_typer(groups.app, name="groups", help="Groups of users, for grants.")
app.add_typer(triggers.app, name="triggers", help="Webhook triggers that build zPods.")


def main() -> None:
    sys.exit(app())
