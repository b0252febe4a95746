"""The deployer service: Celery workers on queue `deployer` that build, check and
destroy zPods on vCenter through pyvmomi."""
