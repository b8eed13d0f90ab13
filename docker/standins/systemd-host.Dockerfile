# syntax=docker/dockerfile:1
# A fresh Debian host for the deployment test (scripts/test-deploy): systemd as PID 1, sshd,
# Python 3 for Ansible, and nothing of livegate's: the play installs what livegate needs.
# Run with --systemd=always --cap-add SYS_ADMIN (without it systemd skips the units' hardening).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
# Debian stable's packages take their security fixes in place: pinning versions would only make
# the build fail once the archive moves on. The package lists stay, as on a host that ran
# `apt-get update` lately: the play installs its packages without fetching them again.
# hadolint ignore=DL3008,DL3009
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends systemd systemd-sysv dbus openssh-server python3; \
    printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' \
        > /etc/ssh/sshd_config.d/livegate-test.conf; \
    rm -f /etc/ssh/ssh_host_*; \
    systemctl enable ssh.service; \
    # No console, and no unattended apt run at boot that would hold the dpkg lock mid-play.
    systemctl mask getty@tty1.service console-getty.service systemd-logind.service \
        apt-daily.timer apt-daily-upgrade.timer
# Host keys are made at first boot, so no two hosts share one.
COPY --chmod=0644 ssh-host-keys.service /etc/systemd/system/ssh-host-keys.service
RUN systemctl enable ssh-host-keys.service
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/sbin/init"]
