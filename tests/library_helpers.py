"""Helpers for library tests: definitions on disk, libraries and components through the API."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml

from tests.helpers import wait_for_job


def definition(name: str, version: str, url: str, data: bytes | None = None,
               sha256: str | None = None, size: int | None = None, kind: str = "ova",
               **extra) -> dict:
    body = {"name": name, "version": version, "kind": kind,
            "description": f"{name} {version} for tests", "url": url,
            "sha256": sha256 or hashlib.sha256(data).hexdigest(),
            "size": size if size is not None else len(data)}
    body.update(extra)
    return body


def write_definitions(directory: Path, *definitions: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for item in definitions:
        (directory / f"{item['name']}-{item['version']}.yaml").write_text(yaml.safe_dump(item))
    return directory


def payload(directory: Path, name: str = "payload.bin", size: int = 5 << 20) -> tuple[Path, bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    path = directory / name
    path.write_bytes(data)
    return path, data


def add_library(client, source, kind: str = "directory", name: str = "lab", **extra) -> dict:
    response = client.post("/api/v1/libraries", json={"name": name, "kind": kind,
                                                      "source": str(source), **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def sync(client, name: str = "lab") -> dict:
    response = client.post(f"/api/v1/libraries/{name}/sync")
    assert response.status_code == 202, response.get_json()
    return wait_for_job(client, response.get_json()["id"])


def library_with(client, directory: Path, *definitions: dict, name: str = "lab") -> dict:
    write_definitions(directory, *definitions)
    add_library(client, directory, name=name)
    job = sync(client, name)
    assert job["status"] == "succeeded", job
    return job


def enable(client, uid: str) -> dict:
    response = client.post(f"/api/v1/components/{uid}/enable")
    assert response.status_code == 202, response.get_json()
    return wait_for_job(client, response.get_json()["job_id"])


def component(client, uid: str) -> dict:
    response = client.get(f"/api/v1/components/{uid}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()
