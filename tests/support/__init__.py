"""Fixtures' building blocks: real components started on free loopback ports."""
