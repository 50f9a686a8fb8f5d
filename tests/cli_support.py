"""Running `python -m bot.cli` as a person would; checking what a failure leaves: one line, no traceback, no change."""

from __future__ import annotations

import ctypes
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT

#: Settings a developer's shell may hold; every run starts without them.
_OURS = ("SCREENING_", "TELEGRAM_", "WEB_", "SITE_", "STAFF_", "RETAIN_")


def clean_env(**env: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    return {**environ, "LANG": "C.UTF-8", "USER": "nurse-li", **env}


def screening_bot(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, **popen: Any
) -> subprocess.CompletedProcess[str]:
    """`python -m bot.cli ARGS` in the checkout, with only the given settings."""
    popen.setdefault("capture_output", "stdout" not in popen and "stderr" not in popen)
    popen.setdefault("stdin", subprocess.DEVNULL if "input" not in popen else None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        env=clean_env(**(env or {})),
        text=True,
        timeout=timeout,
        **popen,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *words: str, status: int = 2) -> str:
    """Exit `status`, no traceback anywhere, and stderr is exactly one line `error: ...` holding `words`."""
    out, err = result.stdout or "", result.stderr or ""
    assert "Traceback" not in out and "Traceback" not in err, err
    assert result.returncode == status, f"exit {result.returncode}, stderr:\n{err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert lines[0].startswith("error: "), lines[0]
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    return lines[0]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` with its content hash (or 'folder'), to show nothing changed."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        found[name] = "folder" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _drop_root_file_powers() -> None:
    """In the child: root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH obeys file modes like anyone."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP; exec then leaves it out
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def read_only_folder(folder: Path) -> Callable[[], None] | None:
    """Make `folder` read-only for the child; returns the preexec_fn it needs (root ignores modes otherwise).

    Skips the test where this machine cannot make a folder read-only for the child."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    preexec = _drop_root_file_powers if os.geteuid() == 0 else None
    probe = subprocess.run(
        [sys.executable, "-c", f"open({str(folder / 'probe')!r}, 'w')"], preexec_fn=preexec, capture_output=True
    )
    if probe.returncode == 0:
        (folder / "probe").unlink()
        pytest.skip("this machine cannot make a folder read-only for a child process")
    return preexec


def default_sigint() -> None:
    """In the child: Ctrl-C as in a terminal, even when the test runner was started with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
