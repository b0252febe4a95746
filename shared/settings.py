"""Settings for every nestlab process, read from the environment once.

Each process builds one `Settings` (``Settings.from_env()``) in its factory and
passes it down; tests build their own with overrides. Nothing here connects to
anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# Link-local (AWS, GCP, Azure, OpenStack metadata live there), Alibaba's and
# AWS's IPv6 metadata addresses, and the usual metadata host names.
DEFAULT_CHANNEL_BLOCKLIST = (
    "169.254.0.0/16", "fe80::/10", "100.100.100.200/32", "fd00:ec2::254/128",
    "metadata", "metadata.google.internal", "metadata.goog", "metadata.azure.internal",
    "instance-data", "instance-data.ec2.internal",
)


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Configuration shared by the API and the workers.

    Environment variables (all optional):
      NESTLAB_VAR_DIR        state directory (default ./var)
      DATABASE_URL           SQLAlchemy URL (default SQLite under the var dir)
      REDIS_URL              Redis for the event stream (default redis://127.0.0.1:6379/0)
      BROKER_URL             Celery broker (default REDIS_URL)
      NESTLAB_SECRET_KEY     Fernet key(s), comma separated, newest first, for
                             secrets at rest (default: a key file in the var dir)
      NESTLAB_ADMIN_TOKEN    the first admin token (default: generated, printed once)
      NESTLAB_DOMAIN         parent DNS domain of zPods (default nestlab.lab)
      NESTLAB_VISIBILITY_TIMEOUT  seconds before an unacknowledged task is redelivered
      NESTLAB_JOB_STALE_AFTER     seconds without a heartbeat before another worker
                                  may take a job over
      NESTLAB_LIBRARY_DIR         where component files live (default <var dir>/library)
      NESTLAB_LIBRARY_DOWNLOADS   downloads one library worker runs at once (default 2)
      NESTLAB_LIBRARY_MIN_FREE    bytes to leave free on the library's disk (default 1 GiB)
      NESTLAB_DOWNLOAD_TIMEOUT    seconds without a byte before a download is retried (60)
      NESTLAB_PROGRESS_INTERVAL   seconds between progress events of a transfer (2)
      NESTLAB_UPLOAD_CHUNK_MAX    largest chunk one upload request may carry (64 MiB)
      NESTLAB_PUBLIC_URL          base URL of the API as people reach it (links in chat)
      NESTLAB_TRUSTED_PROXIES     networks (CIDR) of the reverse proxies in front of the
                                  API, comma separated; only their X-Forwarded-For is
                                  believed for the audit's client address (default: none)
      NESTLAB_GUEST_SHUTDOWN_TIMEOUT  seconds a `stop` waits for guests to shut down
                                  before powering them off (120)
    Endpoint capacity (admission of zPods, see shared/capacity.py):
      NESTLAB_CAPACITY_REFRESH_INTERVAL  seconds between two reads of every verified
                                  endpoint's cluster and datastore figures (300)
      NESTLAB_CAPACITY_CPU_OVERCOMMIT     vCPUs allowed per physical core (4.0)
      NESTLAB_CAPACITY_MEMORY_OVERCOMMIT  MB of zPod memory allowed per MB of the
                                  cluster (1.0: nested ESXi memory is not overcommitted)
      NESTLAB_CAPACITY_STORAGE_OVERCOMMIT GB of zPod disks allowed per free GB of the
                                  datastore (1.0: thin disks count at their full size)
    Live event stream (Server-Sent Events, per API process):
      NESTLAB_SSE_KEEPALIVE       seconds of silence before a keep-alive comment (15)
      NESTLAB_SSE_POLL_INTERVAL   seconds between database checks when Redis
                                  brings no news (2)
      NESTLAB_SSE_MAX_STREAMS     open streams per API process before 503 (16); each
                                  holds a server thread
      NESTLAB_SSE_MAX_SECONDS     a stream ends after this long; clients resume with
                                  Last-Event-ID (1800)
      NESTLAB_SSE_TOKEN_CHECK     seconds between checks that a stream's token still
                                  works (not revoked or expired, user enabled) (5)
    Deployments (the deployer):
      NESTLAB_ENDPOINT_CONCURRENCY  components deployed at once on one endpoint, across
                                  all deployer workers (8)
      NESTLAB_GUEST_IP_TIMEOUT    seconds to wait for a component's guest to report its
                                  IP address before its deployment fails (600)
    Chat notifications (the notifier):
      NESTLAB_NOTIFY_INTERVAL     seconds between two progress messages of one job to
                                  one channel (10)
      NESTLAB_NOTIFY_RETRY_MAX    attempts per message before it is marked failed (8)
      NESTLAB_NOTIFY_RETRY_BASE   first retry delay in seconds, doubled each time (2)
      NESTLAB_NOTIFY_RETRY_CAP    longest retry delay in seconds (300)
      NESTLAB_NOTIFY_TIMEOUT      HTTP timeout of one post, seconds (10)
      NESTLAB_NOTIFY_SWEEP_INTERVAL  seconds between sweeps for events and messages
                                  whose task was lost (30)
      NESTLAB_CHANNEL_BLOCKLIST   networks (CIDR) and host names a channel URL may
                                  not point at, comma separated (default: link-local
                                  and cloud metadata addresses)
    Webhook triggers and zPod leases:
      NESTLAB_HOOK_MAX_BODY       largest webhook body accepted, bytes (1 MiB)
      NESTLAB_LEASE_MAX           longest lease from now, seconds (7 days)
      NESTLAB_LEASE_WARNING       seconds before expiry to emit `lease_expiring` (3600)
      NESTLAB_LEASE_CHECK_INTERVAL  seconds between lease checks by beat (60)
      NESTLAB_TRIGGER_LEASE       lease of a trigger's zPods when the trigger sets
                                  none, seconds (1 day)
    """

    var_dir: Path = ROOT / "var"
    database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    broker_url: str = ""
    secret_keys: tuple[str, ...] = ()
    admin_token: str | None = None
    domain: str = "nestlab.lab"
    visibility_timeout: int = 3600
    job_stale_after: int = 120
    publish_timeout: float = 3.0
    republish_interval: float = 15.0
    task_retry_max: int = 5
    task_retry_backoff: float = 2.0
    vsphere_timeout: float = 60.0
    guest_shutdown_timeout: int = 120
    endpoint_concurrency: int = 8
    guest_ip_timeout: float = 600.0
    events_stream: str = "nestlab:events"
    events_stream_maxlen: int = 100_000
    library_dir: Path | None = None
    library_downloads: int = 2
    library_min_free: int = 1 << 30
    download_connect_timeout: float = 10.0
    download_timeout: float = 60.0
    progress_interval: float = 2.0
    upload_chunk_max: int = 64 << 20
    git_timeout: float = 300.0
    public_url: str = ""
    trusted_proxies: tuple[str, ...] = ()
    sse_keepalive: float = 15.0
    sse_poll_interval: float = 2.0
    sse_max_streams: int = 16
    sse_max_seconds: float = 1800.0
    sse_token_check: float = 5.0
    # How long a gap in event ids may stay open before a stream skips it: ids
    # are handed out before commit, so on PostgreSQL a later id can commit first.
    sse_gap_grace: float = 3.0
    notify_interval: float = 10.0
    notify_retry_max: int = 8
    notify_retry_base: float = 2.0
    notify_retry_cap: float = 300.0
    notify_timeout: float = 10.0
    notify_sweep_interval: float = 30.0
    # An event, or a message, whose task has not run this long is picked up by the sweep.
    notify_sweep_grace: float = 60.0
    channel_blocklist: tuple[str, ...] = DEFAULT_CHANNEL_BLOCKLIST
    capacity_refresh_interval: float = 300.0
    capacity_cpu_overcommit: float = 4.0
    capacity_memory_overcommit: float = 1.0
    capacity_storage_overcommit: float = 1.0
    hook_max_body: int = 1 << 20
    lease_max: float = 7 * 86400.0
    lease_warning: float = 3600.0
    lease_check_interval: float = 60.0
    trigger_lease: float = 86400.0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.library_dir is None:
            object.__setattr__(self, "library_dir", Path(self.var_dir) / "library")
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.var_dir}/nestlab.db")
        if not self.broker_url:
            object.__setattr__(self, "broker_url", self.redis_url)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict = {}
        if "NESTLAB_VAR_DIR" in env:
            values["var_dir"] = Path(env["NESTLAB_VAR_DIR"]).resolve()
        if env.get("NESTLAB_LIBRARY_DIR"):
            values["library_dir"] = Path(env["NESTLAB_LIBRARY_DIR"]).resolve()
        simple = {
            "DATABASE_URL": "database_url",
            "REDIS_URL": "redis_url",
            "BROKER_URL": "broker_url",
            "NESTLAB_ADMIN_TOKEN": "admin_token",
            "NESTLAB_DOMAIN": "domain",
            "NESTLAB_PUBLIC_URL": "public_url",
        }
        for var, name in simple.items():
            if env.get(var):
                values[name] = env[var]
        numbers = {
            "NESTLAB_VISIBILITY_TIMEOUT": ("visibility_timeout", int),
            "NESTLAB_JOB_STALE_AFTER": ("job_stale_after", int),
            "NESTLAB_REPUBLISH_INTERVAL": ("republish_interval", float),
            "NESTLAB_TASK_RETRY_MAX": ("task_retry_max", int),
            "NESTLAB_VSPHERE_TIMEOUT": ("vsphere_timeout", float),
            "NESTLAB_GUEST_SHUTDOWN_TIMEOUT": ("guest_shutdown_timeout", int),
            "NESTLAB_ENDPOINT_CONCURRENCY": ("endpoint_concurrency", int),
            "NESTLAB_GUEST_IP_TIMEOUT": ("guest_ip_timeout", float),
            "NESTLAB_LIBRARY_DOWNLOADS": ("library_downloads", int),
            "NESTLAB_LIBRARY_MIN_FREE": ("library_min_free", int),
            "NESTLAB_DOWNLOAD_TIMEOUT": ("download_timeout", float),
            "NESTLAB_PROGRESS_INTERVAL": ("progress_interval", float),
            "NESTLAB_UPLOAD_CHUNK_MAX": ("upload_chunk_max", int),
            "NESTLAB_SSE_KEEPALIVE": ("sse_keepalive", float),
            "NESTLAB_SSE_POLL_INTERVAL": ("sse_poll_interval", float),
            "NESTLAB_SSE_MAX_STREAMS": ("sse_max_streams", int),
            "NESTLAB_SSE_MAX_SECONDS": ("sse_max_seconds", float),
            "NESTLAB_SSE_TOKEN_CHECK": ("sse_token_check", float),
            "NESTLAB_NOTIFY_INTERVAL": ("notify_interval", float),
            "NESTLAB_NOTIFY_RETRY_MAX": ("notify_retry_max", int),
            "NESTLAB_NOTIFY_RETRY_BASE": ("notify_retry_base", float),
            "NESTLAB_NOTIFY_RETRY_CAP": ("notify_retry_cap", float),
            "NESTLAB_NOTIFY_TIMEOUT": ("notify_timeout", float),
            "NESTLAB_NOTIFY_SWEEP_INTERVAL": ("notify_sweep_interval", float),
            "NESTLAB_CAPACITY_REFRESH_INTERVAL": ("capacity_refresh_interval", float),
            "NESTLAB_CAPACITY_CPU_OVERCOMMIT": ("capacity_cpu_overcommit", float),
            "NESTLAB_CAPACITY_MEMORY_OVERCOMMIT": ("capacity_memory_overcommit", float),
            "NESTLAB_CAPACITY_STORAGE_OVERCOMMIT": ("capacity_storage_overcommit", float),
            "NESTLAB_HOOK_MAX_BODY": ("hook_max_body", int),
            "NESTLAB_LEASE_MAX": ("lease_max", float),
            "NESTLAB_LEASE_WARNING": ("lease_warning", float),
            "NESTLAB_LEASE_CHECK_INTERVAL": ("lease_check_interval", float),
            "NESTLAB_TRIGGER_LEASE": ("trigger_lease", float),
        }
        for var, (name, kind) in numbers.items():
            if env.get(var):
                values[name] = kind(env[var])
        if "NESTLAB_CHANNEL_BLOCKLIST" in env:
            items = env["NESTLAB_CHANNEL_BLOCKLIST"].split(",")
            values["channel_blocklist"] = tuple(i.strip() for i in items if i.strip())
        if env.get("NESTLAB_TRUSTED_PROXIES"):
            items = env["NESTLAB_TRUSTED_PROXIES"].split(",")
            values["trusted_proxies"] = tuple(i.strip() for i in items if i.strip())
        if env.get("NESTLAB_SECRET_KEY"):
            values["secret_keys"] = tuple(k.strip() for k in env["NESTLAB_SECRET_KEY"].split(","))
        values.update(overrides)
        return cls(**values)

    def with_overrides(self, **overrides) -> Settings:
        return replace(self, **overrides)


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else _bool(value)
