"""The global options (--config, --db, --dialog) before or after every subcommand, as the README lists them."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from bot.cli import main, parser, settings_from
from bot.config import Settings

from .conftest import DIALOG_PATH, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Sample values for the README's placeholders, so each command line parses.
PLACEHOLDERS = {
    "ID": "L-0001",
    "OTHER": "L-0002",
    "STATUS": "contacted",
    "NAME": "poster-wuhan",
    "ROLE": "viewer",
    "BACKUP_FILE": "screening-20261125T023000Z.db",
}
GLOBAL_OPTIONS = {"--config": "config", "--db": "db", "--dialog": "dialog"}


def readme_commands() -> list[list[str]]:
    """Each `screening-bot ...` row of the README's command table, without its optional parts."""
    rows = re.findall(r"^\| `screening-bot ([^`]+)` \|", README, flags=re.M)
    commands = []
    for syntax in rows:
        required = re.sub(r"\[[^\]]*\]", " ", syntax.replace("\\|", "|"))
        commands.append([PLACEHOLDERS.get(word, word) for word in required.split()])
    return commands


def subcommands(*path: str) -> list[str]:
    """The subcommands `screening-bot PATH --help` offers (read from the help, as a person would)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        parser().parse_args([*path, "--help"])
    found = re.search(r"\{([a-z,-]+)\}\s+\.\.\.", out.getvalue())  # a subcommand group: usage ends "{a,b} ..."
    return found.group(1).split(",") if found else []


def command_paths(*path: str) -> set[tuple[str, ...]]:
    names = subcommands(*path)
    if not names:
        return {path}
    return set().union(*(command_paths(*path, name) for name in names))


def test_the_readme_lists_every_command() -> None:
    listed = {
        tuple(w for w in c if not w.startswith("-") and w not in PLACEHOLDERS.values()) for c in readme_commands()
    }
    assert listed == command_paths()
    assert len(listed) == 26


@pytest.mark.parametrize("command", readme_commands(), ids=" ".join)
@pytest.mark.parametrize("option", sorted(GLOBAL_OPTIONS))
def test_a_global_option_works_before_or_after_the_command_and_the_later_one_wins(
    command: list[str], option: str
) -> None:
    dest = GLOBAL_OPTIONS[option]
    value = {"--config": lambda text: text, "--db": Path, "--dialog": lambda text: (Path(text),)}[option]
    assert getattr(parser().parse_args([option, "before", *command]), dest) == value("before")
    assert getattr(parser().parse_args([*command, option, "after"]), dest) == value("after")
    assert getattr(parser().parse_args([option, "before", *command, option, "after"]), dest) == value("after")
    assert not hasattr(parser().parse_args(command), dest)  # given nowhere: the setting keeps its value
    if len(command) > 1 and command[0] == "leads":  # between the group and its subcommand too
        assert getattr(parser().parse_args([command[0], option, "middle", *command[1:]]), dest) == value("middle")


def test_options_given_nowhere_keep_the_environment_and_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SCREENING_DB", "SCREENING_DIALOG", "SCREENING_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    settings = settings_from(parser().parse_args(["stats"]))
    assert (settings.db_path, settings.dialog_paths) == (Settings().db_path, Settings().dialog_paths)
    monkeypatch.setenv("SCREENING_DB", "/srv/from-env.db")
    assert settings_from(parser().parse_args(["stats"])).db_path == Path("/srv/from-env.db")
    assert settings_from(parser().parse_args(["stats", "--db", "/srv/flag.db"])).db_path == Path("/srv/flag.db")


def test_a_config_file_after_the_command_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy.toml"
    copy.write_text(DIALOG_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    config = tmp_path / "screening.toml"
    config.write_text(f'screening_dialog = "{copy}"\n', encoding="utf-8")
    assert main(["check-dialog", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith(f"{copy}: dialog nct06349343")


def test_stats_reads_the_same_database_with_db_before_or_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "screening.db"
    assert main(["stats", "--db", str(db), "--create"]) == 0
    after = capsys.readouterr().out
    assert main(["--db", str(db), "stats"]) == 0
    assert capsys.readouterr().out == after and "Screening funnel" in after
