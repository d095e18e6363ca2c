"""Analysis layer."""
