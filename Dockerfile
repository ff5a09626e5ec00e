# syntax=docker/dockerfile:1
# Multi-stage: build the wheel and its dependencies with compilers, run on a slim base.
# `docker compose up` (compose.yaml) runs it with Redis; README, "Deployment".
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
# Every package of [tool.setuptools.packages.find] (tests/test_deployment.py checks the list).
COPY core core
COPY settings settings
COPY access access
COPY store store
COPY events events
COPY recommender recommender
COPY insights insights
COPY customers customers
COPY dialogue dialogue
COPY configurator configurator
COPY training training
COPY api api
COPY cli cli
COPY demo demo
COPY console console
# The versions the suite passed with (constraints.txt); runtime dependencies only, no extras.
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/venv/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim AS runtime
# libgomp: OpenMP runtime used by implicit and scikit-learn.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 atelier \
    && mkdir -p /data && chown atelier:atelier /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ATELIER_HOST=0.0.0.0 \
    ATELIER_PORT=8000 \
    ATELIER_DATA_DIR=/data \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    NUMBA_CACHE_DIR=/home/atelier/.cache/numba
# NUMBA_CACHE_DIR: the fold-in kernels compile at a worker's first start and are cached there
# (site-packages is not writable for the service user).
USER atelier
WORKDIR /home/atelier
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ATELIER_PORT', '8000'), timeout=2)"
# The same server as `make serve` (without --demo: a production image starts empty).
ENTRYPOINT ["atelier"]
CMD ["serve"]
