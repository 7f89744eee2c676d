"""Delivery of routed cases to the units' channels: the outbox worker, channels, signing."""
