"""Worker entry: `celery -A services.library.worker worker -Q library`."""
from services.library.app import create_worker

app = create_worker()
