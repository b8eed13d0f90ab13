"""The gate's rules: plain Python, no gRPC and no SQL; clock, store and writer come in."""
