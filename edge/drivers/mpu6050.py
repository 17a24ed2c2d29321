"""MPU6050 accelerometer over I2C (smbus2), register level: wake, configure, read in g."""

from __future__ import annotations

from typing import Any, Protocol

PWR_MGMT_1 = 0x6B
SMPLRT_DIV = 0x19
CONFIG = 0x1A
ACCEL_CONFIG = 0x1C
ACCEL_XOUT_H = 0x3B
WHO_AM_I = 0x75

# MPU6050 answers 0x68; common clones and the MPU6500/9250 family answer these.
KNOWN_IDS = frozenset({0x68, 0x69, 0x70, 0x71, 0x72, 0x73, 0x98})
CLOCK_PLL_XGYRO = 0x01
DLPF_44HZ = 0x03
RANGE_8G = 0x10
LSB_PER_G_8G = 4096.0


class I2CBus(Protocol):
    """The part of `smbus2.SMBus` the driver uses."""

    def read_byte_data(self, i2c_addr: int, register: int) -> int:
        """Read one register."""
        ...

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None:
        """Write one register."""
        ...

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        """Read `length` consecutive registers."""
        ...

    def close(self) -> None:
        """Release the bus."""
        ...


class AccelerometerError(OSError):
    """The chip did not answer as an MPU6050 should."""


def _signed(high: int, low: int) -> int:
    value = (high << 8) | low
    return value - 0x10000 if value & 0x8000 else value


class Mpu6050:
    """An MPU6050 at ±8 g (falls peak at 3-6 g), 1 kHz internal rate, 44 Hz low-pass filter."""

    def __init__(self, bus: int | I2CBus = 1, address: int = 0x68, rate_hz: float = 50.0) -> None:
        self.address = address
        if isinstance(bus, int):
            from smbus2 import SMBus

            self._bus: Any = SMBus(bus)
        else:
            self._bus = bus
        try:
            self._init_chip(rate_hz)
        except OSError:
            self._bus.close()
            raise

    def _init_chip(self, rate_hz: float) -> None:
        who = self._bus.read_byte_data(self.address, WHO_AM_I)
        if who not in KNOWN_IDS:
            raise AccelerometerError(f"I2C 0x{self.address:02x}: WHO_AM_I=0x{who:02x}, not MPU6050")
        # Leave sleep mode, clock from the X gyro PLL (more stable than the 8 MHz oscillator).
        self._bus.write_byte_data(self.address, PWR_MGMT_1, CLOCK_PLL_XGYRO)
        self._bus.write_byte_data(self.address, CONFIG, DLPF_44HZ)
        # With the DLPF on, the sample clock is 1 kHz; divide it down to the rate we poll at.
        divider = max(0, min(255, round(1000 / rate_hz) - 1))
        self._bus.write_byte_data(self.address, SMPLRT_DIV, divider)
        self._bus.write_byte_data(self.address, ACCEL_CONFIG, RANGE_8G)

    def read(self) -> tuple[float, float, float]:
        """Return the current acceleration (ax, ay, az) in g."""
        raw = self._bus.read_i2c_block_data(self.address, ACCEL_XOUT_H, 6)
        return (
            _signed(raw[0], raw[1]) / LSB_PER_G_8G,
            _signed(raw[2], raw[3]) / LSB_PER_G_8G,
            _signed(raw[4], raw[5]) / LSB_PER_G_8G,
        )

    def close(self) -> None:
        """Put the chip to sleep and release the bus."""
        try:
            self._bus.write_byte_data(self.address, PWR_MGMT_1, 0x40)
        finally:
            self._bus.close()
