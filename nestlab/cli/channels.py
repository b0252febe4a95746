"""`nestlab channels`: chat channels, test messages and deliveries."""

from __future__ import annotations

import typer

from nestlab.cli.session import api, state

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("id", "ID"), ("name", "NAME"), ("kind", "KIND"), ("url", "URL"),
           ("enabled", "ENABLED")]
DELIVERIES = [("id", "ID"), ("kind", "EVENT"), ("status", "STATUS"), ("attempts", "ATTEMPTS"),
              ("status_code", "HTTP"), ("error", "ERROR"), ("created_at", "CREATED")]


@app.command("list")
def list_channels():
    """List chat channels (URLs masked)."""
    with api() as client:
        state.out.data(client.channels(), COLUMNS)


@app.command()
def create(name: str,
           kind: str = typer.Option(..., help="slack, teams, mattermost, discord, googlechat "
                                              "or webhook."),
           url: str = typer.Option(..., prompt=True, hide_input=True,
                                   envvar="NESTLAB_CHANNEL_URL", help="Incoming webhook URL."),
           events: list[str] = typer.Option(
               ["job_started", "job_succeeded", "job_failed", "zpod_destroyed"], "--event",
               help="Event kinds to receive (repeat the option)."),
           zpod: str = typer.Option(None, help="Only this zPod's events.")):
    """Add a chat channel subscribed to some event kinds."""
    with api() as client:
        created = client.create_channel(name=name, kind=kind, url=url, subscriptions=[
            {"kinds": events, "zpod": zpod}])
    state.out.data(created, COLUMNS + [("secret", "SECRET (shown once)")])


@app.command()
def test(ref: str):
    """Send a test message."""
    with api() as client:
        delivery = client.test_channel(ref)
    state.out.say(f"test message queued (delivery {delivery['id']}); see `nestlab channels "
                  f"deliveries {ref}`")


@app.command()
def deliveries(ref: str):
    """Messages sent to the channel and their outcome, newest first."""
    with api() as client:
        state.out.data(client.deliveries(ref), DELIVERIES)


@app.command()
def delete(ref: str):
    """Remove a channel."""
    with api() as client:
        client.delete_channel(ref)
    state.out.say(f"channel '{ref}' removed")
