"""Schemas of profile documents (what a zPod is made of) and of the profiles API."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from shared.templating import TemplateError, check_property_template

HOSTNAME = re.compile(r"^[a-z](?:[a-z0-9-]|\{n\}){0,30}$")
PROFILE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,63}$")


class DiskSpecSchema(Schema):
    size_gb = fields.Integer(required=True, validate=validate.Range(min=1, max=62 * 1024))
    thin = fields.Boolean(load_default=True)


class ProfileItemSchema(Schema):
    role = fields.String(required=True, validate=validate.Length(min=1, max=20),
                         metadata={"example": "esxi"})
    hostname = fields.String(required=True, validate=validate.Regexp(
        HOSTNAME, error="a host name label: lowercase letters, digits and '-', with {n} "
                        "for counted items"))
    host_octet = fields.Integer(required=True, validate=validate.Range(min=1, max=254),
                                metadata={"description": "last octet in the zPod's /24 "
                                                         "(counted items add 1, 2, ...)"})
    count = fields.Integer(load_default=1, validate=validate.Range(min=1, max=64))
    cpus = fields.Integer(load_default=1, validate=validate.Range(min=1, max=128))
    memory_mb = fields.Integer(load_default=1024, validate=validate.Range(min=256,
                                                                          max=4 * 1024 * 1024))
    guest_id = fields.String(load_default="otherLinux64Guest")
    nested_hv = fields.Boolean(load_default=False)
    disks = fields.List(fields.Nested(DiskSpecSchema), load_default=list,
                        validate=validate.Length(max=16))
    component = fields.String(load_default=None, allow_none=True,
                              metadata={"description": "library component uid"})
    properties = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict,
                             metadata={"description": "extra OVF properties (also written to "
                                       "extraConfig), templates over {{ hostname }}, {{ ip }}, "
                                       "{{ netmask }}, {{ prefix }}, {{ gateway }}, {{ dns }}, "
                                       "{{ ntp }}, {{ domain }}, {{ password }}"})
    wait_for_ip = fields.Boolean(load_default=None, allow_none=True, metadata={
        "description": "wait for the guest to report its IP address (default: yes for items "
                       "deployed from a library component, no for empty VMs)"})
    template = fields.String(load_default="auto", validate=validate.OneOf(
        ["auto", "stage", "never"]), metadata={"description": (
            "auto: clone the endpoint's staged template when there is one, else import the "
            "OVA; stage: stage the template first, then clone; never: always import")})


    @validates("properties")
    def _properties(self, value: dict, **_) -> None:
        for key, text in value.items():
            try:
                check_property_template(text)
            except TemplateError as exc:
                raise ValidationError(f"{key}: {exc}") from None


class ProfileStageSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    items = fields.List(fields.Nested(ProfileItemSchema), required=True,
                        validate=validate.Length(min=1, max=64))


class ProfileDocumentSchema(Schema):
    name = fields.String(required=True, validate=validate.Regexp(
        PROFILE_NAME, error="1-64 characters: lowercase letters, digits and '-'"))
    description = fields.String(load_default="")
    stages = fields.List(fields.Nested(ProfileStageSchema), required=True,
                         validate=validate.Length(min=1, max=16))

    @validates_schema
    def _unique_hosts(self, data: dict, **_) -> None:
        names, octets, problems = set(), set(), []
        for stage in data.get("stages", []):
            for item in stage["items"]:
                for n in range(1, item["count"] + 1):
                    counted = item["count"] > 1 or "{n}" in item["hostname"]
                    host = item["hostname"].format(n=n) if counted else item["hostname"]
                    octet = item["host_octet"] + (n if counted else 0)
                    if host in names:
                        problems.append(f"host name '{host}' is used twice")
                    if octet in octets or octet > 254:
                        problems.append(f"address .{octet} of '{host}' is taken or past .254")
                    names.add(host)
                    octets.add(octet)
        if problems:
            raise ValidationError(problems, "stages")


class ProfileSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    document = fields.Dict()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
