"""Errors a job's flow raises to say whether retrying can help.

The job runner (shared.jobs) retries a `TransientError` with backoff and ends
the job failed on a `PermanentError`. Each service maps its own faults (vSphere,
HTTP downloads, git) onto these two, keeping a message written for a person.
"""

from __future__ import annotations


class JobError(Exception):
    """A job step failed; `str(error)` is written for a person."""


class TransientError(JobError):
    """Worth retrying: a connection dropped, a server is busy, a timeout."""


class PermanentError(JobError):
    """Retrying will not help until a person changes something."""
