"""Generate the Traditional Chinese catalog from the Simplified one (translator's workflow).

    .venv/bin/python -m bot.hant            # write locales/zh_Hant/LC_MESSAGES/*.po (every domain)
    .venv/bin/python -m bot.hant --check    # exit 1 if a shipped catalog is not what this makes

OpenCC converts phrase by phrase (`s2twp`: Taiwan standard with Taiwan phrases), then
the hand-reviewed fixes in `locales/zh_Hant/overrides.toml` are applied, so a reviewer's
fix is never lost when the catalog is generated again: put the fix in that file, not in
the .po. The converter is needed only here, never at run time.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from copy import copy
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

CONFIG = "s2twp"
SOURCE = "zh_Hans"
TARGET = "zh_Hant"


def load_overrides(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(term replacements applied to every converted text, whole translations by msgid)."""
    if not path.exists():
        return {}, {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return dict(data.get("terms", {})), dict(data.get("messages", {}))


def convert(simplified: Catalog, terms: dict[str, str], messages: dict[str, str]) -> Catalog:
    import opencc  # only the translator's workflow needs it

    converter = opencc.OpenCC(CONFIG)
    hant = Catalog(
        locale=TARGET,
        project=simplified.project,
        version=simplified.version,
        copyright_holder=simplified.copyright_holder,
        creation_date=simplified.creation_date,
        revision_date=simplified.revision_date,
        last_translator=simplified.last_translator,
        language_team=TARGET,
        fuzzy=False,
    )
    for message in simplified:
        if not message.id:
            continue
        text = converter.convert(message.string) if isinstance(message.string, str) else message.string
        for wrong, right in terms.items():
            text = text.replace(wrong, right)
        text = messages.get(message.id, text)
        converted = copy(message)
        converted.string = text
        hant[message.id] = converted
    return hant


def domains(locales_dir: Path) -> list[str]:
    """The catalog domains of the Simplified catalogs: `messages` (the code's) and one per dialog file."""
    return sorted(p.stem for p in (locales_dir / SOURCE / "LC_MESSAGES").glob("*.po"))


def _simplified(locales_dir: Path, domain: str) -> Catalog:
    with (locales_dir / SOURCE / "LC_MESSAGES" / f"{domain}.po").open("rb") as handle:
        return read_po(handle, locale=SOURCE)


def render(locales_dir: Path, domain: str = "messages") -> bytes:
    """The zh_Hant catalog of one domain as this command writes it."""
    simplified = _simplified(locales_dir, domain)
    terms, messages = load_overrides(locales_dir / TARGET / "overrides.toml")
    known = {m.id for d in domains(locales_dir) for m in _simplified(locales_dir, d)}
    unknown = set(messages) - known
    if unknown:
        raise SystemExit(f"{locales_dir / TARGET / 'overrides.toml'}: no such message ids: {sorted(unknown)}")
    import io

    buffer = io.BytesIO()
    write_po(buffer, convert(simplified, terms, messages), width=76, sort_output=True)
    return buffer.getvalue()


def translations(po: bytes) -> dict[tuple[str, str | None], object]:
    """What a catalog says, parsed: each message's translation, by id and context.

    Comparing this instead of bytes means a new Babel release, which writes its own
    version into the header, cannot make a catalog look stale."""
    import io

    return {(str(m.id), m.context): m.string for m in read_po(io.BytesIO(po)) if m.id}


def is_current(target: Path, made: bytes) -> bool:
    """True when the catalog at `target` holds exactly the translations this command makes."""
    return target.exists() and translations(target.read_bytes()) == translations(made)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locales", default="locales", type=Path)
    parser.add_argument("--check", action="store_true", help="only check that the shipped catalog is up to date")
    args = parser.parse_args(argv)
    stale = 0
    for domain in domains(args.locales):
        target = args.locales / TARGET / "LC_MESSAGES" / f"{domain}.po"
        made = render(args.locales, domain)
        if args.check:
            if not is_current(target, made):
                print(f"{target} is out of date: run python -m bot.hant", file=sys.stderr)
                stale += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(made)
        print(f"wrote {target}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
