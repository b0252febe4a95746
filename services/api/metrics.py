"""Prometheus metrics at /metrics.

Two kinds of figures:
* this API process's own requests (counts and latency by route and status),
  counted as they happen;
* the system's state, read at scrape time from the database (the record all
  services share) and the broker: jobs by kind and outcome, job and step
  durations, SOAP calls per job, downloads, chat deliveries, queue depths.
  Reading the record means no worker has to expose or push anything, and a
  scrape shows the same numbers whichever API process answers it.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from shared.contract import Queues
from shared.models import Delivery, Job, LibraryComponent, Step, utcnow

log = logging.getLogger(__name__)
blp = Blueprint("metrics", __name__)
WINDOW = timedelta(hours=24)  # durations and SOAP calls: jobs finished in this window
QUEUES = (Queues.DEPLOYER, Queues.LIBRARY, Queues.NOTIFIER)


def step_kind(name: str) -> str:
    """'portgroup nestlab-lab1 (VLAN 100)' -> 'portgroup': one series per kind of step."""
    return (name.split() or ["step"])[0].lower()


class StateCollector:
    """Figures read from the database and the broker at each scrape."""

    def __init__(self, ctx):
        self.ctx = ctx

    def collect(self):
        try:
            with self.ctx.sessions() as session:
                yield from self._jobs(session)
                yield from self._durations(session)
                yield from self._counts(session, "nestlab_components", "Library components",
                                        LibraryComponent.status)
                yield from self._counts(session, "nestlab_deliveries", "Chat deliveries",
                                        Delivery.status)
        except Exception:  # noqa: BLE001 - a scrape must not fail because the DB is down
            log.warning("metrics: database unavailable", exc_info=True)
        yield self._queues()

    def _jobs(self, session):
        family = GaugeMetricFamily("nestlab_jobs", "Jobs by kind and status",
                                   labels=["kind", "status"])
        for kind, status, count in session.execute(
                select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)):
            family.add_metric([kind, status], count)
        yield family

    def _durations(self, session):
        since = utcnow() - WINDOW
        jobs = SummaryMetricFamily("nestlab_job_duration_seconds",
                                   "Finished jobs' run time (last 24 h)", labels=["kind", "status"])
        soap = SummaryMetricFamily("nestlab_job_soap_calls",
                                   "SOAP calls to vCenter per finished job (last 24 h)",
                                   labels=["kind"])
        steps = SummaryMetricFamily("nestlab_step_duration_seconds",
                                    "Finished steps' run time (last 24 h)", labels=["step"])
        job_sums: dict = {}
        soap_sums: dict = {}
        for kind, status, started, finished, result in session.execute(
                select(Job.kind, Job.status, Job.started_at, Job.finished_at, Job.result)
                .where(Job.finished_at >= since, Job.started_at.is_not(None))):
            total = job_sums.setdefault((kind, status), [0, 0.0])
            total[0] += 1
            total[1] += (finished - started).total_seconds()
            if (result or {}).get("soap_calls") is not None:
                calls = soap_sums.setdefault(kind, [0, 0])
                calls[0] += 1
                calls[1] += result["soap_calls"]
        for labels, (count, seconds) in job_sums.items():
            jobs.add_metric(list(labels), count, seconds)
        for kind, (count, calls) in soap_sums.items():
            soap.add_metric([kind], count, calls)
        step_sums: dict = {}
        for name, started, finished in session.execute(
                select(Step.name, Step.started_at, Step.finished_at)
                .where(Step.finished_at >= since, Step.status == "succeeded")):
            total = step_sums.setdefault(step_kind(name), [0, 0.0])
            total[0] += 1
            total[1] += (finished - started).total_seconds()
        for kind, (count, seconds) in step_sums.items():
            steps.add_metric([kind], count, seconds)
        yield from (jobs, soap, steps)

    @staticmethod
    def _counts(session, name, documentation, column):
        family = GaugeMetricFamily(name, f"{documentation} by status", labels=["status"])
        for status, count in session.execute(select(column, func.count()).group_by(column)):
            family.add_metric([status], count)
        yield family

    def _queues(self):
        family = GaugeMetricFamily("nestlab_queue_depth", "Messages waiting per queue",
                                   labels=["queue"])
        try:
            with self.ctx.celery.connection_for_read() as connection:
                channel = connection.default_channel
                for queue in QUEUES:
                    family.add_metric([queue], queue_depth(channel, queue))
        except Exception:  # noqa: BLE001 - the broker may be down; report nothing then
            log.warning("metrics: broker unavailable", exc_info=True)
        return family


def queue_depth(channel, queue: str) -> int:
    if hasattr(channel, "client") and hasattr(channel.client, "llen"):  # Redis transport
        return channel.client.llen(queue)
    return channel.queue_declare(queue, passive=True).message_count


class Metrics:
    """The registry of one app: request metrics plus the state collector."""

    def __init__(self, ctx):
        self.registry = CollectorRegistry()
        self.requests = Counter("nestlab_http_requests", "API requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("nestlab_http_request_duration_seconds",
                                 "API request latency", ["method", "route"],
                                 registry=self.registry)
        self.registry.register(StateCollector(ctx))

    def observe(self, response):
        rule = request.url_rule.rule if request.url_rule else "unmatched"
        started = g.get("metrics_started")
        if started is not None:
            self.latency.labels(request.method, rule).observe(time.perf_counter() - started)
        self.requests.labels(request.method, rule, str(response.status_code)).inc()
        return response


@blp.get("/metrics")
def metrics():
    from flask import current_app

    body = generate_latest(current_app.extensions["nestlab_metrics"].registry)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask, ctx) -> None:
    found = Metrics(ctx)
    app.extensions["nestlab_metrics"] = found
    app.before_request(lambda: setattr(g, "metrics_started", time.perf_counter()))
    app.after_request(found.observe)
    app.register_blueprint(blp)
