"""Watchpost edge package."""
