"""A small threaded HTTP file server on 127.0.0.1, for tests, benchmarks and demos.

It serves the files of one directory with `sendfile`, and can misbehave on
purpose: ignore Range requests, drop the connection halfway or go quiet there,
answer an error status, fail once with 503, demand a token, send slowly. It records every
request it gets.
"""

from __future__ import annotations

import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

MODES = ("range", "norange", "drop", "stall", "status", "flaky")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FileServer

    def log_message(self, *args) -> None:  # quiet: tests read `requests` instead
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        parts = urlsplit(self.path)
        first = self.server.record(parts.path, dict(self.headers))
        if parts.path.startswith("/redirect/"):
            return self._empty(HTTPStatus.FOUND, {"Location": parts.path[len("/redirect"):]})
        if self.server.token and parse_qs(parts.query).get("token") != [self.server.token]:
            return self._empty(HTTPStatus.FORBIDDEN)
        mode = self.server.mode
        if mode == "status":
            return self._empty(HTTPStatus(self.server.status))
        if mode == "flaky" and first:
            return self._empty(HTTPStatus.SERVICE_UNAVAILABLE)
        path = self.server.root / parts.path.lstrip("/")
        if ".." in parts.path or not path.is_file():
            return self._empty(HTTPStatus.NOT_FOUND)
        self._send_file(path, drop=mode in ("drop", "stall") and first, ranges=mode != "norange")

    def _empty(self, status: HTTPStatus, headers: dict | None = None) -> None:
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_file(self, path: Path, drop: bool, ranges: bool) -> None:
        size = path.stat().st_size
        start = 0
        wanted = self.headers.get("Range", "")
        if ranges and wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[len("bytes="):-1])
            if start >= size:
                return self._empty(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_response(HTTPStatus.PARTIAL_CONTENT)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            self.send_response(HTTPStatus.OK)
        if ranges:
            self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        count = (size - start) // 2 if drop else size - start
        with open(path, "rb") as handle:
            if self.server.rate:
                self._send_slowly(handle, start, count)
            else:
                self.connection.sendfile(handle, start, count)
        if drop:
            if self.server.mode == "stall":  # go quiet, as a stuck server does
                time.sleep(self.server.stall)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


    def _send_slowly(self, handle, start: int, count: int) -> None:
        step = max(1, self.server.rate // 20)
        handle.seek(start)
        while count > 0 and (chunk := handle.read(min(step, count))):
            self.wfile.write(chunk)
            count -= len(chunk)
            time.sleep(len(chunk) / self.server.rate)


class FileServer(ThreadingHTTPServer):
    """`FileServer(root, mode)`: start with `start()`, stop with `stop()`, or use `with`."""

    daemon_threads = True

    def __init__(self, root: Path, mode: str = "range", status: int = 404,
                 token: str | None = None, port: int = 0, rate: int = 0):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        super().__init__(("127.0.0.1", port), _Handler)
        self.root, self.mode, self.status, self.token = Path(root), mode, status, token
        self.rate = rate  # bytes per second; 0: as fast as sendfile goes
        self.stall = 3.0  # seconds a "stall" server goes quiet halfway
        self.requests: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def record(self, path: str, headers: dict) -> bool:
        """Note a request; True when it is the first for this path."""
        with self._lock:
            first = all(p != path for p, _ in self.requests)
            self.requests.append((path, headers))
            return first

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"

    def start(self) -> FileServer:
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> FileServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m nestlab.fileserver DIR [--mode M] [--port N]`: serve DIR until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m nestlab.fileserver", description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--mode", choices=MODES, default="range")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = FileServer(args.root, mode=args.mode, port=args.port)
    print(f"serving {args.root} on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
