# The S3 target of the offsite end-to-end tests: no S3-compatible server is packaged for
# Debian bookworm (MinIO and Garage are not; rclone serve s3 came after rclone 1.60), so it
# is moto's standalone server (PyPI `moto[server]`, pinned), which speaks S3's HTTP API with
# buckets in memory, as an unprivileged user. It takes any access key.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv ca-certificates; \
    rm -rf /var/lib/apt/lists/*
# pip behind a TLS-inspecting proxy: the CA certificates `make certs` copied (as Dockerfile).
COPY docker/certs/ /usr/local/share/ca-certificates/neocuma-build/
RUN set -eux; \
    find /usr/local/share/ca-certificates/neocuma-build -type f ! -name '*.crt' -delete; \
    update-ca-certificates >/dev/null; \
    python3 -m venv /opt/moto; \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
        /opt/moto/bin/pip install --no-cache-dir "moto[server]==5.2.5"; \
    useradd --uid 10003 --no-create-home --shell /usr/sbin/nologin moto
USER 10003:10003
EXPOSE 5000
HEALTHCHECK --interval=1s --timeout=3s --retries=60 CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/5000"]
CMD ["/opt/moto/bin/moto_server", "--host", "0.0.0.0", "--port", "5000"]

# OCI labels, last so a new version or revision rebuilds no other layer. `make` passes both
# (Makefile); the Debian packages inside keep their own licences (/usr/share/doc/*/copyright).
ARG NEOCUMA_VERSION=unknown
ARG NEOCUMA_REVISION=unknown
LABEL org.opencontainers.image.title="neocuma-offsite-s3" \
      org.opencontainers.image.description="NeoCuma test target for offsite copies: S3 by moto" \
      org.opencontainers.image.version="${NEOCUMA_VERSION}" \
      org.opencontainers.image.revision="${NEOCUMA_REVISION}" \
      org.opencontainers.image.licenses="LicenseRef-Proprietary"
