# Ferry's image. Build: `docker build -t ferry .` (or `docker compose build`).
# Stage 1 builds the server and the WASM site with cargo-leptos (this stage may download what
# cargo-leptos needs: wasm-bindgen, wasm-opt). Stage 2 is a slim Debian with only the server
# binary and the site, run as an unprivileged user.

FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos --version 0.3.10 --locked
WORKDIR /src
COPY . .
RUN cargo leptos build --release \
 && mkdir -p /out \
 && cp target/release/server target/release/hash.txt /out/ \
 && cp -r target/site /out/site

FROM debian:bookworm-slim
# CA certificates: the server talks HTTPS to S3 when it is AWS itself. Not pinned on purpose:
# the image should get the distribution's current trust store and its security updates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin ferry \
 && mkdir -p /app/data \
 && chown ferry /app/data
WORKDIR /app
# hash.txt names the content-hashed site files; the server reads it beside its binary.
COPY --from=build /out/server /out/hash.txt /app/
COPY --from=build /out/site /app/site
USER 10001
ENV LEPTOS_OUTPUT_NAME=ferry \
    LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    LEPTOS_ENV=PROD \
    LEPTOS_HASH_FILES=true \
    LOCAL_STORAGE_DIR=/app/data/results \
    RUST_LOG=info
EXPOSE 3000
# The server releases running jobs and drains requests on SIGTERM (SHUTDOWN_GRACE_MS).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/app/server", "--healthcheck"]
ENTRYPOINT ["/app/server"]
