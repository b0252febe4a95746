"""Live progress of a job in the terminal, fed by the job's event stream.

One bar for the whole job, and one row per step (stage, component...) that
turns from a spinner into a tick, or a cross when it fails.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from nestlab.client import Client


def follow(api: Client, job_id: int, console: Console, title: str) -> dict:
    """Show the job's progress until it ends; return the finished job."""
    progress = Progress(SpinnerColumn(finished_text="[green]✓[/green]"),
                        TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                        console=console, transient=False)
    rows: dict[str, int] = {}
    with progress:
        overall = progress.add_task(f"[bold]{title}[/bold]", total=100)
        for event in api.job_events(job_id):
            percent = event.get("percent")
            if percent is not None:
                progress.update(overall, completed=percent)
            kind, message = event["kind"], event["message"]
            if kind == "step_started" and message not in rows:
                rows[message] = progress.add_task(f"  {message}", total=1)
            elif kind == "step_finished" and message in rows:
                progress.update(rows[message], completed=1)
            elif kind == "job_failed":
                for task_id in rows.values():
                    if not progress.tasks[task_id].finished:
                        progress.update(task_id, description=progress.tasks[task_id].description
                                        + " [red]✗[/red]")
                        progress.stop_task(task_id)
            elif kind == "job_succeeded":
                progress.update(overall, completed=100)
        time.sleep(0.05)  # let the last refresh draw
    return api.job(job_id)
