"""Watchpost hub package."""
