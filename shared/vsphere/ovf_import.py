"""Importing an OVA onto vCenter: CreateImportSpec, ImportVApp, disks to the NFC lease.

The OVA is read in place (tar members streamed, nothing extracted). The
descriptor must have passed `shared.ova.parse_descriptor` first: a malformed
one can crash vCenter's (and the simulator's) handler. Disks are uploaded with
HTTP PUT to the lease's device URLs, with progress reported to the lease (which
also keeps it alive) and to the caller.
"""

from __future__ import annotations

import tarfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from pyVmomi import vim
from requests.adapters import HTTPAdapter

from shared.vsphere.collector import content, properties
from shared.vsphere.connection import Access, normalise_thumbprint
from shared.vsphere.errors import PermanentError, TransientError
from shared.vsphere.inventory import call

UPLOAD_CHUNK = 1 << 20
LEASE_READY_TIMEOUT = 300.0


class _PinnedAdapter(HTTPAdapter):
    """Accepts exactly the certificate with the endpoint's pinned SHA-256 fingerprint."""

    def __init__(self, fingerprint: str):
        self._fingerprint = fingerprint
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["assert_fingerprint"] = self._fingerprint
        kwargs["cert_reqs"] = "CERT_NONE"
        super().init_poolmanager(*args, **kwargs)


def http_session(access: Access, cookie: str | None) -> requests.Session:
    """A requests session that trusts the endpoint the way its SOAP session does."""
    session = requests.Session()
    if access.thumbprint:
        session.mount("https://", _PinnedAdapter(normalise_thumbprint(access.thumbprint)))
        session.verify = False
    elif not access.verify_tls:
        session.verify = False
    if cookie:
        session.headers["Cookie"] = cookie
    return session


def device_url(url: str, access: Access) -> str:
    """vCenter writes '*' for "the host you are talking to"."""
    parts = urlsplit(url)
    if parts.hostname != "*":
        return url
    return urlunsplit(parts._replace(netloc=f"{access.host}:{access.port}"))


def wait_for_lease(si, lease, timeout: float = LEASE_READY_TIMEOUT):
    """The lease's info once it is ready; its error as a typed fault otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        state = properties(si, [lease], vim.HttpNfcLease, ["state", "error"])[lease._moId]
        if state["state"] == vim.HttpNfcLease.State.ready:
            return properties(si, [lease], vim.HttpNfcLease, ["info"])[lease._moId]["info"]
        if state["state"] == vim.HttpNfcLease.State.error:
            raise PermanentError(f"the import lease failed: {state.get('error')}")
        if time.monotonic() > deadline:
            raise TransientError(f"the import lease was not ready after {timeout:.0f}s")
        time.sleep(0.5)


class _Body:
    """Streams a tar member in chunks, counting bytes for progress.

    Its length makes requests send a Content-Length instead of chunked encoding.
    """

    def __init__(self, handle, size: int, on_bytes: Callable[[int], None]):
        self.handle, self.size, self.on_bytes = handle, size, on_bytes

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        while chunk := self.handle.read(UPLOAD_CHUNK):
            self.on_bytes(len(chunk))
            yield chunk


def _upload(session: requests.Session, url: str, item, tar: tarfile.TarFile,
            on_bytes: Callable[[int], None], timeout: float) -> None:
    member = tar.getmember(item.path)
    headers = {"Content-Type": "application/x-vnd.vmware-streamVmdk"}
    method = "PUT" if item.create else "POST"
    body = _Body(tar.extractfile(member), member.size, on_bytes)
    try:
        # verify given per request: REQUESTS_CA_BUNDLE would override the session's.
        response = session.request(method, url, data=body, headers=headers, timeout=timeout,
                                   verify=session.verify)
    except requests.RequestException as exc:
        raise TransientError(f"upload of {item.path} failed: {type(exc).__name__}") from None
    if response.status_code >= 500:
        raise TransientError(f"upload of {item.path}: the host answered {response.status_code}")
    if response.status_code >= 400:
        raise PermanentError(f"upload of {item.path}: the host answered {response.status_code}")


def _spec_problems(result) -> str | None:
    errors = [getattr(e, "localizedMessage", None) or type(e).__name__
              for e in (result.error or [])]
    return "; ".join(errors) if errors else None


def import_ova(si, access: Access, ova: Path, descriptor: str, *, name: str, pool, folder,
               datastore, network_map: dict, progress: Callable[[int, int], None],
               timeout: float = 60.0) -> vim.VirtualMachine:
    """Import the OVA as VM `name` in `folder`; returns the VM. Aborts the lease on failure.

    `progress(done, total)` is called as disk bytes go up; `network_map` maps
    the descriptor's network names to vCenter networks.
    """
    params = vim.OvfManager.CreateImportSpecParams(
        entityName=name, diskProvisioning="thin",
        networkMapping=[vim.OvfManager.NetworkMapping(name=n, network=net)
                        for n, net in network_map.items()])
    result = call("read the OVF descriptor", content(si).ovfManager.CreateImportSpec,
                  descriptor, pool, datastore, params)
    if problems := _spec_problems(result):
        raise PermanentError(f"vCenter cannot import this OVF: {problems}")
    lease = call(f"import '{name}'", pool.ImportVApp, result.importSpec, folder)
    info = wait_for_lease(si, lease)
    try:
        _upload_all(si, access, ova, result.fileItem or [], info, lease, progress, timeout)
        call("complete the import", lease.HttpNfcLeaseComplete)
    except BaseException:
        try:
            lease.HttpNfcLeaseAbort()
        except Exception:  # noqa: BLE001 - the lease may be gone already; the error below matters
            pass
        raise
    return info.entity


def _upload_all(si, access, ova, items, info, lease, progress, timeout) -> None:
    urls = {d.importKey: d.url for d in info.deviceUrl or []}
    total = sum(item.size or 0 for item in items)
    sent, last = [0], [0.0]

    def on_bytes(count: int) -> None:
        sent[0] += count
        progress(sent[0], total)
        now = time.monotonic()
        if now - last[0] > 5 and total:
            last[0] = now
            call("report import progress", lease.HttpNfcLeaseProgress,
                 min(99, int(100 * sent[0] / total)))

    with warnings.catch_warnings(), tarfile.open(ova, mode="r:") as tar:
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        session = http_session(access, getattr(si._stub, "cookie", None))
        for item in items:
            if item.deviceId not in urls:
                raise PermanentError(f"vCenter gave no upload URL for {item.path}")
            _upload(session, device_url(urls[item.deviceId], access), item, tar, on_bytes,
                    timeout)
    call("report import progress", lease.HttpNfcLeaseProgress, 100)
