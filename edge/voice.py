"""Spoken prompts: the feedback states said aloud in zh-CN and English.

`render_prompts(folder)` renders one WAV per state and language once, with espeak-ng (on the
installer's machine or the Pi); `Speaker` plays the files of a state with the configured
player (`aplay -q` by default) when the LED/buzzer pattern changes. A new state cuts off a
prompt still playing. A missing file or player is logged once and the device stays silent:
the LED and buzzer never depend on the speaker.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from protocol.device_config import SpeakerConfig

log = logging.getLogger(__name__)

PROMPTS: dict[str, tuple[str, str]] = {
    "sent": (
        "求助已发出，正在等待中心确认。",
        "Your call for help has been sent. Waiting for the centre.",
    ),
    "received": ("中心已收到求助，正在安排人员。", "The centre has your call. Finding help now."),
    "acknowledged": ("已有人响应，救助人员正在路上。", "Help is coming."),
    "on_scene": ("救助人员已到达。", "Help has arrived."),
    "failed": (
        "求助未能确认送达，请马上打电话求助。",
        "Your call could not be confirmed. Please phone for help now.",
    ),
    "cancel_window": (
        "检测到跌倒。如果您没事，请按取消键。",
        "A fall was detected. If you are fine, press the cancel button.",
    ),
    "cancelled": ("求助已取消。", "Call cancelled."),
    "checked_in": ("已签到，谢谢。", "Checked in. Thank you."),
}
VOICES = {"zh": "cmn", "en": "en-us"}


def prompt_file(folder: Path, state: str, lang: str) -> Path:
    """Return where the prompt of `state` in `lang` lives."""
    return folder / f"{state}.{lang}.wav"


def render_prompts(folder: Path, espeak: str = "espeak-ng") -> list[Path]:
    """Render every prompt in both languages into `folder`; raise OSError if espeak-ng fails."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for state, texts in PROMPTS.items():
        for lang, text in zip(("zh", "en"), texts, strict=True):
            path = prompt_file(folder, state, lang)
            try:
                subprocess.run(
                    [espeak, "-v", VOICES[lang], "-s", "140", "-w", str(path), text],
                    check=True,
                    capture_output=True,
                    timeout=60,
                )
            except (subprocess.SubprocessError, FileNotFoundError) as exc:
                raise OSError(f"{espeak} could not render {path.name}: {exc}") from exc
            out.append(path)
    return out


class Speaker:
    """Play the prompt of a feedback state; one prompt at a time."""

    def __init__(self, config: SpeakerConfig) -> None:
        self.config = config
        self._folder = Path(config.prompts_dir)
        self._playing: subprocess.Popen[bytes] | None = None
        self._warned: set[str] = set()
        self.played: list[str] = []

    def say(self, state: str) -> None:
        """Start saying `state` (if it has a prompt), cutting off the one still playing."""
        if state not in PROMPTS:
            return
        files = [prompt_file(self._folder, state, lang) for lang in self.config.languages]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            self._warn(
                f"missing:{state}",
                "speaker: prompt file(s) %s missing in %s",
                missing,
                self._folder,
            )
            return
        self.stop()
        try:
            self._playing = subprocess.Popen(
                [*self.config.player, *map(str, files)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            self._warn("player", "speaker: cannot run the prompt player: %s", exc)
            return
        self.played.append(state)

    def wait(self, timeout: float) -> int | None:
        """Wait for the prompt playing now to end; return its exit code (None if none)."""
        if self._playing is None:
            return None
        return self._playing.wait(timeout)

    def stop(self) -> None:
        """Stop the prompt still playing, if any."""
        playing, self._playing = self._playing, None
        if playing is not None and playing.poll() is None:
            playing.terminate()
            try:
                playing.wait(1.0)
            except subprocess.TimeoutExpired:
                playing.kill()
                playing.wait()

    def _warn(self, key: str, msg: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)
