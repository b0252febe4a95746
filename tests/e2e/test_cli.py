"""The `nestlab` CLI against a real API over HTTP, a real worker and the simulator."""

from __future__ import annotations

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from nestlab.cli import app as cli
from tests.conftest import FAKE_ENDPOINT, endpoint_body


@pytest.fixture
def nestlab(live_server, admin_token, tmp_path, monkeypatch):
    monkeypatch.setenv("NESTLAB_CONFIG", str(tmp_path / "config.yaml"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("NESTLAB_URL", raising=False)
    monkeypatch.delenv("NESTLAB_TOKEN", raising=False)
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(cli, ["--no-color", *args], input=input, catch_exceptions=False)

    result = run("login", live_server, "--token", admin_token, "--name", "local")
    assert result.exit_code == 0, result.output
    return run


def test_login_saves_a_private_context(nestlab, tmp_path, live_server):
    path = tmp_path / "config.yaml"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    result = nestlab("contexts")
    assert "local" in result.output and live_server in result.output


def test_bad_token_says_how_to_log_in(live_server, tmp_path, monkeypatch):
    monkeypatch.setenv("NESTLAB_CONFIG", str(tmp_path / "c.yaml"))
    result = CliRunner().invoke(cli, ["login", live_server, "--token", "nlb_wrong"])
    assert result.exit_code == 1
    assert "invalid token" in result.output and "nestlab login" in result.output


def test_not_logged_in_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("NESTLAB_CONFIG", str(tmp_path / "none.yaml"))
    result = CliRunner().invoke(cli, ["zpods", "list"])
    assert result.exit_code == 1 and "not logged in" in result.output


def test_deploy_with_live_progress_then_destroy(nestlab, worker, simulator, client):
    assert client.post("/api/v1/endpoints", json=endpoint_body(simulator)).status_code == 201
    result = nestlab("endpoints", "list")
    assert "sim" in result.output and "DC0_C0" in result.output

    result = nestlab("zpods", "create", "cli1", "--endpoint", "sim", "--wait")
    assert result.exit_code == 0, result.output
    for expected in ("deploy cli1", "folder nestlab-cli1", "stage network", "stage hosts",
                     "100%", "esxi3", "10.96.0.13", "nestlab-cli1-router"):
        assert expected in result.output, expected

    listed = json.loads(nestlab("-o", "json", "zpods", "list").output)
    assert [z["name"] for z in listed] == ["cli1"] and listed[0]["status"] == "ready"
    assert "name: cli1" in nestlab("-o", "yaml", "zpods", "show", "cli1").output

    result = nestlab("zpods", "destroy", "cli1", "--wait", "--yes")
    assert result.exit_code == 0, result.output
    assert "destroyed" in result.output


def test_overrides_file_then_add_component(nestlab, worker, simulator, client, tmp_path):
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    overrides = tmp_path / "two-hosts.yaml"
    overrides.write_text("stages:\n  $items:\n    hosts:\n      items:\n        $items:\n"
                         "          esxi{n}: {count: 2}\n")
    result = nestlab("zpods", "create", "small", "--endpoint", "sim", "--overrides",
                     str(overrides), "--wait")
    assert result.exit_code == 0, result.output
    assert "esxi2" in result.output and "esxi3" not in result.output
    item = tmp_path / "esxi9.yaml"
    item.write_text("{role: esxi, hostname: esxi9, host_octet: 19, nested_hv: true}\n")
    result = nestlab("zpods", "add-component", "small", str(item), "--wait")
    assert result.exit_code == 0, result.output
    assert "stage added" in result.output and "10.96.0.19" in result.output


def test_named_overlays(nestlab, tmp_path):
    document = tmp_path / "small.yaml"
    document.write_text("stages:\n  $items:\n    hosts:\n      items:\n        $items:\n"
                        "          esxi{n}: {count: 1}\n")
    result = nestlab("overlays", "create", "one-host", str(document), "-d", "one ESXi")
    assert result.exit_code == 0, result.output
    assert "one-host" in nestlab("overlays", "list").output
    assert nestlab("overlays", "delete", "one-host").exit_code == 0
    assert "one-host" not in nestlab("overlays", "list").output


def test_failed_deployment_exits_non_zero(nestlab, worker, simulator, client):
    client.post("/api/v1/endpoints", json=endpoint_body(simulator, datastore="missing-ds"))
    result = nestlab("zpods", "create", "broken", "--endpoint", "sim", "--wait")
    assert result.exit_code == 1
    assert "datastore 'missing-ds'" in result.output
    assert "nestlab zpods destroy" in result.output and "nestlab jobs retry" in result.output


def test_validation_errors_are_shown_by_field(nestlab, client, simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    result = nestlab("zpods", "create", "Bad_Name", "--endpoint", "sim")
    assert result.exit_code == 1
    assert "name:" in result.output and "lowercase" in result.output


def test_components_enable_wait_shows_the_download(nestlab, client, library_worker, tmp_path):
    from nestlab.fileserver import FileServer
    from tests.library_helpers import definition, library_with, payload

    path, data = payload(tmp_path / "www")
    with FileServer(path.parent).start() as server:
        library_with(client, tmp_path / "defs",
                     definition("appliance", "1.0", server.url("payload.bin"), data))
        listed = nestlab("components", "list")
        assert "appliance-1.0" in listed.output and "not_downloaded" in listed.output
        result = nestlab("components", "enable", "appliance-1.0", "--wait")
    assert result.exit_code == 0, result.output
    assert "download appliance-1.0" in result.output and "100%" in result.output
    assert "ready" in result.output
    assert "ready" in nestlab("components", "show", "appliance-1.0").output


def test_profiles_from_yaml_files(nestlab, tmp_path):
    document = tmp_path / "p.yaml"
    document.write_text("name: tiny\nstages:\n  - name: only\n    items:\n"
                        "      - {role: router, hostname: router, host_octet: 1}\n")
    assert nestlab("profiles", "create", str(document)).exit_code == 0
    overlay = tmp_path / "o.yaml"
    overlay.write_text("description: patched\n")
    assert nestlab("profiles", "patch", "tiny", str(overlay)).exit_code == 0
    shown = nestlab("profiles", "show", "tiny").output
    assert "description: patched" in shown and "hostname: router" in shown
    listed = nestlab("profiles", "list").output
    assert "minimal" in listed and "tiny" in listed
    broken = tmp_path / "b.yaml"
    broken.write_text("name: Bad\nstages: []\n")
    result = nestlab("profiles", "create", str(broken))
    assert result.exit_code == 1 and "name:" in result.output


def test_users_and_tokens(nestlab, live_server, tmp_path, monkeypatch):
    assert nestlab("users", "create", "alice", "--max-zpods", "2").exit_code == 0
    assert "alice" in nestlab("users", "list").output
    created = json.loads(nestlab("-o", "json", "tokens", "create", "ci", "--user", "alice",
                                 "--scope", "read", "--days", "7").output)
    assert created["token"].startswith("nlb_") and created["scope"] == "read"
    listed = nestlab("-o", "json", "tokens", "list", "--user", "alice").output
    assert created["token"] not in listed and '"ci"' in listed

    monkeypatch.setenv("NESTLAB_URL", live_server)
    monkeypatch.setenv("NESTLAB_TOKEN", created["token"])
    runner = CliRunner()
    me = runner.invoke(cli, ["-o", "json", "users", "me"])
    assert json.loads(me.output)["name"] == "alice"
    refused = runner.invoke(cli, ["profiles", "delete", "minimal"])
    assert refused.exit_code == 1 and "read-only" in refused.output
    monkeypatch.delenv("NESTLAB_URL")
    monkeypatch.delenv("NESTLAB_TOKEN")

    assert nestlab("tokens", "revoke", str(created["id"]), "--user", "alice").exit_code == 0
    monkeypatch.setenv("NESTLAB_URL", live_server)
    monkeypatch.setenv("NESTLAB_TOKEN", created["token"])
    denied = runner.invoke(cli, ["users", "me"])
    assert denied.exit_code == 1 and "nestlab login" in denied.output


def test_groups_and_zpod_grants(nestlab, client):
    for name in ("alice", "bob"):
        assert nestlab("users", "create", name).exit_code == 0
    made = nestlab("groups", "create", "ops", "-d", "on call", "--member", "alice")
    assert made.exit_code == 0, made.output
    assert nestlab("groups", "add-member", "ops", "bob").exit_code == 0
    listed = json.loads(nestlab("-o", "json", "groups", "list").output)
    assert [(g["name"], g["members"]) for g in listed] == [("ops", ["alice", "bob"])]
    assert "alice, bob" in nestlab("groups", "list").output

    assert client.post("/api/v1/endpoints", json=endpoint_body(FAKE_ENDPOINT)).status_code == 201
    assert nestlab("zpods", "create", "lab", "--endpoint", "sim").exit_code == 0
    granted = nestlab("-o", "json", "zpods", "grant", "lab", "--group", "ops", "--role", "viewer")
    assert granted.exit_code == 0, granted.output
    assert json.loads(granted.output)["group"] == "ops"
    assert nestlab("zpods", "grant", "lab", "--user", "bob", "--role", "admin").exit_code == 0
    both = nestlab("zpods", "grant", "lab", "--user", "bob", "--group", "ops", "--role", "admin")
    assert both.exit_code == 2
    shown = json.loads(nestlab("-o", "json", "zpods", "permissions", "lab").output)
    assert {(p["user"], p["group"], p["role"]) for p in shown} == {
        (None, "ops", "viewer"), ("bob", None, "admin")}
    assert nestlab("zpods", "revoke", "lab", str(shown[0]["id"])).exit_code == 0

    assert nestlab("groups", "remove-member", "ops", "alice").exit_code == 0
    assert json.loads(nestlab("-o", "json", "groups", "show", "ops").output)["members"] == ["bob"]
    assert nestlab("groups", "delete", "ops", "--yes").exit_code == 0
    missing = nestlab("groups", "show", "ops")
    assert missing.exit_code == 1 and "not found" in missing.output


def test_power_check_and_remove_component(nestlab, worker, simulator, client):
    from pyVim.task import WaitForTask

    from tests.vsphere_inspect import Inspector

    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    assert nestlab("zpods", "create", "cliops", "--endpoint", "sim", "--wait").exit_code == 0
    result = nestlab("zpods", "power", "cliops", "stop", "--component", "esxi1", "--wait")
    assert result.exit_code == 0, result.output
    assert "stop esxi1" in result.output and "poweredOff" in result.output
    assert "poweredOff" in nestlab("zpods", "show", "cliops").output

    inspector = Inspector(simulator)
    try:
        [vm] = inspector.vms_named("nestlab-cliops-esxi2")
        WaitForTask(vm.PowerOffVM_Task())
    finally:
        inspector.close()
    result = nestlab("zpods", "check", "cliops", "--wait")
    assert result.exit_code == 0, result.output
    assert "powered_off" in result.output and "esxi2: poweredOff, expected poweredOn" in \
        result.output and "1 difference(s)" in result.output

    result = nestlab("zpods", "remove-component", "cliops", "esxi3", "--wait", "--yes")
    assert result.exit_code == 0, result.output
    assert "component 'esxi3' removed" in result.output
    result = nestlab("zpods", "power", "cliops", "hibernate")
    assert result.exit_code != 0 and "start, stop, poweroff, reset" in result.output
