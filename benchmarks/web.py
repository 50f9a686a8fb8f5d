"""The web benchmark: simulated people through complete screenings over real HTTP, beside a baseline.

    .venv/bin/python benchmarks/web.py            # the full table (about 2 minutes on 2 cores)
    .venv/bin/python benchmarks/web.py --quick    # smaller N and shorter runs, to try it out
    .venv/bin/python benchmarks/web.py --workers 2  # ours served by two uvicorn worker processes

Ours is `screening-bot web` as a site runs it, in a subprocess: a temporary encrypted
database, production durability (every answer on disk before its page is sent), the
rate limits at their defaults, uvicorn behind a trusted proxy (WEB_FORWARDED_ALLOW_IPS =
127.0.0.1, as behind nginx on the same machine). Each simulated person is an HTTP client
with its own cookies that reads the real HTML, picks the form a person would tap (every
consent agreed to, every question answered as someone every rule lets through, the
summary confirmed) and posts it; a tap is measured from the POST to the end of the page
its redirect shows, as a person waits for it.

The baseline (benchmarks/web_baseline.py) is a minimal Starlette app doing one durable
SQLite insert per form post, served the same way, driven by the same clients with the
same number of taps per screening.

Runs:
- saturated: N people at once, no pauses, each through complete screenings; each person
  has their own address (X-Forwarded-For from the trusted proxy). Three runs of each
  server, alternating ours and the baseline, medians kept: other programs share this
  machine, and its load moves both figures between runs;
- human pace (a fresh server): 50 people behind ONE address (a hospital's Wi-Fi), each tapping every 2-5 s
  (uniform). A whole screening at that pace takes about two minutes, so the run is a
  time-limited sample: every person first goes, unmeasured and quickly, to a random point
  of the screening, then everyone taps at human pace for the sample's seconds, and whoever
  finishes starts again with a new session. The load (50 / 3.5 s = about 14 taps a second)
  is that of 50 people through whole screenings; only the run is shorter.

Server CPU is the server processes' own (user + system, /proc), read before and after
each run. The client runs in this process and shares the two cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import shipped  # noqa: E402
from bot.dialog.load import load_dialog  # noqa: E402
from bot.dialog.model import CONSENT, Dialog, Question  # noqa: E402

#: (people at once in the saturated runs, screenings each, saturated runs of each server, seconds of the human-pace
#: sample). The saturated runs alternate ours and the baseline and the medians are kept: other programs share
#: this machine, and its load moves both figures.
SIZES = {"full": (50, 2, 3, 40.0), "quick": (20, 1, 1, 15.0)}
PACED_PEOPLE = 50
#: One tap every 2-5 s, uniform: a person reads the question, thinks, taps.
PACE = (2.0, 5.0)
#: Seconds a client keeps an idle connection: under uvicorn's 5 s, so no request races its closing.
KEEP_ALIVE = 4.0
TARGETS = {"ratio": 0.5, "paced_p99_ms": 100.0, "saturated_p99_ms": 500.0, "cpu_ms_per_screening": 60.0}
FORM_POST = {"Content-Type": "application/x-www-form-urlencoded"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

FORM = re.compile(r'<form method="post" action="/"[^>]*>(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


# ---------------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A server in a subprocess, and the CPU time it (with its worker processes) has used."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process and every process under it (uvicorn's workers)."""
        total = 0.0
        for pid in [self.process.pid, *_descendants(self.process.pid)]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return total

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def start(name: str, command: list[str], env: dict[str, str], port: int, log: Path) -> Server:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(name, process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} stopped at start:\n{log.read_text()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    sys.exit(f"{name} did not answer within 60 s:\n{log.read_text()}")


def start_ours(workdir: Path, workers: int) -> Server:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SCREENING_", "WEB_", "TELEGRAM_", "SITE_"))},
        "SCREENING_DB": str(workdir / "ours" / "screening.db"),
        "SCREENING_KEY_FILE": str(workdir / "keys" / "ours.key"),
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(port),
        "WEB_FORWARDED_ALLOW_IPS": "127.0.0.1",
        "WEB_WORKERS": str(workers),
    }
    command = [sys.executable, "-c", "from bot.cli import main; main()", "web"]
    return start("ours", command, env, port, workdir / "ours.log")


def start_baseline(workdir: Path) -> Server:
    port = free_port()
    command = [sys.executable, str(ROOT / "benchmarks" / "web_baseline.py"), "--port", str(port)]
    command += ["--db", str(workdir / "baseline.db")]
    return start("baseline", command, dict(os.environ), port, workdir / "baseline.log")


# ---------------------------------------------------------------------------------------------- people


def harmless(question: Question) -> str:
    """What someone every rule lets through answers (as tests/conftest.harmless_answer, by option id)."""
    if question.kind == "number":
        return "15" if question.max is not None and question.max < 40 else "40"
    if question.kind == "year":
        return "2015"
    none = question.option("none")
    if question.kind == "multi" and none and not none.rules_out:
        return "none"
    for option in question.options:
        if not (option.rules_out or option.review or option.wait or option.exclusive):
            return option.id
    raise AssertionError(f"{question.id} has no harmless answer")


def forms_of(page: str) -> list[list[tuple[str, str]]]:
    return [[(n, html.unescape(v)) for n, v in HIDDEN.findall(body)] for body in FORM.findall(page)]


def next_tap(dialog: Dialog, page: str) -> list[tuple[str, str]] | None:
    """The form fields a person who agrees to everything and meets every rule posts next; None: the end."""
    forms = forms_of(page)
    for fields in forms:
        values = dict(fields)
        question = values.get("question", "")
        if not question:
            continue
        if question == CONSENT or dialog.separate_consent(question) is not None:
            if values.get("option") == "agree":
                return fields
            continue
        if not dialog.has_question(question):
            return None  # after the outcome: the contact questions
        q = dialog.question(question)
        answer = harmless(q)
        if q.kind in ("number", "year") and values.get("kind") == "text":
            return [*fields, ("text", answer)]
        if q.kind == "multi" and values.get("kind") == "many":
            return [*fields, ("option", answer)]
        if values.get("option") == answer:
            return fields
    for fields in forms:
        if ("name", "confirm") in fields:
            return fields
    return None


@dataclass
class Tally:
    taps: list[float] = field(default_factory=list)
    first_pages: list[float] = field(default_factory=list)
    screenings: int = 0
    posts: int = 0
    limited: int = 0
    errors: list[str] = field(default_factory=list)


class Person:
    """One browser: its own cookies, one address (sent as X-Forwarded-For through the trusted proxy)."""

    def __init__(self, server: Server, address: str, baseline_taps: int = 0, dialog: Dialog | None = None) -> None:
        self.client = httpx.AsyncClient(
            base_url=server.url,
            headers={"X-Forwarded-For": address, "Accept-Language": "en"},
            timeout=60,
            # as a browser, never reuse a connection the server may be closing: uvicorn closes them after 5 s idle
            limits=httpx.Limits(keepalive_expiry=KEEP_ALIVE),
        )
        self.baseline_taps = baseline_taps
        self.dialog = dialog
        self.page = ""
        self.taps = 0

    async def close(self) -> None:
        await self.client.aclose()

    async def begin(self, tally: Tally, measured: bool = True) -> None:
        """A new session: the first page (what a poster's QR code opens)."""
        self.client.cookies.clear()
        self.taps = 0
        started = time.perf_counter()
        response = await self.client.get("/")
        if measured:
            tally.first_pages.append(time.perf_counter() - started)
        self.page = response.text

    def next_fields(self) -> list[tuple[str, str]] | None:
        if self.dialog is None:  # the baseline: the same number of taps as our screening
            if self.taps >= self.baseline_taps:
                return None
            return [("question", f"q{self.taps + 1}"), ("answer", "40")]
        return next_tap(self.dialog, self.page)

    async def tap(self, tally: Tally, fields: list[tuple[str, str]], measured: bool = True) -> None:
        """One tap: the form post and the page its redirect shows."""
        started = time.perf_counter()
        response = await self.client.post("/", content=urlencode(fields), headers=FORM_POST)
        if response.status_code == 303:
            response = await self.client.get(response.headers["location"])
        elapsed = time.perf_counter() - started
        tally.posts += 1
        if response.status_code == 429:
            tally.limited += 1
        elif response.status_code != 200:
            tally.errors.append(f"{response.status_code} after posting {dict(fields)}")
        if measured:
            tally.taps.append(elapsed)
        self.taps += 1
        self.page = response.text

    async def screening(self, tally: Tally) -> None:
        await self.begin(tally)
        while (fields := self.next_fields()) is not None:
            await self.tap(tally, fields)
            if self.taps > 200:
                raise AssertionError("the screening did not end")
        tally.screenings += 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


async def saturated(server: Server, people: int, rounds: int, taps: int, dialog: Dialog | None) -> dict[str, Any]:
    """`people` at once, no pauses, each through `rounds` complete screenings, each from their own address."""
    crowd = [Person(server, f"10.1.{i // 250}.{i % 250 + 1}", taps, dialog) for i in range(people)]
    tally = Tally()
    await asyncio.gather(*(p.screening(Tally()) for p in crowd[:5]))  # warm up: caches, catalogs, connections
    cpu, client_cpu, began = server.cpu_seconds(), time.process_time(), time.perf_counter()

    async def person(p: Person) -> None:
        for _ in range(rounds):
            await p.screening(tally)

    await asyncio.gather(*(person(p) for p in crowd))
    seconds = time.perf_counter() - began
    server_cpu, client_cpu = server.cpu_seconds() - cpu, time.process_time() - client_cpu
    for p in crowd:
        await p.close()
    return {
        "people": people,
        "screenings": tally.screenings,
        "posts": tally.posts,
        "seconds": seconds,
        "posts_per_second": tally.posts / seconds,
        "p50_ms": percentile(tally.taps, 50) * 1000,
        "p99_ms": percentile(tally.taps, 99) * 1000,
        "first_page_p99_ms": percentile(tally.first_pages, 99) * 1000,
        "server_cpu_ms_per_screening": server_cpu / tally.screenings * 1000,
        "server_cpu_ms_per_post": server_cpu / tally.posts * 1000,
        "client_cpu_share": client_cpu / seconds,
        "limited": tally.limited,
        "errors": tally.errors[:5],
    }


class DiskProbe:
    """Times an fsync of a small write every 50 ms, in a thread, while a run goes on: how quickly this
    disk makes a write durable just then (other programs share it), which every answer waits for."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "fsync-probe"
        self.times: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        fd = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        try:
            while not self.stop.wait(0.05):
                os.write(fd, b"x" * 4096)
                started = time.perf_counter()
                os.fsync(fd)
                self.times.append(time.perf_counter() - started)
        finally:
            os.close(fd)

    def __enter__(self) -> DiskProbe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


async def human_pace(server: Server, seconds: float, taps: int, dialog: Dialog, seed: int = 20) -> dict[str, Any]:
    """50 people behind one address, one tap every 2-5 s each, for `seconds` (see the module's doc)."""
    rng = random.Random(seed)
    crowd = [Person(server, "203.0.113.7", 0, dialog) for _ in range(PACED_PEOPLE)]
    untimed = Tally()

    async def to_random_point(p: Person) -> None:
        await p.begin(untimed, measured=False)
        for _ in range(rng.randrange(taps + 1)):
            fields = p.next_fields()
            if fields is None:
                await p.begin(untimed, measured=False)
                break
            await p.tap(untimed, fields, measured=False)

    await asyncio.gather(*(to_random_point(p) for p in crowd))
    tally = Tally(limited=untimed.limited, errors=untimed.errors)
    end = time.perf_counter() + seconds

    async def person(p: Person) -> None:
        await asyncio.sleep(rng.uniform(0, PACE[1]))
        while time.perf_counter() < end:
            fields = p.next_fields()
            if fields is None:
                tally.screenings += 1
                await p.begin(tally)
            else:
                await p.tap(tally, fields)
            await asyncio.sleep(rng.uniform(*PACE))

    cpu, began = server.cpu_seconds(), time.perf_counter()
    with DiskProbe(Path(server.log.parent)) as disk:
        await asyncio.gather(*(person(p) for p in crowd))
    elapsed = time.perf_counter() - began
    server_cpu = server.cpu_seconds() - cpu
    for p in crowd:
        await p.close()
    return {
        "people": PACED_PEOPLE,
        "seconds": elapsed,
        "taps": len(tally.taps),
        "taps_per_second": len(tally.taps) / elapsed,
        "p50_ms": percentile(tally.taps, 50) * 1000,
        "p99_ms": percentile(tally.taps, 99) * 1000,
        "max_ms": max(tally.taps) * 1000,
        "first_page_p99_ms": percentile(tally.first_pages, 99) * 1000,
        "server_cpu_share": server_cpu / elapsed,
        "fsync_p50_ms": percentile(disk.times, 50) * 1000,
        "fsync_p99_ms": percentile(disk.times, 99) * 1000,
        "fsync_max_ms": max(disk.times, default=float("nan")) * 1000,
        "load_average": load_average(),
        "limited": tally.limited,
        "errors": tally.errors[:5],
    }


# ---------------------------------------------------------------------------------------------- the table


async def run(
    workdir: Path, people: int, screenings: int, alternations: int, paced_seconds: float, workers: int
) -> dict[str, Any]:
    dialog = load_dialog(shipped("dialogs") / "nct06349343.toml")
    results: dict[str, Any] = {"load_before": load_average(), "ours_runs": [], "baseline_runs": []}
    ours, baseline = start_ours(workdir, workers), start_baseline(workdir)
    try:
        probe = Person(ours, "10.0.0.1", 0, dialog)
        await probe.screening(Tally())
        await probe.close()
        taps = probe.taps
        for number in range(1, alternations + 1):
            results["ours_runs"].append(await saturated(ours, people, screenings, taps, dialog))
            results["baseline_runs"].append(await saturated(baseline, people, screenings, taps, None))
            print(f"  saturated, ours then the baseline: run {number} of {alternations} done", flush=True)
    finally:
        ours.stop()
        baseline.stop()
    results["ours"], results["baseline"] = median_run(results["ours_runs"]), median_run(results["baseline_runs"])
    ours = start_ours(workdir, workers)
    try:
        results["paced"] = await human_pace(ours, paced_seconds, taps, dialog)
        print("  ours, 50 people at human pace behind one address: done", flush=True)
    finally:
        ours.stop()
    results["taps_per_screening"] = taps
    return results


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the runs (the counts summed)."""
    merged: dict[str, Any] = {}
    for key, value in runs[0].items():
        if key in ("screenings", "posts", "limited", "seconds"):
            merged[key] = sum(r[key] for r in runs)
        elif key == "errors":
            merged[key] = [e for r in runs for e in r[key]]
        elif isinstance(value, float):
            merged[key] = statistics.median(r[key] for r in runs)
        else:
            merged[key] = value
    return merged


def print_table(r: dict[str, Any], workers: int, total: float) -> None:
    ours, base, paced = r["ours"], r["baseline"], r["paced"]
    # each run's ratio is of two servers under the same load; their median is the figure
    pairs = zip(r["ours_runs"], r["baseline_runs"], strict=True)
    ratios = sorted(o["posts_per_second"] / b["posts_per_second"] for o, b in pairs)
    ratio = statistics.median(ratios)
    rows = [
        ("posts/s, saturated", ours["posts_per_second"], base["posts_per_second"], f"{ratio:.2f}×",
         f"≥ {TARGETS['ratio']}× baseline", ratio >= TARGETS["ratio"]),
        ("p50 ms per tap, saturated", ours["p50_ms"], base["p50_ms"], "", "", None),
        ("p99 ms per tap, saturated", ours["p99_ms"], base["p99_ms"], "", f"< {TARGETS['saturated_p99_ms']:.0f} ms",
         ours["p99_ms"] < TARGETS["saturated_p99_ms"]),
        ("p99 ms first page, saturated", ours["first_page_p99_ms"], base["first_page_p99_ms"], "", "", None),
        ("server CPU ms per screening", ours["server_cpu_ms_per_screening"], base["server_cpu_ms_per_screening"],
         "", f"≤ {TARGETS['cpu_ms_per_screening']:.0f} ms", ours["server_cpu_ms_per_screening"]
         <= TARGETS["cpu_ms_per_screening"]),
        ("server CPU ms per post", ours["server_cpu_ms_per_post"], base["server_cpu_ms_per_post"], "", "", None),
        ("client's share of a core, saturated", ours["client_cpu_share"], base["client_cpu_share"], "", "", None),
        ("p50 ms per tap, 50 people, human pace", paced["p50_ms"], None, "", "", None),
        ("p99 ms per tap, 50 people, human pace", paced["p99_ms"], None, "", f"< {TARGETS['paced_p99_ms']:.0f} ms",
         paced["p99_ms"] < TARGETS["paced_p99_ms"]),
        ("max ms per tap, 50 people, human pace", paced["max_ms"], None, "", "", None),
        ("server's share of a core, human pace", paced["server_cpu_share"], None, "", "", None),
        ("disk: fsync p99 ms during it", paced["fsync_p99_ms"], None, "", "", None),
        ("limited (429), human pace, one address", paced["limited"], None, "", "0", paced["limited"] == 0),
    ]  # fmt: skip
    print()
    print(f"{'figure':40} {'ours':>9} {'baseline':>9} {'ratio':>6}  {'target':18} result")
    print("-" * 96)
    for name, value, baseline, shown_ratio, target, met in rows:
        verdict = "" if met is None else ("met" if met else "NOT MET")
        base_text = f"{baseline:9.2f}" if baseline is not None else f"{'':>9}"
        print(f"{name:40} {value:9.2f} {base_text} {shown_ratio:>6}  {target:18} {verdict}")
    print("-" * 96)
    runs = len(r["ours_runs"])
    print(
        f"Saturated: N = {ours['people']} people at once, {runs} run{'s' if runs > 1 else ''} of each server "
        f"(alternating; medians shown), {ours['screenings']} complete screenings of {r['taps_per_screening']} taps "
        f"for ours ({ours['posts']} posts in {ours['seconds']:.1f} s; baseline {base['posts']} posts in "
        f"{base['seconds']:.1f} s), each person with their own address; ours served by {workers} uvicorn "
        f"process{'es' if workers > 1 else ''}. A tap is the form post and the page after its redirect. "
        f"Posts/s ratio in each run: {', '.join(f'{x:.2f}' for x in ratios)} (the median is the table's)."
    )
    print(
        f"Human pace: {paced['people']} people behind one address, one tap every {PACE[0]:g}-{PACE[1]:g} s each, "
        f"a {paced['seconds']:.0f} s sample of {paced['taps']} taps ({paced['taps_per_second']:.1f}/s), "
        "everyone first taken unmeasured to a random point of the screening."
    )
    print(f"Limited (429) in the saturated runs: ours {ours['limited']}, baseline {base['limited']}.")
    if max(ours["client_cpu_share"], base["client_cpu_share"]) > 0.8:
        print(
            "The clients (one Python process) used most of a core: the saturated posts/s are partly the "
            f"client's limit. Ours alone, at {ours['server_cpu_ms_per_post']:.2f} ms of server CPU per post, "
            f"would serve at most {1000 / ours['server_cpu_ms_per_post']:.0f} posts/s per core."
        )
    print(
        f"The machine: {os.cpu_count()} cores, load average {r['load_before']:.1f} before the runs and "
        f"{paced['load_average']:.1f} at the end of the human-pace run (other programs share it); the disk's "
        f"fsync of a 4 KiB write during the human-pace run: p50 {paced['fsync_p50_ms']:.1f} ms, "
        f"p99 {paced['fsync_p99_ms']:.1f} ms, max {paced['fsync_max_ms']:.0f} ms (every answer waits for one)."
    )
    for name in ("ours", "baseline", "paced"):
        if r[name]["errors"]:
            print(f"Unexpected answers ({name}): {r[name]['errors']}")
    print(f"Total time {total:.0f} s.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller N and shorter runs, for trying it out")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes for ours (default 1)")
    parser.add_argument("--people", type=int, default=0, help="people at once in the saturated run")
    parser.add_argument("--workdir", default=None, help="where the databases go (default: a temporary directory)")
    args = parser.parse_args()
    people, screenings, alternations, paced_seconds = SIZES["quick" if args.quick else "full"]
    people = args.people or people
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="screening-web-bench-", dir=args.workdir) as workdir:
        print(f"N = {people} people at once, {screenings} screening(s) each; databases in {workdir}", flush=True)
        results = asyncio.run(run(Path(workdir), people, screenings, alternations, paced_seconds, args.workers))
    print_table(results, args.workers, time.perf_counter() - began)


if __name__ == "__main__":
    main()
