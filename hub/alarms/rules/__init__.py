"""Alarm rules, one module per kind of danger; each works on a `Ledger` in one transaction."""
