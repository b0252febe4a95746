"""Capacity arithmetic, the beat schedule and the CLI's `--set` paths, without services."""

from __future__ import annotations

from nestlab.cli.plans import apply_settings
from services.api.capacity import describe, needed_and_free, profile_sizing, shortfalls
from shared.contract import Tasks
from shared.profiles import MINIMAL
from shared.settings import Settings


def document(free_mb, free_gb, vlans=10, subnets=10) -> dict:
    return {"cpu": {"free_vcpus": 4}, "memory": {"free_mb": free_mb},
            "storage": {"free_gb": free_gb}, "vlans": {"free": vlans},
            "subnets": {"free": subnets}}


def test_minimal_sizing_counts_every_host_and_disk():
    sizing = profile_sizing(MINIMAL)
    assert (sizing.vcpus, sizing.memory_mb, sizing.storage_gb) == (13, 50176, 148)


def test_shortfalls_name_each_resource_that_does_not_fit():
    needed, free = needed_and_free(document(1000, 10_000, vlans=0), profile_sizing(MINIMAL))
    short = shortfalls(needed, free)
    assert short == {"memory": {"needed": 50176, "free": 1000, "unit": "MB"},
                     "vlans": {"needed": 1, "free": 0, "unit": "VLAN ids"}}
    assert describe(short) == ["memory: needs 50176 MB, 1000 MB free", "no free vlan left"]


def test_unknown_figures_fit_and_cpu_is_not_enforced():
    needed, free = needed_and_free(document(None, None), profile_sizing(MINIMAL))
    assert free["vcpus"] < needed["vcpus"]
    assert shortfalls(needed, free) == {}


def test_beat_refreshes_capacity_on_its_interval(tmp_path):
    from services.deployer.beat import create_beat

    beat = create_beat(Settings(var_dir=tmp_path, capacity_refresh_interval=120))
    entry = beat.conf.beat_schedule["refresh-capacity"]
    assert entry["task"] == Tasks.REFRESH_CAPACITY.name and entry["schedule"] == 120


def test_set_paths_edit_named_list_items():
    assert apply_settings({"description": "from file"}, [
        "stages.hosts.items.esxi{n}.count=2", "stages.hosts.items.esxi{n}.nested_hv=true"]) == {
        "description": "from file",
        "stages": {"$items": {"hosts": {"items": {"$items": {
            "esxi{n}": {"count": 2, "nested_hv": True}}}}}}}
