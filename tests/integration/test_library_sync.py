"""Libraries as a local directory, a real git repository and an index URL: sync reports
what changed, skips invalid definitions per file, and marks vanished components removed."""

from __future__ import annotations

import subprocess

import yaml

from nestlab.fileserver import FileServer
from tests.library_helpers import add_library, definition, sync, write_definitions

SHA = "ab" * 32


def defn(name: str, version: str = "1.0", **extra) -> dict:
    return definition(name, version, f"https://downloads.example.com/{name}.ova", sha256=SHA,
                      size=1234, **extra)


ESXI = defn("nested-esxi", "8.0u3", kind="esxi", sizing={
    "cpus": 4, "memory_mb": 16384, "disks": [{"size_gb": 8}, {"size_gb": 40, "thin": True}],
    "nics": 2}, properties={"guestinfo.hostname": "{{ hostname }}",
                            "guestinfo.ipaddress": "{{ ip }}/{{ prefix }}"})


def uids(client, **query) -> list[str]:
    response = client.get("/api/v1/components", query_string=query)
    assert response.status_code == 200, response.get_json()
    return [c["uid"] for c in response.get_json()]


def test_directory_sync_reports_changes_and_bad_files(client, library_worker, tmp_path):
    source = write_definitions(tmp_path / "defs", ESXI, defn("router", kind="router"))
    (source / "broken.yaml").write_text("name: [unclosed\n")
    (source / "invalid.json").write_text('{"name": "Bad Name", "version": "1", "kind": "disk"}')
    (source / "props.yaml").write_text(yaml.safe_dump(defn(
        "props", properties={"guestinfo.x": "{{ not_a_variable }}"})))
    (source / "README.txt").write_text("not a definition")
    add_library(client, source)
    job = sync(client)
    assert job["status"] == "succeeded", job
    report = client.get("/api/v1/libraries/lab").get_json()["last_sync"]
    assert sorted(report["added"]) == ["nested-esxi-8.0u3", "router-1.0"]
    errors = {e["file"]: e for e in report["errors"]}
    assert set(errors) == {"broken.yaml", "invalid.json", "props.yaml"}
    assert "not a valid definition file" in errors["broken.yaml"]["message"]
    invalid = errors["invalid.json"]["errors"]
    assert {"name", "kind", "url", "sha256", "size"} <= set(invalid)
    assert "unknown variable(s) not_a_variable" in str(errors["props.yaml"]["errors"])
    assert any("skipped broken.yaml" in e["message"] for e in job["events"])

    shown = client.get("/api/v1/components/nested-esxi-8.0u3").get_json()
    assert shown["kind"] == "esxi" and shown["status"] == "not_downloaded"
    assert shown["library"] == "lab" and shown["sizing"]["cpus"] == 4
    assert shown["properties"]["guestinfo.ipaddress"] == "{{ ip }}/{{ prefix }}"
    assert uids(client, kind="router") == ["router-1.0"]
    assert uids(client, library="lab", status="not_downloaded") == [
        "nested-esxi-8.0u3", "router-1.0"]
    assert uids(client, status="ready") == []

    # A changed definition, a new one, a vanished one.
    (source / "router-1.0.yaml").unlink()
    write_definitions(source, {**ESXI, "description": "changed"}, defn("vcsa", kind="vcenter"))
    sync(client)
    library = client.get("/api/v1/libraries/lab").get_json()
    report = library["last_sync"]
    assert report["added"] == ["vcsa-1.0"]
    assert report["updated"] == ["nested-esxi-8.0u3"]
    assert report["removed"] == ["router-1.0"]
    assert library["status"] == "ok" and library["synced_at"]
    assert uids(client) == ["nested-esxi-8.0u3", "vcsa-1.0"]
    assert "router-1.0" in uids(client, removed="true")
    assert client.get("/api/v1/components/router-1.0").get_json()["removed"] is True
    assert client.post("/api/v1/components/router-1.0/enable").status_code == 409

    sync(client)
    assert client.get("/api/v1/libraries/lab").get_json()["last_sync"]["unchanged"] == [
        "nested-esxi-8.0u3", "vcsa-1.0"]


def test_missing_directory_fails_the_sync(client, library_worker, tmp_path):
    add_library(client, tmp_path / "nowhere")
    job = sync(client)
    assert job["status"] == "failed"
    assert "does not exist on the library worker" in job["error"]
    library = client.get("/api/v1/libraries/lab").get_json()
    assert library["status"] == "error" and library["status_message"] == job["error"]


def git(*args, cwd):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   cwd=cwd, check=True, capture_output=True)


def test_git_library_is_cloned_then_pulled(client, library_worker, tmp_path, settings):
    repo = write_definitions(tmp_path / "repo", ESXI)
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "esxi", cwd=repo)
    add_library(client, repo, kind="git", ref="main")
    job = sync(client)
    assert job["status"] == "succeeded", job
    first = client.get("/api/v1/libraries/lab").get_json()["last_sync"]
    assert first["added"] == ["nested-esxi-8.0u3"] and len(first["commit"]) == 40

    write_definitions(repo, defn("router", kind="router"))
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "router", cwd=repo)
    sync(client)
    second = client.get("/api/v1/libraries/lab").get_json()["last_sync"]
    assert second["added"] == ["router-1.0"] and second["commit"] != first["commit"]
    assert (settings.var_dir / "git" / "library-1" / "router-1.0.yaml").exists()


def test_git_library_with_a_bad_ref_says_so(client, library_worker, tmp_path):
    repo = write_definitions(tmp_path / "repo", ESXI)
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "esxi", cwd=repo)
    add_library(client, repo, kind="git", ref="no-such-branch")
    job = sync(client)
    assert job["status"] == "failed"
    assert job["error"].startswith("git fetch failed:") and "no-such-branch" in job["error"]


def test_index_url_library(client, library_worker, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.yaml").write_text(yaml.safe_dump({"components": [ESXI, {"name": "x"}]}))
    client.put("/api/v1/settings/index_token", json={"value": "idx-token"})
    with FileServer(www, token="idx-token") as server:
        add_library(client, server.url("index.yaml") + "?token={{ settings.index_token }}",
                    kind="url")
        job = sync(client)
    assert job["status"] == "succeeded", job
    report = client.get("/api/v1/libraries/lab").get_json()["last_sync"]
    assert report["added"] == ["nested-esxi-8.0u3"]
    assert [e["file"] for e in report["errors"]] == ["index#2"]


def test_library_api_validation_and_patch(client, tmp_path):
    bad = client.post("/api/v1/libraries", json={"name": "x", "kind": "directory",
                                                 "source": "relative/path"})
    assert bad.status_code == 422
    assert "absolute path" in str(bad.get_json()["errors"])
    bad = client.post("/api/v1/libraries", json={"name": "x", "kind": "svn", "source": "/a"})
    assert bad.status_code == 422
    add_library(client, tmp_path)
    assert client.post("/api/v1/libraries", json={"name": "lab", "kind": "directory",
                                                  "source": "/a"}).status_code == 409
    patched = client.patch("/api/v1/libraries/lab", json={"kind": "git"})
    assert patched.status_code == 200 and patched.get_json()["kind"] == "git"
    refused = client.patch("/api/v1/libraries/lab", json={"kind": "directory", "source": "a"})
    assert refused.status_code == 422
    assert client.delete("/api/v1/libraries/lab").status_code == 204
    assert client.get("/api/v1/libraries/lab").status_code == 404
