"""Spoken prompts: rendered once with the real espeak-ng, played by a real process when the
feedback changes, in zh-CN then English; the agent speaks "failed, please phone" too."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edge.feedback import Feedback
from edge.voice import PROMPTS, Speaker, prompt_file, render_prompts
from protocol.device_config import SpeakerConfig
from tests.edge.conftest import dead_url, device_config, running, until


@pytest.fixture(scope="module")
def prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("prompts")
    render_prompts(folder)
    return folder


def seconds(path: Path) -> float:
    """Return the length of a WAV file as sox measures it."""
    out = subprocess.run(
        ["sox", "--i", "-D", str(path)], check=True, capture_output=True, text=True
    )
    return float(out.stdout)


def test_every_prompt_is_rendered_in_both_languages(prompts: Path) -> None:
    for state in PROMPTS:
        for lang in ("zh", "en"):
            assert seconds(prompt_file(prompts, state, lang)) > 0.5, (state, lang)
    assert seconds(prompt_file(prompts, "failed", "en")) > 2.0  # a whole sentence


def recorder(tmp_path: Path) -> list[str]:
    """A player that appends the names of the files it was given to a log, then exits."""
    log = tmp_path / "played.log"
    return ["sh", "-c", f'for f in "$@"; do basename "$f" >> {log}; done', "player"]


def test_a_feedback_change_is_spoken_zh_then_en(prompts: Path, tmp_path: Path) -> None:
    speaker = Speaker(SpeakerConfig(prompts_dir=str(prompts), player=recorder(tmp_path)))
    feedback = Feedback("d1", speaker=speaker)
    feedback.show("received")
    assert speaker.wait(10) == 0
    feedback.show("received")  # no change: not repeated
    feedback.show("idle")  # no prompt for idle
    assert (tmp_path / "played.log").read_text().split() == ["received.zh.wav", "received.en.wav"]
    assert speaker.played == ["received"]


def test_missing_prompts_leave_the_device_silent_not_broken(tmp_path: Path) -> None:
    speaker = Speaker(SpeakerConfig(prompts_dir=str(tmp_path / "none"), player=["true"]))
    feedback = Feedback("d1", speaker=speaker)
    feedback.show("failed")
    assert feedback.state == "failed" and speaker.played == []


async def test_the_agent_says_failed_when_the_hub_does_not_confirm(
    prompts: Path, tmp_path: Path
) -> None:
    config = device_config(
        tmp_path,
        "s1",
        dead_url(),
        timing={"confirm_s": 1.0},
        outputs={
            "speaker": {
                "prompts_dir": str(prompts),
                "player": recorder(tmp_path),
                "languages": ["en"],
            }
        },
    )
    async with running(config, shutdown_timeout=0.2) as run:
        run.pin(17).drive_low()
        await until(lambda: run.agent.indicate_state == "failed", what="failed")
        log = tmp_path / "played.log"
        await until(lambda: log.exists() and "failed.en.wav" in log.read_text(), what="spoken")
