"""Fall detection from accelerometer samples: free fall, then impact, then stillness.

Pure logic, no I/O: feed samples with `update`; see docs/fall.md for the algorithm.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.device_config import FallConfig


@dataclass(frozen=True, slots=True)
class FallDetection:
    """A detected fall: when the impact happened and how hard it was."""

    t: float
    peak_g: float


class FallDetector:
    """Streaming fall detector; one instance per accelerometer."""

    def __init__(self, config: FallConfig, upright_axis: str = "z") -> None:
        self.config = config
        self.upright_axis = upright_axis

    def update(self, t: float, ax: float, ay: float, az: float) -> FallDetection | None:
        """Feed one sample (t in seconds, a in g); return a detection when a fall completes."""
        raise NotImplementedError
