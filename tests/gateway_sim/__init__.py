"""Tests for the gateway simulator, driven through ib_async over TCP."""
