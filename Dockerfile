# Workshop Sales Hub application image (app and worker share it).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shop ./shop
COPY catalog ./catalog
COPY search ./search
COPY livestream ./livestream
COPY logistics ./logistics
COPY migrations ./migrations
COPY bench ./bench
COPY alembic.ini ./
RUN pip install --upgrade pip && pip install .
RUN useradd --create-home hub && mkdir -p /app/var && chown hub /app/var
USER hub
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8000/health/live || exit 1
CMD ["hub", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]
