"""Settings of the hub process: flags, a YAML file, or `WATCHPOST_*` environment variables.

Precedence, highest first: command-line flags, environment, config file, defaults. Secrets
(API token, webhook secret, broker and InfluxDB passwords) come from the environment or from a
`*_file` reference, never inline in the config file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.config_file import load_model
from protocol.errors import ConfigError
from protocol.topics import ID_PATTERN

_SECRETS = ("api_token", "webhook_secret", "broker_password", "influx_password")


class HubConfig(BaseModel):
    """Everything `watchpost hub` needs to run, as written in a hub.yaml file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("hub", pattern=ID_PATTERN, description="Hub name, part of MQTT client ids")
    broker: str = Field(
        "mqtt://127.0.0.1:1883",
        pattern=r"^mqtts?://[^/\s:]+(:\d{1,5})?/?$",
        description="mqtt://host:port, or mqtts://host:port for TLS",
    )
    broker_socket: Path | None = Field(
        None,
        description="Mosquitto's Unix socket on this machine (its `listener 0 PATH`): the "
        "telemetry lane connects there instead of to `broker` (same user and password, no TLS; "
        "+19 % msg/s measured); the alarm path stays on `broker`",
    )
    broker_ca_file: Path | None = Field(
        None, description="CA certificate (PEM) that signed the broker's (mqtts); default: system"
    )
    broker_username: str | None = Field(
        None,
        pattern=ID_PATTERN,
        description="The hub's MQTT user U; it logs in as U-events, U-out and U-telemetry",
    )
    broker_password: SecretStr | None = Field(None, description="MQTT password (env only)")
    broker_password_file: Path | None = Field(None, description="File holding the MQTT password")
    site: str | None = Field(
        None, pattern=ID_PATTERN, description="Only ingest this site (default: every site)"
    )
    share_group: str | None = Field(
        None,
        pattern=ID_PATTERN,
        description="Several hubs: subscribe as $share/<group>/… so the group splits the devices' "
        "traffic (each hub its own name and broker user; store on PostgreSQL). Unset: one hub "
        "takes everything, and the broker replays retained statuses on subscribe",
    )
    influx: str | None = Field(None, description="InfluxDB URL http://host:8086; unset disables")
    influx_database: str = Field("watchpost", description="InfluxDB 1.x database / 2.x bucket")
    influx_username: str | None = Field(None, description="InfluxDB 1.x user")
    influx_password: SecretStr | None = Field(None, description="InfluxDB password (env only)")
    influx_password_file: Path | None = Field(None, description="File holding the password")
    influx_spill_dir: str = Field("var/influx-spill", description="Where points wait offline")
    state_dir: str | None = Field(
        None,
        description="Where the hub keeps small state files (which registry it imported); "
        "default: the SQLite store's folder, else ./var",
    )
    store: str = Field("sqlite:///watchpost.db", description="SQLAlchemy URL of the store")
    http: str = Field(
        "127.0.0.1:8080", pattern=r"^[^\s:]+:\d{1,5}$", description="HOST:PORT of the HTTP API"
    )
    registry: Path | None = Field(None, description="Site folder imported into the store on start")
    openapi_access: Literal["loopback", "open", "off"] = Field(
        "loopback", description="Who may read /openapi.json: loopback clients only, all, nobody"
    )
    metrics_access: Literal["loopback", "open", "off"] = Field(
        "loopback", description="Who may read /metrics: loopback clients only, all, nobody"
    )
    session_ttl_s: float = Field(
        1800.0, gt=0, le=86_400, description="A login token expires this long after its last use"
    )
    session_max_s: float = Field(
        43_200.0, gt=0, le=7 * 86_400, description="A login token expires this long after login"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Reverse proxies (IP addresses) whose X-Forwarded-For names the client",
    )
    duty_watch_s: float = Field(
        60.0, gt=0, le=3600, description="How often on-duty/care points and 'nobody on duty' run"
    )
    secure_cookies: bool = Field(
        False, description="Mark the page cookie Secure (set it behind an HTTPS reverse proxy)"
    )

    policy: Path | None = Field(None, description="Alarm policy YAML (default: built-in policy)")
    api_token: SecretStr | None = Field(None, description="Bearer token of the API (env only)")
    api_token_file: Path | None = Field(None, description="File holding the API bearer token")
    webhook_secret: SecretStr | None = Field(None, description="HMAC key for webhooks (env only)")
    webhook_secret_file: Path | None = Field(None, description="File holding the webhook key")
    webhook_timeout_s: float = Field(5.0, gt=0, le=60, description="Timeout of one webhook call")
    webhook_attempts: int = Field(4, ge=1, le=20, description="Tries per webhook/Apprise delivery")
    dispatch_workers: int = Field(8, ge=1, le=256, description="Concurrent dispatch tasks")
    dispatch_queue: int = Field(10_000, ge=10, description="Actions waiting for dispatch, at most")
    tick_s: float = Field(1.0, gt=0, le=60, description="How often the engine's timers run")
    heartbeat_s: float = Field(
        5.0, gt=0, le=300, description="How often the hub publishes its own status (watchdog)"
    )
    shutdown_timeout_s: float = Field(5.0, gt=0, le=120, description="Graceful shutdown budget")
    log_level: str = Field("INFO", description="Python logging level")
    sender_rate_per_s: float = Field(
        5.0, gt=0, le=10_000, description="Alarm-path messages per second one sender may send"
    )
    sender_burst: int = Field(
        20, ge=1, le=100_000, description="Alarm-path messages one sender may send at once"
    )
    test_crash_before_commit: bool = Field(
        False,
        description="TEST HOOK, never in production: exit(1) after receiving an event, before "
        "the engine commits it (proves the broker redelivers un-acked events)",
    )
    test_crash_after_commit: bool = Field(
        False,
        description="TEST HOOK, never in production: exit(1) right after the engine committed "
        "an alarm that pages someone, before dispatch (proves the outbox pages it after restart)",
    )

    @field_validator(*_SECRETS, mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    def secret(self, name: str) -> str | None:
        """Return secret `name` from its value or its `<name>_file` reference."""
        if name not in _SECRETS:
            raise KeyError(name)
        value: SecretStr | None = getattr(self, name)
        if value is not None:
            return value.get_secret_value()
        ref: Path | None = getattr(self, f"{name}_file")
        if ref is None:
            return None
        try:
            return ref.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                str(ref),
                [f"{name}_file: cannot read ({exc.strerror}); fix the path or permissions"],
            ) from exc

    @property
    def http_host(self) -> str:
        """Return the host part of `http`."""
        return self.http.rsplit(":", 1)[0]

    @property
    def http_port(self) -> int:
        """Return the port part of `http`."""
        return int(self.http.rsplit(":", 1)[1])


class HubSettings(HubConfig, BaseSettings):
    """The hub's settings, also read from `WATCHPOST_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="WATCHPOST_", extra="forbid")


def build_settings(config: Path | None = None, **flags: Any) -> HubSettings:
    """Merge a config file, the environment and command-line flags (None flags are ignored)."""
    values: dict[str, Any] = {}
    if config is not None:
        from_file = load_model(HubConfig, config)
        values.update(from_file.model_dump(include=from_file.model_fields_set))
        inline = [s for s in _SECRETS if s in from_file.model_fields_set]
        if inline:
            raise ConfigError(
                str(config),
                [
                    f"{s}: secrets are not allowed inline; use {s}_file or WATCHPOST_{s.upper()}"
                    for s in inline
                ],
            )
    from_env = HubSettings()
    values.update(from_env.model_dump(include=from_env.model_fields_set))
    values.update({k: v for k, v in flags.items() if v is not None})
    return HubSettings(**values)
