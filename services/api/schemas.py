"""Request and response schemas: they validate input and generate the OpenAPI document."""

from __future__ import annotations

import ipaddress
import re

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

from shared.durations import format_duration, parse_duration
from shared.events import EventKind
from shared.netplan import ZPOD_PREFIX, parse_vlan_range

# vCenter accepts most characters in names, DNS does not: a zPod name becomes
# part of object names, host names and the zPod's domain, so keep it a DNS label.
ZPOD_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$")
ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
THUMBPRINT = re.compile(r"^(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$")

ZPOD_NAME_RULE = ("1-32 characters: lowercase letters, digits and '-', starting with a letter "
                  "and not ending with '-'")


class Duration(fields.Field):
    """A duration in, a `timedelta` out: ISO 8601 (`PT4H`), seconds, or `2h`; dumped as ISO."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault(
            "description", "ISO 8601 duration (PT4H, P1D), seconds, or e.g. 2h")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_duration(value)


class EndpointCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Regexp(
        ENDPOINT_NAME, error="1-64 characters: letters, digits, '_', '.', '-'"))
    host = fields.String(required=True, validate=validate.Length(min=1, max=255))
    port = fields.Integer(load_default=443, validate=validate.Range(min=1, max=65535))
    username = fields.String(required=True, validate=validate.Length(min=1, max=255))
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=1, max=1024))
    datacenter = fields.String(required=True, validate=validate.Length(min=1, max=255))
    cluster = fields.String(required=True, validate=validate.Length(min=1, max=255))
    datastore = fields.String(required=True, validate=validate.Length(min=1, max=255))
    switch = fields.String(required=True, validate=validate.Length(min=1, max=255),
                           metadata={"description": "the distributed switch for zPod networks"})
    verify_tls = fields.Boolean(load_default=True)
    thumbprint = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        THUMBPRINT, error="a SHA-256 certificate fingerprint: 64 hex digits, colons allowed"))
    supernet = fields.String(required=True, metadata={"example": "10.96.0.0/16"})
    vlan_range = fields.String(required=True, metadata={"example": "100-199"})

    @validates("supernet")
    def _supernet(self, value: str, **_) -> None:
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValidationError(f"not an IPv4 network in CIDR form: {exc}") from exc
        if network.version != 4 or network.prefixlen > ZPOD_PREFIX:
            raise ValidationError(f"an IPv4 network of /{ZPOD_PREFIX} or larger is needed")

    @validates("vlan_range")
    def _vlan_range(self, value: str, **_) -> None:
        try:
            parse_vlan_range(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    @validates_schema
    def _tls(self, data: dict, **_) -> None:
        if data.get("thumbprint") and data.get("verify_tls") is False:
            raise ValidationError("give either a thumbprint to pin or verify_tls false, not both",
                                  "thumbprint")


class EndpointSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    host = fields.String()
    port = fields.Integer()
    username = fields.String()
    datacenter = fields.String()
    cluster = fields.String()
    datastore = fields.String()
    switch = fields.String()
    verify_tls = fields.Boolean()
    thumbprint = fields.String(allow_none=True)
    supernet = fields.String()
    vlan_range = fields.String()
    status = fields.String(metadata={"description": "unverified, ok or error"})
    status_message = fields.String(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class ZpodCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Regexp(ZPOD_NAME, error=ZPOD_NAME_RULE))
    endpoint = fields.String(required=True, metadata={"description": "endpoint name or id"})
    profile = fields.String(required=True, metadata={"example": "minimal"})
    overlays = fields.List(fields.String(), load_default=list,
                           validate=validate.Length(max=16),
                           metadata={"description": "named overlays, applied in order"})
    overrides = fields.Dict(load_default=dict, metadata={
        "description": "a last overlay of this request only, e.g. "
                       '{"stages": {"$items": {"hosts": {"items": {"$items": {"esxi{n}": '
                       '{"count": 2}}}}}}}'})
    lease = Duration(load_default=None, allow_none=True, metadata={
        "description": "destroy the zPod this long after it is requested (PT4H, 3600, 2h); "
                       "at most the lease_max setting"})


class LeaseExtendSchema(Schema):
    extend_by = Duration(metadata={"description": "add this to the current expiry "
                                                  "(or to now, when there is none)"})
    expires_at = fields.AwareDateTime(metadata={"description": "the new expiry, with a zone"})

    @validates_schema
    def _one(self, data: dict, **_) -> None:
        if ("extend_by" in data) == ("expires_at" in data):
            raise ValidationError("give either extend_by or expires_at")


class ComponentSchema(Schema):
    hostname = fields.String()
    fqdn = fields.String()
    role = fields.String()
    ip = fields.String()
    vm_name = fields.String()
    moref = fields.String(allow_none=True)
    status = fields.String()
    stage = fields.String(metadata={"description": "the profile stage it is built in"})
    error = fields.String(allow_none=True)
    power_state = fields.String(allow_none=True, metadata={
        "description": "poweredOn, poweredOff or suspended, as last read by a job; null "
                       "before any"})


POWER_ACTIONS = ("start", "stop", "poweroff", "reset")


class PowerSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(POWER_ACTIONS), metadata={
        "description": "start (power on), stop (guest shutdown, then power off what is still "
                       "on after `timeout`), poweroff (at once), reset (hard)"})
    timeout = fields.Integer(load_default=None, allow_none=True,
                             validate=validate.Range(min=1, max=3600), metadata={
                                 "description": "stop only: seconds to wait for the guests "
                                                "(default: the guest_shutdown_timeout setting)"})

    @validates_schema
    def _timeout_for_stop(self, data: dict, **_) -> None:
        if data.get("timeout") is not None and data.get("action") != "stop":
            raise ValidationError("only `stop` takes a timeout", "timeout")


class NetworkSchema(Schema):
    subnet = fields.String()
    vlan = fields.Integer()
    gateway = fields.String()
    netmask = fields.String()
    dns = fields.String()


class ZpodSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    status = fields.String()
    status_message = fields.String(allow_none=True)
    endpoint = fields.String(metadata={"description": "endpoint name"})
    profile = fields.String()
    owner = fields.String(allow_none=True, metadata={"description": "the owner's user name"})
    domain = fields.String()
    network = fields.Nested(NetworkSchema)
    components = fields.List(fields.Nested(ComponentSchema))
    job_id = fields.Integer(allow_none=True, metadata={"description": "the zPod's latest job"})
    lease_expires_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the zPod is destroyed by itself (null: never)"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class StepSchema(Schema):
    name = fields.String()
    status = fields.String()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)


class EventSchema(Schema):
    id = fields.Integer(metadata={"description": "the event's id across all jobs (the SSE id "
                                                "of GET /events)"})
    seq = fields.Integer(metadata={"description": "the event's number within its job (the SSE "
                                                 "id of GET /jobs/<id>/events)"})
    kind = fields.String()
    message = fields.String()
    percent = fields.Integer(allow_none=True)
    time = fields.DateTime(attribute="created_at")
    job_id = fields.Integer()
    zpod_id = fields.Integer(allow_none=True)


class JobSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String(metadata={"description": "queued, running, succeeded or failed"})
    zpod_id = fields.Integer(allow_none=True)
    endpoint_id = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    attempts = fields.Integer()
    params = fields.Dict(allow_none=True, metadata={
        "description": "what the job works on beyond its zPod, e.g. {\"action\", \"hostname\"}"})
    result = fields.Dict(metadata={
        "description": "what the job found or did, e.g. `drift` (a check) or `power_states`"})
    soap_calls = fields.Function(
        lambda job: (job.result or {}).get("soap_calls"),
        metadata={"description": "SOAP calls to vCenter made for the job (all its tasks "
                                 "and attempts)"})
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    steps = fields.List(fields.Nested(StepSchema))
    events = fields.List(fields.Nested(EventSchema))


class JobSummarySchema(JobSchema):
    class Meta:
        exclude = ("steps", "events")


class JobListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(["queued", "running", "succeeded", "failed"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ZpodListQuerySchema(Schema):
    all = fields.Boolean(load_default=False,
                         metadata={"description": "include destroyed zPods"})


class StreamHeadersSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    last_event_id = fields.Integer(data_key="Last-Event-ID", validate=validate.Range(min=0),
                                   metadata={"description": "resume an event stream after this "
                                                            "id (sent by EventSource itself)"})


class JobEventsQuerySchema(Schema):
    after = fields.Integer(validate=validate.Range(min=0),
                           metadata={"description": "only events with a greater seq"})


class EventListQuerySchema(Schema):
    after = fields.Integer(validate=validate.Range(min=0), metadata={
        "description": "only events with a greater id; a stream starts there (default: a "
                       "stream starts at the newest event, a list at the oldest)"})
    job_id = fields.Integer()
    zpod_id = fields.Integer()
    kind = fields.List(fields.String(validate=validate.OneOf(EventKind.ALL)),
                       metadata={"description": "repeat for several kinds"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000),
                           metadata={"description": "list only"})


class ZpodPlanSchema(ZpodCreateSchema):
    # The name is checked by the plan itself, so a bad one is listed with the
    # request's other problems instead of failing the whole body.
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))


class PlanDiskSchema(Schema):
    size_gb = fields.Integer()
    thin = fields.Boolean()


class PlanComponentSchema(Schema):
    hostname = fields.String()
    fqdn = fields.String()
    ip = fields.String(allow_none=True, metadata={"description": "None without a free subnet"})
    role = fields.String()
    stage = fields.String()
    vm_name = fields.String()
    cpus = fields.Integer()
    memory_mb = fields.Integer()
    disks = fields.List(fields.Nested(PlanDiskSchema))
    component = fields.String(allow_none=True, metadata={"description": "library component uid"})


class PlanObjectSchema(Schema):
    kind = fields.String(metadata={"description": "folder, resource_pool, portgroup or vm"})
    name = fields.String()
    stage = fields.String(allow_none=True, metadata={"description": "the VM's profile stage"})


class PlanResourcesSchema(Schema):
    vcpus = fields.Integer(allow_none=True)
    memory_mb = fields.Integer(allow_none=True)
    storage_gb = fields.Float(allow_none=True)
    vlans = fields.Integer(allow_none=True)
    subnets = fields.Integer(allow_none=True)


class PlanCapacitySchema(Schema):
    known = fields.Boolean(metadata={"description": "false until the endpoint is verified"})
    read_at = fields.DateTime(allow_none=True, metadata={"description": "when vCenter's "
                                                                       "figures were read"})
    needed = fields.Nested(PlanResourcesSchema)
    free = fields.Nested(PlanResourcesSchema, metadata={
        "description": "null where unknown (endpoint never verified)"})
    fits = fields.Boolean(metadata={"description": "memory, storage, VLAN ids and subnets "
                                                  "(CPU is not enforced)"})


class ZpodPlanResultSchema(Schema):
    ok = fields.Boolean(metadata={"description": "true when creating it now would be accepted"})
    problems = fields.Dict(keys=fields.String(), values=fields.List(fields.Raw()), metadata={
        "description": "every problem, by field: name, endpoint, profile, overlays, overrides, "
                       "config, components, quota, network, capacity"})
    warnings = fields.List(fields.String())
    config = fields.Dict(allow_none=True, metadata={"description": "the merged profile document"})
    network = fields.Nested(NetworkSchema, allow_none=True, metadata={
        "description": "what allocation would pick now (nothing is reserved)"})
    components = fields.List(fields.Nested(PlanComponentSchema))
    objects = fields.List(fields.Nested(PlanObjectSchema), metadata={
        "description": "vSphere objects the deployer would create, in order"})
    capacity = fields.Nested(PlanCapacitySchema, allow_none=True)


class CpuCapacitySchema(Schema):
    total_mhz = fields.Integer(allow_none=True)
    total_cores = fields.Integer(allow_none=True)
    overcommit = fields.Float(metadata={"description": "vCPUs allowed per core"})
    held_vcpus = fields.Integer(metadata={"description": "planned vCPUs of live zPods"})
    held_mhz = fields.Integer(allow_none=True, metadata={"description": "one core's MHz per "
                                                                        "held vCPU"})
    free_vcpus = fields.Integer(allow_none=True)
    free_mhz = fields.Integer(allow_none=True)


class MemoryCapacitySchema(Schema):
    total_mb = fields.Integer(allow_none=True)
    overcommit = fields.Float()
    held_mb = fields.Integer()
    free_mb = fields.Integer(allow_none=True)


class StorageCapacitySchema(Schema):
    total_gb = fields.Float(allow_none=True)
    datastore_free_gb = fields.Float(allow_none=True, metadata={
        "description": "free space of the datastore when read, less what thin disks may "
                       "still grow by"})
    overcommit = fields.Float()
    held_gb = fields.Float(metadata={"description": "full size of live zPods' disks"})
    pending_gb = fields.Float(metadata={"description": "of which on VMs not created yet when "
                                                      "the datastore was read"})
    free_gb = fields.Float(allow_none=True)


class CountCapacitySchema(Schema):
    total = fields.Integer()
    used = fields.Integer()
    free = fields.Integer()


class EndpointCapacitySchema(Schema):
    endpoint = fields.String()
    known = fields.Boolean(metadata={"description": "false until the endpoint is verified"})
    read_at = fields.DateTime(allow_none=True)
    cluster = fields.String()
    datastore = fields.String()
    hosts = fields.Integer(allow_none=True)
    cpu = fields.Nested(CpuCapacitySchema)
    memory = fields.Nested(MemoryCapacitySchema)
    storage = fields.Nested(StorageCapacitySchema)
    vlans = fields.Nested(CountCapacitySchema)
    subnets = fields.Nested(CountCapacitySchema)
