# mailwatch as a background service: `docker build -t mailwatch .`, then
#   docker run -d --name mailwatch --env-file .env -v mailwatch-data:/data -p 127.0.0.1:8025:8025 mailwatch
# The database (SQLite by default) lives in the /data volume; to override templates put them in
# /data/templates and set MAILWATCH_TEMPLATES_DIR=/data/templates.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md config.example.env ./
COPY mailwatch ./mailwatch
COPY migrations ./migrations
COPY templates ./templates
RUN pip install --no-cache-dir build && python -m build --wheel --outdir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MAILWATCH_DATABASE_URL=sqlite:////data/mailwatch.db \
    MAILWATCH_LOG_FORMAT=json \
    MAILWATCH_WEB_BIND=0.0.0.0:8025 \
    MAILWATCH_WEB_ALLOW_REMOTE=true
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin mailwatch \
    && mkdir -p /data/templates && chown -R mailwatch:mailwatch /data
USER mailwatch
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8025
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('MAILWATCH_WEB_BIND', '0.0.0.0:8025').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=5)"]
# Settings come from the environment (--env-file of docker run) or /data/.env. `init`
# upgrades the schema (idempotent); then `exec` makes `mailwatch run` PID 1's child-free
# replacement, so SIGTERM from `docker stop` reaches it and it stops cleanly.
CMD ["/bin/sh", "-c", "mailwatch init && exec mailwatch run"]
