"""/api/v1/profiles: JSON or YAML documents, validated; PATCH merges an overlay."""

from __future__ import annotations

import yaml

CUSTOM = """
name: two-hosts
description: a router and two hosts
stages:
  - name: network
    items:
      - {role: router, hostname: router, host_octet: 1}
  - name: hosts
    items:
      - {role: esxi, hostname: "esxi{n}", host_octet: 20, count: 2, cpus: 2, memory_mb: 8192,
         nested_hv: true, guest_id: vmkernel7Guest, disks: [{size_gb: 8}]}
"""


def post_yaml(client, text: str):
    return client.post("/api/v1/profiles", data=text, content_type="application/yaml")


def test_minimal_is_an_ordinary_profile(client):
    listed = client.get("/api/v1/profiles").get_json()
    assert [p["name"] for p in listed] == ["minimal"]
    minimal = client.get("/api/v1/profiles/minimal").get_json()["document"]
    assert [s["name"] for s in minimal["stages"]] == ["network", "hosts"]
    assert minimal["stages"][1]["items"][0]["count"] == 3


def test_create_from_yaml_with_defaults_filled(client):
    response = post_yaml(client, CUSTOM)
    assert response.status_code == 201, response.get_json()
    item = response.get_json()["document"]["stages"][0]["items"][0]
    assert item["cpus"] == 1 and item["memory_mb"] == 1024 and item["disks"] == []
    assert post_yaml(client, CUSTOM).status_code == 409


def test_every_problem_is_listed(client):
    bad = yaml.safe_load(CUSTOM)
    bad["name"] = "Bad Name"
    bad["stages"][1]["items"][0].update(host_octet=1, cpus=0, hostname="router")
    response = client.post("/api/v1/profiles", json=bad)
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert "name" in errors
    text = str(errors)
    assert "cpus" in text


def test_duplicate_hosts_and_addresses_are_refused(client):
    bad = yaml.safe_load(CUSTOM)
    bad["stages"][1]["items"][0].update(hostname="router", count=1, host_octet=1)
    errors = client.post("/api/v1/profiles", json=bad).get_json()["errors"]["json"]
    assert "host name 'router' is used twice" in str(errors)
    assert "address .1" in str(errors)


def test_unreadable_bodies(client):
    assert post_yaml(client, "name: [unclosed").status_code == 400
    assert post_yaml(client, "- a list").status_code == 422
    assert client.post("/api/v1/profiles", data="{", content_type="application/json"
                       ).status_code == 400


def test_patch_merges_an_overlay_with_items_and_delete(client):
    post_yaml(client, CUSTOM)
    response = client.patch("/api/v1/profiles/two-hosts", json={
        "description": "$delete",
        "stages": {"$key": "name", "$items": {
            "hosts": {"items": {"$items": {"esxi{n}": {"count": 4}}}}}}})
    assert response.status_code == 200, response.get_json()
    document = response.get_json()["document"]
    assert document["description"] == ""
    assert document["stages"][1]["items"][0]["count"] == 4
    refused = client.patch("/api/v1/profiles/two-hosts", json={"stages": {"$items": {"x": {}}}})
    assert refused.status_code == 422


def test_delete(client):
    post_yaml(client, CUSTOM)
    assert client.delete("/api/v1/profiles/two-hosts").status_code == 204
    assert client.get("/api/v1/profiles/two-hosts").status_code == 404


def test_a_new_profile_deploys(client, worker, simulator):
    from tests.conftest import endpoint_body
    from tests.helpers import wait_for_job

    post_yaml(client, CUSTOM)
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    created = client.post("/api/v1/zpods", json={"name": "custom", "endpoint": "sim",
                                                 "profile": "two-hosts"}).get_json()
    assert [(c["hostname"], c["ip"]) for c in created["components"]] == [
        ("router", "10.96.0.1"), ("esxi1", "10.96.0.21"), ("esxi2", "10.96.0.22")]
    job = wait_for_job(client, created["job_id"])
    assert job["status"] == "succeeded", job
    assert client.delete("/api/v1/profiles/two-hosts").status_code == 409
    unknown = client.post("/api/v1/zpods", json={"name": "x", "endpoint": "sim",
                                                 "profile": "nope"}).get_json()
    assert "known: minimal, two-hosts" in str(unknown["errors"])


def test_a_request_layers_named_overlays_then_its_overrides(client, worker, simulator):
    from tests.conftest import endpoint_body
    from tests.helpers import wait_for_job

    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    overlay = {"name": "small-hosts", "document": {"stages": {"$items": {"hosts": {
        "items": {"$items": {"esxi{n}": {"memory_mb": 4096, "count": 2}}}}}}}}
    assert client.post("/api/v1/overlays", json=overlay).status_code == 201
    response = client.post("/api/v1/zpods", json={
        "name": "layered", "endpoint": "sim", "profile": "minimal",
        "overlays": ["small-hosts"],
        "overrides": {"stages": {"$items": {"hosts": {"items": {"$items": {
            "esxi{n}": {"cpus": 2, "disks": "$delete"}}}}}}}})
    assert response.status_code == 202, response.get_json()
    created = response.get_json()
    assert [c["hostname"] for c in created["components"]] == ["router", "esxi1", "esxi2"]
    assert wait_for_job(client, created["job_id"])["status"] == "succeeded"


def test_a_bad_request_lists_every_problem(client):
    response = client.post("/api/v1/zpods", json={
        "name": "bad", "endpoint": "nowhere", "profile": "minimal",
        "overlays": ["missing"], "overrides": {}})
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert set(errors) == {"endpoint", "overlays"}
    response = client.post("/api/v1/zpods", json={
        "name": "bad", "endpoint": "nowhere", "profile": "minimal",
        "overrides": {"stages": {"$items": {"hosts": {"items": {"$items": {
            "esxi{n}": {"cpus": 0, "component": "esxi-9.9"}}}}}}}})
    errors = response.get_json()["errors"]["json"]
    assert set(errors) == {"endpoint", "config"}
    assert "cpus" in str(errors["config"])
    assert client.get("/api/v1/zpods").get_json() == []


def test_a_component_is_added_to_a_live_zpod(client, worker, simulator):
    from tests.conftest import endpoint_body
    from tests.helpers import wait_for_job
    from tests.vsphere_inspect import Inspector

    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    created = client.post("/api/v1/zpods", json={"name": "grows", "endpoint": "sim",
                                                 "profile": "minimal"}).get_json()
    assert wait_for_job(client, created["job_id"])["status"] == "succeeded"
    item = {"role": "esxi", "hostname": "esxi4", "host_octet": 14, "cpus": 2,
            "memory_mb": 4096, "nested_hv": True, "disks": [{"size_gb": 8}]}
    response = client.post("/api/v1/zpods/grows/components", json=item)
    assert response.status_code == 202, response.get_json()
    job = wait_for_job(client, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert job["status"] == "succeeded" and job["kind"] == "add_component", job["error"]
    assert [s["name"] for s in job["steps"]][-2:] == ["esxi4: create", "esxi4: power on"]
    zpod = client.get("/api/v1/zpods/grows").get_json()
    assert zpod["status"] == "ready"
    added = next(c for c in zpod["components"] if c["hostname"] == "esxi4")
    assert added["status"] == "ready" and added["ip"].endswith(".14")
    inspector = Inspector(simulator)
    try:
        assert len(inspector.vms_named("nestlab-grows-esxi4")) == 1
        assert len(inspector.vms_named("nestlab-grows-")) == 5
    finally:
        inspector.close()
    taken = client.post("/api/v1/zpods/grows/components", json={**item, "host_octet": 1})
    assert taken.status_code == 422
    assert set(taken.get_json()["errors"]["json"]) == {"hostname", "host_octet"}
    assert client.post("/api/v1/zpods/nope/components", json=item).status_code == 404
