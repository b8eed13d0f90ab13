"""The deployment test (scripts/test-deploy): images, the compose stack, systemd hosts per role."""
