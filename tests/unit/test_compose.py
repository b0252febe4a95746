"""compose.yaml is checked by `docker compose config` when a compose client is installed."""

import os
import shutil
import subprocess

import pytest
import yaml

from shared.settings import ROOT


def compose_command():
    if shutil.which("docker") and subprocess.run(
            ["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_has_the_services_and_their_queues():
    config = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert {"redis", "postgres", "api", "deployer", "library", "notifier", "simulator"} <= set(
        config["services"])
    assert "-Q deployer" in " ".join(config["services"]["deployer"]["command"])
    assert "beat" in " ".join(config["services"]["beat"]["command"])
    for name in ("deployer", "library", "notifier", "beat", "simulator"):
        assert "healthcheck" in config["services"][name], name
    assert "-Q library" in " ".join(config["services"]["library"]["command"])
    assert "LIBRARY_CONCURRENCY" in " ".join(config["services"]["library"]["command"])
    assert any("library-data" in v for v in config["services"]["library"]["volumes"])
    notifier = " ".join(config["services"]["notifier"]["command"])
    assert "-Q notifier" in notifier and "NOTIFIER_CONCURRENCY" in notifier
    for name in ("redis", "postgres", "api"):
        assert "healthcheck" in config["services"][name]


def test_docker_compose_config_passes():
    command = compose_command()
    if command is None:
        pytest.skip("no docker compose client installed")
    env = dict(os.environ, NESTLAB_SECRET_KEY="test-key")
    result = subprocess.run([*command, "-f", str(ROOT / "compose.yaml"), "config", "-q"],
                            capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
