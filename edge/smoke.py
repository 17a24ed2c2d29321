"""Smoke logic for an analog sensor: warm-up, threshold with hysteresis, confirmation.

Readings during the heater warm-up are ignored. `smoke` is reported once `confirm_samples`
consecutive readings are at or above the threshold; `smoke_clear` once a reading falls below
`threshold - hysteresis`. A reading that is not a finite number is skipped.
"""

from __future__ import annotations

import math
from typing import Literal

from protocol.device_config import SmokeAnalogConfig

SmokeChange = Literal["smoke", "smoke_clear"]


class AnalogSmokeDetector:
    """Turn a stream of levels (0-1) into `smoke` / `smoke_clear` transitions."""

    def __init__(self, config: SmokeAnalogConfig, started_at: float) -> None:
        self.config = config
        self.started_at = started_at
        self._above = 0
        self._alarm = False

    @property
    def in_alarm(self) -> bool:
        """Return True between a `smoke` and the following `smoke_clear`."""
        return self._alarm

    def update(self, t: float, level: float) -> SmokeChange | None:
        """Feed one level at time t (seconds); return a transition or None."""
        cfg = self.config
        if not math.isfinite(level) or t - self.started_at < cfg.warmup_s:
            return None
        if self._alarm:
            if level < cfg.threshold - cfg.hysteresis:
                self._alarm = False
                self._above = 0
                return "smoke_clear"
            return None
        if level < cfg.threshold:
            self._above = 0
            return None
        self._above += 1
        if self._above >= cfg.confirm_samples:
            self._alarm = True
            return "smoke"
        return None
