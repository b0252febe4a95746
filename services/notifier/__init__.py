"""The notifier service: Celery workers on queue `notifier` that turn job events into
chat messages (Slack, Teams, Mattermost, Discord, Google Chat, signed webhooks),
with coalescing, retries and a record of every delivery."""
