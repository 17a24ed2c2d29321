"""Hardware drivers: the only modules of `edge` that import gpiozero or smbus2."""
