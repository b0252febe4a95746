"""zPod plans (`POST /zpods/plan`), endpoint capacity read from the simulator by a real
deployer worker, and admission refusing a zPod that does not fit."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from shared.contract import Tasks
from shared.models import Allocation, Component, Job, Zpod
from tests.conftest import endpoint_body
from tests.helpers import wait_for_job

MINIMAL_MB = 1024 + 3 * 16384
MINIMAL_GB = 4 + 3 * (8 + 40)


def big_hosts(memory_mb: int) -> dict:
    return {"stages": {"$items": {"hosts": {"items": {"$items": {
        "esxi{n}": {"memory_mb": memory_mb}}}}}}}


def counts(app) -> dict:
    with app.extensions["nestlab"].sessions() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model))
                for model in (Zpod, Component, Allocation, Job)}


def plan(client, **body) -> dict:
    response = client.post("/api/v1/zpods/plan", json={"endpoint": "sim", "profile": "minimal",
                                                       **body})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def own_simulator(make_simulator):
    """A simulator of its own: its datastore's free space is not shared with other
    tests' zPods, so the storage figures are this test's."""
    return make_simulator("capacity")


def verify(client) -> None:
    job = wait_for_job(client, client.post("/api/v1/endpoints/sim/verify").get_json()["id"])
    assert job["status"] == "succeeded", job


def test_plan_of_a_good_request(client, app, simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    before = counts(app)
    result = plan(client, name="lab1", overrides={"description": "planned"})
    assert result["ok"] is True and result["problems"] == {}
    assert result["config"]["description"] == "planned"
    assert result["network"] == {"subnet": "10.96.0.0/24", "vlan": 100, "gateway": "10.96.0.1",
                                 "netmask": "255.255.255.0", "dns": "10.96.0.1"}
    assert [(o["kind"], o["name"], o["stage"]) for o in result["objects"]] == [
        ("folder", "nestlab-lab1", None), ("resource_pool", "nestlab-lab1", None),
        ("portgroup", "nestlab-lab1", None), ("vm", "nestlab-lab1-router", "network"),
        ("vm", "nestlab-lab1-esxi1", "hosts"), ("vm", "nestlab-lab1-esxi2", "hosts"),
        ("vm", "nestlab-lab1-esxi3", "hosts")]
    esxi1 = result["components"][1]
    assert esxi1 == {"hostname": "esxi1", "fqdn": "esxi1.lab1.nestlab.lab", "ip": "10.96.0.11",
                     "role": "esxi", "stage": "hosts", "vm_name": "nestlab-lab1-esxi1",
                     "cpus": 4, "memory_mb": 16384, "component": None,
                     "disks": [{"size_gb": 8, "thin": False}, {"size_gb": 40, "thin": True}]}
    assert [c["ip"] for c in result["components"]] == [
        "10.96.0.1", "10.96.0.11", "10.96.0.12", "10.96.0.13"]
    capacity = result["capacity"]
    assert capacity["known"] is False and capacity["fits"] is True
    assert capacity["needed"] == {"vcpus": 13, "memory_mb": MINIMAL_MB,
                                  "storage_gb": MINIMAL_GB, "vlans": 1, "subnets": 1}
    assert result["warnings"] == ["capacity unknown: verify the endpoint"]
    assert counts(app) == before, "a plan creates and reserves nothing"
    # "plan" stays an ordinary zPod name for the other verbs.
    assert client.get("/api/v1/zpods/plan").status_code == 404


def test_a_bad_plan_lists_every_problem(client, app, simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(simulator, vlan_range="100-100"))
    taken = client.post("/api/v1/zpods", json={"name": "taken", "endpoint": "sim",
                                               "profile": "minimal"})
    assert taken.status_code == 202, taken.get_json()
    assert client.patch("/api/v1/users/admin", json={"max_zpods": 1}).status_code == 200
    before = counts(app)
    result = plan(client, name="taken", overlays=["missing"], overrides={
        "stages": {"$items": {"hosts": {"items": {"$items": {"esxi{n}": {"cpus": 0}}}}}}})
    assert result["ok"] is False
    problems = result["problems"]
    assert set(problems) == {"name", "overlays", "config", "quota", "network"}, problems
    assert problems["name"] == ["a zPod named 'taken' already exists"]
    assert problems["overlays"] == ["unknown overlay 'missing'"]
    assert "cpus" in str(problems["config"])
    assert "max_zpods is 1" in problems["quota"][0]
    assert problems["network"] == ["endpoint 'sim' has no free vlan left"]
    assert result["network"] is None and result["components"] == []
    assert counts(app) == before

    result = plan(client, name="Bad_Name", endpoint="nowhere")
    assert set(result["problems"]) == {"name", "endpoint", "quota"}
    assert "lowercase" in result["problems"]["name"][0]
    malformed = client.post("/api/v1/zpods/plan", json={"name": "x", "endpoint": "sim"})
    assert malformed.status_code == 422
    assert "profile" in malformed.get_json()["errors"]["json"]


def test_capacity_is_read_on_verify_and_refreshed(client, app, worker, own_simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(own_simulator))
    unknown = client.get("/api/v1/endpoints/sim/capacity").get_json()
    assert unknown["known"] is False and unknown["read_at"] is None
    assert unknown["memory"]["total_mb"] is None and unknown["memory"]["held_mb"] == 0
    assert unknown["vlans"] == {"total": 100, "used": 0, "free": 100}
    assert unknown["subnets"] == {"total": 256, "used": 0, "free": 256}

    verify(client)
    known = client.get("/api/v1/endpoints/sim/capacity").get_json()
    assert known["known"] is True and known["read_at"] and known["hosts"] > 0
    assert known["cpu"]["total_mhz"] > 0 and known["cpu"]["total_cores"] > 0
    assert known["cpu"]["free_vcpus"] == known["cpu"]["total_cores"] * 4.0
    assert known["memory"]["total_mb"] > 0
    assert known["memory"]["free_mb"] == known["memory"]["total_mb"]
    assert known["storage"]["total_gb"] > 0 and known["storage"]["free_gb"] > 0

    created = client.post("/api/v1/zpods", json={"name": "held", "endpoint": "sim",
                                                 "profile": "minimal"}).get_json()
    after = client.get("/api/v1/endpoints/sim/capacity").get_json()
    assert after["memory"]["held_mb"] == MINIMAL_MB
    assert after["memory"]["free_mb"] == known["memory"]["total_mb"] - MINIMAL_MB
    assert after["cpu"]["held_vcpus"] == 13
    assert after["storage"]["held_gb"] == MINIMAL_GB
    assert after["vlans"]["used"] == 1 and after["subnets"]["free"] == 255
    assert wait_for_job(client, created["job_id"])["status"] == "succeeded"

    # The periodic task re-reads it; the deployed disks are then in the datastore's
    # own figures and are not counted a second time.
    worker.send_task(Tasks.REFRESH_CAPACITY.name, queue=Tasks.REFRESH_CAPACITY.queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        refreshed = client.get("/api/v1/endpoints/sim/capacity").get_json()
        if refreshed["read_at"] != known["read_at"]:
            break
        time.sleep(0.2)
    assert refreshed["read_at"] != known["read_at"]
    assert refreshed["storage"]["pending_gb"] == 0
    assert refreshed["storage"]["held_gb"] == MINIMAL_GB


def test_a_zpod_that_does_not_fit_is_refused_with_the_figures(client, app, worker,
                                                              own_simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(own_simulator))
    verify(client)
    total_mb = client.get("/api/v1/endpoints/sim/capacity").get_json()["memory"]["total_mb"]
    before = counts(app)
    body = {"name": "huge", "endpoint": "sim", "profile": "minimal",
            "overrides": big_hosts(65536)}
    refused = client.post("/api/v1/zpods", json=body)
    assert refused.status_code == 409, refused.get_json()
    envelope = refused.get_json()
    assert envelope["message"].startswith("endpoint 'sim' has no room for this zPod: memory")
    needed = 1024 + 3 * 65536
    assert envelope["errors"]["memory"] == {"needed": needed, "free": total_mb, "unit": "MB"}
    assert counts(app) == before

    planned = plan(client, name="huge", overrides=big_hosts(65536))
    assert planned["ok"] is False and planned["capacity"]["fits"] is False
    assert planned["problems"]["capacity"] == [
        f"memory: needs {needed} MB, {total_mb} MB free"]
    assert planned["network"]["vlan"] == 100, "the network plan is still shown"

    # Storage, judged with the worst-case ratio on a datastore made to look tiny.
    app.extensions["nestlab"].settings = app.extensions["nestlab"].settings.with_overrides(
        capacity_storage_overcommit=0.0001)
    refused = client.post("/api/v1/zpods", json={"name": "disks", "endpoint": "sim",
                                                 "profile": "minimal"})
    assert refused.status_code == 409, refused.get_json()
    assert set(refused.get_json()["errors"]) == {"storage"}
    assert refused.get_json()["errors"]["storage"]["needed"] == MINIMAL_GB
    app.extensions["nestlab"].settings = app.extensions["nestlab"].settings.with_overrides(
        capacity_storage_overcommit=1000.0)

    # A component added to a live zPod needs room too (but no network of its own).
    created = client.post("/api/v1/zpods", json={"name": "fits", "endpoint": "sim",
                                                 "profile": "minimal"}).get_json()
    assert wait_for_job(client, created["job_id"])["status"] == "succeeded"
    item = {"role": "esxi", "hostname": "esxi9", "host_octet": 19, "memory_mb": 32768}
    refused = client.post("/api/v1/zpods/fits/components", json=item)
    assert refused.status_code == 409, refused.get_json()
    assert "no room for this component: memory" in refused.get_json()["message"]
    assert set(refused.get_json()["errors"]) == {"memory"}
    small = client.post("/api/v1/zpods/fits/components", json={**item, "memory_mb": 1024})
    assert small.status_code == 202, small.get_json()
    job_id = int(small.headers["Location"].rsplit("/", 1)[1])
    assert wait_for_job(client, job_id)["status"] == "succeeded"
