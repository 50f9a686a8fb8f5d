"""How many inputs people give before they see their outcome, over a fixed set of simulated people.

    .venv/bin/python benchmarks/questions_to_outcome.py            # 1,000 people, the table by outcome
    .venv/bin/python benchmarks/questions_to_outcome.py --people 200

Each simulated person has facts drawn once from a seeded random generator (the same
people on every run and in every version of the dialog): age, sex, past medicines,
illnesses, plans. They answer every question the way those facts say, through the real
screening service (engine, rules, SQLite in a temporary folder), and every input counts: each
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
from bot.dialog.model import OUTCOMES, Dialog, Question  # noqa: E402
from bot.replies import Choose, ChooseMany, Command, Text  # noqa: E402
from bot.screening import Key, ScreeningService  # noqa: E402
from bot.store import open_database  # noqa: E402
from bot.store.storage import Storage  # noqa: E402

TODAY = date(2026, 11, 25)
SEED = 16
#: A person stopped before any outcome (a patient under 14, from dialog 1.3.0 on).
STOPPED = "stopped_under_14"


@dataclass
class Person:
    """What one simulated person would answer: typed values and choices by question id, and facts
    (see FACTS) that become ticked options in whichever question of the dialog asks about them."""

    name: str
    typed: dict[str, str] = field(default_factory=dict)
    chosen: dict[str, str] = field(default_factory=dict)
    ticked: dict[str, set[str]] = field(default_factory=dict)
    facts: set[str] = field(default_factory=set)

    def tick(self, question: str, *options: str) -> None:
        self.ticked.setdefault(question, set()).update(options)


#: A fact about a person -> where a dialog asks about it: (question id, option id), the first that the
#: dialog has. Newer ids come first, so an id whose meaning changed is only used by the version that has it.
FACTS: dict[str, list[tuple[str, str]]] = {
    "organ_transplant": [("ever_had", "transplant")],
    "msc_infusion": [("ever_had", "other_stem_cells"), ("ever_had", "transplant")],
    "lymphoma": [("ever_had", "lymphoma")],
    "car_t": [("ever_had", "car_t")],
    "ra_or_psoriasis": [("ever_had", "ra_psoriasis"), ("ever_had", "other_joint_skin")],
    "eczema_or_gout": [("ever_had", "other_joint_skin")],
    "cancer_5_years": [("current_health", "cancer_5_years")],
    "thyroid_or_sjogren": [("current_health", "other_autoimmune")],
    "hepatitis_b": [("infections", "hepatitis_b"), ("current_health", "hepatitis_b")],
    "hep_c_or_hiv": [("infections", "hep_c_hiv"), ("current_health", "hep_c_hiv_syphilis")],
    "syphilis_test": [("infections", "syphilis"), ("current_health", "hep_c_hiv_syphilis")],
    "tb_test": [("infections", "tb_past_or_test"), ("current_health", "tuberculosis")],
    "infection_now": [("infections", "infection_now"), ("infection", "yes")],
    "blood_thinner": [("current_health", "blood_thinner"), ("bleeding", "yes")],
    "uncontrolled_illness": [("current_health", "uncontrolled_illness")],
    "drug_allergy": [("current_health", "drug_allergy")],
    "kidney_stronger_treatment": [("organ_damage", "kidney_8_weeks")],
    "kidney_dialysis": [("organ_damage", "kidney_dialysis"), ("organ_damage", "kidney_8_weeks")],
    "seizure_or_stroke": [("organ_damage", "brain_8_weeks")],
    "other_brain": [("organ_damage", "other_brain"), ("organ_damage", "brain_8_weeks")],
    "lung_damage": [("organ_damage", "lung_damage")],
    "heart_damage": [("organ_damage", "heart_damage")],
    "surgery_planned": [("plans", "surgery_planned"), ("plans", "major_surgery")],
}


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
    if chance(rng, 0.03):
        p.chosen["other_biologics"] = "yes"
        p.tick("b_cell_drugs", "anifrolumab")
    odds = {
        "organ_transplant": 0.01, "msc_infusion": 0.02, "lymphoma": 0.005, "car_t": 0.005, "ra_or_psoriasis": 0.03,
        "eczema_or_gout": 0.08, "cancer_5_years": 0.02, "thyroid_or_sjogren": 0.1, "hepatitis_b": 0.07,
        "hep_c_or_hiv": 0.01, "syphilis_test": 0.02, "tb_test": 0.05, "infection_now": 0.05, "blood_thinner": 0.05,
        "uncontrolled_illness": 0.03, "drug_allergy": 0.08, "kidney_stronger_treatment": 0.08,
        "kidney_dialysis": 0.02, "seizure_or_stroke": 0.02, "other_brain": 0.03, "lung_damage": 0.03,
        "heart_damage": 0.03, "surgery_planned": 0.03,
    }  # fmt: skip
    p.facts = {fact for fact, chance_of in odds.items() if chance(rng, chance_of)}
    for option, chance_of in (
        ("plasma_exchange", 0.03), ("live_vaccine", 0.01), ("steroid_injection", 0.03),
        ("blood_donation", 0.005), ("transfusion", 0.02), ("major_surgery", 0.02),
    ):  # fmt: skip
        if chance(rng, chance_of):
            p.tick("recent_events", option)
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


def from_facts(person: Person, dialog: Dialog) -> dict[str, set[str]]:
    """The options this person's facts tick, in this dialog: each fact where the dialog first asks it."""
    ticked: dict[str, set[str]] = {}
    for fact in person.facts:
        for question_id, option_id in FACTS[fact]:
            if dialog.has_question(question_id) and dialog.question(question_id).option(option_id):
                ticked.setdefault(question_id, set()).add(option_id)
                break
    return ticked


def answer(person: Person, question: Question, dialog: Dialog) -> Any:
    """The action this person takes at this question."""
    if question.kind in ("number", "year"):
        return Text(person.typed.get(question.id, "40"))
    ids = [o.id for o in question.options]
    facts = from_facts(person, dialog).get(question.id, set())
    if question.kind == "multi":
        picked = [o for o in ids if o in person.ticked.get(question.id, set()) | facts]
        if "not_sure" in picked:
            picked = ["not_sure"]
        return ChooseMany(question.id, tuple(picked or ["none"]))
    wanted = next(iter(facts), "") or person.chosen.get(question.id, "")
    if wanted not in ids:
        wanted = next(
            (o.id for o in question.options if not (o.rules_out or o.review or o.wait or o.exclusive)), ids[0]
        )
    return Choose(question.id, wanted)


def screen(screener: ScreeningService, person: Person) -> tuple[str, int]:
    """(outcome, inputs given until it was shown)."""
    key = Key("bench", person.name)
    reply = screener.handle(key, Command("start"))
    for inputs in range(200):
        conv = screener.conversation(key)
        if conv.outcome:
            return conv.outcome, inputs
        prompt = reply.prompt
        assert prompt is not None, "the screening ended without an outcome"
        question = screener.engine.current_question(conv)
        if prompt.kind == "consent":
            action: Any = prompt.options[0].action  # agree
        elif prompt.kind == "summary":
            action = Command("confirm")
        elif prompt.kind == "ended":
            return STOPPED, inputs  # a child under 14: stopped at once, nothing kept
        elif question is not None:
            action = answer(person, question, screener.dialog)
        else:
            raise AssertionError(f"unexpected step {conv.state!r} ({prompt.kind})")
        reply = screener.handle(key, action)
    raise AssertionError(f"{person.name} never reached an outcome")


def measure(people: list[Person], dialog_path: Path) -> dict[str, list[int]]:
    dialog = load_dialog(dialog_path)
    by_outcome: dict[str, list[int]] = {o: [] for o in (*OUTCOMES, STOPPED)}
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(Path(folder) / "bench.db")
        db.execute("PRAGMA synchronous=OFF")
        screener = ScreeningService(dialog, Storage(db, dialog), ROOT / "locales", today=lambda: TODAY)
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
        if outcome == STOPPED and not counts:
            continue
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
