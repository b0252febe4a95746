"""HTTP faults of downloads and index fetches, told apart by whether a retry can help.

Messages name the URL *template* (`shown`), never the rendered URL, which may
carry a secret setting.
"""

from __future__ import annotations

import requests
import urllib3

from shared.errors import PermanentError, TransientError

TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}
PERMANENT_HINTS = {
    401: "the server asks for credentials: check the URL's or headers' settings",
    403: "the server refused access: check the credentials and that they may read this file",
    404: "nothing at this URL: check the definition's url",
    410: "the file is gone from the server",
}


def check_status(response: requests.Response, shown: str) -> None:
    """Raise the right error for a response that is not a success."""
    code = response.status_code
    if code < 400:
        return
    status = f"{code} {response.reason or ''}".strip()
    if code in TRANSIENT_STATUSES:
        raise TransientError(f"GET {shown}: the server answered {status}")
    hint = PERMANENT_HINTS.get(code, "the server rejected the request")
    raise PermanentError(f"GET {shown}: {status}: {hint}")


def describe(exc: BaseException) -> str:
    """A short, URL-free description of a connection fault."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error (is the certificate trusted?)"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "timed out connecting"
    if isinstance(exc, (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError,
                        TimeoutError)):
        return "timed out waiting for data"
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError)):
        return "connection failed or dropped"
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return "connection broken"
    return type(exc).__name__


def request_error(exc: BaseException, shown: str) -> Exception:
    """Map a requests/urllib3 exception to our errors (no URL from the exception text)."""
    if isinstance(exc, (requests.exceptions.TooManyRedirects, requests.exceptions.InvalidURL,
                        requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)):
        return PermanentError(f"GET {shown}: {describe(exc)}")
    return TransientError(f"GET {shown}: {describe(exc)}")
