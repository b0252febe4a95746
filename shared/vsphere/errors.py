"""vSphere faults mapped to a few errors that say whether a retry can help.

Faults are matched by type, never by text: vCenter (and the simulator) do not
promise a stable message.
"""

from __future__ import annotations

import http.client
import socket
import ssl

from pyVmomi import vim, vmodl

from shared import errors


class VsphereError(errors.JobError):
    """A vSphere call failed; `str(error)` is written for a person."""


class TransientError(VsphereError, errors.TransientError):
    """Worth retrying: the connection dropped, the session expired, vCenter is busy."""


class PermanentError(VsphereError, errors.PermanentError):
    """Retrying will not help until a person changes something."""


class LoginRefused(PermanentError):
    pass


class NotFound(PermanentError):
    pass


_TRANSIENT_FAULTS = (
    vim.fault.NotAuthenticated,
    vmodl.fault.HostCommunication,
    vmodl.fault.RequestCanceled,
    vim.fault.HostConnectFault,
    vim.fault.TaskInProgress,
)
_NETWORK_ERRORS = (
    ConnectionError,
    socket.timeout,
    TimeoutError,
    http.client.RemoteDisconnected,
    http.client.BadStatusLine,
)


def fault_name(fault: BaseException) -> str:
    name = type(fault).__name__
    return name.rsplit(".", 1)[-1]


def describe(fault: BaseException) -> str:
    """A short text for a fault: its type and, when it has one, its message."""
    message = getattr(fault, "msg", None) or ""
    name = fault_name(fault)
    if not message or message == name:
        return name
    return f"{name}: {message}"


def translate(exc: BaseException, action: str) -> VsphereError:
    """Map any exception raised while doing `action` on vSphere to our errors."""
    if isinstance(exc, VsphereError):
        return exc
    if isinstance(exc, vim.fault.InvalidLogin):
        return LoginRefused(f"{action}: vCenter refused the login (wrong username or password)")
    # NotAuthenticated (an expired session) is a kind of NoPermission: test it first.
    if isinstance(exc, _TRANSIENT_FAULTS):
        return TransientError(f"{action}: {describe(exc)}")
    if isinstance(exc, vim.fault.NoPermission):
        return PermanentError(f"{action}: the vCenter user lacks a privilege ({describe(exc)})")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentError(
            f"{action}: the vCenter TLS certificate is not trusted ({exc.verify_message}); "
            "pin its SHA-256 thumbprint or set verify_tls to false")
    if type(exc).__name__ in ("ThumbprintMismatchException", "CertificateMismatchException"):
        return PermanentError(f"{action}: the vCenter certificate does not match the pinned "
                              "thumbprint")
    if isinstance(exc, socket.gaierror):
        return PermanentError(f"{action}: cannot resolve the vCenter host name ({exc.strerror})")
    if isinstance(exc, ConnectionRefusedError):
        return TransientError(f"{action}: vCenter refused the connection (is it running?)")
    if isinstance(exc, _NETWORK_ERRORS) or isinstance(exc, ssl.SSLError):
        return TransientError(f"{action}: connection to vCenter failed ({exc})")
    if isinstance(exc, vmodl.MethodFault):
        return PermanentError(f"{action}: vCenter answered {describe(exc)}")
    return PermanentError(f"{action}: {type(exc).__name__}: {exc}")
