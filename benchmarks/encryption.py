"""What encrypting the whole database (SQLCipher) costs one screening step, and a start.

    .venv/bin/python benchmarks/encryption.py          # about 30 s

The same code, the same disk, two database files: one unencrypted (no key), one encrypted as
`screening-bot` opens it. For each, 200 people go through a complete screening in turn, every
step one `ScreeningService.handle` (one unit of work) with its SQLite commit (`synchronous=FULL`, as the
web and terminal channels run), each timed alone; then the file is opened again as at a start
(`PRAGMA quick_check`, migrations). The two are run alternately, three rounds, medians kept.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench import action_of, screening_script  # noqa: E402

from bot.config import shipped  # noqa: E402
from bot.dialog.load import load_dialog  # noqa: E402
from bot.screening import Key, ScreeningService  # noqa: E402
from bot.store import open_database  # noqa: E402
from bot.store.storage import Storage  # noqa: E402
from bot.store.vault import open_protected, open_vault  # noqa: E402

PEOPLE = 200
ROUNDS = 3


def screener_for(folder: Path, encrypted: bool) -> ScreeningService:
    dialog = load_dialog(shipped("dialogs") / "nct06349343.toml")
    path = folder / "screening.db"
    if encrypted:
        db, vault = open_protected(path, "", folder / "keys" / "screening.key")
    else:
        db = open_database(path)
        vault = open_vault(db, "", folder / "plain.key")
    return ScreeningService(dialog, Storage(db, dialog, vault), shipped("locales"), reminding_channels=("telegram",))


def one_round(encrypted: bool, people: int = PEOPLE) -> tuple[float, float, int, float]:
    """(median µs per step, ms to open the filled file again, file size, median CPU µs per step)."""
    with tempfile.TemporaryDirectory(prefix="bench-encryption-") as folder:
        screener = screener_for(Path(folder), encrypted)
        texts, _questions = screening_script(screener)
        steps, cpu = [], []
        for person in range(people):
            for text in texts:
                began, began_cpu = time.perf_counter(), time.thread_time()
                screener.handle(Key("telegram", f"p{person}"), action_of(text))
                cpu.append(time.thread_time() - began_cpu)
                steps.append(time.perf_counter() - began)
        screener.storage.db.close()
        began = time.perf_counter()
        again = screener_for(Path(folder), encrypted)
        opening = time.perf_counter() - began
        size = (Path(folder) / "screening.db").stat().st_size
        again.storage.db.close()
    return statistics.median(steps) * 1e6, opening * 1e3, size, statistics.median(cpu) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=PEOPLE, help=f"screenings per round (default {PEOPLE})")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"rounds (default {ROUNDS})")
    args = parser.parse_args()
    results: dict[bool, list[tuple[float, float, int, float]]] = {False: [], True: []}
    for _ in range(args.rounds):
        for encrypted in (False, True):
            results[encrypted].append(one_round(encrypted, args.people))
    plain, secret = results[False], results[True]

    def median(rows: list[tuple[float, float, int, float]], i: int) -> float:
        return statistics.median(r[i] for r in rows)

    print(f"{args.people} complete screenings per round, {args.rounds} rounds, medians")
    print(f"{'':32}{'unencrypted':>14}{'SQLCipher':>14}{'cost':>10}")
    step_plain, step_secret = median(plain, 0), median(secret, 0)
    cpu_plain, cpu_secret = median(plain, 3), median(secret, 3)
    open_plain, open_secret = median(plain, 1), median(secret, 1)
    print(f"{'µs per screening step':32}{step_plain:14.0f}{step_secret:14.0f}{step_secret / step_plain:9.2f}×")
    print(f"{'CPU µs per screening step':32}{cpu_plain:14.0f}{cpu_secret:14.0f}{cpu_secret / cpu_plain:9.2f}×")
    print(f"{'ms to open (quick_check ...)':32}{open_plain:14.1f}{open_secret:14.1f}{open_secret / open_plain:9.2f}×")
    print(f"{'file size KiB':32}{median(plain, 2) / 1024:14.0f}{median(secret, 2) / 1024:14.0f}")


if __name__ == "__main__":
    main()
