"""The library's flows by job kind (see shared.jobs.run_job)."""

from services.library.download import DownloadFlow
from services.library.stage import StageFlow
from services.library.sync import SyncFlow
from services.library.upload import UploadFlow

FLOWS = {"library_sync": SyncFlow(), "download": DownloadFlow(), "stage": StageFlow(),
         "upload": UploadFlow()}
