"""Watchpost provision package."""
