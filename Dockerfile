# One image for every nestlab service; compose picks the command.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NESTLAB_VAR_DIR=/var/lib/nestlab
WORKDIR /app
# git: library workers clone git libraries.
RUN apt-get update && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md alembic.ini ./
COPY shared ./shared
COPY services ./services
COPY nestlab ./nestlab
RUN pip install --no-cache-dir '.[server,postgres]' \
    && useradd --system --home /var/lib/nestlab nestlab \
    && mkdir -p /var/lib/nestlab/library && chown -R nestlab /var/lib/nestlab
USER nestlab
EXPOSE 8080
CMD ["gunicorn", "--bind", "0.0.0.0:8080", "--worker-class", "gthread", "--threads", "8", "services.api.wsgi:app"]
