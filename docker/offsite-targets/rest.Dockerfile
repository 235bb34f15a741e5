# The REST target of the offsite end-to-end tests: restic's REST protocol served by
# `rclone serve restic` (Debian's rclone, 1.60 in bookworm) over /srv/restic, as an
# unprivileged user. The test passes --user/--pass (basic authentication) on the command.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rclone; \
    rm -rf /var/lib/apt/lists/*; \
    useradd --uid 10002 --create-home --shell /usr/sbin/nologin rclone; \
    mkdir -p /srv/restic; \
    chown rclone:rclone /srv/restic
USER 10002:10002
EXPOSE 8000
HEALTHCHECK --interval=1s --timeout=3s --retries=30 CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8000"]
CMD ["rclone", "serve", "restic", "--addr", ":8000", "/srv/restic"]

# OCI labels, last so a new version or revision rebuilds no other layer. `make` passes both
# (Makefile); the Debian packages inside keep their own licences (/usr/share/doc/*/copyright).
ARG NEOCUMA_VERSION=unknown
ARG NEOCUMA_REVISION=unknown
LABEL org.opencontainers.image.title="neocuma-offsite-rest" \
      org.opencontainers.image.description="NeoCuma test target for offsite copies: restic REST by rclone" \
      org.opencontainers.image.version="${NEOCUMA_VERSION}" \
      org.opencontainers.image.revision="${NEOCUMA_REVISION}" \
      org.opencontainers.image.licenses="LicenseRef-Proprietary"
