"""Deleting one Instagram user's data everywhere the provider put it (Meta's data-deletion requests)."""
