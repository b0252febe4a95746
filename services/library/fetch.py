"""Fetching one file to a partial path, resumably, hashing while it streams.

`fetch()` continues from whatever the partial file already holds (a dropped
connection, a killed worker): it hashes that prefix once, then asks the server
for the rest with an HTTP Range request. A server that ignores Range (answers
200 with the whole file) is handled by starting over. Sources: http(s)://
(redirects followed, optional headers) and file://.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests
import urllib3

from services.library.http import check_status, describe, request_error
from services.library.resolve import Resolved
from services.library.transfer import CHUNK, HashingWriter, Meter, human_bytes
from shared.errors import PermanentError, TransientError

log = logging.getLogger(__name__)


def _hash_prefix(path: Path, hasher) -> int:
    """Hash what an earlier attempt wrote; returns its size."""
    done = 0
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(CHUNK)
        while count := handle.readinto(buffer):
            hasher.update(memoryview(buffer)[:count])
            done += count
    return done


def _stream(read_into, part: Path, offset: int, hasher, expected: int, meter: Meter,
            shown: str) -> int:
    """Append the source's bytes to `part`; returns the part's size when the source ends."""
    with open(part, "ab" if offset else "wb", buffering=0) as handle:
        writer = HashingWriter(handle, hasher)
        done = offset
        try:
            while count := writer.fill(read_into):
                done += count
                if done > expected:
                    raise PermanentError(f"size mismatch: {shown} holds more than the "
                                         f"{expected} bytes the definition says")
                meter.update(done)
        except (urllib3.exceptions.HTTPError, requests.RequestException, http.client.HTTPException,
                OSError) as exc:
            raise TransientError(f"GET {shown}: {describe(exc)} after {human_bytes(done)} of "
                                 f"{human_bytes(expected)}; the download will resume") from None
        finally:
            writer.close()
    return offset + writer.written


def _open_http(source: Resolved, offset: int, timeouts: tuple[float, float]):
    headers = {**source.headers, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = requests.get(source.url, headers=headers, stream=True, timeout=timeouts)
    except requests.RequestException as exc:
        raise request_error(exc, source.shown) from None
    if response.status_code == 416 and offset:
        response.close()
        return None  # the partial file is not a prefix the server knows: start over
    try:
        check_status(response, source.shown)
    except Exception:
        response.close()
        raise
    return response


def _body_reader(response: requests.Response):
    """The cheapest `readinto` for the body.

    urllib3's readinto reads into a new bytes object, then copies it into our
    buffer; the http.client response under it reads straight into the buffer.
    Fall back to urllib3's when it does not sit on an http.client response.
    """
    inner = getattr(response.raw, "_fp", None)
    return inner.readinto if isinstance(inner, http.client.HTTPResponse) else response.raw.readinto


def _resumed_at(response: requests.Response, offset: int) -> int:
    """Where the body starts: `offset` for a matching 206, 0 when the server sends it all."""
    if response.status_code != 206:
        return 0
    content_range = response.headers.get("Content-Range", "")
    try:
        start = int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return 0
    return start if start == offset else -1


def _fetch_http(source: Resolved, part: Path, offset: int, hasher, expected: int,
                meter: Meter, timeouts, notify: Callable[[str], None]) -> tuple[int, object]:
    """Append the rest of the file from `offset`; returns (the part's size, its hasher)."""
    response = _open_http(source, offset, timeouts)
    if response is None or (start := _resumed_at(response, offset)) < 0:
        if response is not None:
            response.close()
        notify("the server cannot resume this download; starting over")
        return _fetch_http(source, part, 0, hashlib.sha256(), expected, meter, timeouts, notify)
    with response:
        if offset and start == 0:
            notify("the server ignores Range requests; starting over")
            hasher, offset = hashlib.sha256(), 0
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and offset + int(length) != expected:
            raise PermanentError(f"size mismatch: {source.shown} is {offset + int(length)} "
                                 f"bytes, the definition says {expected}")
        meter.start_bytes = offset
        size = _stream(_body_reader(response), part, offset, hasher, expected, meter,
                       source.shown)
        return size, hasher


def _fetch_file(source: Resolved, part: Path, offset: int, hasher, expected: int,
                meter: Meter) -> int:
    path = Path(unquote(urlsplit(source.url).path))
    try:
        handle = open(path, "rb", buffering=0)  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise PermanentError(f"{source.shown}: no such file on the library worker") from None
    except PermissionError:
        raise PermanentError(f"{source.shown}: the library worker may not read it") from None
    with handle:
        size = path.stat().st_size
        if size != expected:
            raise PermanentError(f"size mismatch: {source.shown} is {size} bytes, the "
                                 f"definition says {expected}")
        handle.seek(offset)
        return _stream(handle.readinto, part, offset, hasher, expected, meter, source.shown)


def fetch(source: Resolved, part: Path, expected: int, meter: Meter,
          timeouts: tuple[float, float] = (10.0, 60.0),
          notify: Callable[[str], None] = lambda message: None) -> str:
    """Bring `part` to the whole file; returns its sha256 (hex).

    Raises TransientError when the transfer stopped early (the next call
    resumes), PermanentError when retrying cannot help, WriteFailed when the
    destination cannot be written.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    hasher = hashlib.sha256()
    offset = part.stat().st_size if part.exists() else 0
    if offset > expected:
        part.unlink()
        offset = 0
    if offset:
        _hash_prefix(part, hasher)
        notify(f"resuming at {human_bytes(offset)} of {human_bytes(expected)}")
    meter.start_bytes = offset
    if offset < expected:
        if source.url.lower().startswith("file://"):
            offset = _fetch_file(source, part, offset, hasher, expected, meter)
        else:
            offset, hasher = _fetch_http(source, part, offset, hasher, expected, meter, timeouts,
                                         notify)
    if offset < expected:
        raise TransientError(f"GET {source.shown}: the server closed the connection after "
                             f"{human_bytes(offset)} of {human_bytes(expected)}; the download "
                             "will resume")
    meter.update(offset, force=True)
    return hasher.hexdigest()
