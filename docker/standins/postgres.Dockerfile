# syntax=docker/dockerfile:1
# A local stand-in for postgres:15-bookworm where that registry is out of reach: Debian's
# postgresql-15 behind the official image's contract that docker/compose.yaml relies on
# (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB; PGDATA=/var/lib/postgresql/data; port 5432;
# pg_isready on PATH). Build context: this directory.
#   docker build -f postgres.Dockerfile --build-arg BASE_IMAGE=<a Debian bookworm image> .
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
# Debian stable's postgresql-15 takes its security fixes in place: pinning a version would
# only make the build fail once the archive moves on.
# hadolint ignore=DL3008
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends postgresql-15; \
    rm -rf /var/lib/apt/lists/*; \
    install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data; \
    install -d -o postgres -g postgres -m 2775 /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY --chmod=0755 postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# Debian's postgresql-common creates this user; its id is whatever that install assigned.
# hadolint ignore=DL3066
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
