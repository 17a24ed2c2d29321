"""`watchpost watchdog`: who watches the watcher.

A small separate process (optionally on another machine) that watches the hub's retained
heartbeat (`watchpost/v1/{site}/hub/{hub}/status`) and the broker's `$SYS` heartbeat, and pages
the duty officer through a second channel (Apprise) when either goes silent, and again when it
is back. It imports `protocol` only; MQTT only in `lookout.session`.
"""
