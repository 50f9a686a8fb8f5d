"""The bot installed as the README installs it (`pip install .`, not editable), run from another folder.

The dialog file and the catalogs live at the top of the checkout and ship inside the wheel
(pyproject.toml maps them to bot/shipped/); `bot.config.shipped` finds them either way, never
through the working directory. Offline and quick: the wheel is built with this environment's
setuptools and installed, without dependencies, into a fresh venv that borrows this
environment's libraries through a .pth file (the README's command takes them from the lock).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import shipped

from .conftest import ROOT

#: What `pip install .` needs from the checkout; anything else the package reads would be missing.
SOURCES = ["pyproject.toml", "README.md", "bot", "dialogs", "locales"]


def run(*args: str | Path, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SCREENING_", "TELEGRAM_", "PYTHON"))}
    done = subprocess.run(
        [str(a) for a in args], input=stdin, capture_output=True, text=True, cwd=cwd, env=environ, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the bot installed from a wheel built from a copy of the checkout; its bin folder."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if name == "bot" else {}))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", base / "dist", source, cwd=base)
    (wheel,) = (base / "dist").glob("*.whl")
    venv = base / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=base)
    run(*pip, "--python", venv / "bin" / "python", "install", "--no-deps", "--no-index", wheel, cwd=base)
    site = Path(
        run(
            venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=base
        ).stdout.strip()
    )
    (site / "libraries-of-the-test-environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    shutil.rmtree(source)  # nothing may still come from the checkout
    return venv / "bin"


def test_the_wheel_carries_the_dialog_and_the_catalogs(installed: Path, tmp_path: Path) -> None:
    where = run(
        installed / "python",
        "-c",
        "import bot.config as c; print(c.shipped('dialogs')); print(c.shipped('locales'))",
        cwd=tmp_path,
    )
    dialogs, locales = (Path(line) for line in where.stdout.split())
    assert dialogs.parent == locales.parent and dialogs.parent.parent.parent.name == "site-packages"
    assert (dialogs / "nct06349343.toml").is_file()
    assert {p.parent.parent.name for p in locales.glob("*/LC_MESSAGES/messages.po")} == {"zh_Hans", "zh_Hant"}


def test_check_dialog_and_a_piped_chat_from_another_folder(installed: Path, tmp_path: Path) -> None:
    checked = run(installed / "screening-bot", "check-dialog", cwd=tmp_path)
    assert "dialog nct06349343 version" in checked.stdout and checked.stdout.rstrip().endswith("OK")
    chat = run(installed / "screening-bot", "chat", stdin="1\n1\n40\n1\n1\n1\n", cwd=tmp_path)
    assert "Question 4 of" in chat.stdout and "Goodbye." in chat.stdout
    assert (tmp_path / "data" / "screening.db").is_file()  # the database stays under the working directory
    chinese = run(installed / "screening-bot", "chat", "--session", "zh", stdin="lang zh\n", cwd=tmp_path)
    assert "同意" in chinese.stdout  # the catalogs came along


def test_in_a_checkout_the_folders_at_the_top_are_used() -> None:
    assert shipped("dialogs") == ROOT / "dialogs" and shipped("locales") == ROOT / "locales"


def test_pyproject_lists_every_package_and_maps_the_data_folders() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "bot").rglob("__init__.py")}
    assert set(config["packages"]) == on_disk | {"bot.shipped.dialogs", "bot.shipped.locales"}
    assert config["package-dir"] == {"bot.shipped.dialogs": "dialogs", "bot.shipped.locales": "locales"}


@pytest.mark.parametrize("command", [["chat"], ["check-dialog"], ["run", "--web"], ["export-script", "--no-flow"]])
def test_a_missing_locales_folder_is_a_clear_error(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("SCREENING_LOCALES", str(tmp_path / "locales"))
    if command == ["check-dialog"]:
        assert main(command) == 0  # it reads only the dialog file
        return
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {tmp_path / 'locales'}: the translations folder does not exist (it should hold "
        "zh_Hans/LC_MESSAGES/messages.po); set SCREENING_LOCALES (config file: screening_locales) to the "
        "locales folder, or leave it unset for the one that ships\n"
    )
    assert list(tmp_path.iterdir()) == []  # stopped before the database was made


def test_a_locales_folder_without_catalogs_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "locales").mkdir()
    monkeypatch.setenv("SCREENING_LOCALES", str(tmp_path / "locales"))
    assert main(["--db", str(tmp_path / "screening.db"), "chat"]) == 2
    assert "the translations folder has no translation catalogs" in capsys.readouterr().err
    assert not (tmp_path / "screening.db").exists()


def test_a_language_setting_without_a_catalog_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCREENING_LANGUAGE", "fr")
    assert main(["--db", str(tmp_path / "screening.db"), "chat"]) == 2
    err = capsys.readouterr().err
    assert "SCREENING_LANGUAGE (config file: screening_language) is 'fr', a language with no catalog" in err
    assert "use one of en, zh_Hans, zh_Hant" in err and not (tmp_path / "screening.db").exists()
