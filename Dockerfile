# syntax=docker/dockerfile:1
# Stage 1: build a wheel (the frontend is packed inside it as backproplab/frontend).
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2
COPY pyproject.toml README.md LICENSE ./
COPY backend ./backend
COPY frontend ./frontend
RUN python -m build --wheel --outdir /dist

# Stage 2: the runtime: the locked, hash-checked dependencies, then the wheel alone (non-editable), run by an
# unprivileged user.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BACKPROPLAB_HOST=0.0.0.0 \
    BACKPROPLAB_PORT=8000 \
    BACKPROPLAB_DATA_DIR=/data
COPY requirements/app.txt /tmp/requirements-app.txt
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements-app.txt && rm /tmp/requirements-app.txt
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir --no-deps /tmp/*.whl && rm /tmp/*.whl \
    && useradd --create-home --uid 10001 backproplab \
    && mkdir -p /data && chown backproplab:backproplab /data
USER backproplab
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=2).status == 200 else 1)"]
CMD ["backproplab", "serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data"]
