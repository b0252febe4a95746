"""Pure logic of the library: definitions, templates, OVA parsing, progress, slots, writers."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest
import yaml

from services.library.definitions import parse_catalog, parse_file
from services.library.slots import download_slot
from services.library.transfer import HashingWriter, Meter, WriteFailed
from shared.library_files import filename_for
from shared.ova import OvaError, inspect_ova, parse_descriptor, units
from shared.templating import Redactor, TemplateError, render_properties, settings_used
from tests.ova_builder import DESCRIPTOR, build_ova

GOOD = {"name": "esxi", "version": "8.0u3", "kind": "esxi", "url": "https://x/esxi.ova",
        "sha256": "AB" * 32, "size": 10}


def test_definition_file_forms():
    valid, errors = parse_file("one.yaml", yaml.safe_dump(GOOD))
    assert errors == [] and valid[0]["uid"] == "esxi-8.0u3"
    assert valid[0]["sha256"] == "ab" * 32 and valid[0]["source_file"] == "one.yaml"
    listed, _ = parse_file("many.json", json.dumps({"components": [GOOD]}))
    assert listed[0]["uid"] == "esxi-8.0u3"


def test_definition_errors_are_per_document():
    text = yaml.safe_dump([GOOD, {**GOOD, "version": "9", "extra": 1, "url": "ftp://x"},
                           {**GOOD, "name": "../etc"}, "just a string"])
    valid, errors = parse_file("mixed.yaml", text)
    assert [v["uid"] for v in valid] == ["esxi-8.0u3"]
    by_file = {e["file"]: e for e in errors}
    assert set(by_file) == {"mixed.yaml#2", "mixed.yaml#3", "mixed.yaml#4"}
    assert {"extra", "url"} <= set(by_file["mixed.yaml#2"]["errors"])
    assert "name" in by_file["mixed.yaml#3"]["errors"]
    assert by_file["mixed.yaml#4"]["message"] == "a definition must be a mapping"


def test_duplicate_uid_keeps_the_first_file():
    text = yaml.safe_dump(GOOD)
    valid, errors = parse_catalog([("a.yaml", text), ("b.yaml", text)])
    assert [v["source_file"] for v in valid] == ["a.yaml"]
    assert errors == [{"file": "b.yaml", "message": "'esxi-8.0u3' is already defined in a.yaml"}]


def test_url_and_header_templates_may_read_settings_only():
    ok = {**GOOD, "url": "https://x/a.ova?t={{ settings.token }}",
          "headers": {"Authorization": "Bearer {{ settings.token }}"}}
    assert parse_file("ok.yaml", yaml.safe_dump(ok))[1] == []
    bad = {**GOOD, "headers": {"X": "{{ hostname }}"}}
    assert "only settings.<name>" in str(parse_file("bad.yaml", yaml.safe_dump(bad))[1])
    assert settings_used("{{ settings.a }}-{{ settings['b'] }}") == {"a", "b"}
    with pytest.raises(TemplateError):
        settings_used("{{ settings.a ")


def test_properties_render_zpod_variables():
    rendered = render_properties({"ip": "{{ ip }}/{{ prefix }}", "fqdn": "{{ hostname }}."
                                  "{{ domain }}"}, {"ip": "10.0.0.11", "prefix": "24",
                                                    "hostname": "esxi1", "domain": "lab"})
    assert rendered == {"ip": "10.0.0.11/24", "fqdn": "esxi1.lab"}


def test_redactor_masks_plain_and_url_encoded_secrets():
    redact = Redactor(["s3cr3t/+x", ""])
    assert redact("a s3cr3t/+x b s3cr3t%2F%2Bx") == "a *** b ***"


def test_filename_comes_from_the_definition_or_the_url():
    assert filename_for({**GOOD, "filename": "x.ova"}) == "x.ova"
    assert filename_for(GOOD) == "esxi.ova"
    assert filename_for({**GOOD, "url": "https://x/{{ settings.p }}"}) == "esxi-8.0u3.ova"


def test_ova_inspection(tmp_path):
    found = inspect_ova(build_ova(tmp_path / "t.ova", name="t", cpus=4, memory_mb=2048,
                                  capacity_gb=3))
    assert found["hardware"]["cpus"] == 4 and found["hardware"]["memory_mb"] == 2048
    assert found["disks"][0]["capacity_bytes"] == 3 << 30
    assert found["files"][0]["archive_size"] == found["files"][0]["size"]
    assert [p["key"] for p in found["properties"]] == [
        "guestinfo.hostname", "guestinfo.ipaddress", "guestinfo.ssh"]
    assert found["products"][0]["vendor"] == "nestlab tests"


def test_ova_property_keys_take_class_and_instance():
    text = DESCRIPTOR.replace('<ProductSection ovf:required="false">',
                              '<ProductSection ovf:class="vami" ovf:instance="VM1">')
    found = parse_descriptor(text.format(name="x", cpus=1, memory_mb=1, capacity_gb=1,
                                         disk_file="d", disk_size=1))
    assert found["properties"][0]["key"] == "vami.guestinfo.hostname.VM1"


@pytest.mark.parametrize("broken, words", [
    ("<Envelope", "not valid XML"),
    ('<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"/>', "no VirtualSystem"),
    ("<other/>", "root is not an ovf:Envelope"),
    ('<!DOCTYPE x [<!ENTITY a "aaaa">]><Envelope>&a;</Envelope>', "not valid XML"),
])
def test_bad_descriptors_are_refused(broken, words):
    with pytest.raises(OvaError, match=words):
        parse_descriptor(broken)


def test_archive_must_hold_what_the_descriptor_names(tmp_path):
    path = tmp_path / "bad.ova"
    ovf = DESCRIPTOR.format(name="x", cpus=1, memory_mb=1, capacity_gb=1, disk_file="gone.vmdk",
                            disk_size=1).encode()
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("x.ovf")
        info.size = len(ovf)
        tar.addfile(info, io.BytesIO(ovf))
    with pytest.raises(OvaError, match="refers to 'gone.vmdk'"):
        inspect_ova(path)
    (tmp_path / "plain.ova").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(OvaError, match="not a tar archive"):
        inspect_ova(tmp_path / "plain.ova")


def test_allocation_units():
    assert units("byte * 2^20") == 1 << 20 and units("MegaBytes") == 1 << 20
    assert units(None) == 1
    with pytest.raises(OvaError):
        units("parsecs")


def test_meter_reports_rate_and_eta_at_its_interval():
    now = [0.0]
    reports = []
    meter = Meter(100 << 20, lambda *r: reports.append(r), interval=2, clock=lambda: now[0])
    now[0] = 1
    meter.update(10 << 20)
    assert reports == []
    now[0] = 2
    meter.update(20 << 20)
    assert reports == [(20, 20 << 20, "20.0 MiB of 100.0 MiB (20%), 10.0 MiB/s, ETA 8s")]
    meter.update(100 << 20, force=True)
    assert reports[-1][0] == 100 and "ETA" not in reports[-1][2]


def test_download_slots_limit_concurrency(tmp_path):
    with download_slot(tmp_path, 2) as first, download_slot(tmp_path, 2) as second:
        with download_slot(tmp_path, 2) as third:
            assert (first, second, third) == (0, 1, None)
    with download_slot(tmp_path, 2) as again:
        assert again == 0


def test_hashing_writer_hashes_writes_and_reports_write_failures(tmp_path):
    data = bytes(range(256)) * 50_000
    source = io.BytesIO(data)
    hasher = hashlib.sha256()
    with open(tmp_path / "out", "wb") as handle:
        writer = HashingWriter(handle, hasher, chunk=1 << 16, depth=3)
        while writer.fill(source.readinto):
            pass
        writer.close()
    assert (tmp_path / "out").read_bytes() == data
    assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()

    class Full(io.RawIOBase):
        def write(self, _):
            raise OSError(28, "No space left on device")

    writer = HashingWriter(Full(), hashlib.sha256(), chunk=1 << 16, depth=2)
    with pytest.raises(WriteFailed, match="No space left"):
        source.seek(0)
        while writer.fill(source.readinto):
            pass
        writer.close()
