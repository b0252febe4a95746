"""`nestlab triggers` and `nestlab zpods lease` against a real API over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

import requests

from tests.conftest import endpoint_body
from tests.e2e.test_cli import nestlab  # noqa: F401 - the fixture


def test_triggers_from_create_to_deliveries(nestlab, client, simulator, live_server):  # noqa: F811
    assert client.post("/api/v1/endpoints", json=endpoint_body(simulator)).status_code == 201
    result = nestlab("-o", "json", "triggers", "create", "gh", "--source", "github",
                     "--endpoint", "sim", "--branch", "main", "--lease", "4h")
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    secret = created["secret"]
    assert created["lease"] == "PT4H" and created["branches"] == ["main"]
    assert secret not in nestlab("triggers", "show", "gh").output
    assert "gh" in nestlab("triggers", "list").output

    body = json.dumps({"ref": "refs/heads/main", "repository": {"name": "app"}}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    answer = requests.post(f"{live_server}/api/v1/hooks/gh", data=body, timeout=30, headers={
        "X-GitHub-Event": "push", "X-GitHub-Delivery": "cli-1",
        "X-Hub-Signature-256": signature})
    assert answer.status_code == 202, answer.text
    shown = nestlab("triggers", "deliveries", "gh").output
    assert "cli-1" in shown and "building" in shown and "ci-app-main" in shown

    before = datetime.fromisoformat(client.get("/api/v1/zpods/ci-app-main").json[
        "lease_expires_at"])
    result = nestlab("-o", "json", "zpods", "lease", "extend", "ci-app-main", "--by", "2h")
    assert result.exit_code == 0, result.output
    after = datetime.fromisoformat(json.loads(result.output)["lease_expires_at"])
    assert after - before == timedelta(hours=2)
    refused = nestlab("zpods", "lease", "extend", "ci-app-main", "--by", "P30D")
    assert refused.exit_code == 1 and "lease_max" in refused.output

    assert nestlab("triggers", "delete", "gh", "--yes").exit_code == 0
    assert nestlab("-o", "json", "triggers", "list").output.strip() == "[]"
