"""Shared fixtures: real Redis, a real (migrated) database, the vSphere simulator,
the API app and in-process Celery workers; and the suite-wide secrets scan."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis as redis_lib
from celery.contrib.testing.worker import start_worker
from cryptography.fernet import Fernet
from sqlalchemy import select
from werkzeug.serving import make_server

from nestlab import devstack
from services.api import create_app
from services.api.auth import ensure_admin_token
from services.deployer.app import create_worker
from services.library.app import create_worker as create_library_worker
from services.notifier.app import create_worker as create_notifier
from shared.crypto import SecretError
from shared.models import Delivery, Event, Job, Zpod
from shared.settings import Settings
from tests.databases import PostgresDatabases, SqliteDatabases, postgres_url_from_env
from tests.secrets_scan import LogCollector, ReadingClient, SecretsScan

# Tests use their own Redis database (flushed around each test that needs it);
# parallel checkouts on one machine can pick another with NESTLAB_TEST_REDIS_DB.
TEST_REDIS_DB = int(os.environ.get("NESTLAB_TEST_REDIS_DB", "15"))
SECRET_KEY = Fernet.generate_key().decode()

# Every fixed secret the suite uses. None may appear in an API response, a stored event,
# job error or delivery log, a chat message or a log line (tests/secrets_scan.py). API
# tokens and zPod passwords made during a test are added to these as they are made.
TEST_SECRETS = {
    "endpoint password (simulator)": "nestlab-sim",
    "endpoint password (access tests)": "Endpoint-Secret-Pa55",
    "endpoint password (input tests)": "Secret-Pa55word",
    "endpoint password (key rotation tests)": "Rotate-Me-123",
    "endpoint password (verify tests)": "not-the-password",
    "encryption key": SECRET_KEY,
}
SCAN = SecretsScan(TEST_SECRETS)


def pytest_sessionstart(session):
    root = logging.getLogger()
    root.addHandler(LogCollector(SCAN))
    # As the services run (shared.logs.configure_logging): INFO lines are produced, so seen.
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield  # every fixture of the test has been torn down: all it produced is collected
    SCAN.check(item.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if SCAN.findings and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if SCAN.findings:
        terminalreporter.section("secrets scan: test secrets showed up where they must not",
                                 red=True)
        for finding in SCAN.findings:
            terminalreporter.line(finding, red=True)


def collect_stored(ctx) -> None:
    """Hand the test's stored events, job errors, delivery logs and zPod passwords to the scan."""
    with ctx.sessions() as session:
        for message in session.scalars(select(Event.message)):
            SCAN.text("a stored event", message)
        for error in session.scalars(select(Job.error).where(Job.error.is_not(None))):
            SCAN.text("a job's error", error)
        for error, log in session.execute(select(Delivery.error, Delivery.log)):
            SCAN.text("a delivery", f"{error} {log}")
        for encrypted in session.scalars(select(Zpod.password_encrypted)):
            try:
                SCAN.secret("zPod password", ctx.secrets.decrypt(encrypted))
            except SecretError:  # a key-rotation test took the key away
                pass


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("nestlab")


@pytest.fixture(scope="session")
def stack():
    processes = devstack.Stack()
    yield processes
    processes.stop()


@pytest.fixture(scope="session")
def redis_url(stack, session_dir) -> str:
    base = devstack.ensure_redis(stack, session_dir, os.environ.get("REDIS_URL"))
    url = base.rsplit("/", 1)[0] + f"/{TEST_REDIS_DB}"
    return url


@pytest.fixture
def redis_client(redis_url):
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def databases(session_dir):
    """Where test databases come from: PostgreSQL if DATABASE_URL names one, else SQLite."""
    postgres = postgres_url_from_env()
    found = PostgresDatabases(postgres) if postgres else SqliteDatabases(session_dir)
    yield found
    found.close()


@pytest.fixture
def database_url(tmp_path, databases) -> str:
    url = databases.new(tmp_path)
    yield url
    databases.drop(url)


@pytest.fixture
def settings(tmp_path, database_url, redis_url, redis_client) -> Settings:
    return Settings(var_dir=tmp_path, database_url=database_url, redis_url=redis_url,
                    secret_keys=(SECRET_KEY,), job_stale_after=3, republish_interval=0,
                    task_retry_max=2, task_retry_backoff=0.2, vsphere_timeout=20,
                    library_min_free=0, progress_interval=0.05, download_timeout=5,
                    sse_keepalive=1.0, sse_poll_interval=0.5, sse_token_check=0.5,
                    notify_interval=1.0, notify_retry_base=0.1, notify_retry_cap=1.0,
                    notify_timeout=3.0, notify_sweep_interval=0.5, notify_sweep_grace=2.0,
                    # The simulator's datastore is this machine's disk, and the session
                    # simulator keeps every test's zPods: storage admission would depend on
                    # the disk and the test order. Tests of it set their own ratio.
                    capacity_storage_overcommit=1000.0)


@pytest.fixture
def app(settings):
    flask_app = create_app(settings)
    flask_app.wsgi_app = SCAN.wrap(flask_app.wsgi_app)
    flask_app.test_client_class = ReadingClient
    yield flask_app
    ctx = flask_app.extensions["nestlab"]
    collect_stored(ctx)
    ctx.close()


@pytest.fixture
def admin_token(app) -> str:
    token = ensure_admin_token(app.extensions["nestlab"])
    SCAN.secret("API token (first admin)", token)
    return token


@pytest.fixture
def client(app, admin_token):
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {admin_token}"
    return test_client


@pytest.fixture
def worker(settings):
    """A real Celery deployer worker, in this process, on the real Redis broker."""
    celery_app = create_worker(settings)
    with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False,
                      queues=["deployer"], shutdown_timeout=30, loglevel="WARNING"):
        yield celery_app


@pytest.fixture
def live_server(app):
    """The API served over real HTTP on a free port, in a thread; yields its URL."""
    port = devstack.free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture
def notifier(settings):
    """A real Celery notifier worker, in this process, on the real Redis broker.

    Not together with `worker`: two embedded Celery workers in one process
    take each other's messages. Use `notifier_process` beside a deployer.
    """
    celery_app = create_notifier(settings)
    with start_worker(celery_app, pool="threads", concurrency=4, perform_ping_check=False,
                      queues=["notifier"], shutdown_timeout=30, loglevel="WARNING"):
        yield celery_app


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives another process these settings."""
    return dict(
        os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
        NESTLAB_SECRET_KEY=",".join(settings.secret_keys), NESTLAB_VAR_DIR=str(settings.var_dir),
        NESTLAB_NOTIFY_INTERVAL=str(settings.notify_interval),
        NESTLAB_NOTIFY_RETRY_BASE=str(settings.notify_retry_base),
        NESTLAB_NOTIFY_RETRY_CAP=str(settings.notify_retry_cap),
        NESTLAB_NOTIFY_SWEEP_INTERVAL=str(settings.notify_sweep_interval))


@pytest.fixture
def notifier_process(settings, tmp_path):
    """The notifier as it runs for real: `celery -A services.notifier.worker`, a process."""
    log_path = tmp_path / "notifier.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "services.notifier.worker", "worker",
             "-Q", "notifier", "-P", "threads", "-c", "2", "-n", f"notifier-{os.getpid()}@%h",
             "--without-gossip", "--without-mingle", "-l", "INFO"],
            env=settings_env(settings), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    SCAN.text("the notifier's log", log_path.read_text(errors="replace"))


@pytest.fixture
def receiver():
    from tests.receivers import Receiver

    found = Receiver()
    yield found
    found.close()
    for request in found.received:
        SCAN.text(f"a chat message to {request.path}", request.body.decode("utf-8", "replace"))


@pytest.fixture(scope="session")
def vcsim_binary() -> Path:
    return devstack.vcsim_binary()


@pytest.fixture(scope="session")
def simulator(stack, session_dir, vcsim_binary):
    sim = devstack.start_vcsim(None, session_dir, binary=vcsim_binary)
    yield sim
    sim.stop()


@pytest.fixture
def inspector(simulator):
    """Plain pyvmomi on the test's simulator (a module may bring its own `simulator`)."""
    from tests.vsphere_inspect import Inspector

    found = Inspector(simulator)
    yield found
    found.close()


@pytest.fixture
def make_simulator(session_dir, vcsim_binary):
    """Start extra simulators with their own flags (delays, session timeouts...)."""
    started = []

    def make(name: str, *flags: str):
        sim = devstack.start_vcsim(None, session_dir / name, binary=vcsim_binary,
                                   flags=list(flags))
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


# An endpoint nobody connects to (for tests without a worker); its password is a test secret.
FAKE_ENDPOINT = type("Sim", (), {"host": "127.0.0.1", "port": 8989, "username": "u",
                                 "password": TEST_SECRETS["endpoint password (access tests)"]})


def endpoint_body(sim, **overrides) -> dict:
    body = {
        "name": "sim", "host": sim.host, "port": sim.port, "username": sim.username,
        "password": sim.password, "datacenter": "DC0", "cluster": "DC0_C0",
        "datastore": "LocalDS_0", "switch": "DVS0", "verify_tls": False,
        "supernet": "10.96.0.0/16", "vlan_range": "100-199",
    }
    body.update(overrides)
    return body


@pytest.fixture
def library_worker(settings):
    """A real Celery library worker, in this process, on the real Redis broker."""
    celery_app = create_library_worker(settings)
    with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False,
                      queues=["library"], shutdown_timeout=30, loglevel="WARNING"):
        yield celery_app
