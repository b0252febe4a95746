"""Builds tiny but valid OVAs for tests: an OVF descriptor with ProductSection
properties, a manifest, and a small streamOptimized VMDK."""

from __future__ import annotations

import hashlib
import io
import struct
import tarfile
from pathlib import Path

SECTOR = 512
GRAIN = 128  # sectors
GTES_PER_GT = 512

DESCRIPTOR = """<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
    xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
    xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References>
    <File ovf:href="{disk_file}" ovf:id="file1" ovf:size="{disk_size}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="{capacity_gb}" ovf:capacityAllocationUnits="byte * 2^30"
          ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:populatedSize="0"
          ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection>
    <Info>The logical networks</Info>
    <Network ovf:name="VM Network"><Description>The management network</Description></Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{name}">
    <Info>A tiny appliance</Info>
    <Name>{name}</Name>
    <OperatingSystemSection ovf:id="101" vmw:osType="otherLinux64Guest">
      <Info>The guest operating system</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>{cpus} virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>{cpus}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:ElementName>{memory_mb} MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>{memory_mb}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:ElementName>SCSI Controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>7</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>VM Network</rasd:Connection>
        <rasd:ElementName>Network adapter 1</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
    <ProductSection ovf:required="false">
      <Info>The appliance's settings</Info>
      <Product>Tiny appliance</Product>
      <Vendor>nestlab tests</Vendor>
      <Version>1.0</Version>
      <Category>Network</Category>
      <Property ovf:key="guestinfo.hostname" ovf:type="string" ovf:userConfigurable="true"
                ovf:value="tiny">
        <Label>Hostname</Label>
        <Description>The appliance's host name</Description>
      </Property>
      <Property ovf:key="guestinfo.ipaddress" ovf:type="string" ovf:userConfigurable="true">
        <Label>IP address</Label>
      </Property>
      <Property ovf:key="guestinfo.ssh" ovf:type="boolean" ovf:userConfigurable="true"
                ovf:value="false"/>
    </ProductSection>
  </VirtualSystem>
</Envelope>
"""


def _header(capacity_sectors: int, descriptor_sectors: int, gd_offset: int) -> bytes:
    header = struct.pack(
        "<4sIIQQQQIQQQBccccH",
        b"KDMV", 3, 0x30001, capacity_sectors, GRAIN, 1, descriptor_sectors, GTES_PER_GT,
        0, gd_offset, GRAIN, 0, b"\n", b" ", b"\r", b"\n", 1)
    return header.ljust(SECTOR, b"\0")


def _marker(value: int, marker_type: int) -> bytes:
    return struct.pack("<QII", value, 0, marker_type).ljust(SECTOR, b"\0")


def stream_optimized_vmdk(capacity_bytes: int, name: str = "disk1.vmdk") -> bytes:
    """An empty streamOptimized VMDK: header, embedded descriptor, grain directory, footer."""
    sectors = capacity_bytes // SECTOR
    descriptor = (
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
        'createType="streamOptimized"\n\n# Extent description\n'
        f'RW {sectors} SPARSE "{name}"\n\n# The Disk Data Base\n#DDB\n\n'
        'ddb.virtualHWVersion = "13"\nddb.adapterType = "lsilogic"\n'
        f'ddb.geometry.cylinders = "{max(1, sectors // (255 * 63))}"\n'
        'ddb.geometry.heads = "255"\nddb.geometry.sectors = "63"\n').encode()
    descriptor_sectors = -(-len(descriptor) // SECTOR)
    body = _header(sectors, descriptor_sectors, 0xFFFFFFFFFFFFFFFF)
    body += descriptor.ljust(descriptor_sectors * SECTOR, b"\0")
    body = body.ljust(GRAIN * SECTOR, b"\0")  # metadata overhead, grain aligned
    # No grain holds data: an all-zero grain directory (no grain tables) follows.
    gd_entries = -(-sectors // (GRAIN * GTES_PER_GT))
    gd_sectors = -(-gd_entries * 4 // SECTOR)
    body += _marker(gd_sectors, 2)  # grain directory marker
    gd_offset = len(body) // SECTOR
    body += b"\0" * (gd_sectors * SECTOR)
    body += _marker(1, 3)  # footer marker
    body += _header(sectors, descriptor_sectors, gd_offset)
    body += _marker(0, 0)  # end of stream
    return body


def build_ova(path: Path, name: str = "tiny", cpus: int = 2, memory_mb: int = 1024,
              capacity_gb: int = 1, descriptor: str | None = None) -> Path:
    """Write an OVA (descriptor first, then manifest, then the disk); returns `path`."""
    disk_file = f"{name}-disk1.vmdk"
    disk = stream_optimized_vmdk(capacity_gb << 30, disk_file)
    ovf = (descriptor or DESCRIPTOR).format(
        name=name, cpus=cpus, memory_mb=memory_mb, capacity_gb=capacity_gb,
        disk_file=disk_file, disk_size=len(disk)).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = "".join(f"SHA256({n})= {hashlib.sha256(d).hexdigest()}\n"
                       for n, d in ((f"{name}.ovf", ovf), (disk_file, disk))).encode()
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for member, data in ((f"{name}.ovf", ovf), (f"{name}.mf", manifest), (disk_file, disk)):
            info = tarfile.TarInfo(member)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
