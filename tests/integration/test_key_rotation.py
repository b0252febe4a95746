"""`nestlab-api rotate-keys`: every stored secret moves to the newest key."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import select

from services.api.cli import main as api_cli
from shared.crypto import SecretBox, add_key_to_file
from shared.db import make_engine, make_session_factory
from shared.models import Endpoint, Zpod
from shared.settings import Settings
from tests.conftest import SECRET_KEY, endpoint_body

SIM = type("Sim", (), {"host": "127.0.0.1", "port": 8989, "username": "u",
                       "password": "Rotate-Me-123"})


def stored_secrets(database_url: str) -> list[str]:
    sessions = make_session_factory(make_engine(database_url))
    with sessions() as session:
        return ([e.password_encrypted for e in session.scalars(select(Endpoint))]
                + [z.password_encrypted for z in session.scalars(select(Zpod))])


def test_rotate_keys_reencrypts_everything(client, settings, monkeypatch, redis_client, capsys):
    client.post("/api/v1/endpoints", json=endpoint_body(SIM))
    client.post("/api/v1/zpods", json={"name": "keys", "endpoint": "sim", "profile": "minimal"})
    before = stored_secrets(settings.database_url)
    assert len(before) == 2

    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("NESTLAB_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("NESTLAB_SECRET_KEY", f"{new_key},{SECRET_KEY}")
    api_cli(["rotate-keys"])
    assert "endpoints.password_encrypted: 1 re-encrypted" in capsys.readouterr().out

    after = stored_secrets(settings.database_url)
    only_new = SecretBox((new_key,))
    assert only_new.decrypt(after[0]) == SIM.password
    assert len(only_new.decrypt(after[1])) == 16
    assert after != before


def test_rotate_with_a_generated_key_file(tmp_path):
    stored = SecretBox.from_settings(Settings(var_dir=tmp_path)).encrypt("x")
    add_key_to_file(tmp_path)
    keys = (tmp_path / "secret.key").read_text().split()
    assert len(keys) == 2
    assert SecretBox((keys[0],)).decrypt(SecretBox(tuple(keys)).rotate(stored)) == "x"
