"""Local processes for running, demonstrating and testing nestlab on one machine.

Finds a reachable Redis or starts one on a free port, builds and starts the
vSphere simulator, and supervises child processes so that all of them stop
together. Used by `make run`, `make demo` and the test suite.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VCSIM_BUILD = ROOT / "tools" / "vcsim" / "build.sh"
REDIS_CANDIDATES = ("redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server")


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@dataclass
class Stack:
    """Child processes started together and stopped together (newest first)."""

    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict | None = None,
              log_path: Path | None = None, **kwargs) -> subprocess.Popen:
        out = open(log_path, "ab") if log_path else None  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(argv, env=env, stdout=out or subprocess.DEVNULL,
                                stderr=subprocess.STDOUT if out else None,
                                start_new_session=True, **kwargs)
        self.procs.append((name, proc))
        return proc

    def check(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with status {proc.returncode}")

    def stop(self, timeout: float = 10.0) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()


def find_redis_server() -> str:
    for candidate in REDIS_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise FileNotFoundError("redis-server is not installed (make installs it: apt-get install "
                            "redis-server)")


def ensure_redis(stack: Stack, var_dir: Path, url: str | None = None) -> str:
    """A reachable Redis URL: `url` (or the local default) if it answers, else a new server."""
    url = url or "redis://127.0.0.1:6379/0"
    if redis_answers(url):
        return url
    port = free_port()
    data_dir = var_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    say(f"no Redis at {urlparse(url).netloc}; starting redis-server on port {port}")
    stack.start("redis", [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", str(data_dir)],
                log_path=var_dir / "redis.log")
    new_url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: redis_answers(new_url), 20, "redis-server")
    return new_url


def vcsim_binary() -> Path:
    """Build the simulator if its source changed (cached by hash) and return its path."""
    out = subprocess.run(["bash", str(VCSIM_BUILD)], check=True, stdout=subprocess.PIPE,
                         text=True)
    return Path(out.stdout.strip().splitlines()[-1])


@dataclass
class Simulator:
    proc: subprocess.Popen
    host: str
    port: int
    username: str
    password: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# Simulated hosts report 4 GB each: 16 of them leave room for a `minimal` zPod
# (49 GB of memory, not overcommitted by default) and more. A later `-host`
# flag wins.
SIM_CLUSTER_HOSTS = 16


def start_vcsim(stack: Stack | None, var_dir: Path, username: str = "nestlab",
                password: str = "nestlab-sim", flags: list[str] | None = None,
                port: int = 0, binary: Path | None = None) -> Simulator:
    """Start the simulator with TLS and an enforced password; wait until it listens."""
    binary = binary or vcsim_binary()
    var_dir.mkdir(parents=True, exist_ok=True)
    ready = var_dir / f"vcsim-{os.getpid()}-{time.monotonic_ns()}.json"
    argv = [str(binary), "-listen", f"127.0.0.1:{port}", "-tls", "-username", username,
            "-password", password, "-ready-file", str(ready), "-host", str(SIM_CLUSTER_HOSTS),
            *(flags or [])]
    log_path = var_dir / "vcsim.log"
    if stack is not None:
        proc = stack.start("vsphere simulator", argv, log_path=log_path)
    else:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    def ready_info():
        if proc.poll() is not None:
            raise RuntimeError(f"the simulator exited with status {proc.returncode}")
        return json.loads(ready.read_text()) if ready.exists() else None

    info = wait_until(ready_info, 30, "the vSphere simulator")
    return Simulator(proc=proc, host="127.0.0.1", port=int(info["port"]), username=username,
                     password=password)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def start_api(stack: Stack, env: dict, port: int, log_dir: Path) -> str:
    url = f"http://127.0.0.1:{port}"
    stack.start("api", python_module("services.api.cli", "serve", "--port", str(port)),
                env=env, log_path=log_dir / "api.log")
    wait_until(lambda: (stack.check(), port_open("127.0.0.1", port))[1], 60, "the API")
    return url


def start_beat(stack: Stack, env: dict, log_dir: Path) -> None:
    stack.start("beat", python_module("celery", "-A", "services.deployer.beat", "beat",
                                      "-l", "INFO"), env=env, log_path=log_dir / "beat.log")


def start_worker(stack: Stack, env: dict, service: str, log_dir: Path,
                 concurrency: int = 2) -> None:
    stack.start(f"{service} worker", python_module(
        "celery", "-A", f"services.{service}.worker", "worker", "-Q", service,
        "-c", str(concurrency), "-n", f"{service}-%h-{os.getpid()}", "-l", "INFO",
        "--without-gossip", "--without-mingle"), env=env, log_path=log_dir / f"{service}.log")
