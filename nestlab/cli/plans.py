"""`nestlab zpods plan`: what creating a zPod would do, shown without doing it.

Overrides come from a file (`--overrides`, YAML or JSON) and from `--set
path=value` options merged over it (for `plan` and `create` alike). A path
is dotted; under `stages` and `items` a part names a list item (a stage by
name, an item by host name), so

    --set stages.hosts.items.esxi{n}.count=2

becomes `{"stages": {"$items": {"hosts": {"items": {"$items": {"esxi{n}":
{"count": 2}}}}}}}`. Values are read as YAML (`2` is a number, `true` a bool).
"""

from __future__ import annotations

import typer
import yaml

from nestlab.cli.session import state

# Keys whose value is a list of named items, edited item by item.
LIST_KEYS = ("stages", "items")

OBJECTS = [("kind", "KIND"), ("name", "NAME"), ("stage", "STAGE")]
COMPONENTS = [("hostname", "HOSTNAME"), ("ip", "IP"), ("role", "ROLE"), ("stage", "STAGE"),
              ("vm_name", "VM"), ("cpus", "CPUS"), ("memory_mb", "MEMORY MB"),
              ("disks_gb", "DISKS GB"), ("component", "COMPONENT")]
NETWORK = [("subnet", "SUBNET"), ("vlan", "VLAN"), ("gateway", "GATEWAY"),
           ("netmask", "NETMASK"), ("dns", "DNS")]
CAPACITY = [("resource", "RESOURCE"), ("needed", "NEEDED"), ("free", "FREE")]


def setting(text: str) -> dict:
    """One `path=value` as an overlay."""
    path, sep, raw = text.partition("=")
    if not sep or not path:
        raise typer.BadParameter(f"'{text}' is not path=value", param_hint="--set")
    value = yaml.safe_load(raw) if raw else ""
    parts = path.split(".")
    for index in range(len(parts) - 1, -1, -1):
        in_list = index > 0 and parts[index - 1] in LIST_KEYS
        value = {"$items": {parts[index]: value}} if in_list else {parts[index]: value}
    return value


def merge(base: dict, extra: dict) -> dict:
    result = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def apply_settings(overrides: dict, settings: list[str]) -> dict:
    """`overrides` (from a file) with every `--set path=value` merged over it, in order."""
    for text in settings:
        overrides = merge(overrides, setting(text))
    return overrides


def show_plan(result: dict) -> None:
    """The merged config (YAML), the objects, the IP plan and the capacity, as tables."""
    out = state.out
    if out.fmt != "table":
        out.data(result)
        return
    if result["config"] is not None:
        out.console.print("[bold]config[/bold]")
        out.console.print(yaml.safe_dump(result["config"], sort_keys=False), end="")
    if result["objects"]:
        out.table(result["objects"], OBJECTS, title="vSphere objects, in order")
    if result["network"]:
        out.table([result["network"]], NETWORK, title="network")
    if result["components"]:
        rows = [dict(c, disks_gb=" + ".join(str(d["size_gb"]) for d in c["disks"]) or "-")
                for c in result["components"]]
        out.table(rows, COMPONENTS, title="IP plan")
    if result["capacity"]:
        capacity = result["capacity"]
        rows = [{"resource": key, "needed": value, "free": capacity["free"].get(key)}
                for key, value in capacity["needed"].items()]
        out.table(rows, CAPACITY, title="capacity")
    for warning in result["warnings"]:
        out.say(f"[yellow]warning:[/yellow] {warning}")
    for field, messages in result["problems"].items():
        for message in messages:
            out.error(f"{field}: {message}")
    out.say("the plan is good: `nestlab zpods create` would be accepted" if result["ok"]
            else "the plan has problems: nothing would be created")
