# Multi-stage build: compile with the full Rust image, run on a slim Debian with only the binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked && cp target/release/storymimi /storymimi

FROM debian:bookworm-slim
# espeak-ng narrates (run as a process by the service's user; it only reads its voice data).
# setpriv (util-linux, already in the base image) drops privileges in the entrypoint.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates espeak-ng \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin storymimi \
 && mkdir -p /data && chown storymimi:storymimi /data
COPY --from=build /storymimi /usr/local/bin/storymimi
COPY deploy/entrypoint.sh /usr/local/bin/storymimi-entrypoint
# Production by default: the service refuses to start without STORYMIMI_JWT_SECRET, so a plain
# `docker run` never accepts tokens signed with the built-in development key.
ENV STORYMIMI_ENV=production STORYMIMI_ADDR=0.0.0.0:8080 STORYMIMI_DATA_DIR=/data
# The service runs as `storymimi` (uid 10001), never as root: the entrypoint starts as root only
# to give the data volume to that user (Fly mounts volumes owned by root), then drops every
# privilege (setpriv: uid, gid, groups, capabilities, no-new-privs) and execs the service. With
# `docker run --user 10001` (or Kubernetes' runAsUser) it execs directly; the volume must then
# be writable by that uid.
ENTRYPOINT ["/usr/local/bin/storymimi-entrypoint"]
EXPOSE 8080
STOPSIGNAL SIGTERM
CMD ["storymimi"]
