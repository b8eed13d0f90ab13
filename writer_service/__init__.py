"""The writer service: the only process that reaches the broker, through ib_async."""
