"""Live progress of a job in the terminal, fed by the job's event stream.

One bar for the whole job. For a zPod deployment, one bar per stage (its
components done out of its total) and one row per component showing what it is
doing ("esxi2: clone", "esxi2: guest IP"...), ticked when it is ready. Other
steps get a row each. A failure marks what was still running with a cross.
"""

from __future__ import annotations

import re
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from nestlab.client import Client

COMPONENT_STEP = re.compile(r"^(?P<host>[a-z][a-z0-9-]*): (?P<what>.+)$")
COMPONENT_READY = re.compile(r"^(?P<host>[a-z][a-z0-9-]*) ready$")
STAGE_STARTED = re.compile(r"^stage '(?P<stage>[^']+)' started")
STAGE_FINISHED = re.compile(r"^stage '(?P<stage>[^']+)' finished")


class JobView:
    """The rows of one job's progress, updated event by event."""

    def __init__(self, progress: Progress, title: str, components: list[dict] | None):
        self.progress = progress
        self.overall = progress.add_task(f"[bold]{title}[/bold]", total=100)
        self.stage_of = {c["hostname"]: c.get("stage") for c in components or []
                         if c.get("status") != "ready"}
        self.stage_sizes: dict[str, int] = {}
        for stage in self.stage_of.values():
            self.stage_sizes[stage] = self.stage_sizes.get(stage, 0) + 1
        self.stages: dict[str, int] = {}
        self.rows: dict[str, int] = {}

    def _stage(self, name: str) -> int:
        if name not in self.stages:
            self.stages[name] = self.progress.add_task(
                f"  stage [bold]{name}[/bold]", total=self.stage_sizes.get(name, 1) or 1)
        return self.stages[name]

    def _row(self, key: str, description: str) -> int:
        if key not in self.rows:
            self.rows[key] = self.progress.add_task(description, total=1)
        else:
            self.progress.update(self.rows[key], description=description)
        return self.rows[key]

    def on(self, event: dict) -> None:
        kind, message, percent = event["kind"], event["message"], event.get("percent")
        if percent is not None:
            self.progress.update(self.overall, completed=percent)
        if kind == "progress" and (hit := STAGE_STARTED.match(message)):
            self._stage(hit["stage"])
        elif kind == "progress" and (hit := COMPONENT_READY.match(message)):
            self._component_done(hit["host"])
        elif kind == "stage_finished" and (hit := STAGE_FINISHED.match(message)):
            task = self._stage(hit["stage"])
            self.progress.update(task, completed=self.progress.tasks[task].total)
        elif kind == "step_started":
            hit = COMPONENT_STEP.match(message)
            if hit and hit["host"] in self.stage_of:
                self._stage(self.stage_of[hit["host"]])
                self._row(hit["host"], f"    {hit['host']} [dim]{hit['what']}[/dim]")
            else:
                self._row(message, f"  {message}")
        elif kind == "step_finished" and message in self.rows:
            self.progress.update(self.rows[message], completed=1)
        elif kind == "job_failed":
            self._fail()
        elif kind == "job_succeeded":
            self.progress.update(self.overall, completed=100)

    def _component_done(self, host: str) -> None:
        self.progress.update(self._row(host, f"    {host}"), completed=1)
        if host in self.stage_of:
            self.progress.advance(self._stage(self.stage_of[host]))

    def _fail(self) -> None:
        for task_id in [*self.rows.values(), *self.stages.values()]:
            task = self.progress.tasks[task_id]
            if not task.finished:
                self.progress.update(task_id, description=task.description + " [red]✗[/red]")
                self.progress.stop_task(task_id)


def follow(api: Client, job_id: int, console: Console, title: str,
           components: list[dict] | None = None) -> dict:
    """Show the job's progress until it ends; return the finished job.

    `components` (a zPod's, as the API shows them) groups component rows by stage.
    """
    progress = Progress(SpinnerColumn(finished_text="[green]✓[/green]"),
                        TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.percentage:>3.0f}%"),
                        TimeElapsedColumn(), console=console, transient=False)
    with progress:
        view = JobView(progress, title, components)
        for event in api.job_events(job_id):
            view.on(event)
        time.sleep(0.05)  # let the last refresh draw
    return api.job(job_id)
