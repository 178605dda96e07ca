# Multi-stage build: compile with the full Rust image, run on a slim Debian with only the binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked && cp target/release/storymimi /storymimi

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates espeak-ng \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /data storymimi \
 && mkdir -p /data && chown storymimi /data
COPY --from=build /storymimi /usr/local/bin/storymimi
USER storymimi
# Production by default: the service refuses to start without STORYMIMI_JWT_SECRET, so a plain
# `docker run` never accepts tokens signed with the built-in development key.
ENV STORYMIMI_ENV=production STORYMIMI_ADDR=0.0.0.0:8080 STORYMIMI_DATA_DIR=/data
EXPOSE 8080
STOPSIGNAL SIGTERM
CMD ["storymimi"]
