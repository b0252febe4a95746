"""Where the CLI keeps its servers: named contexts in a 0600 YAML file.

    current: lab
    contexts:
      lab: {url: "https://nestlab.example.com", token: "nlb_..."}

The file is $NESTLAB_CONFIG, else ~/.config/nestlab/config.yaml.
NESTLAB_URL + NESTLAB_TOKEN in the environment override it (for CI).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml


class ConfigError(Exception):
    pass


@dataclass
class Context:
    name: str
    url: str
    token: str


def config_path() -> Path:
    if os.environ.get("NESTLAB_CONFIG"):
        return Path(os.environ["NESTLAB_CONFIG"])
    base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return base / "nestlab" / "config.yaml"


def load() -> dict:
    path = config_path()
    if not path.exists():
        return {"current": None, "contexts": {}}
    data = yaml.safe_load(path.read_text()) or {}
    data.setdefault("contexts", {})
    data.setdefault("current", None)
    return data


def save(data: dict) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(data, handle, sort_keys=False)
    os.replace(temporary, path)
    return path


def resolve(name: str | None = None) -> Context:
    """The context to use: --context, else the environment, else the current one."""
    if name is None and os.environ.get("NESTLAB_URL") and os.environ.get("NESTLAB_TOKEN"):
        return Context("environment", os.environ["NESTLAB_URL"], os.environ["NESTLAB_TOKEN"])
    data = load()
    name = name or data["current"]
    if not name:
        raise ConfigError("not logged in: run `nestlab login URL` (or set NESTLAB_URL and "
                          "NESTLAB_TOKEN)")
    found = data["contexts"].get(name)
    if found is None:
        known = ", ".join(sorted(data["contexts"])) or "none"
        raise ConfigError(f"no context named '{name}' (known: {known})")
    return Context(name, found["url"], found["token"])
