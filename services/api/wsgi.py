"""WSGI entry for gunicorn: `gunicorn services.api.wsgi:app`."""
from services.api.cli import prepare
from shared.settings import Settings

app = prepare(Settings.from_env())
