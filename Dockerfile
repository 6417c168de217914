# One image for the three production processes:
#   web:       gunicorn --bind 0.0.0.0:8000 --workers 4 wsgi:app        (the default command)
#   worker:    rq worker --worker-class workers.base.Worker --url "$REDIS_URL" default
#   scheduler: rq cron workers/cron.py --url "$REDIS_URL"              (run exactly one)
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    TALKCARE_ENV=production TZ=Asia/Shanghai TALKCARE_INSTANCE=/app/instance

RUN apt-get update && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 talkcare

WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY workers ./workers
COPY schemas ./schemas
COPY migrations ./migrations
COPY wsgi.py ./
RUN pip install . && mkdir -p /app/instance && chown talkcare /app/instance

USER talkcare
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", "--access-logfile", "-", "wsgi:app"]
