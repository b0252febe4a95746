"""Secrets at rest and API tokens.

Endpoint passwords, zPod passwords and other secrets are stored encrypted with
Fernet (AES-128-CBC + HMAC-SHA256). Several keys may be configured, newest
first, so an operator can rotate: new values use the first key, old values
still decrypt with any of them.

API tokens are random 256-bit strings with a recognisable prefix, so a leaked
token can be found by secret scanners; only their SHA-256 is stored (they are
high-entropy, so a slow password hash would add nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import string
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.settings import Settings

TOKEN_PREFIX = "nlb_"
KEY_FILE_NAME = "secret.key"


class SecretError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def _key_file_keys(var_dir: Path) -> tuple[str, ...]:
    """Read (or create, 0600) the embedded-default key file under the var dir."""
    path = var_dir / KEY_FILE_NAME
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
    return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())


def add_key_to_file(var_dir: Path) -> None:
    """Put a new key first in the key file; older keys stay to decrypt old values."""
    keys = _key_file_keys(var_dir)
    path = var_dir / KEY_FILE_NAME
    temporary = path.with_suffix(".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join((Fernet.generate_key().decode(), *keys)) + "\n")
    os.replace(temporary, path)


class SecretBox:
    """Encrypts and decrypts short secrets with the configured keys."""

    def __init__(self, keys: tuple[str, ...]):
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(settings.secret_keys or _key_file_keys(settings.var_dir))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretError("stored secret cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a stored value with the newest key."""
        return self._fernet.rotate(token.encode()).decode()


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)


def new_password(length: int = 16) -> str:
    """A password that nested ESXi and vCenter accept: upper, lower, digit, symbol."""
    alphabet = string.ascii_letters + string.digits
    while True:
        core = [secrets.choice(alphabet) for _ in range(length - 1)]
        candidate = "".join(core) + secrets.choice("!#%+-=")
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
        ):
            return candidate
