# syntax=docker/dockerfile:1
# One image for every imgsync service: `worker`, the one-shot `sync` producer, `status`, `validate`.
#   docker build -t imgsync .
#   docker run --rm --env-file .env imgsync validate
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# skopeo does the copies; Debian's package pulls in containers-common (/etc/containers/policy.json).
RUN apt-get update \
    && apt-get install -y --no-install-recommends skopeo ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid (10001), so a bind-mounted reports directory can be chowned to it.
RUN groupadd --system --gid 10001 imgsync \
    && useradd --system --uid 10001 --gid imgsync --create-home --home-dir /home/imgsync \
        --shell /usr/sbin/nologin imgsync \
    && mkdir -p /reports \
    && chown imgsync:imgsync /reports

# .dockerignore lets only pyproject.toml, README/LICENSE and src/ into the context.
COPY . /tmp/imgsync-src
RUN pip install /tmp/imgsync-src \
    && rm -rf /tmp/imgsync-src \
    && imgsync --version

USER imgsync
WORKDIR /home/imgsync
ENTRYPOINT ["imgsync"]
CMD ["--help"]
