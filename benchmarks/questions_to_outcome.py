"""How many inputs people give before they see their outcome, over a fixed set of simulated people.

    .venv/bin/python benchmarks/questions_to_outcome.py            # 1,000 people, the table by outcome
    .venv/bin/python benchmarks/questions_to_outcome.py --people 200

Each simulated person has facts drawn once from a seeded random generator (the same
people on every run and in every version of the dialog): age, sex, past medicines,
illnesses, plans. They answer every question the way those facts say, through the real
Screener (engine, rules, SQLite in a temporary folder), and every input counts: each
consent, each answer (a "choose all that apply" answer is one input, as typed "1, 3" or
the web's ticked boxes), and the tap that confirms the summary. Counting stops when the
outcome is shown; contact capture after it is not counted.

Questions and options are matched by id, with the ids of older dialog versions beside
the new ones, so the same script measures the dialog before and after a change. Not part
of the tests: it prints figures for the README and the changelog.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.dialog.load import load_dialog  # noqa: E402
from bot.dialog.model import OUTCOMES, Question  # noqa: E402
from bot.replies import Choose, ChooseMany, Command, Text  # noqa: E402
from bot.screening import Screener  # noqa: E402
from bot.store import ConversationStore, open_database  # noqa: E402

TODAY = date(2026, 11, 25)
SEED = 16


@dataclass
class Person:
    """What one simulated person would answer, by question id (ids of every dialog version)."""

    name: str
    typed: dict[str, str] = field(default_factory=dict)
    chosen: dict[str, str] = field(default_factory=dict)
    ticked: dict[str, set[str]] = field(default_factory=dict)

    def tick(self, question: str, *options: str) -> None:
        self.ticked.setdefault(question, set()).update(options)


def chance(rng: random.Random, p: float) -> bool:
    return rng.random() < p


def make_person(rng: random.Random, number: int) -> Person:
    """Facts roughly as among adults with hard-to-treat lupus in China (guesses, fixed by the seed)."""
    p = Person(f"person-{number}")
    p.chosen["respondent"] = "caregiver" if chance(rng, 0.2) else "self"
    roll = rng.random()
    age = rng.randint(12, 17) if roll < 0.04 else rng.randint(71, 80) if roll < 0.08 else rng.randint(18, 70)
    p.typed["age"] = str(age)
    p.chosen["travel"] = "no" if chance(rng, 0.15) else "not_sure" if chance(rng, 0.05) else "yes"
    recent = chance(rng, 0.05)
    year = TODAY.year if recent else rng.randint(2005, TODAY.year - 2)
    p.typed["diagnosis_year"] = str(year)
    p.chosen["diagnosis_month"] = str(rng.randint(8, 10)) if recent else str(rng.randint(1, 12))
    p.typed["diagnosis_day"] = str(rng.randint(1, 28))
    p.chosen["active"] = "yes" if chance(rng, 0.8) else rng.choice(["no", "not_sure"])
    p.tick("treatments", "hydroxychloroquine", "steroids")
    if chance(rng, 0.5):
        p.tick("treatments", "mycophenolate")
    p.chosen["treatment_time"] = "under_1_month" if chance(rng, 0.03) else "3_months_or_more"
    if chance(rng, 0.3):
        p.tick("b_cell_drugs", rng.choice(["belimumab", "telitacicept", "rituximab"]))
    if chance(rng, 0.03):
        p.tick("jak_btk_drugs", "tofacitinib")
        p.chosen["jak_btk_last_dose"] = rng.choice(["still_taking", "4_to_8_weeks"])
    p.chosen["other_biologics"] = "yes" if chance(rng, 0.03) else "no"
    for option, odds in (
        ("transplant", 0.01), ("organ_transplant", 0.01), ("lymphoma", 0.005), ("car_t", 0.005),
        ("other_joint_skin", 0.03), ("ra_psoriasis", 0.03),
    ):  # fmt: skip
        if chance(rng, odds):
            p.tick("ever_had", option)
    if chance(rng, 0.02):  # stem cells from a cord (MSC) for lupus: "transplant" in the old wording
        p.tick("ever_had", "transplant", "other_stem_cells")
    if chance(rng, 0.08):  # eczema or wear-and-tear arthritis: "another joint or skin disease" in the old wording
        p.tick("ever_had", "other_joint_skin", "other_joint_skin_review")
    for option, odds in (
        ("cancer_5_years", 0.02), ("other_autoimmune", 0.1), ("hepatitis_b", 0.07), ("uncontrolled_illness", 0.03),
        ("drug_allergy", 0.08),
    ):  # fmt: skip
        if chance(rng, odds):
            p.tick("current_health", option)
            p.tick("infections", option)
    if chance(rng, 0.01):
        p.tick("current_health", "hep_c_hiv_syphilis")
        p.tick("infections", "hep_c_hiv")
    if chance(rng, 0.02):  # a positive syphilis test, often a false positive in lupus
        p.tick("current_health", "hep_c_hiv_syphilis")
        p.tick("infections", "syphilis")
    if chance(rng, 0.05):  # TB in the past or a positive TB test
        p.tick("current_health", "tuberculosis")
        p.tick("infections", "tb_past_or_test")
    if chance(rng, 0.05):
        p.chosen["infection"] = "yes"
        p.tick("infections", "infection_now")
    if chance(rng, 0.05):
        p.chosen["bleeding"] = "yes"
        p.tick("current_health", "blood_thinner")
    for option, new, odds in (
        ("kidney_8_weeks", "kidney_steroids", 0.08), ("kidney_8_weeks", "kidney_dialysis", 0.02),
        ("brain_8_weeks", "seizure_or_stroke", 0.02), ("brain_8_weeks", "other_brain", 0.03),
        ("lung_damage", "lung_damage", 0.03), ("heart_damage", "heart_damage", 0.03),
    ):  # fmt: skip
        if chance(rng, odds):
            p.tick("organ_damage", option, new)
    for option, odds in (
        ("plasma_exchange", 0.03), ("live_vaccine", 0.01), ("steroid_injection", 0.03),
        ("blood_donation", 0.005), ("transfusion", 0.02), ("major_surgery", 0.02),
    ):  # fmt: skip
        if chance(rng, odds):
            p.tick("recent_events", option)
    if chance(rng, 0.03):
        p.tick("plans", "major_surgery")
        p.chosen["plans"] = "surgery_planned"
    female = chance(rng, 0.9)
    p.chosen["sex"] = "female" if female else "male"
    young = age <= 45
    p.chosen["pregnant"] = "yes" if female and young and chance(rng, 0.05) else "no"
    p.chosen["baby_plans"] = "yes" if female and young and chance(rng, 0.15) else "no"
    p.chosen["partner_baby_plans"] = "yes" if chance(rng, 0.1) else "no"
    p.chosen["birth_control"] = "no" if chance(rng, 0.05) else "yes"
    p.chosen["other_trial"] = "yes" if chance(rng, 0.03) else "no"
    p.chosen["drug_misuse"] = "yes" if chance(rng, 0.01) else "no"
    p.chosen["low_mood"] = "yes" if chance(rng, 0.08) else "prefer_not_to_say" if chance(rng, 0.03) else "no"
    for question in ("ever_had", "current_health", "infections", "organ_damage", "recent_events"):
        if chance(rng, 0.04):
            p.ticked[question] = {"not_sure"}
    return p


def population(size: int) -> list[Person]:
    rng = random.Random(SEED)
    return [make_person(rng, n) for n in range(size)]


def archetypes() -> list[Person]:
    """A few people by name: one who meets every rule, and one for each common knock-out."""
    people = []
    for name, change in (
        ("meets every rule", {}),
        ("pregnant", {"pregnant": "yes"}),
        ("had belimumab", {"b_cell_drugs": "belimumab"}),
        ("cannot come to Wuhan", {"travel": "no"}),
        ("aged 75", {"age": "75"}),
    ):
        p = Person(name, typed={"age": "40", "diagnosis_year": "2015"}, chosen={"sex": "female"})
        p.tick("treatments", "hydroxychloroquine")
        for question, value in change.items():
            if question in ("age",):
                p.typed[question] = value
            elif question == "b_cell_drugs":
                p.tick(question, value)
            else:
                p.chosen[question] = value
        people.append(p)
    return people


def answer(person: Person, question: Question) -> Any:
    """The action this person takes at this question."""
    if question.kind in ("number", "year"):
        return Text(person.typed.get(question.id, "40"))
    ids = [o.id for o in question.options]
    if question.kind == "multi":
        picked = [o for o in ids if o in person.ticked.get(question.id, set())]
        if "not_sure" in picked:
            picked = ["not_sure"]
        return ChooseMany(question.id, tuple(picked or ["none"]))
    wanted = person.chosen.get(question.id, "")
    if wanted not in ids:
        wanted = next(
            (o.id for o in question.options if not (o.rules_out or o.review or o.wait_days or o.exclusive)), ids[0]
        )
    return Choose(question.id, wanted)


def screen(screener: Screener, person: Person) -> tuple[str, int]:
    """(outcome, inputs given until it was shown)."""
    conv = screener.open("bench", person.name)
    reply = screener.handle(conv, Command("start"))
    for inputs in range(200):
        conv = screener.open("bench", person.name)
        if conv.state in OUTCOMES:
            return conv.state, inputs
        prompt = reply.prompt
        assert prompt is not None, "the screening ended without an outcome"
        question = screener.engine.current_question(conv)
        if prompt.kind == "consent":
            action: Any = prompt.options[0].action  # agree
        elif prompt.kind == "summary":
            action = Command("confirm")
        elif question is not None:
            action = answer(person, question)
        else:
            raise AssertionError(f"unexpected step {conv.state!r} ({prompt.kind})")
        reply = screener.handle(conv, action)
    raise AssertionError(f"{person.name} never reached an outcome")


def measure(people: list[Person], dialog_path: Path) -> dict[str, list[int]]:
    dialog = load_dialog(dialog_path)
    by_outcome: dict[str, list[int]] = {o: [] for o in OUTCOMES}
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(Path(folder) / "bench.db")
        db.execute("PRAGMA synchronous=OFF")
        screener = Screener(dialog, ConversationStore(db, dialog), ROOT / "locales", today=lambda: TODAY)
        for person in people:
            outcome, inputs = screen(screener, person)
            by_outcome[outcome].append(inputs)
    return by_outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--dialog", type=Path, default=ROOT / "dialogs" / "nct06349343.toml")
    args = parser.parse_args(argv)
    dialog = load_dialog(args.dialog)
    results = measure(population(args.people), args.dialog)
    print(f"Dialog {dialog.id} {dialog.version}: {args.people} simulated people (seed {SEED}), inputs to the outcome\n")
    print(f"{'outcome':<18}{'people':>8}{'median':>8}{'min':>6}{'max':>6}")
    everyone = []
    for outcome, counts in results.items():
        everyone += counts
        if counts:
            print(f"{outcome:<18}{len(counts):>8}{statistics.median(counts):>8g}{min(counts):>6}{max(counts):>6}")
        else:
            print(f"{outcome:<18}{0:>8}{'-':>8}{'-':>6}{'-':>6}")
    print(f"{'everyone':<18}{len(everyone):>8}{statistics.median(everyone):>8g}{min(everyone):>6}{max(everyone):>6}")
    print("\nNamed people: outcome after how many inputs")
    for person in archetypes():
        (outcome, counts), *_ = ((o, c) for o, c in measure([person], args.dialog).items() if c)
        print(f"{person.name:<24}{outcome:<18}{counts[0]:>4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
