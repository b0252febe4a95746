"""Health endpoints for load balancers and orchestrators (no token needed).

/healthz: the process answers. /readyz: the database, the broker and Redis
answer too; 503 with what is down otherwise.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, jsonify
from sqlalchemy import text

from nestlab import __version__
from services.api.context import api_context

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@blp.get("/api/v1/version")
def version():
    """The server's version, so clients can tell whether they match it."""
    return jsonify(version=__version__, api="v1")


def _check_database(ctx) -> None:
    with ctx.engine.connect() as connection:
        connection.execute(text("select 1"))


def _check_broker(ctx) -> None:
    with ctx.celery.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=ctx.settings.publish_timeout)


def _check_redis(ctx) -> None:
    client = redis.Redis.from_url(ctx.settings.redis_url, socket_timeout=2,
                                  socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


CHECKS = {"database": _check_database, "broker": _check_broker, "redis": _check_redis}


@blp.get("/readyz")
def readyz():
    ctx = api_context()
    results = {}
    for name, check in CHECKS.items():
        try:
            check(ctx)
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            log.warning("readiness: %s unreachable (%s)", name, type(exc).__name__)
            results[name] = f"unreachable ({type(exc).__name__})"
    ready = all(value == "ok" for value in results.values())
    return jsonify(status="ok" if ready else "unavailable", checks=results), 200 if ready else 503
