import pytest

from shared.netplan import NetworkPlan, parse_vlan_range, plan_components, subnets
from shared.profiles import MINIMAL


def test_vlan_range_parsing():
    assert parse_vlan_range("100-199") == (100, 199)
    assert parse_vlan_range("7") == (7, 7)
    for bad in ("0-10", "10-5", "4000-4095", "a-b"):
        with pytest.raises(ValueError):
            parse_vlan_range(bad)


def test_subnets_are_the_24s_of_the_supernet_in_order():
    found = list(subnets("10.96.0.0/22"))
    assert found == ["10.96.0.0/24", "10.96.1.0/24", "10.96.2.0/24", "10.96.3.0/24"]


def test_network_plan_addresses():
    plan = NetworkPlan(subnet="10.96.4.0/24", vlan=104)
    assert plan.gateway == plan.dns == "10.96.4.1"
    assert plan.netmask == "255.255.255.0"
    assert plan.host(11) == "10.96.4.11"


def test_minimal_profile_components():
    components = plan_components(MINIMAL, "lab", NetworkPlan("10.96.0.0/24", 100))
    assert [(c["hostname"], c["ip"], c["vm_name"]) for c in components] == [
        ("router", "10.96.0.1", "nestlab-lab-router"),
        ("esxi1", "10.96.0.11", "nestlab-lab-esxi1"),
        ("esxi2", "10.96.0.12", "nestlab-lab-esxi2"),
        ("esxi3", "10.96.0.13", "nestlab-lab-esxi3"),
    ]
    esxi = components[1]["spec"]
    assert esxi["cpus"] == 4 and esxi["memory_mb"] == 16384 and esxi["nested_hv"]
    assert [d["size_kb"] // (1024 * 1024) for d in esxi["disks"]] == [8, 40]
    assert [d["thin"] for d in esxi["disks"]] == [False, True]
