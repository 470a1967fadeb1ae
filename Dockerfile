# Build: a release binary of nectr.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p nectr-server \
    && cp target/release/nectr /usr/local/bin/nectr

# Run: a small image, a non-root user, the data in a volume.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/nectr --create-home nectr
COPY --from=build /usr/local/bin/nectr /usr/local/bin/nectr
COPY config /etc/nectr/config
USER nectr
WORKDIR /var/lib/nectr
ENV APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    NECTR_CONFIG_DIR=/etc/nectr/config
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS "http://127.0.0.1:${PORT}/health/ready" || exit 1
ENTRYPOINT ["nectr"]
CMD ["serve"]
