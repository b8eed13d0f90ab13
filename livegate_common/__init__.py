"""Plumbing shared by the policy and writer services: mTLS, identity, config, logging, servers."""
