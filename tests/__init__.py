"""OneGrid tests."""
