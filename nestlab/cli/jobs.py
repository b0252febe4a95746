"""`nestlab jobs`: list, show and watch jobs."""

from __future__ import annotations

import typer

from nestlab.cli.progress import follow
from nestlab.cli.session import api, state

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("id", "ID"), ("kind", "KIND"), ("status", "STATUS"), ("zpod_id", "ZPOD"),
           ("endpoint_id", "ENDPOINT"), ("created_at", "CREATED"), ("error", "ERROR")]
STEPS = [("name", "STEP"), ("status", "STATUS"), ("started_at", "STARTED"),
         ("finished_at", "FINISHED"), ("error", "ERROR")]


@app.command("list")
def list_jobs(status: str = typer.Option(None, help="queued, running, succeeded or failed."),
              limit: int = typer.Option(50)):
    """List recent jobs, newest first."""
    with api() as client:
        state.out.data(client.jobs(status, limit), COLUMNS)


@app.command()
def show(job_id: int):
    """Show a job with its steps."""
    with api() as client:
        job = client.job(job_id)
    state.out.data(job, COLUMNS + [("attempts", "ATTEMPTS"), ("soap_calls", "SOAP CALLS")])
    if state.out.fmt == "table" and job["steps"]:
        state.out.table(job["steps"], STEPS)


def _follow(client, job: dict) -> None:
    components = client.zpod(job["zpod_id"])["components"] if job.get("zpod_id") else None
    job = follow(client, job["id"], state.out.err, f"{job['kind']} (job {job['id']})",
                 components)
    if job["status"] != "succeeded":
        state.out.error(job["error"] or job["status"])
        raise typer.Exit(1)


@app.command()
def watch(job_id: int):
    """Follow a job's progress live; exits non-zero if it fails."""
    with api() as client:
        _follow(client, client.job(job_id))


@app.command()
def retry(job_id: int, wait: bool = typer.Option(False, "--wait", "-w",
                                                 help="Show live progress.")):
    """Run a failed job again from where it failed (finished parts are not redone)."""
    with api() as client:
        job = client.retry_job(job_id)
        if not wait:
            state.out.say(f"job {job_id} queued again; follow it with "
                          f"`nestlab jobs watch {job_id}`")
            return
        _follow(client, job)
