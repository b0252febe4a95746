"""Turning a zPod request into a zPod: layered configuration, validation, admission.

A request names a profile, then named overlays, then its own overrides,
merged in that order with the rules of shared.overlays. Everything wrong with
a request is collected and reported at once (`Resolution.problems`, keyed by
request field), so a person fixes a request in one go. `create_zpod` is the one
way a zPod comes to be: the API's POST and the webhook triggers both use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask_smorest import abort
from marshmallow import ValidationError
from sqlalchemy import select

from services.api import capacity, quotas
from services.api.access import may_use_endpoint
from services.api.context import api_context
from services.api.endpoints import find_endpoint
from services.api.jobs import create_job
from services.api.profile_schemas import ProfileDocumentSchema
from shared.crypto import new_password
from shared.durations import format_duration
from shared.models import (
    Component,
    ComponentStatus,
    Endpoint,
    Job,
    JobKind,
    LibraryComponent,
    OverlayRecord,
    ProfileRecord,
    User,
    Zpod,
    utcnow,
)
from shared.netplan import CapacityError, NetworkPlan, allocate, plan_components
from shared.overlays import OverlayError, merge_all
from shared.profiles import Profile, profile_from_document


@dataclass
class Resolution:
    """What a request resolves to, and every problem found on the way."""

    endpoint: Endpoint | None = None
    document: dict | None = None
    profile: Profile | None = None
    problems: dict[str, list[str]] = field(default_factory=dict)

    def problem(self, where: str, message) -> None:
        self.problems.setdefault(where, []).append(message)

    @property
    def ok(self) -> bool:
        return not self.problems


def _endpoint(session, ref) -> Endpoint | None:
    """The endpoint `ref` names, if the caller may deploy onto it."""
    found = find_endpoint(ref)
    return found if found is not None and may_use_endpoint(session, found.id) else None


def resolve(session, data: dict) -> Resolution:
    """Merge profile, overlays and overrides and check the result; never raises."""
    result = Resolution()
    _check_lease(result, data.get("lease"))
    result.endpoint = _endpoint(session, data["endpoint"])
    if result.endpoint is None:
        result.problem("endpoint", f"unknown endpoint '{data['endpoint']}'")
    record = session.scalar(select(ProfileRecord).where(ProfileRecord.name == data["profile"]))
    if record is None:
        known = ", ".join(session.scalars(select(ProfileRecord.name).order_by(ProfileRecord.name)))
        result.problem("profile", f"unknown profile '{data['profile']}' (known: {known})")
    layers = []
    for name in data.get("overlays", []):
        overlay = session.scalar(select(OverlayRecord).where(OverlayRecord.name == name))
        if overlay is None:
            result.problem("overlays", f"unknown overlay '{name}'")
        else:
            layers.append(overlay.document)
    if data.get("overrides"):
        layers.append(data["overrides"])
    if record is None:
        return result
    # Unknown overlays are reported above; the known layers are still merged
    # and checked, so the request's other problems are listed too.
    try:
        merged = merge_all(record.document, layers)
    except OverlayError as exc:
        result.problem("overrides", str(exc))
        return result
    merged["name"] = record.name
    try:
        result.document = ProfileDocumentSchema().load(merged)
    except ValidationError as exc:
        result.problem("config", exc.messages)
        return result
    result.profile = profile_from_document(result.document)
    _check_components(session, result)
    return result


def _check_lease(result: Resolution, lease: timedelta | None) -> None:
    longest = timedelta(seconds=api_context().settings.lease_max)
    if lease is not None and lease > longest:
        result.problem("lease", f"at most {format_duration(longest)} (the lease_max setting)")


def _check_components(session, result: Resolution) -> None:
    """Every library component the profile names exists, is enabled and downloaded."""
    for item in result.profile.items:
        if item.component is None:
            continue
        found = session.scalar(select(LibraryComponent).where(
            LibraryComponent.uid == item.component))
        where = f"component '{item.component}' of '{item.hostname}'"
        if found is None or found.removed:
            result.problem("components", f"{where} is not in any library")
        elif found.status != ComponentStatus.READY:
            result.problem("components", f"{where} is not downloaded (status {found.status}); "
                                         f"enable it first")


def reject(resolution: Resolution) -> None:
    """422 listing every problem of the request."""
    abort(422, message="the zPod request has problems: "
                       + "; ".join(f"{k}: {v}" for k, v in resolution.problems.items()),
          errors={"json": resolution.problems})


def create_zpod(session, user: User, data: dict) -> tuple[Zpod, Job]:
    """Validate, admit and record a zPod, then publish its deploy job.

    Aborts with 422 (every problem listed), 409 (name taken, quota, no room on
    the endpoint: memory, storage, VLAN ids, subnets, with the figures) before
    anything is written. `services.api.plans` runs the same checks without
    writing anything. The quota check, the zPod and its job are one transaction
    (committed by `create_job`), so that a user's concurrent requests are
    admitted one at a time.
    """
    resolution = resolve(session, data)
    if not resolution.ok:
        reject(resolution)
    if session.scalar(select(Zpod.id).where(Zpod.live_name == data["name"])):
        abort(409, message=f"a zPod named '{data['name']}' already exists")
    quotas.check(session, user, resolution.profile)
    ctx = api_context()
    capacity.check(session, resolution.endpoint, resolution.profile, ctx.settings)
    zpod = Zpod(name=data["name"], live_name=data["name"], endpoint=resolution.endpoint,
                owner_id=user.id, profile=resolution.profile.name,
                domain=f"{data['name']}.{ctx.settings.domain}",
                request={"profile": data["profile"], "overlays": data.get("overlays", []),
                         "overrides": data.get("overrides") or {}},
                config=resolution.document,
                password_encrypted=ctx.secrets.encrypt(new_password()),
                lease_expires_at=utcnow() + data["lease"] if data.get("lease") else None)
    session.add(zpod)
    session.flush()
    try:
        plan = allocate(session, resolution.endpoint, zpod)
    except CapacityError as exc:
        session.rollback()
        abort(409, message=str(exc))
    zpod.subnet, zpod.vlan = plan.subnet, plan.vlan
    for component in plan_components(resolution.profile, zpod.name, plan):
        session.add(Component(zpod_id=zpod.id, **component))
    job = create_job(JobKind.DEPLOY, zpod_id=zpod.id)
    session.refresh(zpod)
    return zpod, job


def add_component(session, user: User, zpod: Zpod, item: dict) -> Job:
    """Plan one more item (its own last stage) on a live zPod and publish the job
    that builds it; 422 for names or addresses already taken, 409 over the owner's
    quota or without room on the endpoint."""
    problems = Resolution()
    document = {"name": zpod.profile, "stages": [{"name": "added", "items": [item]}]}
    try:
        document = ProfileDocumentSchema().load(document)
    except ValidationError as exc:
        abort(422, errors={"json": exc.messages})
    profile = profile_from_document(document)
    plan = NetworkPlan(subnet=zpod.subnet, vlan=zpod.vlan)
    planned = plan_components(profile, zpod.name, plan)
    taken_names = {c.hostname for c in zpod.components}
    taken_ips = {c.ip for c in zpod.components}
    for component in planned:
        if component["hostname"] in taken_names:
            problems.problem("hostname", f"'{component['hostname']}' is taken in this zPod")
        if component["ip"] in taken_ips:
            problems.problem("host_octet", f"{component['ip']} is taken in this zPod")
    if profile.items[0].component is not None:
        resolution = Resolution(profile=profile)
        _check_components(session, resolution)
        for where, messages in resolution.problems.items():
            for message in messages:
                problems.problem(where, message)
    if not problems.ok:
        reject(problems)
    # The zPod's owner's quota: usage is counted by owner, whoever adds the component.
    quotas.check(session, zpod.owner_user or user, profile, new_zpod=False)
    capacity.check(session, zpod.endpoint, profile, api_context().settings,
                   what="this component", networks=0)
    stage = 1 + max((c.stage_index for c in zpod.components), default=-1)
    for component in planned:
        component.update(stage="added", stage_index=stage)
        session.add(Component(zpod_id=zpod.id, **component))
    return create_job(JobKind.ADD_COMPONENT, zpod_id=zpod.id)
