"""The broker password of a device: from a file or an environment variable, never inline."""

from __future__ import annotations

import os
from pathlib import Path

from protocol.device_config import BrokerConfig
from protocol.errors import ConfigError


def broker_password(broker: BrokerConfig, config_path: str) -> str | None:
    """Return the password `broker` refers to; ConfigError (naming the field) if unreadable."""
    if broker.password_file:
        try:
            return Path(broker.password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                config_path,
                [
                    f"broker.password_file: cannot read {broker.password_file} ({exc.strerror}); "
                    "create it (mode 0600) or fix the path"
                ],
            ) from exc
    if broker.password_env:
        value = os.environ.get(broker.password_env)
        if value is None:
            raise ConfigError(
                config_path,
                [
                    f"broker.password_env: environment variable {broker.password_env} is not "
                    "set; export it or use broker.password_file"
                ],
            )
        return value
    return None
