"""`nestlab zpods plan` and `nestlab endpoints capacity` against a real API over HTTP."""

from __future__ import annotations

import json

from tests.conftest import endpoint_body
from tests.e2e.test_cli import nestlab  # noqa: F401 - the logged-in CLI fixture


def test_plan_shows_config_objects_and_ip_plan(nestlab, client, simulator):  # noqa: F811
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    overlay = {"name": "two-hosts", "document": {"stages": {"$items": {"hosts": {
        "items": {"$items": {"esxi{n}": {"count": 2}}}}}}}}
    assert client.post("/api/v1/overlays", json=overlay).status_code == 201
    overrides = "stages:\n  $items:\n    hosts:\n      items:\n        $items:\n" \
                "          esxi{n}: {cpus: 2}\n"
    result = nestlab("zpods", "plan", "cli2", "--endpoint", "sim", "--overlay", "two-hosts",
                     "--set", "stages.hosts.items.esxi{n}.memory_mb=8192",
                     "--overrides", "-", input=overrides)
    assert result.exit_code == 0, result.output
    output = result.output
    for expected in ("config", "memory_mb: 8192", "cpus: 2", "vSphere objects, in order",
                     "resource_pool", "nestlab-cli2-esxi2", "IP plan", "10.96.0.12",
                     "10.96.0.0/24", "capacity unknown: verify the endpoint", "plan is good"):
        assert expected in output, expected
    assert "nestlab-cli2-esxi3" not in output
    assert output.index("folder") < output.index("portgroup") < output.index("nestlab-cli2-router")
    assert client.get("/api/v1/zpods").get_json() == [], "a plan creates nothing"

    data = json.loads(nestlab("-o", "json", "zpods", "plan", "cli2", "--endpoint", "sim").output)
    assert data["ok"] is True and len(data["objects"]) == 7


def test_a_bad_plan_exits_non_zero_with_every_problem(nestlab, client, simulator):  # noqa: F811
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    result = nestlab("zpods", "plan", "Bad_Name", "--endpoint", "sim", "--overlay", "nope",
                     "--set", "stages.hosts.items.esxi{n}.cpus=0")
    assert result.exit_code == 1
    for expected in ("name:", "overlays: unknown overlay 'nope'", "config:", "cpus",
                     "nothing would be created"):
        assert expected in result.output, expected
    assert nestlab("zpods", "plan", "x", "--endpoint", "sim", "--set", "novalue").exit_code == 2


def test_endpoint_capacity(nestlab, client, worker, simulator):  # noqa: F811
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    before = nestlab("endpoints", "capacity", "sim")
    assert before.exit_code == 0, before.output
    assert "capacity unknown" in before.output and "vlans" in before.output
    assert nestlab("endpoints", "verify", "sim").exit_code == 0
    after = nestlab("endpoints", "capacity", "sim")
    assert "vCenter figures read at" in after.output
    assert "4.0:1 overcommit" in after.output and "DC0_C0" in after.output
    figures = json.loads(nestlab("-o", "json", "endpoints", "capacity", "sim").output)
    assert figures["memory"]["total_mb"] > 0 and figures["known"] is True
