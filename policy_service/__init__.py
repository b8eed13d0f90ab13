"""The policy service: the gate every live write passes before it may reach the writer."""
