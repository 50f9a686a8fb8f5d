"""The README, true line by line: every command in its ```sh blocks is run here (or, where it cannot
be, checked as far as it can be, saying why), and so is its config-file example.

`CHECKS` lists every command exactly as the README prints it; the first test fails when a
block gains a command that is not listed, so nothing new goes in untested. Commands run in a
fresh folder whose `.venv` is this test environment, so `data/`, `docs/` and `locales/` of
the checkout are never touched.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bot.config import SETTINGS, config_key, load_settings
from bot.dialog.load import load_dialog
from bot.store import open_database
from bot.store.dialog_versions import DialogVersions

from .conftest import DIALOG_PATH, ROOT
from .fake_bot_api import FakeBotApi
from .test_settings import GOOD

README = (ROOT / "README.md").read_text(encoding="utf-8")
VENV = Path(sys.prefix)


def readme_blocks(language: str) -> list[str]:
    return [m.group(2) for m in re.finditer(rf"^( *)```{language}\n(.*?)^\1```", README, flags=re.S | re.M)]


def readme_commands() -> list[str]:
    """Each command of the ```sh blocks: continuation lines joined, comments dropped."""
    commands = []
    for block in readme_blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(" ".join(line.split()))
    return commands


def workdir(tmp_path: Path) -> Path:
    """A fresh folder with `.venv` (this environment), as after the README's install."""
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(VENV)
    return work


def environment(**more: str) -> dict[str, str]:
    setting_names = {f.metadata["env"] for f in SETTINGS.values()} | {"SCREENING_CONFIG"}
    return {**{k: v for k, v in os.environ.items() if k not in setting_names}, "LANG": "C.UTF-8", **more}


def sh(command: str, cwd: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", "-c", command],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment(**env),
        timeout=300,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------- the checks, one per command


def install_and_run(command: str, tmp_path: Path) -> None:
    """The install itself is tests/test_install.py (a wheel into a fresh venv, offline, run from another
    folder); here: it installs from the lock with hashes, and its last step starts the terminal chat
    with the database in data/ under the working directory, as the text below it says."""
    assert (
        "--require-hashes -r requirements.txt" in command
        and "--hash=sha256:" in (ROOT / "requirements.txt").read_text()
    )
    work = workdir(tmp_path)
    run = command.rsplit(" && ", 1)[1]
    done = sh(run, work, stdin="quit\n")
    assert "No TELEGRAM_BOT_TOKEN is set: starting the terminal chat" in done.stderr
    assert "Telegram" in done.stdout and (work / "data" / "screening.db").is_file()


def telegram_run(command: str, tmp_path: Path) -> None:
    """Started against the fake Bot API (the token swapped for its own), stopped once it polls."""
    import asyncio

    async def start_and_stop() -> None:
        api = FakeBotApi()
        await api.start()
        work = workdir(tmp_path)
        swapped = command.replace("'123456:ABC...'", shlex.quote(api.token))
        assert swapped != command
        proc = subprocess.Popen(
            ["bash", "-c", swapped],  # one simple command: bash execs it, so terminate() reaches the bot
            cwd=work,
            env=environment(TELEGRAM_API_BASE_URL=api.base_url, TELEGRAM_REMINDER_HOURS="0"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            await api.wait_for(lambda: api.calls_to("getUpdates") or proc.poll() is not None, timeout=60)
            assert api.calls_to("getMe") and api.calls_to("getUpdates"), "the bot stopped before it polled"
        finally:
            proc.terminate()
            # in a thread: the fake API lives in this event loop and must answer the bot's last calls
            _out, err = await asyncio.to_thread(proc.communicate, timeout=30)
            await api.stop()
        assert "Traceback" not in err and api.token not in err
        assert (work / "data" / "screening.db").is_file()

    asyncio.run(start_and_stop())


def run_by_ci(command: str, tmp_path: Path) -> None:
    """Not run from inside the tests it runs: `.ci/run` runs it word for word (checked here)."""
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def upgrade_locks(command: str, tmp_path: Path) -> None:
    """Needs the network (it installs pip-tools and asks PyPI): checked for the options it documents."""
    script = ROOT / "tools" / "upgrade-locks"
    assert os.access(script, os.X_OK)
    option = command.split()[1] if len(command.split()) > 1 else None
    if option:
        assert f'"{option}"' in script.read_text(encoding="utf-8")


def benchmark(command: str, tmp_path: Path) -> None:
    """About 3 minutes: checked with --help (it must know --quick, which the README offers)."""
    work = workdir(tmp_path)
    (work / "benchmarks").symlink_to(ROOT / "benchmarks")
    done = sh(f"{command} --help", work)
    assert "--quick" in done.stdout


def web_benchmark(command: str, tmp_path: Path) -> None:
    """About 2 minutes: checked with --help (it must know --quick and --workers, which the README offers)."""
    work = workdir(tmp_path)
    (work / "benchmarks").symlink_to(ROOT / "benchmarks")
    done = sh(f"{command} --help", work)
    assert "--quick" in done.stdout and "--workers" in done.stdout


def encryption_cost(command: str, tmp_path: Path) -> None:
    """About 30 s as written: run here with two people and one round, which prints the same table."""
    done = sh(f"{command} --people 2 --rounds 1", ROOT)
    assert "µs per screening step" in done.stdout and "SQLCipher" in done.stdout


def questions_to_outcome(command: str, tmp_path: Path) -> None:
    """A few seconds: run as written, from the checkout (it drives the real Screener on a throwaway database)."""
    done = sh(command, ROOT)
    assert "likely_candidate" in done.stdout and "Named people" in done.stdout


def piped_chat(command: str, tmp_path: Path) -> None:
    work = workdir(tmp_path)
    done = sh(command, work)
    assert "Question 4 of" in done.stdout and "Goodbye." in done.stdout
    assert (work / "data" / "screening.db").is_file()


def rotate_key(command: str, tmp_path: Path) -> None:
    work = workdir(tmp_path)
    sh(".venv/bin/screening-bot chat", work, stdin="quit\n")  # a database, as after the first run
    key = Path(os.environ["XDG_CONFIG_HOME"]) / "screening-bot" / "screening.key"  # outside data/
    before = key.read_text()
    done = sh(command, work)
    assert "re-encrypted with a new key" in done.stderr and key.read_text() != before


def backup_and_restore(command: str, tmp_path: Path) -> None:
    """The backup folder of the README is another disk; here a folder beside the work folder."""
    work = workdir(tmp_path)
    sh(".venv/bin/screening-bot chat", work, stdin="1\n1\n40\nquit\n")  # a database with answers
    folder = tmp_path / "backup-disk"
    made = sh(
        ".venv/bin/screening-bot backup --out /mnt/backup/screening".replace("/mnt/backup/screening", str(folder)), work
    )
    backup = Path(made.stdout.strip())
    assert backup.parent == folder and backup.name.startswith("screening-") and backup.name.endswith("Z.db")
    if "restore" in command:
        shown = command.split()[-1]
        done = sh(command.replace(shown, str(backup)), work, stdin="yes\n")
        assert "Restored data/screening.db" in done.stdout, done.stdout + done.stderr


def web(command: str, tmp_path: Path) -> None:
    """A server: started on a free port (8080 may be taken on a shared machine), fetched once, stopped.

    Behind a named proxy (WEB_FORWARDED_ALLOW_IPS) or with several workers, the same."""
    work = workdir(tmp_path)
    port = free_port()
    at_port = command.replace("--port 8080", f"--port {port}") if "--port" in command else f"{command} --port {port}"
    proc = subprocess.Popen(
        ["bash", "-c", re.sub(r"^((?:\w+=\S+ )*)", r"\1exec ", at_port)],  # settings before `exec`
        cwd=work,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stderr:  # type: ignore[union-attr]
            if "Web chat on http:" in line:  # printed once its port is taken: connections queue from then on
                break
        assert ("(2 worker processes)" in line) == ("--workers 2" in command)
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10, headers={"X-Forwarded-For": "198.51.100.7"})
        assert page.status_code == 200 and "Telegram" in page.text
        console = httpx.get(f"http://127.0.0.1:{port}/staff/login", timeout=10)
        assert console.status_code == 200 and "Sign in" in console.text, "the study team's console, same server"
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGTERM) and "Traceback" not in err


def staff_add(command: str, tmp_path: Path) -> None:
    """The first admin, on the database the web chat made; the first password is printed once."""
    work = workdir(tmp_path)
    sh(".venv/bin/screening-bot chat", work, stdin="quit\n")  # a database, as after the first run
    done = sh(command, work)
    assert re.fullmatch(r"First password for li\.na: \S{20,}\n", done.stdout)
    assert "in person" in done.stderr


def notify_test(command: str, tmp_path: Path) -> None:
    """A test message to a group robot's webhook on 127.0.0.1 (apprise's json://, as WeCom's would be)."""
    from .fake_webhook import FakeWebhook

    work = workdir(tmp_path)
    sh(".venv/bin/screening-bot chat", work, stdin="quit\n")
    with FakeWebhook() as hook:
        done = sh(command, work, NOTIFY_URLS=hook.url)
        assert hook.wait_for(1)[0]["title"] == "Test message from the screening bot"
    assert done.stdout.strip().endswith(": sent") and "127.0.0.1" in done.stdout


def qr(command: str, tmp_path: Path) -> None:
    work = workdir(tmp_path)
    done = sh(command, work)
    for suffix in ("svg", "png"):
        assert (work / "data" / "qr" / f"poster-wuhan-web.{suffix}").is_file()
        assert f"data/qr/poster-wuhan-web.{suffix}" in done.stdout


def ethics_pack(command: str, tmp_path: Path) -> None:
    work = workdir(tmp_path)
    done = sh(command, work)
    written = {Path(line).suffix for line in done.stdout.split()}
    assert written == {".html", ".md", ".svg"} and all((work / p).is_file() for p in done.stdout.split())


def ethics_diff(command: str, tmp_path: Path) -> None:
    """After a version bump: the database remembers the old version, 1.0.0."""
    work = workdir(tmp_path)
    text = DIALOG_PATH.read_text(encoding="utf-8")
    old = re.sub(r'(\[dialog\][^\[]*?\nversion = )"[^"]+"', r'\1"1.0.0"', text, count=1)
    assert old != text
    (work / "data").mkdir()
    (tmp_path / "old.toml").write_text(old, encoding="utf-8")
    DialogVersions(open_database(work / "data" / "screening.db")).check_and_record(load_dialog(tmp_path / "old.toml"))
    done = sh(command, work)
    markdown = next(Path(work / p) for p in done.stdout.split() if p.endswith(".md")).read_text(encoding="utf-8")
    assert "## Changes since version 1.0.0" in markdown


def launch_check(command: str, tmp_path: Path) -> None:
    """A fresh install is not ready to go live: exit 1, the open items as the README shows them, nothing made."""
    work = workdir(tmp_path)
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, cwd=work, env=environment(), timeout=300
    )
    assert done.returncode == 1, done.stdout + done.stderr
    (shown,) = [line for line in README.splitlines() if line.startswith("Not ready to go live:")]
    assert done.stdout.splitlines()[0] == shown
    assert done.stdout.count("\nOPEN  ") == done.stdout.count("      To close: ")
    assert "Traceback" not in done.stderr and not (work / "data").exists()


def translator_checkout(tmp_path: Path) -> Path:
    """A copy of what the translators' commands read and write, so the checkout's catalogs stay as they are."""
    work = workdir(tmp_path)
    for name in ("bot", "dialogs", "locales"):
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    for config in ("babel.cfg", "babel-dialog.cfg"):
        shutil.copy2(ROOT / config, work / config)
    return work


def translators(command: str, tmp_path: Path) -> None:
    """Run in a copy of the checkout; each must succeed and leave the catalogs complete."""
    work = translator_checkout(tmp_path)
    dialog_domain = "babel-dialog.cfg" in command or ("-D nct06349343" in command and "compile" not in command)
    template = work / "locales" / ("nct06349343.pot" if dialog_domain else "messages.pot")
    if "extract" in command:
        template.unlink()  # so the command must write it
    sh(command, work)
    assert template.stat().st_size > 10_000
    assert not list(work.glob("locales/*/LC_MESSAGES/*.mo"))  # step 5 compiles only to check, then removes them


def catalog_tests(command: str, tmp_path: Path) -> None:
    """The same tests run in this very suite; running them again from here would only double the time."""
    named = command.split("-q ", 1)[1].split()
    assert all((ROOT / path).is_file() for path in named)


CHECKS: dict[str, Callable[[str, Path], None]] = {
    "python3 -m venv .venv && .venv/bin/pip install -q --require-hashes -r requirements.txt && "
    ".venv/bin/pip install -q --no-deps --no-build-isolation . && .venv/bin/screening-bot run": install_and_run,
    "TELEGRAM_BOT_TOKEN='123456:ABC...' .venv/bin/screening-bot run": telegram_run,
    "python3 -m venv .venv && .venv/bin/pip install -q --require-hashes -r requirements-test.txt && "
    ".venv/bin/pip install -q --no-deps --no-build-isolation -e . && .venv/bin/python -m pytest -q": run_by_ci,
    "tools/upgrade-locks": upgrade_locks,
    "tools/upgrade-locks --sync": upgrade_locks,
    "tools/upgrade-locks --check": upgrade_locks,
    ".venv/bin/python benchmarks/bench.py": benchmark,
    ".venv/bin/python benchmarks/web.py": web_benchmark,
    ".venv/bin/python benchmarks/web.py --workers 2": web_benchmark,
    ".venv/bin/python benchmarks/questions_to_outcome.py": questions_to_outcome,
    "printf '1\\n1\\n40\\n1\\n1\\n1\\n' | .venv/bin/screening-bot chat": piped_chat,
    ".venv/bin/python benchmarks/encryption.py": encryption_cost,
    ".venv/bin/screening-bot rotate-key": rotate_key,
    ".venv/bin/screening-bot backup --out /mnt/backup/screening": backup_and_restore,
    ".venv/bin/screening-bot restore /mnt/backup/screening/screening-20261125T023000Z.db": backup_and_restore,
    ".venv/bin/screening-bot web --port 8080 --public-url https://screening.example.org": web,
    ".venv/bin/screening-bot qr --source poster-wuhan --public-url https://screening.example.org": qr,
    "WEB_FORWARDED_ALLOW_IPS=127.0.0.1 .venv/bin/screening-bot web": web,
    ".venv/bin/screening-bot web --workers 2": web,
    ".venv/bin/screening-bot staff add li.na --role admin": staff_add,
    ".venv/bin/screening-bot notify test": notify_test,
    ".venv/bin/screening-bot export-script --out docs/ethics-pack": ethics_pack,
    ".venv/bin/screening-bot export-script --diff 1.0.0": ethics_diff,
    ".venv/bin/screening-bot check-launch": launch_check,
    '.venv/bin/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --project "NCT06349343 screening bot" '
    '--copyright-holder "Union Hospital study team" -o locales/messages.pot .': translators,
    '.venv/bin/pybabel extract -F babel-dialog.cfg --no-location --sort-output --project "NCT06349343 screening bot" '
    '--copyright-holder "Union Hospital study team" -o locales/nct06349343.pot dialogs/nct06349343.toml': translators,
    ".venv/bin/pybabel update -i locales/messages.pot -d locales -l zh_Hans --no-fuzzy-matching": translators,
    ".venv/bin/pybabel update -i locales/nct06349343.pot -d locales -l zh_Hans -D nct06349343 --no-fuzzy-matching": (
        translators
    ),
    ".venv/bin/python -m bot.hant": translators,
    ".venv/bin/pybabel compile -d locales --statistics && .venv/bin/pybabel compile -d locales -D nct06349343 "
    "--statistics && rm -f locales/*/LC_MESSAGES/*.mo": translators,
    ".venv/bin/python -m pytest -q tests/test_catalogs.py tests/test_plain_words.py "
    "tests/test_chinese.py": catalog_tests,
}


def test_every_command_in_the_readme_is_checked_here() -> None:
    assert readme_commands() == list(CHECKS)


@pytest.mark.parametrize("command", list(CHECKS), ids=lambda c: c[:60])
def test_the_readme_command(command: str, tmp_path: Path) -> None:
    CHECKS[command](command, tmp_path)


def test_ci_runs_the_readme_test_command_word_for_word() -> None:
    (test_command,) = [c for c in readme_commands() if c.endswith("python -m pytest -q")]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f'check tests bash -c "{test_command}"' in ci


def test_the_config_file_example_is_read_by_the_real_command(tmp_path: Path) -> None:
    example, several, sites = readme_blocks("toml")
    trials = tmp_path / "trials.toml"
    trials.write_text(several, encoding="utf-8")
    assert load_settings(trials, environ={}).dialog_paths == (
        Path("/srv/screening/dialogs/nct06349343.toml"),
        Path("/srv/screening/knee_oa/knee_oa.toml"),
    ), "the several-trials example is read as two dialog files"
    teams = tmp_path / "teams.toml"
    teams.write_text(sites, encoding="utf-8")
    two_teams = load_settings(teams, environ={})
    assert two_teams.site_overrides("knee_oa_chengdu") == {
        "server_location": "Wuhan, China (Union Hospital data centre)",
        "phone": "+86 28 0000 0000",
        "hours": "Mon-Fri 9:00-17:00",
    }, "the other team's trial shows its own details and the shared server"
    assert two_teams.site_overrides("nct06349343")["phone"] == "+86 27 0000 0000"
    config = tmp_path / "screening.toml"
    config.write_text(example, encoding="utf-8")
    settings = load_settings(config, environ={})
    assert settings.db_path == Path("/srv/screening/screening.db") and settings.web_port == 8080
    assert settings.staff_user_ids == (11111111, 22222222) and settings.staff_notify_contact is False
    assert settings.site_response_days == 3 and settings.log_level == "WARNING"
    done = sh(f".venv/bin/screening-bot --config {config} check-dialog", workdir(tmp_path))
    assert done.stdout.rstrip().endswith("OK")


def settings_table() -> list[tuple[list[str], list[str]]]:
    """(environment variables, config-file keys) of each row of the README's settings table."""
    section = README.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \| (`[a-z_]+`(?:, `[a-z_]+`)*) \|", section, flags=re.M)
    return [(re.findall(r"`([^`]+)`", envs), re.findall(r"`([^`]+)`", keys)) for envs, keys in rows]


def test_the_settings_table_names_every_setting_by_both_names_and_a_config_file_takes_each_key(
    tmp_path: Path,
) -> None:
    pairs = [pair for envs, keys in settings_table() for pair in zip(envs, keys, strict=True)]
    by_env = {f.metadata["env"]: name for name, f in SETTINGS.items()}
    assert sorted(env for env, _key in pairs) == sorted(by_env)
    assert all(key == config_key(by_env[env]) for env, key in pairs)
    config = tmp_path / "every-key.toml"
    config.write_text("".join(f"{key} = {GOOD[by_env[env]][0]!r}\n" for env, key in pairs), encoding="utf-8")
    settings = load_settings(config, environ={})
    assert all(getattr(settings, by_env[env]) == GOOD[by_env[env]][1] for env, _key in pairs)
