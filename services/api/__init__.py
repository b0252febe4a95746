"""The nestlab REST API: a Flask app factory, one blueprint per resource.

The API validates requests with marshmallow schemas, records them in the
database and publishes work to the workers by task name. It never talks to
vCenter itself.
"""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, send_from_directory
from sqlalchemy.exc import IntegrityError
from swagger_ui_bundle import swagger_ui_path

from services.api import (
    audit,
    auth,
    channels,
    components,
    endpoints,
    events,
    groups,
    health,
    hooks,
    jobs,
    libraries,
    metrics,
    overlays,
    profiles,
    requests_log,
    site_settings,
    triggers,
    uploads,
    users,
    zpod_ops,  # noqa: F401 - adds the live-zPod operations to the zpods blueprint
    zpods,
)
from services.api.context import ApiContext
from services.api.errors import NestlabApi, envelope
from shared.settings import Settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        API_TITLE="nestlab",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        # Swagger UI's files are served by the API itself: docs work offline too.
        OPENAPI_SWAGGER_UI_URL=f"{API_PREFIX}/docs/assets/",
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.json.sort_keys = False
    app.extensions["nestlab"] = ApiContext(settings)
    api = NestlabApi(app, spec_kwargs={
        "info": {"description": "Nested VMware labs (zPods) on demand."},
        "security": [{"bearer": []}],
    })
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(endpoints.blp, url_prefix=f"{API_PREFIX}/endpoints")
    api.register_blueprint(zpods.blp, url_prefix=f"{API_PREFIX}/zpods")
    api.register_blueprint(profiles.blp, url_prefix=f"{API_PREFIX}/profiles")
    api.register_blueprint(overlays.blp, url_prefix=f"{API_PREFIX}/overlays")
    api.register_blueprint(jobs.blp, url_prefix=f"{API_PREFIX}/jobs")
    api.register_blueprint(site_settings.blp, url_prefix=f"{API_PREFIX}/settings")
    api.register_blueprint(libraries.blp, url_prefix=f"{API_PREFIX}/libraries")
    api.register_blueprint(uploads.blp, url_prefix=f"{API_PREFIX}/components/upload")
    api.register_blueprint(components.blp, url_prefix=f"{API_PREFIX}/components")
    api.register_blueprint(events.blp, url_prefix=f"{API_PREFIX}/events")
    api.register_blueprint(channels.blp, url_prefix=f"{API_PREFIX}/channels")
    api.register_blueprint(users.blp, url_prefix=f"{API_PREFIX}/users")
    api.register_blueprint(groups.blp, url_prefix=f"{API_PREFIX}/groups")
    api.register_blueprint(audit.blp, url_prefix=f"{API_PREFIX}/audit")
    api.register_blueprint(triggers.blp, url_prefix=f"{API_PREFIX}/triggers")
    api.register_blueprint(hooks.blp, url_prefix=f"{API_PREFIX}/hooks")
    requests_log.init_app(app)
    audit.init_app(app)
    app.before_request(auth.authenticate)
    app.teardown_appcontext(_close_session)
    app.register_error_handler(IntegrityError, _conflict)
    app.register_blueprint(health.blp)
    metrics.init_app(app, app.extensions["nestlab"])
    app.add_url_rule(f"{API_PREFIX}/docs/assets/<path:filename>", "docs_assets",
                     lambda filename: send_from_directory(swagger_ui_path, filename))
    return app


def _close_session(_exc) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()


def _conflict(exc: IntegrityError):
    # Two requests raced for the same unique value; the loser gets a clean 409.
    log.info("integrity conflict: %s", exc.orig)
    g.pop("db").rollback() if "db" in g else None
    response = jsonify(envelope(409, "Conflict", "the request conflicts with an existing record "
                                                 "(a name already in use?); nothing was changed"))
    response.status_code = 409
    return response
