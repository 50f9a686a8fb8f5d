"""`screening-bot`: one entry point that wires settings, dialog, storage and a channel."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from .channels.web.cli import add_web_commands
from .compose import build_trials, load_dialogs
from .config import ConfigError, Settings, flag_type, load_settings
from .console import attach as attach_console
from .dialog.load import DialogError
from .errors import EXIT_BUG, EXIT_INTERRUPTED, Problem, explain, failed, incident, settle_standard_streams
from .logs import OneLineFormatter, keep_secrets_out
from .store.vault import VaultError

log = logging.getLogger("bot")


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from .channels.terminal import run_terminal

    trial = getattr(args, "trial", None) or ""
    if trial and trial not in [d.id for d in load_dialogs(settings)]:  # before the database is touched
        raise ConfigError(f"--trial {trial!r}: no such trial here; the trials are the [dialog] ids of SCREENING_DIALOG")
    return run_terminal(build_trials(settings), session=args.session, trial=trial)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.telegram_token and args.web:
        from .channels.web.cli import Workers, listening_socket, serve_web

        listening = listening_socket(settings.web_host, settings.web_port)  # before anything is written
        trials = build_trials(settings)
        print(
            "No TELEGRAM_BOT_TOKEN is set: serving the web chat only (no Telegram, no terminal chat).", file=sys.stderr
        )
        return serve_web(
            trials, settings, listening, attach_console, Workers(build_trials, attach_console, configure_logging)
        )
    if not settings.telegram_token:
        print("No TELEGRAM_BOT_TOKEN is set: starting the terminal chat instead.", file=sys.stderr)
        return cmd_chat(settings, args)
    from .channels.telegram import CHANNEL, Webhook, check_telegram, run_telegram

    settings = settings.with_overrides(
        telegram_webhook_url=args.webhook, telegram_webhook_listen=args.listen, telegram_webhook_port=args.port
    )
    webhook = None
    if settings.telegram_webhook_url:
        webhook = Webhook(
            settings.telegram_webhook_url, settings.telegram_webhook_listen, settings.telegram_webhook_port
        )
    check_telegram(settings)  # the token, then Telegram's answer to it: before anything is written
    trials = build_trials(settings, reminding_channels=(CHANNEL,))  # Telegram can send a reminder unasked
    beside: list[Any] = []
    if args.web:  # the web app also serves the staff console and sends the notifications (bot/console)
        from .channels.web.cli import embedded_web

        beside.append(embedded_web(trials, settings, attach_console))
    else:
        from .notify.notifier import notifier_for

        notifier = notifier_for(trials, settings)
        if notifier is not None:
            beside.append(notifier)
    return run_telegram(trials, settings, webhook, beside)


def cmd_check_dialog(settings: Settings, args: argparse.Namespace) -> int:
    """Every dialog file configured (each trial), checked, and one to another (their ids differ)."""
    for dialog in load_dialogs(settings):
        path = dialog.source_path
        print(f"{path}: dialog {dialog.id} version {dialog.version}: {len(dialog.questions)} questions, OK")
    return 0


def cmd_export_script(settings: Settings, args: argparse.Namespace) -> int:
    """The ethics pack of each dialog file (each trial has its own); `--dialog FILE` for one."""
    from .ethics.export import export_script

    status = 0
    for path in settings.dialog_files():
        one = settings.with_overrides(dialog_paths=(path,))
        status = max(status, export_script(one, out=args.out, diff=args.diff, draw_flow=not args.no_flow))
    return status


def cmd_check_launch(settings: Settings, args: argparse.Namespace) -> int:
    from .launch import check_launch, report

    return report(check_launch(settings))


class Parser(argparse.ArgumentParser):
    """screening-bot's parser: the global options work before or after any subcommand's name.

    argparse builds every subcommand's parser (at every level) with the class of the parser
    above it, so each one gets them. Their default is "not given" (SUPPRESS), so a value given
    after the subcommand wins over one before it, and one given nowhere leaves the setting alone.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        group = self.add_argument_group("global options (before or after the command)")
        group.add_argument(
            "--config", metavar="FILE", default=argparse.SUPPRESS, help="TOML config file (default: $SCREENING_CONFIG)"
        )
        group.add_argument(
            "--db",
            metavar="FILE",
            default=argparse.SUPPRESS,
            type=flag_type("db_path"),
            help="SQLite database file (default: data/screening.db in the current folder, or $SCREENING_DB)",
        )
        group.add_argument(
            "--dialog",
            metavar="FILE",
            default=argparse.SUPPRESS,
            type=flag_type("dialog_paths"),
            help="dialog file, or several separated by commas, or a folder of them: one per trial, the first the "
            "default (default: the one that ships, or $SCREENING_DIALOG)",
        )


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings (defaults, config file, environment), then the global options given on the command line."""
    settings = load_settings(getattr(args, "config", None))
    return settings.with_overrides(db_path=getattr(args, "db", None), dialog_paths=getattr(args, "dialog", None))


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="screening-bot", description="Self-screening chat for the NCT06349343 lupus CAR-T study.")
    sub = p.add_subparsers(dest="command")
    chat = sub.add_parser("chat", help="screen in this terminal (answers may be piped, one per line)")
    chat.add_argument("--session", default="local", help="name of the terminal conversation to resume (default: local)")
    chat.add_argument(
        "--trial", metavar="DIALOG_ID", help="with several trials: the one to screen for (default: the chat asks)"
    )
    chat.set_defaults(func=cmd_chat)
    run = sub.add_parser("run", help="run the bot: Telegram when a token is set, else the terminal chat")
    run.add_argument("--session", default="local", help=argparse.SUPPRESS)
    run.add_argument(
        "--webhook",
        metavar="URL",
        type=flag_type("telegram_webhook_url"),
        help="Telegram: receive updates at this public https URL, not polling",
    )
    run.add_argument(
        "--listen",
        type=flag_type("telegram_webhook_listen"),
        help="Telegram webhook: address to listen on (default 127.0.0.1)",
    )
    run.add_argument(
        "--port", type=flag_type("telegram_webhook_port"), help="Telegram webhook: port to listen on (default 8443)"
    )
    run.add_argument(
        "--web",
        action="store_true",
        help="also serve the web chat in the same process (address from WEB_HOST / WEB_PORT); "
        "without a Telegram token, only the web chat",
    )
    run.set_defaults(func=cmd_run)
    check = sub.add_parser("check-dialog", help="validate the dialog file and exit")
    check.set_defaults(func=cmd_check_dialog)
    launch = sub.add_parser(
        "check-launch", help="list what the site must still confirm before going live (exit 1 while anything is open)"
    )
    launch.set_defaults(func=cmd_check_launch)
    export = sub.add_parser("export-script", help="write the ethics-committee pack (HTML and Markdown) of the dialog")
    export.add_argument("--out", default=".", help="folder to write into (default: the current folder)")
    export.add_argument("--diff", metavar="OLD_VERSION", help="also list what changed since this stored version")
    export.add_argument("--no-flow", action="store_true", help="leave out the flow picture (no Graphviz needed)")
    export.set_defaults(func=cmd_export_script)
    from .staff import register as register_staff_commands

    register_staff_commands(sub)
    add_web_commands(sub, build_trials, attach_console, configure_logging)
    from .console.cli import register as register_console_commands

    register_console_commands(sub)
    return p


def configure_logging(settings: Settings) -> None:
    """One line per event on stderr, never a secret in it: in `main`, and in each web worker process."""
    keep_secrets_out(settings.telegram_token, settings.screening_key, settings.web_secret, *settings.notify_urls)
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter())
    logging.basicConfig(level=settings.log_level, handlers=[handler])
    logging.getLogger("transitions").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Whatever goes wrong ends in one line on stderr, never a traceback (bot/errors.py)."""
    closed = settle_standard_streams()
    args = parser().parse_args(argv)
    if not getattr(args, "func", None):
        args = parser().parse_args([*(argv or sys.argv[1:]), "run"])
    settings: Settings | None = None
    try:
        if "stdout" in closed:
            raise Problem(
                "standard output is closed, so what this command prints would be lost. "
                "Run it with standard output open (redirect it to a file, or to /dev/null if you do not need it)."
            )
        settings = settings_from(args)
        configure_logging(settings)
        status = args.func(settings, args)
        sys.stdout.flush()  # a closed pipe (`| head`) shows here, while it can still be explained
        return status
    except (ConfigError, DialogError, VaultError, Problem) as exc:
        return failed(str(exc))
    except KeyboardInterrupt:
        return failed("stopped (Ctrl-C).", EXIT_INTERRUPTED, prefix="")
    except SystemExit:
        raise
    except BaseException as exc:  # the last resort: a known failure of the environment, else a bug
        if isinstance(exc, BrokenPipeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second failure at exit
        message = explain(exc, settings.db_path if settings else None)
        return failed(message) if message else failed(incident(exc), EXIT_BUG)


if __name__ == "__main__":
    sys.exit(main())
