# baas in one container: `docker build -t baas .` then
#   docker run -d -p 8090:8090 -v baas_data:/data baas
# Settings come from BAAS_* environment variables (docs/settings.md); data lives in the /data volume.
# docs/deployment.md walks through it; tests/container/test_container.py builds and runs this file.
#
# BASE: any Debian-like image with Python >= 3.11 and its venv module (the default is the official
# slim one). PIP_OPTIONS: extra pip options for the install, e.g. to build without a package index:
#   --build-arg PIP_OPTIONS="--no-index --find-links /src/.wheelhouse"   (wheels put in ./.wheelhouse)
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
ARG PIP_OPTIONS=""
COPY . /src
# A virtualenv: the system Python of Debian-based images refuses pip installs (PEP 668), and the
# whole environment copies into the runtime stage without the build's pip caches or sources.
RUN python3 -m venv /opt/baas \
 && /opt/baas/bin/pip install --no-cache-dir --disable-pip-version-check ${PIP_OPTIONS} /src

FROM ${BASE}
COPY --from=build /opt/baas /opt/baas
# An unprivileged user owns the data; nothing in the image runs as root.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin baas \
 && mkdir -p /data && chown baas:baas /data && chmod 700 /data
ENV PATH=/opt/baas/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BAAS_DIR=/data \
    BAAS_HTTP=0.0.0.0:8090
USER baas
WORKDIR /data
VOLUME /data
EXPOSE 8090
# The image has no curl: the check asks /api/health with Python's own HTTP client, on the port of
# BAAS_HTTP (which may be changed at `docker run`).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; port = os.environ.get('BAAS_HTTP', ':8090').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/api/health', timeout=2)"]
# `baas serve` is PID 1 (exec form, no shell in between), so `docker stop`'s SIGTERM reaches it:
# the workers finish their requests, end realtime streams with a reconnect hint and stop within
# 5 seconds (docker waits 10 by default before SIGKILL).
STOPSIGNAL SIGTERM
CMD ["baas", "serve"]
