"""Shared CLI state (context, output) and the login/context/version commands."""

from __future__ import annotations

from contextlib import contextmanager

import typer

from nestlab import __version__
from nestlab.cli import config
from nestlab.cli.output import Output
from nestlab.client import ApiError, Client


class State:
    context: str | None = None
    out: Output = Output()

    def configure(self, context: str | None, fmt: str, color: bool) -> None:
        self.context = context
        self.out = Output(fmt, color)

    def client(self) -> Client:
        ctx = config.resolve(self.context)
        return Client(ctx.url, ctx.token)


state = State()


def explain(error: ApiError) -> str:
    if error.status == 401:
        return f"{error.message}. Log in again: `nestlab login URL --token TOKEN`"
    if error.status == 0:
        return error.message
    details = "; ".join(f"{field}: {' '.join(map(str, problems))}"
                        for _, fields in error.errors.items() if isinstance(fields, dict)
                        for field, problems in fields.items())
    return f"{error.message}" + (f" ({details})" if details else "")


@contextmanager
def api():
    """A client for the chosen context; API and config errors become clean exits."""
    try:
        with state.client() as client:
            yield client
    except config.ConfigError as exc:
        state.out.error(str(exc))
        raise typer.Exit(1) from exc
    except ApiError as exc:
        state.out.error(explain(exc))
        raise typer.Exit(1) from exc


def check_version(server: str) -> str | None:
    """A warning when the CLI and server differ in major or minor version."""
    def major_minor(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())

    mine, theirs = major_minor(__version__), major_minor(server)
    if mine != theirs:
        newer = "the CLI (pip install -U nestlab)" if theirs > mine else "the server"
        return f"CLI {__version__} and server {server} differ: upgrade {newer}"
    return None


def register(app: typer.Typer) -> None:
    @app.command()
    def login(url: str = typer.Argument(..., help="Server URL, e.g. http://127.0.0.1:8080"),
              token: str = typer.Option(..., prompt=True, hide_input=True,
                                        envvar="NESTLAB_TOKEN", help="API token."),
              name: str = typer.Option("default", "--name", help="Name of this context.")):
        """Check the token against the server and save it as the current context."""
        client = Client(url, token)
        try:
            server = client.version()["version"]
            client.endpoints()
        except ApiError as exc:
            state.out.error(explain(exc))
            raise typer.Exit(1) from exc
        finally:
            client.close()
        data = config.load()
        data["contexts"][name] = {"url": url.rstrip("/"), "token": token}
        data["current"] = name
        path = config.save(data)
        state.out.say(f"logged in to {url} as context '{name}' (saved in {path})")
        warning = check_version(server)
        if warning:
            state.out.say(f"[yellow]warning:[/yellow] {warning}")

    @app.command("contexts")
    def contexts(use: str = typer.Option(None, "--use", help="Make this context current.")):
        """List saved contexts, or switch with --use."""
        data = config.load()
        if use:
            if use not in data["contexts"]:
                state.out.error(f"no context named '{use}'")
                raise typer.Exit(1)
            data["current"] = use
            config.save(data)
        rows = [{"name": n, "url": c["url"], "current": n == data["current"]}
                for n, c in data["contexts"].items()]
        state.out.data(rows, [("name", "NAME"), ("url", "URL"), ("current", "CURRENT")])

    @app.command()
    def version():
        """Show the CLI's and the server's versions."""
        with api() as client:
            server = client.version()["version"]
        state.out.data({"cli": __version__, "server": server},
                       [("cli", "cli"), ("server", "server")])
        warning = check_version(server)
        if warning:
            state.out.say(f"[yellow]warning:[/yellow] {warning}")
