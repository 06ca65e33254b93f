# The manager image: the manager as a static binary and the CA certificates,
# on scratch, run as the non-root user 65532.
#
# Build it with `make docker-build IMG=... [CONTAINER_TOOL=podman]`, not with
# a bare `docker build .`: the build context is bin/image/, which `make
# image-context` fills from the host:
#   - manager: `CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags=-s
#     ./cmd/manager`, a static binary that needs no libc;
#   - ca-certificates.crt: the host's /etc/ssl/certs/ca-certificates.crt
#     (Debian's ca-certificates), where Go's crypto/x509 looks for the system
#     roots. Without it a scratch image trusts no CA and every TLS connection
#     to real Cognito fails. AWS_CA_BUNDLE, when set, is trusted instead of it.
#
# Why scratch and a binary built outside the image, rather than a golang
# build stage on a distroless base: this file must build where no container
# registry is reachable (the machine the project is developed and tested on
# has none), and scratch needs nothing pulled. The result is the same as
# distroless/static:nonroot in what the manager uses (a static binary, CA
# roots, user 65532), and the same file builds with docker, podman or buildah
# anywhere.
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
