"""The database is the record of state: endpoints, zPods, jobs, steps, events,
chat channels, their subscriptions and every message delivered to them.

Typed SQLAlchemy 2.0 models. The schema itself is owned by Alembic
(`shared/migrations`); these classes must match it. Everything here is plain
portable SQL: it runs unchanged on SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
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
    DESTROY = "destroy"
    VERIFY = "verify"


class ZpodStatus(enum.StrEnum):
    PENDING = "pending"
    DEPLOYING = "deploying"
    READY = "ready"
    FAILED = "failed"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="admin")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    endpoint: Mapped[Endpoint] = relationship()
    components: Mapped[list[Component]] = relationship(
        back_populates="zpod", order_by="Component.id", cascade="all, delete-orphan"
    )
    resources: Mapped[list[Resource]] = relationship(
        back_populates="zpod", order_by="Resource.id", cascade="all, delete-orphan"
    )


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
