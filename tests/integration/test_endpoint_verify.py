"""`POST /endpoints/<id>/verify` logs in to the simulator and checks the named objects."""

from __future__ import annotations

from tests.conftest import endpoint_body
from tests.helpers import wait_for_job


def verify(client, name: str) -> dict:
    response = client.post(f"/api/v1/endpoints/{name}/verify")
    assert response.status_code == 202
    assert response.get_json()["kind"] == "verify"
    return wait_for_job(client, response.get_json()["id"])


def test_good_endpoint_verifies(client, worker, simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    job = verify(client, "sim")
    assert job["status"] == "succeeded", job
    endpoint = client.get("/api/v1/endpoints/sim").get_json()
    assert endpoint["status"] == "ok" and endpoint["verified_at"]


def test_wrong_password_fails_with_a_clear_message(client, worker, simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(simulator, password="not-the-password"))
    job = verify(client, "sim")
    assert job["status"] == "failed"
    assert "refused the login (wrong username or password)" in job["error"]
    assert job["attempts"] == 1, "a refused login is permanent, not retried"
    endpoint = client.get("/api/v1/endpoints/sim").get_json()
    assert endpoint["status"] == "error"
    assert "wrong username or password" in endpoint["status_message"]
    assert "not-the-password" not in str(job) + str(endpoint)


def test_missing_objects_are_all_named(client, worker, simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(
        simulator, cluster="nope-cluster", datastore="nope-ds", switch="nope-dvs"))
    job = verify(client, "sim")
    assert job["status"] == "failed"
    for missing in ("cluster 'nope-cluster'", "datastore 'nope-ds'",
                    "distributed switch 'nope-dvs'"):
        assert missing in job["error"]


def test_unknown_datacenter_lists_the_known_ones(client, worker, simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(simulator, datacenter="DC9"))
    job = verify(client, "sim")
    assert job["status"] == "failed"
    assert "datacenter 'DC9' not found (found: DC0)" in job["error"]


def test_tls_verification_refuses_the_self_signed_simulator(client, worker, simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(simulator, verify_tls=True))
    job = verify(client, "sim")
    assert job["status"] == "failed"
    assert "TLS certificate is not trusted" in job["error"]


def test_pinned_thumbprint_is_accepted(client, worker, simulator):
    import hashlib
    import ssl

    pem = ssl.get_server_certificate((simulator.host, simulator.port))
    thumbprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    pinned = ":".join(thumbprint[i:i + 2] for i in range(0, 64, 2)).upper()
    client.post("/api/v1/endpoints", json=endpoint_body(simulator, verify_tls=True,
                                                       thumbprint=pinned))
    job = verify(client, "sim")
    assert job["status"] == "succeeded", job
