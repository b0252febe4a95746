"""Logging in to vCenter with pyvmomi, TLS verified, pinned, or (by choice) not checked."""

from __future__ import annotations

import hashlib
import ssl
import threading
from dataclasses import dataclass, field

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

from shared.vsphere.errors import translate


@dataclass(frozen=True)
class Access:
    """Where and how to log in; the password is kept out of repr()."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    verify_tls: bool = True
    thumbprint: str | None = None

    @property
    def key(self) -> str:
        """Identifies a login, to cache sessions, without holding the password in clear."""
        digest = hashlib.sha256(self.password.encode()).hexdigest()[:16]
        tls = f"{self.verify_tls}/{self.thumbprint}"
        return f"{self.username}@{self.host}:{self.port}/{digest}/{tls}"


def normalise_thumbprint(value: str) -> str:
    return value.replace(":", "").replace(" ", "").lower()


class SoapCounter:
    """SOAP calls this process made through sessions opened by `connect`."""

    def __init__(self):
        self._lock = threading.Lock()
        self.total = 0

    def add(self) -> None:
        with self._lock:
            self.total += 1


soap_calls = SoapCounter()


def _count_calls(si: vim.ServiceInstance) -> None:
    stub = si._stub
    invoke = stub.InvokeMethod

    def counted(*args, **kwargs):
        soap_calls.add()
        return invoke(*args, **kwargs)

    stub.InvokeMethod = counted


def connect(access: Access, timeout: float = 60.0) -> vim.ServiceInstance:
    """Log in and return the ServiceInstance, or raise a translated VsphereError."""
    kwargs = {}
    if access.thumbprint:
        kwargs["thumbprint"] = normalise_thumbprint(access.thumbprint)
    elif not access.verify_tls:
        kwargs["disableSslCertValidation"] = True
    else:
        kwargs["sslContext"] = ssl.create_default_context()
    try:
        si = SmartConnect(host=access.host, port=access.port, user=access.username,
                          pwd=access.password, httpConnectionTimeout=timeout,
                          connectionPoolTimeout=-1, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a typed error
        raise translate(exc, f"log in to {access.host}:{access.port}") from exc
    _count_calls(si)
    return si


def disconnect(si: vim.ServiceInstance) -> None:
    try:
        Disconnect(si)
    except Exception:  # noqa: BLE001 - the session may already be gone; nothing to do
        pass
