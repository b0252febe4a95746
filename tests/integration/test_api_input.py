"""Bad input gets a 4xx in the one error envelope and writes nothing; auth is enforced."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shared.models import Allocation, Component, Endpoint, Job, Zpod
from tests.conftest import endpoint_body

SIM = type("Sim", (), {"host": "127.0.0.1", "port": 8989, "username": "u",
                       "password": "Secret-Pa55word"})


def row_counts(app) -> dict:
    with app.extensions["nestlab"].sessions() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model))
                for model in (Endpoint, Zpod, Job, Allocation, Component)}


def assert_envelope(response, code: int) -> dict:
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == code
    assert body["status"] and body["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


@pytest.fixture
def with_endpoint(client):
    assert client.post("/api/v1/endpoints", json=endpoint_body(SIM)).status_code == 201


def test_no_token_or_wrong_token_is_401(app):
    anonymous = app.test_client()
    body = assert_envelope(anonymous.get("/api/v1/zpods"), 401)
    assert "Bearer" in body["message"]
    response = anonymous.get("/api/v1/zpods", headers={"Authorization": "Bearer nlb_wrong"})
    assert_envelope(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_envelope(anonymous.get("/api/v1/zpods", headers={"Authorization": "Basic x"}), 401)


def test_openapi_document_is_public_and_built_from_the_schemas(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "nestlab"
    assert {"/api/v1/zpods", "/api/v1/endpoints", "/api/v1/jobs/{job_id}"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert "password" in schemas["EndpointCreate"]["properties"]
    assert "password" not in schemas["Endpoint"]["properties"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


@pytest.mark.parametrize("body, field", [
    ({"name": "lab", "endpoint": "nope", "profile": "minimal"}, "endpoint"),
    ({"name": "lab", "endpoint": "sim", "profile": "huge"}, "profile"),
    ({"name": "Lab_1", "endpoint": "sim", "profile": "minimal"}, "name"),
    ({"name": "-lab", "endpoint": "sim", "profile": "minimal"}, "name"),
    ({"name": "x" * 40, "endpoint": "sim", "profile": "minimal"}, "name"),
    ({"name": 12, "endpoint": "sim", "profile": "minimal"}, "name"),
    ({"name": "lab", "endpoint": "sim", "profile": ["minimal"]}, "profile"),
    ({"name": "lab", "endpoint": "sim"}, "profile"),
    ({"name": "lab", "endpoint": "sim", "profile": "minimal", "extra": 1}, "extra"),
])
def test_bad_zpod_requests_are_422_and_write_nothing(client, app, with_endpoint, body, field):
    before = row_counts(app)
    body = assert_envelope(client.post("/api/v1/zpods", json=body), 422)
    assert field in body["errors"]["json"]
    assert row_counts(app) == before


@pytest.mark.parametrize("raw", ["{not json", "[1, 2", ""])
def test_malformed_json_is_400(client, app, with_endpoint, raw):
    before = row_counts(app)
    response = client.post("/api/v1/zpods", data=raw, content_type="application/json")
    assert response.status_code in (400, 422)
    assert_envelope(response, response.status_code)
    assert row_counts(app) == before


def test_json_that_is_not_an_object_is_422(client, app, with_endpoint):
    assert_envelope(client.post("/api/v1/zpods", json=["lab"]), 422)


def test_duplicate_zpod_name_is_409_and_writes_nothing(client, app, with_endpoint, redis_client):
    body = {"name": "dup", "endpoint": "sim", "profile": "minimal"}
    assert client.post("/api/v1/zpods", json=body).status_code == 202
    before = row_counts(app)
    assert "already exists" in assert_envelope(client.post("/api/v1/zpods", json=body),
                                               409)["message"]
    assert row_counts(app) == before


@pytest.mark.parametrize("override, field", [
    ({"port": "https"}, "port"),
    ({"port": 70000}, "port"),
    ({"supernet": "10.96.0.0/25"}, "supernet"),
    ({"supernet": "not-a-network"}, "supernet"),
    ({"supernet": "10.96.0.1/16"}, "supernet"),
    ({"vlan_range": "200-100"}, "vlan_range"),
    ({"vlan_range": "0-5000"}, "vlan_range"),
    ({"thumbprint": "abc"}, "thumbprint"),
    ({"verify_tls": "sometimes"}, "verify_tls"),
    ({"name": "has space"}, "name"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_endpoints_are_422_and_write_nothing(client, app, override, field):
    before = row_counts(app)
    body = assert_envelope(client.post("/api/v1/endpoints", json=endpoint_body(SIM, **override)),
                           422)
    assert field in body["errors"]["json"]
    assert row_counts(app) == before


def test_missing_endpoint_fields_are_all_listed(client):
    body = assert_envelope(client.post("/api/v1/endpoints", json={"name": "x"}), 422)
    assert {"host", "username", "password", "datacenter", "cluster", "datastore", "switch",
            "supernet", "vlan_range"} <= set(body["errors"]["json"])


def test_duplicate_endpoint_is_409(client, with_endpoint):
    assert_envelope(client.post("/api/v1/endpoints", json=endpoint_body(SIM)), 409)


def test_endpoint_defaults_and_password_never_returned(client, app):
    body = endpoint_body(SIM)
    del body["verify_tls"], body["port"]
    created = client.post("/api/v1/endpoints", json=body).get_json()
    assert created["port"] == 443 and created["verify_tls"] is True
    for response in (created, client.get("/api/v1/endpoints").get_json()[0],
                     client.get("/api/v1/endpoints/sim").get_json()):
        assert "password" not in response and SIM.password not in str(response)
    with app.extensions["nestlab"].sessions() as session:
        stored = session.scalar(select(Endpoint))
        assert stored.password_encrypted != SIM.password
        assert app.extensions["nestlab"].secrets.decrypt(stored.password_encrypted) == SIM.password


def test_unknown_things_are_404(client):
    assert_envelope(client.get("/api/v1/zpods/nope"), 404)
    assert_envelope(client.delete("/api/v1/zpods/nope"), 404)
    assert_envelope(client.get("/api/v1/endpoints/nope"), 404)
    assert_envelope(client.post("/api/v1/endpoints/nope/verify"), 404)
    assert_envelope(client.get("/api/v1/jobs/999"), 404)
    assert_envelope(client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_405_in_the_envelope(client):
    assert_envelope(client.put("/api/v1/zpods", json={}), 405)


def test_zpod_with_a_job_in_progress_cannot_be_deleted(client, with_endpoint, redis_client):
    created = client.post("/api/v1/zpods", json={"name": "busy", "endpoint": "sim",
                                                  "profile": "minimal"}).get_json()
    body = assert_envelope(client.delete("/api/v1/zpods/busy"), 409)
    assert f"job {created['job_id']}" in body["message"]


def test_exhausted_vlans_are_409_and_write_nothing(client, app, redis_client):
    client.post("/api/v1/endpoints", json=endpoint_body(SIM, vlan_range="100-100"))
    assert client.post("/api/v1/zpods", json={"name": "one", "endpoint": "sim",
                                              "profile": "minimal"}).status_code == 202
    before = row_counts(app)
    body = assert_envelope(client.post("/api/v1/zpods", json={
        "name": "two", "endpoint": "sim", "profile": "minimal"}), 409)
    assert "no free vlan" in body["message"]
    assert row_counts(app) == before


def test_interactive_docs_are_served_with_their_own_assets(app):
    anonymous = app.test_client()
    page = anonymous.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in html
    assert "/api/v1/openapi.json" in html
    script = anonymous.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.data) > 100_000
