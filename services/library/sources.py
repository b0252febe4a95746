"""Reading a library's definition files: a local directory, a git repository, an index URL.

Each reader returns ``([(file name, text)], info)``; `info` says what was read
(e.g. the git commit). A git library is cloned once per worker under
``<var dir>/git/library-<id>`` and brought to the wanted ref on each sync.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import requests

from services.library.http import check_status, request_error
from shared.errors import PermanentError, TransientError

SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILE = 1 << 20


def directory_files(root: Path) -> list[tuple[str, str]]:
    if not root.is_dir():
        raise PermanentError(f"library directory {root} does not exist on the library worker")
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            if path.stat().st_size > MAX_FILE:
                files.append((str(relative), ""))
                continue
            files.append((str(relative), path.read_text(errors="replace")))
    return files


def _git(args: list[str], timeout: float, cwd: Path | None = None) -> str:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", LC_ALL="C")
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except FileNotFoundError as exc:
        raise PermanentError("git is not installed on the library worker") from exc
    except subprocess.TimeoutExpired as exc:
        raise TransientError(f"git {args[0]} timed out after {timeout:.0f}s") from exc
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise PermanentError(f"git {args[0]} failed: {lines[-1] if lines else done.returncode}")
    return done.stdout.strip()


def git_checkout(source: str, ref: str | None, workdir: Path, timeout: float) -> str:
    """Bring `workdir` to `ref` (default: the remote's HEAD) of `source`; returns the commit."""
    if (workdir / ".git").is_dir():
        current = _git(["remote", "get-url", "origin"], timeout, workdir)
        if current != source:
            shutil.rmtree(workdir)
    if not (workdir / ".git").is_dir():
        workdir.mkdir(parents=True, exist_ok=True)
        _git(["init", "--quiet"], timeout, workdir)
        _git(["remote", "add", "origin", source], timeout, workdir)
    _git(["fetch", "--quiet", "--depth", "1", "origin", ref or "HEAD"], timeout, workdir)
    _git(["reset", "--quiet", "--hard", "FETCH_HEAD"], timeout, workdir)
    _git(["clean", "-fdxq"], timeout, workdir)
    return _git(["rev-parse", "HEAD"], timeout, workdir)


def index_files(url: str, shown: str, timeout: float) -> list[tuple[str, str]]:
    try:
        response = requests.get(url, timeout=timeout)
    except requests.RequestException as exc:
        raise request_error(exc, shown) from None
    check_status(response, shown)
    return [("index", response.text)]
