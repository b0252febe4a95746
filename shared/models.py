"""The database is the record of state: endpoints, zPods, jobs, steps, events,
libraries and components, chat channels, their subscriptions and deliveries.

Typed SQLAlchemy 2.0 models. The schema itself is owned by Alembic
(`shared/migrations`); these classes must match it. Everything here is plain
portable SQL: it runs unchanged on SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    # Named constraints, so later migrations can alter them on both databases.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON, list: JSON}


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobKind(enum.StrEnum):
    DEPLOY = "deploy"
    ADD_COMPONENT = "add_component"
    DESTROY = "destroy"
    VERIFY = "verify"
    LIBRARY_SYNC = "library_sync"
    DOWNLOAD = "download"
    STAGE = "stage"
    UPLOAD = "upload"
    # Operations on a live zPod (services.deployer.power, components_ops, drift).
    POWER = "power"
    REMOVE_COMPONENT = "remove_component"
    CHECK = "check"


class ComponentStatus(enum.StrEnum):
    """Where a library component's file is: from `not_downloaded` to `ready`."""

    NOT_DOWNLOADED = "not_downloaded"
    QUEUED = "queued"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    READY = "ready"
    FAILED = "failed"


class TemplateStatus(enum.StrEnum):
    NEW = "new"
    QUEUED = "queued"
    STAGING = "staging"
    READY = "ready"
    FAILED = "failed"


class ZpodStatus(enum.StrEnum):
    PENDING = "pending"
    DEPLOYING = "deploying"
    READY = "ready"
    FAILED = "failed"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"


class UserRole(enum.StrEnum):
    ADMIN = "admin"
    USER = "user"


class TokenScope(enum.StrEnum):
    READ = "read"
    WRITE = "write"


class User(Base):
    """A person (or a robot) using the API; `admin`s manage everything."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=UserRole.USER)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Quotas; NULL means no limit.
    max_zpods: Mapped[int | None] = mapped_column(Integer)
    max_vcpu: Mapped[int | None] = mapped_column(Integer)
    max_memory_mb: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN


class ApiToken(Base):
    """A user's API token: only its SHA-256 and its first characters are kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="admin")  # unused since users
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    scope: Mapped[str] = mapped_column(String(10), default=TokenScope.WRITE)
    prefix: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship()


class Endpoint(Base):
    __tablename__ = "endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=443)
    username: Mapped[str] = mapped_column(String(255))
    password_encrypted: Mapped[str] = mapped_column(Text)
    datacenter: Mapped[str] = mapped_column(String(255))
    cluster: Mapped[str] = mapped_column(String(255))
    datastore: Mapped[str] = mapped_column(String(255))
    switch: Mapped[str] = mapped_column(String(255))
    verify_tls: Mapped[bool] = mapped_column(Boolean, default=True)
    thumbprint: Mapped[str | None] = mapped_column(String(200))
    supernet: Mapped[str] = mapped_column(String(50))
    vlan_min: Mapped[int] = mapped_column(Integer)
    vlan_max: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="unverified")
    status_message: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None]
    # The cluster's and datastore's figures as the deployer last read them
    # (services/deployer/capacity.py), and when; NULL until the first verify.
    capacity: Mapped[dict | None] = mapped_column(JSON)
    capacity_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def vlan_range(self) -> str:
        return f"{self.vlan_min}-{self.vlan_max}"


class Zpod(Base):
    __tablename__ = "zpods"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    # Equal to `name` while the zPod lives, NULL once destroyed: a unique
    # column that both databases let hold many NULLs, so a name can be reused.
    live_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id"))
    profile: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default=ZpodStatus.PENDING)
    status_message: Mapped[str | None] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(String(255))
    subnet: Mapped[str | None] = mapped_column(String(50))
    vlan: Mapped[int | None] = mapped_column(Integer)
    password_encrypted: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # What was asked for (profile, overlays, overrides) and the merged document it made.
    request: Mapped[dict | None] = mapped_column(JSON)
    config: Mapped[dict | None] = mapped_column(JSON)
    # When the zPod is destroyed by itself (NULL: never), and when the warning
    # for the current lease went out (reset when the lease changes).
    lease_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_warned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    endpoint: Mapped[Endpoint] = relationship()
    owner_user: Mapped[User | None] = relationship()
    components: Mapped[list[Component]] = relationship(
        back_populates="zpod", order_by="Component.id", cascade="all, delete-orphan"
    )
    resources: Mapped[list[Resource]] = relationship(
        back_populates="zpod", order_by="Resource.id", cascade="all, delete-orphan"
    )

    @property
    def owner(self) -> str | None:
        """The owner's user name (what chat subscriptions by owner match)."""
        return self.owner_user.name if self.owner_user is not None else None


class Group(Base):
    """A named set of users, managed by admins, that zPod and endpoint grants can name."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    members: Mapped[list[User]] = relationship(secondary="group_members", order_by="User.name")


class GroupMember(Base):
    """One user in one group."""

    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)


def one_grantee(table: str) -> CheckConstraint:
    """A grant names a user or a group, never both, never neither (plain SQL for both databases)."""
    return CheckConstraint("(user_id IS NULL AND group_id IS NOT NULL) OR "
                           "(user_id IS NOT NULL AND group_id IS NULL)",
                           name=f"ck_{table}_one_grantee")


class ZpodPermission(Base):
    """A role (`admin` or `viewer`) on one zPod, granted to a user other than its owner
    or to a group."""

    __tablename__ = "zpod_permissions"
    __table_args__ = (UniqueConstraint("zpod_id", "user_id"),
                      UniqueConstraint("zpod_id", "group_id",
                                       name="uq_zpod_permissions_zpod_id_group_id"),
                      one_grantee("zpod_permissions"))

    id: Mapped[int] = mapped_column(primary_key=True)
    zpod_id: Mapped[int] = mapped_column(ForeignKey("zpods.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                                 index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()
    group: Mapped[Group | None] = relationship()


class EndpointPermission(Base):
    """`use` of an endpoint (deploying zPods onto it), granted to a user or a group by an admin."""

    __tablename__ = "endpoint_permissions"
    __table_args__ = (UniqueConstraint("endpoint_id", "user_id"),
                      UniqueConstraint("endpoint_id", "group_id",
                                       name="uq_endpoint_permissions_endpoint_id_group_id"),
                      one_grantee("endpoint_permissions"))

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"),
                                             index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                                 index=True)
    role: Mapped[str] = mapped_column(String(20), default="use")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()
    group: Mapped[Group | None] = relationship()


class AuditEntry(Base):
    """One change (or credential read) made through the API: who, what, when, whence, outcome."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    user_name: Mapped[str | None] = mapped_column(String(100))
    token_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    resource: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    status_code: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    remote_addr: Mapped[str | None] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(64))


class Allocation(Base):
    """A VLAN id or subnet held by a live zPod; unique per endpoint."""

    __tablename__ = "allocations"
    __table_args__ = (UniqueConstraint("endpoint_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id"))
    zpod_id: Mapped[int] = mapped_column(ForeignKey("zpods.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(50))


class Component(Base):
    """One VM of a zPod, as planned and as built."""

    __tablename__ = "components"
    __table_args__ = (UniqueConstraint("zpod_id", "hostname"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zpod_id: Mapped[int] = mapped_column(ForeignKey("zpods.id"))
    hostname: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str] = mapped_column(String(50))
    vm_name: Mapped[str] = mapped_column(String(80))
    moref: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="planned")
    spec: Mapped[dict] = mapped_column(default=dict)
    # The profile stage it belongs to (by position and name); stages deploy in order.
    stage_index: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(64), default="main")
    error: Mapped[str | None] = mapped_column(Text)
    power_state: Mapped[str | None] = mapped_column(String(20))
    # Claim of the worker deploying it (see services.deployer.items).
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    zpod: Mapped[Zpod] = relationship(back_populates="components")


class Resource(Base):
    """A vSphere object a job created, by deterministic name and managed object id."""

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("zpod_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zpod_id: Mapped[int] = mapped_column(ForeignKey("zpods.id"))
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(80))
    moref: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    zpod: Mapped[Zpod] = relationship(back_populates="resources")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.QUEUED, index=True)
    zpod_id: Mapped[int | None] = mapped_column(ForeignKey("zpods.id"), index=True)
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("endpoints.id"))
    # Who asked for it (NULL for jobs nestlab starts itself).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Outbox: set once the task is on the broker; NULL means "publish me".
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    publish_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Claim: the worker running the job and its last sign of life.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A deploy's current stage; advanced with a conditional UPDATE by the item
    # task that finishes the stage's last item.
    stage: Mapped[int | None] = mapped_column(Integer)
    # What the job works on beyond its zPod (e.g. {"hostname": ..., "action": ...}).
    params: Mapped[dict | None] = mapped_column(JSON)

    zpod: Mapped[Zpod | None] = relationship()
    endpoint: Mapped[Endpoint | None] = relationship()
    steps: Mapped[list[Step]] = relationship(
        back_populates="job", order_by="Step.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[Event]] = relationship(
        back_populates="job", order_by="Event.seq", cascade="all, delete-orphan"
    )

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class Step(Base):
    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("job_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)

    job: Mapped[Job] = relationship(back_populates="steps")


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("job_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    zpod_id: Mapped[int | None] = mapped_column(ForeignKey("zpods.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    percent: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by the notifier once it has routed the event to the channels that want
    # it; NULL means "route me" (the notifier's sweep picks up what was missed).
    notified_at: Mapped[datetime | None] = mapped_column(index=True)

    job: Mapped[Job] = relationship(back_populates="events")


class Setting(Base):
    """A named value the workers may use, e.g. a vendor token in a download URL.

    Secret values are stored encrypted (shared.crypto.SecretBox) and never returned.
    """

    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    secret: Mapped[bool] = mapped_column(Boolean, default=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Library(Base):
    """A source of component definitions: a directory, a git repository or an index URL."""

    __tablename__ = "libraries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="new")
    status_message: Mapped[str | None] = mapped_column(Text)
    sync_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    last_sync: Mapped[dict] = mapped_column(default=dict)
    synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    components: Mapped[list[LibraryComponent]] = relationship(
        back_populates="library", order_by="LibraryComponent.uid")


class LibraryComponent(Base):
    """An appliance image a zPod is built from (`uid` = name-version), and its file."""

    __tablename__ = "library_components"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    library_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"), index=True)
    source_file: Mapped[str | None] = mapped_column(String(500))
    # The whole validated definition: URL template, headers, sizing, OVF properties.
    definition: Mapped[dict] = mapped_column(default=dict)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=ComponentStatus.NOT_DOWNLOADED,
                                        index=True)
    status_message: Mapped[str | None] = mapped_column(Text)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    # The file, relative to settings.library_dir, once it is ready.
    path: Mapped[str | None] = mapped_column(Text)
    # The one job allowed to download this component (set with a conditional UPDATE).
    download_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    ova: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    library: Mapped[Library | None] = relationship(back_populates="components")
    templates: Mapped[list[StagedTemplate]] = relationship(
        back_populates="component", order_by="StagedTemplate.id")


class StagedTemplate(Base):
    """A component imported once onto an endpoint as a template; one row per pair."""

    __tablename__ = "staged_templates"
    __table_args__ = (UniqueConstraint("component_id", "endpoint_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("library_components.id"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id"))
    status: Mapped[str] = mapped_column(String(20), default=TemplateStatus.QUEUED)
    status_message: Mapped[str | None] = mapped_column(Text)
    # The one job allowed to stage it (set with a conditional UPDATE).
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    name: Mapped[str] = mapped_column(String(80))
    moref: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    component: Mapped[LibraryComponent] = relationship(back_populates="templates")
    endpoint: Mapped[Endpoint] = relationship()


class Upload(Base):
    """A component file sent in chunks (offline use); matched to a component by sha256."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="receiving")
    status_message: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    component_id: Mapped[int | None] = mapped_column(ForeignKey("library_components.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Channel(Base):
    """A chat destination: an incoming-webhook URL of one kind (slack, teams, ...)."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    # The URL carries the credential (Slack, Discord, Teams...): stored encrypted.
    url_encrypted: Mapped[str] = mapped_column(Text)
    url_masked: Mapped[str] = mapped_column(String(300))
    # The Standard Webhooks signing secret (`whsec_...`) of a `webhook` channel.
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="channel", order_by="Subscription.id", cascade="all, delete-orphan",
        passive_deletes=True)


class Subscription(Base):
    """Which events a channel receives: some kinds, for all zPods, one owner's or one zPod."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"),
                                            index=True)
    kinds: Mapped[list] = mapped_column(JSON)
    # Both NULL: every zPod (and jobs without one). Owners arrive with users.
    zpod: Mapped[str | None] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    channel: Mapped[Channel] = relationship(back_populates="subscriptions")


class ChatThread(Base):
    """What one channel has been told about one job: the conversation's state.

    Progress is coalesced against `last_sent_at`; `latest_seq` is the newest
    event routed here and `sent_seq` the newest state posted, so a delayed
    update always shows the latest state. `message_ref` is the platform's handle
    on the job's message (Discord: the message id edited in place). The
    messages of one thread are sent one at a time, in the order they were made.
    """

    __tablename__ = "chat_threads"
    __table_args__ = (UniqueConstraint("channel_id", "job_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    latest_seq: Mapped[int] = mapped_column(Integer, default=0)
    latest_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    sent_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None]
    message_ref: Mapped[str | None] = mapped_column(String(200))
    # The pending coalesced progress message, if one is waiting for its slot.
    flush_delivery_id: Mapped[int | None] = mapped_column(Integer)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class Delivery(Base):
    """One message to one channel and its outcome, attempt by attempt."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"),
                                            index=True)
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_threads.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING, index=True)
    # Progress events folded into this message while it waited for its slot.
    coalesced: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    # One entry per attempt: time, HTTP status or error, and the wait before the next.
    log: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class NamedDocument:
    """Columns of a named JSON document edited through the API (profiles, overlays)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProfileRecord(NamedDocument, Base):
    """A zPod profile document (see shared.profiles); `minimal` is seeded by a migration."""

    __tablename__ = "profiles"


class OverlayRecord(NamedDocument, Base):
    """A named overlay document a zPod request can apply over its profile (shared.overlays)."""

    __tablename__ = "overlays"


class Trigger(Base):
    """A webhook that builds zPods: where deliveries come from, what they must match,
    and the zPod request they turn into (see services.api.hooks)."""

    __tablename__ = "triggers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    # The shared secret (HMAC key, GitLab token or `whsec_...`): stored encrypted.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Filter: event kinds, fnmatch patterns of branches and tags, pull request actions.
    events: Mapped[list] = mapped_column(JSON)
    branches: Mapped[list] = mapped_column(JSON)
    tags: Mapped[list] = mapped_column(JSON)
    pr_actions: Mapped[list] = mapped_column(JSON)
    # Action template: the zPod request a matching delivery makes.
    profile: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(64))
    overlays: Mapped[list] = mapped_column(JSON, default=list)
    overrides: Mapped[dict] = mapped_column(JSON, default=dict)
    name_pattern: Mapped[str] = mapped_column(String(200))
    lease_seconds: Mapped[int | None] = mapped_column(Integer)
    on_push: Mapped[str] = mapped_column(String(20), default="replace")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner_user: Mapped[User] = relationship()

    @property
    def owner(self) -> str:
        return self.owner_user.name


class TriggerDelivery(Base):
    """One webhook delivery to a trigger and what came of it (never its body).

    `dedup_key` is the sender's delivery id while the delivery holds it: unique
    per trigger, so of two copies arriving at once exactly one is inserted and
    acts. A delivery that ended in an error gives its key back, so the sender
    may redeliver it.
    """

    __tablename__ = "trigger_deliveries"
    __table_args__ = (UniqueConstraint("trigger_id", "dedup_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger_id: Mapped[int] = mapped_column(ForeignKey("triggers.id", ondelete="CASCADE"),
                                            index=True)
    delivery_id: Mapped[str | None] = mapped_column(String(200))
    dedup_key: Mapped[str | None] = mapped_column(String(200))
    event: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    zpod_name: Mapped[str | None] = mapped_column(String(64))
    zpod_id: Mapped[int | None] = mapped_column(ForeignKey("zpods.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
