"""The MPU6050 driver at register level, against an in-memory I2C register file."""

from __future__ import annotations

import pytest

from edge.drivers.mpu6050 import (
    ACCEL_CONFIG,
    ACCEL_XOUT_H,
    PWR_MGMT_1,
    SMPLRT_DIV,
    WHO_AM_I,
    AccelerometerError,
    Mpu6050,
)


class Registers:
    """An I2C bus with one device whose registers live in a dict."""

    def __init__(self, address: int = 0x68, who: int = 0x68) -> None:
        self.address = address
        self.regs = {WHO_AM_I: who, PWR_MGMT_1: 0x40}
        self.closed = False

    def read_byte_data(self, i2c_addr: int, register: int) -> int:
        """Read one register."""
        if i2c_addr != self.address:
            raise OSError(121, "Remote I/O error")
        return self.regs.get(register, 0)

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None:
        """Write one register."""
        if i2c_addr != self.address:
            raise OSError(121, "Remote I/O error")
        self.regs[register] = value

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        """Read consecutive registers."""
        return [self.read_byte_data(i2c_addr, register + i) for i in range(length)]

    def close(self) -> None:
        """Release the bus."""
        self.closed = True

    def set_accel(self, raw: tuple[int, int, int]) -> None:
        """Store raw signed 16-bit readings in ACCEL_[XYZ]OUT."""
        for i, value in enumerate(raw):
            word = value & 0xFFFF
            self.regs[ACCEL_XOUT_H + 2 * i] = word >> 8
            self.regs[ACCEL_XOUT_H + 2 * i + 1] = word & 0xFF


def test_init_wakes_the_chip_and_sets_8g_and_rate() -> None:
    bus = Registers()
    Mpu6050(bus, 0x68, rate_hz=50)
    assert bus.regs[PWR_MGMT_1] == 0x01
    assert bus.regs[ACCEL_CONFIG] == 0x10
    assert bus.regs[SMPLRT_DIV] == 19


def test_read_converts_signed_counts_to_g() -> None:
    bus = Registers()
    mpu = Mpu6050(bus, 0x68)
    bus.set_accel((4096, -8192, 0))
    assert mpu.read() == (1.0, -2.0, 0.0)
    mpu.close()
    assert bus.closed and bus.regs[PWR_MGMT_1] == 0x40


def test_wrong_chip_is_refused() -> None:
    bus = Registers(who=0x12)
    with pytest.raises(AccelerometerError, match="WHO_AM_I"):
        Mpu6050(bus, 0x68)
    assert bus.closed


def test_absent_chip_raises_oserror() -> None:
    with pytest.raises(OSError, match="Remote I/O"):
        Mpu6050(Registers(address=0x69), 0x68)
