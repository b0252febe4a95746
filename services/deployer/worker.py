"""Worker entry: `celery -A services.deployer.worker worker -Q deployer`."""
from services.deployer.app import create_worker

app = create_worker()
