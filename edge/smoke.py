"""Smoke logic for an analog sensor: warm-up, threshold with hysteresis, confirmation."""

from __future__ import annotations

from typing import Literal

from protocol.device_config import SmokeAnalogConfig

SmokeChange = Literal["smoke", "smoke_clear"]


class AnalogSmokeDetector:
    """Turn a stream of levels (0-1) into `smoke` / `smoke_clear` transitions."""

    def __init__(self, config: SmokeAnalogConfig, started_at: float) -> None:
        self.config = config
        self.started_at = started_at

    def update(self, t: float, level: float) -> SmokeChange | None:
        """Feed one level at time t (seconds); return a transition or None."""
        raise NotImplementedError
