"""nestlab's client side: the Python SDK (`nestlab.client`), the `nestlab` CLI, and the
local dev stack used by `make run`, `make demo` and the tests."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nestlab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
