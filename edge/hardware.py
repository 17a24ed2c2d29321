"""Sources of analog readings that are not plain GPIO pins; swappable like gpiozero's pins.

Real implementations (MPU6050 over smbus2, MCP3008 via gpiozero) live in `edge.drivers`;
simulators pass their own objects that satisfy these protocols.
"""

from __future__ import annotations

from typing import Protocol


class AccelSource(Protocol):
    """An accelerometer: one reading of (ax, ay, az) in g."""

    def read(self) -> tuple[float, float, float]:
        """Return the current acceleration in g."""
        ...


class LevelSource(Protocol):
    """An analog input scaled 0.0-1.0 (e.g. an MCP3008 channel)."""

    @property
    def value(self) -> float:
        """Return the current level, 0.0-1.0."""
        ...
