"""Worker entry: `celery -A services.notifier.worker worker -Q notifier -P threads`."""
from services.notifier.app import create_worker

app = create_worker()
