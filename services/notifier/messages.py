"""What a chat message says, whatever the platform: a `Notice` built from the database.

A notice carries the zPod, the job, the step, the progress, the elapsed time
and, for a failure, the error and how to retry. Everything in it comes from
job and event rows, which never hold secrets; API-token-like strings are
masked anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.events import EventKind
from shared.logs import redact
from shared.models import Endpoint, Event, Job, Zpod, utcnow

STATE_FOR_KIND = {
    EventKind.JOB_STARTED: "started",
    EventKind.JOB_RETRYING: "retrying",
    EventKind.JOB_SUCCEEDED: "succeeded",
    EventKind.JOB_FAILED: "failed",
    EventKind.ZPOD_DESTROYED: "destroyed",
    EventKind.LEASE_EXPIRING: "warning",
    EventKind.LEASE_EXPIRED: "warning",
}
ICONS = {"started": "🚀", "running": "⏳", "retrying": "🔁", "succeeded": "✅", "failed": "❌",
         "destroyed": "🗑️", "warning": "⏰", "test": "🔔"}


@dataclass(frozen=True)
class Notice:
    kind: str
    state: str
    title: str
    zpod: str | None
    job_id: int | None
    step: str
    percent: int | None
    elapsed: float | None
    error: str | None
    retry_hint: str | None
    link: str | None
    time: datetime
    seq: int = 0

    @property
    def headline(self) -> str:
        if self.state in ("succeeded", "failed"):
            return f"{ICONS[self.state]} {self.title} {self.state}"
        return f"{ICONS.get(self.state, '⏳')} {self.title}"

    @property
    def progress(self) -> str:
        return bar(self.percent)

    @property
    def elapsed_text(self) -> str:
        return duration(self.elapsed)

    @property
    def text(self) -> str:
        """The whole notice as plain lines, for fallbacks and plain-text platforms."""
        lines = [self.headline, f"{self.step}", f"{self.progress} · {self.elapsed_text}"]
        if self.zpod:
            lines.insert(1, f"zPod {self.zpod}")
        if self.error:
            lines.append(f"Error: {self.error}")
        if self.retry_hint:
            lines.append(self.retry_hint)
        return "\n".join(lines)


def bar(percent: int | None, width: int = 10) -> str:
    if percent is None:
        return "—"
    filled = round(width * max(0, min(100, percent)) / 100)
    return "▰" * filled + "▱" * (width - filled) + f" {percent}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def zpod_operation_title(job: Job, zpod: Zpod) -> str | None:
    """The title of an operation on a live zPod (power, check, remove), from its params."""
    params = job.params or {}
    if job.kind == "power":
        target = params.get("hostname") or "all VMs"
        return f"Power {params.get('action')} of zPod {zpod.name} ({target})"
    if job.kind == "check":
        return f"Drift check of zPod {zpod.name}"
    if job.kind == "remove_component":
        return f"Removal of {params.get('hostname')} from zPod {zpod.name}"
    return None


def job_title(job: Job, zpod: Zpod | None, endpoint: Endpoint | None) -> str:
    if job.kind == "deploy" and zpod:
        return f"Deploy of zPod {zpod.name}"
    if job.kind == "destroy" and zpod:
        return f"Destroy of zPod {zpod.name}"
    if job.kind == "verify" and endpoint:
        return f"Check of endpoint {endpoint.name}"
    return (zpod and zpod_operation_title(job, zpod)) or f"Job {job.id} ({job.kind})"


def retry_hint(job: Job, zpod: Zpod | None, endpoint: Endpoint | None) -> str:
    if job.kind == "deploy" and zpod:
        return (f"To retry: destroy it (DELETE /api/v1/zpods/{zpod.name}), then deploy it "
                "again (POST /api/v1/zpods).")
    if job.kind == "destroy" and zpod:
        return f"To retry: DELETE /api/v1/zpods/{zpod.name} again once the cause is fixed."
    if job.kind == "verify" and endpoint:
        return (f"To retry: fix the endpoint, then POST /api/v1/endpoints/{endpoint.name}"
                "/verify.")
    return f"See GET /api/v1/jobs/{job.id} for the details."


def job_notice(session, event: Event, public_url: str = "") -> Notice:
    job = session.get(Job, event.job_id)
    zpod = session.get(Zpod, job.zpod_id) if job.zpod_id else None
    endpoint = session.get(Endpoint, job.endpoint_id) if job.endpoint_id else None
    state = STATE_FOR_KIND.get(event.kind, "running")
    started = job.started_at or job.created_at
    failed = event.kind == EventKind.JOB_FAILED
    return Notice(
        kind=event.kind, state=state, title=job_title(job, zpod, endpoint),
        zpod=zpod.name if zpod else None, job_id=job.id, step=redact(event.message),
        percent=event.percent, elapsed=(event.created_at - started).total_seconds(),
        error=redact(job.error or event.message) if failed else None,
        retry_hint=retry_hint(job, zpod, endpoint) if failed else None,
        link=f"{public_url.rstrip('/')}/api/v1/jobs/{job.id}" if public_url else None,
        time=event.created_at, seq=event.seq)


def channel_test_notice(channel_name: str) -> Notice:
    return Notice(kind="test", state="test", title=f"Test message for channel {channel_name}",
                  zpod=None, job_id=None, step="nestlab can post to this channel.",
                  percent=None, elapsed=None, error=None, retry_hint=None, link=None,
                  time=utcnow())
