"""Alarm engine: rules, lifecycle, deduplication, escalation, supervision (see ARCHITECTURE.md)."""
