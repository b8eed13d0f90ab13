"""livegate-gateway-launcher: logs IB Gateway in through IBC with the IB login of its role."""
