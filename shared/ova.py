"""Reading an OVA (a tar holding an OVF descriptor and its disks) without extracting it.

`inspect_ova` reads the tar's headers (seeking over the disks, never reading
them), reads the descriptor, and returns what it declares: hardware, disks,
networks, NICs and ProductSection properties. The same parse validates a
descriptor before it is sent to vCenter (a malformed one can crash the
simulator's handler). XML is parsed with defusedxml: descriptors come from
outside.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

NS = {
    "ovf": "http://schemas.dmtf.org/ovf/envelope/1",
    "rasd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData",
    "vssd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData",
}
OVF = "{" + NS["ovf"] + "}"
VMW = "{http://www.vmware.com/schema/ovf}"
MAX_DESCRIPTOR = 16 << 20
RESOURCE_TYPES = {3: "cpu", 4: "memory", 5: "ide", 6: "scsi", 10: "nic", 14: "floppy",
                  15: "cdrom", 17: "disk", 20: "sata", 23: "usb", 24: "video"}
_UNITS = re.compile(r"^\s*byte\s*\*\s*(\d+)\s*\^\s*(\d+)\s*$", re.IGNORECASE)
_NAMED_UNITS = {"byte": 1, "kilobytes": 1 << 10, "megabytes": 1 << 20, "gigabytes": 1 << 30}


class OvaError(ValueError):
    """The file is not a valid OVA; the message says what is wrong."""


def _attr(element, name: str, default=None):
    return element.get(OVF + name, default) if element is not None else default


def _text(element, path: str, default=None):
    found = element.find(path, NS) if element is not None else None
    return found.text.strip() if found is not None and found.text else default


def units(text: str | None) -> int:
    """Bytes per unit of an OVF allocation unit ("byte * 2^20", "MegaBytes")."""
    if not text:
        return 1
    match = _UNITS.match(text)
    if match:
        return int(match.group(1)) ** int(match.group(2))
    if text.strip().lower() in _NAMED_UNITS:
        return _NAMED_UNITS[text.strip().lower()]
    raise OvaError(f"unknown allocation units '{text}'")


def _int(text: str | None, what: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise OvaError(f"{what} is not a number: {text!r}") from None


def _references(root) -> dict[str, dict]:
    files = {}
    for item in root.findall("ovf:References/ovf:File", NS):
        file_id, href = _attr(item, "id"), _attr(item, "href")
        if not file_id or not href:
            raise OvaError("a References/File lacks ovf:id or ovf:href")
        files[file_id] = {"href": href, "size": _int(_attr(item, "size", "0"), "File size")}
    return files


def _disks(root, files: dict) -> list[dict]:
    disks = []
    for disk in root.findall("ovf:DiskSection/ovf:Disk", NS):
        capacity = _int(_attr(disk, "capacity"), "Disk capacity")
        file_ref = _attr(disk, "fileRef")
        if file_ref and file_ref not in files:
            raise OvaError(f"disk '{_attr(disk, 'diskId')}' refers to unknown file '{file_ref}'")
        disks.append({
            "id": _attr(disk, "diskId"),
            "capacity_bytes": capacity * units(_attr(disk, "capacityAllocationUnits")),
            "file": files[file_ref]["href"] if file_ref else None,
            "format": _attr(disk, "format"),
        })
    return disks


def _hardware(system) -> tuple[dict, list[dict]]:
    section = system.find("ovf:VirtualHardwareSection", NS)
    if section is None:
        raise OvaError("the VirtualSystem has no VirtualHardwareSection")
    hardware = {"version": _text(section, "ovf:System/vssd:VirtualSystemType"),
                "cpus": None, "memory_mb": None, "devices": []}
    nics = []
    for item in section.findall("ovf:Item", NS):
        kind = _int(_text(item, "rasd:ResourceType"), "rasd:ResourceType")
        name = RESOURCE_TYPES.get(kind, f"type {kind}")
        if kind == 3:
            hardware["cpus"] = _int(_text(item, "rasd:VirtualQuantity"), "CPU count")
        elif kind == 4:
            quantity = _int(_text(item, "rasd:VirtualQuantity"), "memory size")
            hardware["memory_mb"] = quantity * units(_text(item, "rasd:AllocationUnits")) >> 20
        elif kind == 10:
            nics.append({"network": _text(item, "rasd:Connection"),
                         "type": _text(item, "rasd:ResourceSubType")})
        else:
            hardware["devices"].append({"type": name, "name": _text(item, "rasd:ElementName"),
                                        "subtype": _text(item, "rasd:ResourceSubType")})
    return hardware, nics


def _properties(system) -> tuple[list[dict], list[dict]]:
    products, properties = [], []
    for section in system.findall("ovf:ProductSection", NS):
        prefix, suffix = _attr(section, "class"), _attr(section, "instance")
        products.append({"product": _text(section, "ovf:Product"),
                         "vendor": _text(section, "ovf:Vendor"),
                         "version": _text(section, "ovf:Version")})
        for prop in section.findall("ovf:Property", NS):
            key = _attr(prop, "key")
            if not key:
                raise OvaError("a ProductSection Property has no ovf:key")
            full_key = ".".join(p for p in (prefix, key, suffix) if p)
            properties.append({
                "key": full_key, "type": _attr(prop, "type", "string"),
                "default": _attr(prop, "value"), "qualifiers": _attr(prop, "qualifiers"),
                "user_configurable": _attr(prop, "userConfigurable", "false") == "true",
                "label": _text(prop, "ovf:Label"), "description": _text(prop, "ovf:Description"),
            })
    return products, properties


def _os_type(section) -> str | None:
    if section is None:
        return None
    return section.get(VMW + "osType") or _attr(section, "osType")


def parse_descriptor(text: str | bytes) -> dict:
    """What an OVF descriptor declares; OvaError when it is malformed or incomplete."""
    try:
        root = ElementTree.fromstring(text)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise OvaError(f"the OVF descriptor is not valid XML: {exc}") from None
    if root.tag != OVF + "Envelope":
        raise OvaError("the OVF descriptor's root is not an ovf:Envelope")
    system = root.find("ovf:VirtualSystem", NS)
    if system is None:
        raise OvaError("the OVF descriptor has no VirtualSystem (a VirtualSystemCollection "
                       "is not supported)")
    files = _references(root)
    hardware, nics = _hardware(system)
    products, properties = _properties(system)
    return {
        "name": _text(system, "ovf:Name") or _attr(system, "id"),
        "os_type": _os_type(system.find("ovf:OperatingSystemSection", NS)),
        "hardware": hardware,
        "disks": _disks(root, files),
        "networks": [{"name": _attr(n, "name"), "description": _text(n, "ovf:Description")}
                     for n in root.findall("ovf:NetworkSection/ovf:Network", NS)],
        "nics": nics,
        "products": products,
        "properties": properties,
        "files": list(files.values()),
    }


def read_descriptor(path: Path) -> tuple[str, bytes, dict[str, int]]:
    """(descriptor member name, its bytes, {member name: size}) of the OVA at `path`."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
            name = next((n for n in members if n.lower().endswith(".ovf")), None)
            if name is None:
                raise OvaError("the archive holds no .ovf descriptor")
            if members[name].size > MAX_DESCRIPTOR:
                raise OvaError("the OVF descriptor is unreasonably large")
            data = tar.extractfile(members[name]).read()
    except (tarfile.TarError, EOFError) as exc:
        raise OvaError(f"not a tar archive (an OVA is one): {exc}") from None
    return name, data, {n: m.size for n, m in members.items()}


def inspect_ova(path: Path) -> dict:
    """The descriptor's declarations, checked against the archive's members."""
    name, data, members = read_descriptor(path)
    found = parse_descriptor(data)
    for item in found["files"]:
        if item["href"] not in members:
            raise OvaError(f"the descriptor refers to '{item['href']}', which the archive "
                           "does not hold")
        item["archive_size"] = members[item["href"]]
    return {"descriptor": name, **found}


def is_ova(path: Path) -> bool:
    """Whether the file should be inspected as an OVA: named .ova, or a tar archive."""
    return path.suffix.lower() == ".ova" or tarfile.is_tarfile(path)
