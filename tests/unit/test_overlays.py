import pytest

from shared.overlays import OverlayError, merge, merge_all

BASE = {
    "name": "lab",
    "network": {"dns": "10.0.0.1", "ntp": "pool.ntp.org"},
    "stages": [{"name": "infra"}, {"name": "hosts"}],
    "items": [{"hostname": "esxi1", "cpus": 4, "memory_mb": 16384},
              {"hostname": "esxi2", "cpus": 4}],
}


def test_mappings_merge_recursively_and_scalars_replace():
    result = merge(BASE, {"network": {"dns": "10.0.0.53"}, "name": "lab2"})
    assert result["network"] == {"dns": "10.0.0.53", "ntp": "pool.ntp.org"}
    assert result["name"] == "lab2"
    assert BASE["network"]["dns"] == "10.0.0.1", "the base is not modified"


def test_lists_replace():
    assert merge(BASE, {"stages": [{"name": "all"}]})["stages"] == [{"name": "all"}]


def test_delete_removes_a_key():
    result = merge(BASE, {"network": {"ntp": "$delete"}, "stages": "$delete"})
    assert result["network"] == {"dns": "10.0.0.1"} and "stages" not in result


def test_items_merge_delete_and_append_by_hostname():
    result = merge(BASE, {"items": {"$items": {
        "esxi1": {"cpus": 8}, "esxi2": "$delete", "esxi3": {"cpus": 2}}}})
    assert result["items"] == [{"hostname": "esxi1", "cpus": 8, "memory_mb": 16384},
                               {"hostname": "esxi3", "cpus": 2}]


def test_items_by_an_explicit_key():
    base = {"disks": [{"unit": 0, "gb": 8}, {"unit": 1, "gb": 40}]}
    result = merge(base, {"disks": {"$key": "unit", "$items": {1: {"gb": 100}}}})
    assert result["disks"][1] == {"unit": 1, "gb": 100}


def test_items_on_something_not_a_list_is_an_error():
    with pytest.raises(OverlayError, match="network"):
        merge(BASE, {"network": {"$items": {"x": {}}}})


def test_overlays_apply_in_order_and_directives_never_leak():
    result = merge_all(BASE, [{"extra": {"a": 1, "b": "$delete"}},
                              {"extra": {"a": 2}}, {"name": "final"}])
    assert result["extra"] == {"a": 2} and result["name"] == "final"
