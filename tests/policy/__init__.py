"""Tests of the policy service: pure rules, and the gate over real mTLS, SQLite and PostgreSQL."""
