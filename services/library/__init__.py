"""The library service: Celery workers on queue `library` that sync component
catalogs, download (resumably, checksummed) and inspect appliance images, and
stage them onto endpoints as templates."""
