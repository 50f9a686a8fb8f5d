"""`screening-bot chat` as a person runs it: a real subprocess, answers piped one per line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.channels.terminal import read_action
from bot.replies import Command, Text

from .conftest import ROOT


def chat(db: Path, lines: list[str], *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCREENING_DB": str(db), "LANG": "C.UTF-8"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *extra, "chat"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


#: A person who meets every rule, answering by numbers: consent, who, age, sex, Wuhan, the health
#: consent, then the health questions.
CANDIDATE = [
    "1", "1", "40", "1", "1", "1", "9", "2", "2", "1", "2015", "1", "1, 3", "4", "8",
    "9", "7", "7", "7", "8", "1", "2", "2", "2",
]  # fmt: skip


def test_a_scripted_screening_reaches_a_likely_candidate(tmp_path: Path) -> None:
    result = chat(tmp_path / "s.db", [*CANDIDATE, "1"])
    assert result.returncode == 0, result.stderr
    assert "Please check your answers" in result.stdout
    assert "You may be a candidate" in result.stdout
    assert "Prof. Qiubai Li" in result.stdout
    assert result.stderr == ""


def test_words_and_commands_work_in_a_script(tmp_path: Path) -> None:
    lines = ["I agree", "I am answering for the patient", "abc", "back", "1", "70", "not sure", "quit"]
    result = chat(tmp_path / "s.db", lines)
    assert result.returncode == 0
    out = result.stdout
    assert out.index("How old is the patient?") < out.index("Please type a number") < out.index("How old are you?")
    assert "Goodbye" in out


def test_the_terminal_resumes_where_it_stopped(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    chat(db, ["1", "1", "40", "quit"])
    again = chat(db, ["quit"])
    assert "Welcome back" in again.stdout
    assert "What was your sex at birth?" in again.stdout


def test_declining_ends_the_chat(tmp_path: Path) -> None:
    result = chat(tmp_path / "s.db", ["2"])
    assert result.returncode == 0
    assert "We have not kept anything" in result.stdout


def test_read_action_maps_numbers_words_and_commands() -> None:
    assert read_action("quit", None) is None
    assert read_action("lang zh", None) == Command("language", "zh")
    assert read_action("BACK", None) == Command("back")
    assert read_action("35", None) == Text("35")
