"""/healthz and /readyz, against the real database, broker and Redis."""

from nestlab.devstack import free_port
from services.api import create_app


def test_healthz_needs_no_token(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_ready_when_everything_answers(app):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"] == {"database": "ok", "broker": "ok", "redis": "ok"}


def test_not_ready_names_what_is_down(settings):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(settings.with_overrides(broker_url=dead, redis_url=dead,
                                             publish_timeout=0.5))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"] == "ok"
    assert checks["broker"].startswith("unreachable") and checks["redis"].startswith("unreachable")
