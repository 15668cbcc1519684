"""Feeds: simulator, connectors (HTTP pull, folder drop, replay), field mappings and feed health."""
