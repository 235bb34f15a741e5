# One image for the NeoCuma server and the guardian (entry points neocuma-server and
# neocuma-guardian). Runs as the unprivileged user neocuma (uid 10001); holds no secret.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv mariadb-client unzip ca-certificates tzdata \
        restic openssh-client; \
    rm -rf /var/lib/apt/lists/*

# Extra CA certificates for a TLS-inspecting proxy (public certificates, never secrets):
# `make` copies the host's bundle into docker/certs/; a centre may drop its proxy's CA there.
COPY docker/certs/ /usr/local/share/ca-certificates/neocuma-build/
RUN set -eux; \
    find /usr/local/share/ca-certificates/neocuma-build -type f ! -name '*.crt' -delete; \
    update-ca-certificates >/dev/null

# Dependencies first, so code changes rebuild only the last layers: every package, the
# build tools included, pinned with its hashes (requirements/runtime.lock; `make venv`
# installs the same pins from requirements/test.lock).
COPY requirements/runtime.lock /tmp/runtime.lock
RUN set -eux; \
    python3 -m venv /opt/neocuma; \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
        /opt/neocuma/bin/pip install --no-cache-dir --require-hashes -r /tmp/runtime.lock; \
    rm /tmp/runtime.lock

COPY pyproject.toml README.md /src/
COPY appliance /src/appliance
RUN set -eux; \
    /opt/neocuma/bin/pip install --no-cache-dir --no-deps --no-build-isolation /src; \
    rm -rf /src

COPY config/centres.toml config/guardian-settings.toml /etc/neocuma/
RUN set -eux; \
    groupadd --gid 10001 neocuma; \
    useradd --uid 10001 --gid 10001 --home-dir /var/lib/neocuma --no-create-home --shell /usr/sbin/nologin neocuma; \
    mkdir -p /var/lib/neocuma/system /var/lib/neocuma-public /var/lib/guardian/backups /var/lib/guardian/state; \
    chown -R neocuma:neocuma /var/lib/neocuma /var/lib/neocuma-public /var/lib/guardian; \
    chmod 0750 /var/lib/neocuma /var/lib/guardian/state

ENV PATH=/opt/neocuma/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NEOCUMA_CENTRES_FILE=/etc/neocuma/centres.toml
USER 10001:10001
WORKDIR /var/lib/neocuma
EXPOSE 2222 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=300s --retries=3 \
    CMD ["/opt/neocuma/bin/python", "-m", "appliance.healthcheck", "http://127.0.0.1:8080/healthz"]
CMD ["neocuma-server", "serve"]

# OCI labels, last so a new version or revision rebuilds no other layer. `make` passes both
# (Makefile); the Debian packages inside keep their own licences (/usr/share/doc/*/copyright).
ARG NEOCUMA_VERSION=unknown
ARG NEOCUMA_REVISION=unknown
LABEL org.opencontainers.image.title="neocuma-appliance" \
      org.opencontainers.image.description="NeoCuma Guardian appliance: the NeoCuma server and its guardian" \
      org.opencontainers.image.version="${NEOCUMA_VERSION}" \
      org.opencontainers.image.revision="${NEOCUMA_REVISION}" \
      org.opencontainers.image.licenses="LicenseRef-Proprietary"
