# One image for every role of CloudHP; the container's command chooses the roles:
#   docker run IMAGE serve --role web          (one role)
#   docker run -p 8080:8080 IMAGE up           (every role, embedded backends: a demo)
#
# Two ways to get the binary, one runtime layout (needs BuildKit, the default builder of
# current Docker; with Docker 20.10 set DOCKER_BUILDKIT=1):
#   docker build -t cloudhp .                                      compile from source
#   cargo build --release && mkdir -p target/image && cp target/release/cloudhp target/image/ \
#     && docker build --build-arg CLOUDHP_BINARY=host -t cloudhp .   pack a host-built binary
# deploy/images/build.sh does either, and builds the other images of deploy/.
#
# The runtime layer is distroless in spirit: the binary, the shared libraries it links (found by
# ldd, so any architecture works), CA certificates, a passwd entry for the unprivileged user, and
# nothing else: no shell, no package manager. The binary is its own health check.
ARG CLOUDHP_BINARY=source

FROM rust:1-bookworm AS source
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p cloudhp && cp target/release/cloudhp /cloudhp

FROM scratch AS host
COPY target/image/cloudhp /cloudhp

FROM ${CLOUDHP_BINARY} AS binary

FROM debian:bookworm-slim AS rootfs
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=binary /cloudhp /rootfs/usr/local/bin/cloudhp
RUN set -eu; \
    # Every shared library the binary loads, and the dynamic loader, at their own paths.
    ldd /rootfs/usr/local/bin/cloudhp | grep -o '/[^ ]*' | sort -u \
        | xargs -I{} cp -L --parents {} /rootfs/; \
    mkdir -p /rootfs/etc/ssl/certs /rootfs/data /rootfs/tmp; \
    cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/; \
    echo 'cloudhp:x:10001:10001:cloudhp:/data:/nonexistent' > /rootfs/etc/passwd; \
    echo 'cloudhp:x:10001:' > /rootfs/etc/group; \
    echo 'hosts: files dns' > /rootfs/etc/nsswitch.conf; \
    # The demo prize catalog, painted once here: W then needs no writable folder.
    /rootfs/usr/local/bin/cloudhp prizes init /rootfs/usr/share/cloudhp/prizes; \
    chown 10001:10001 /rootfs/data; \
    chmod 0700 /rootfs/data; \
    chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=rootfs /rootfs/ /
USER 10001:10001
WORKDIR /data
# Every role listens on 8080 in a container. The data dir holds only what the embedded backends
# write (`up`); the roles of a deployment write nothing locally and run on a read-only root.
ENV CLOUDHP_SERVER__LISTEN=0.0.0.0:8080 \
    CLOUDHP_SERVER__DATA_DIR=/data \
    CLOUDHP_WORKER__CATALOG_DIR=/usr/share/cloudhp/prizes \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/cloudhp", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/cloudhp"]
CMD ["up"]
