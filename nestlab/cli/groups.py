"""`nestlab groups`: groups of users, which zPod and endpoint grants can name (admins)."""

from __future__ import annotations

import typer

from nestlab.cli.session import api, state

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("id", "ID"), ("name", "NAME"), ("members", "MEMBERS"),
           ("description", "DESCRIPTION")]


def _show(found) -> None:
    """Groups (or one), their members on one line in a table."""
    if state.out.fmt == "table":
        many = found if isinstance(found, list) else [found]
        found = [dict(g, members=", ".join(g["members"])) for g in many]
    state.out.data(found, COLUMNS)


@app.command("list")
def list_groups():
    """List groups (a user: the groups they are in)."""
    with api() as client:
        _show(client.groups())


@app.command()
def show(ref: str):
    with api() as client:
        _show(client.group(ref))


@app.command()
def create(name: str, description: str = typer.Option("", "--description", "-d"),
           member: list[str] = typer.Option(None, "--member", "-m",
                                            help="A user name; repeat for more.")):
    """Make a group (admins)."""
    with api() as client:
        _show(client.create_group(name, description, member or []))


@app.command("add-member")
def add_member(group: str, user: str):
    """Add a user to a group: they get what the group is granted."""
    with api() as client:
        _show(client.add_group_member(group, user))


@app.command("remove-member")
def remove_member(group: str, user: str):
    """Take a user out of a group: the group's grants stop applying to them at once."""
    with api() as client:
        client.remove_group_member(group, user)
    state.out.say(f"'{user}' removed from group '{group}'")


@app.command()
def delete(ref: str, yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")):
    """Remove a group and its grants (its members stay)."""
    if not yes:
        typer.confirm(f"delete group '{ref}' and its grants?", abort=True)
    with api() as client:
        client.delete_group(ref)
    state.out.say(f"group '{ref}' deleted")
