import pytest
from cryptography.fernet import Fernet

from shared.crypto import (
    TOKEN_PREFIX,
    SecretBox,
    SecretError,
    hash_token,
    new_api_token,
    new_password,
    token_matches,
)
from shared.settings import Settings


def test_secret_box_round_trip_and_rotation():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = SecretBox((old,)).encrypt("s3cret")
    assert "s3cret" not in stored
    rotated_box = SecretBox((new, old))
    assert rotated_box.decrypt(stored) == "s3cret"
    assert SecretBox((new,)).decrypt(rotated_box.rotate(stored)) == "s3cret"
    with pytest.raises(SecretError):
        SecretBox((new,)).decrypt(stored)


def test_key_file_is_made_once_with_private_mode(tmp_path):
    box = SecretBox.from_settings(Settings(var_dir=tmp_path))
    token = box.encrypt("x")
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert SecretBox.from_settings(Settings(var_dir=tmp_path)).decrypt(token) == "x"


def test_api_tokens_are_prefixed_and_stored_as_hashes():
    token = new_api_token()
    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    assert token not in hash_token(token)
    assert token_matches(token, hash_token(token))
    assert not token_matches(token + "x", hash_token(token))


def test_generated_passwords_are_complex():
    for _ in range(50):
        password = new_password()
        assert len(password) == 16
        assert any(c.isupper() for c in password) and any(c.islower() for c in password)
        assert any(c.isdigit() for c in password) and not password.isalnum()


def test_settings_from_environment(tmp_path):
    settings = Settings.from_env({
        "NESTLAB_VAR_DIR": str(tmp_path), "REDIS_URL": "redis://r:1/2",
        "NESTLAB_SECRET_KEY": "a, b", "NESTLAB_JOB_STALE_AFTER": "9",
    })
    assert settings.database_url == f"sqlite:///{tmp_path}/nestlab.db"
    assert settings.broker_url == "redis://r:1/2"
    assert settings.secret_keys == ("a", "b")
    assert settings.job_stale_after == 9
    assert Settings.from_env({}, domain="x.lab").domain == "x.lab"
