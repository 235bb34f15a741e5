# The SFTP target of the offsite end-to-end tests (tests/e2e/test_offsite_targets.py): a NAS
# as a centre would have one, OpenSSH's sshd from Debian's packages. One account,
# `sauvegarde`, logs in with the key the test hands it in AUTHORIZED_KEY (no password);
# each container makes its own host key at start, so the test pins that one. Repositories
# go under /srv (a tmpfs mounted there is handed to the account at start).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server; \
    rm -rf /var/lib/apt/lists/*; \
    rm -f /etc/ssh/ssh_host_*; \
    useradd --create-home --shell /bin/sh sauvegarde; \
    mkdir -p /run/sshd /srv/restic; \
    chown sauvegarde:sauvegarde /srv/restic
COPY docker/offsite-targets/sftp-start.sh /usr/local/bin/sftp-start.sh
EXPOSE 22
HEALTHCHECK --interval=1s --timeout=3s --retries=30 CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/22"]
CMD ["sh", "/usr/local/bin/sftp-start.sh"]

# OCI labels, last so a new version or revision rebuilds no other layer. `make` passes both
# (Makefile); the Debian packages inside keep their own licences (/usr/share/doc/*/copyright).
ARG NEOCUMA_VERSION=unknown
ARG NEOCUMA_REVISION=unknown
LABEL org.opencontainers.image.title="neocuma-offsite-sftp" \
      org.opencontainers.image.description="NeoCuma test target for offsite copies: OpenSSH SFTP" \
      org.opencontainers.image.version="${NEOCUMA_VERSION}" \
      org.opencontainers.image.revision="${NEOCUMA_REVISION}" \
      org.opencontainers.image.licenses="LicenseRef-Proprietary"
