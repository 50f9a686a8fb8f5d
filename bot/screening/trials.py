"""Several trials in one deployment: a screening service per dialog file, all on one database.

Each trial is its own `ScreeningService` (its dialog, its catalogs, its conversations and
counters); they share the database, its encryption vault and its group commit. The first is
the default: with one trial configured everything behaves as before. A person has one
conversation per trial (the conversation's key includes the dialog id), so screening for a
second trial never touches the first; their /delete erases them all.

Channels hold a `Trials` and pick the service for each input from where it came (the web
path `/t/<dialog id>`, a Telegram deep link `start=<dialog id>-<source>`) or from the
person's own conversations (`latest`); staff tools take each lead's trial from the lead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from ..dialog.model import Dialog
from ..i18n import Translator
from .accounts import AccountService
from .notifications import NotificationOutbox
from .service import OnLead, ScreeningService
from .team import TeamService


class Trials:
    """The trials a deployment runs, in their configured order; the first is the default."""

    def __init__(self, services: Sequence[ScreeningService]) -> None:
        if not services:
            raise ValueError("a deployment runs at least one trial")
        ids = [service.dialog.id for service in services]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"two dialog files have the same [dialog] id: {', '.join(twice)}")
        self.services: tuple[ScreeningService, ...] = tuple(services)
        self._by_id = {service.dialog.id: service for service in services}

    @classmethod
    def of(cls, screening: ScreeningService | Trials) -> Trials:
        """A channel may be given one service (one trial, as before) or the deployment's trials."""
        return screening if isinstance(screening, Trials) else cls([screening])

    # ------------------------------------------------------------------ which trial

    @property
    def default(self) -> ScreeningService:
        return self.services[0]

    @property
    def several(self) -> bool:
        return len(self.services) > 1

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)

    @property
    def dialogs(self) -> dict[str, Dialog]:
        """Every trial's dialog, by id, in the configured order."""
        return {dialog_id: service.dialog for dialog_id, service in self._by_id.items()}

    def __iter__(self) -> Iterator[ScreeningService]:
        return iter(self.services)

    def __len__(self) -> int:
        return len(self.services)

    def get(self, dialog_id: str) -> ScreeningService | None:
        return self._by_id.get(dialog_id)

    def latest(self, channel: str, user_key: str) -> ScreeningService | None:
        """The trial of the person's conversation that changed last (None without one in a trial run here)."""
        for stored in self.default.storage.read.conversations.of_person(channel, user_key):
            if stored.dialog_id in self._by_id:
                return self._by_id[stored.dialog_id]
        return None

    def title(self, dialog_id: str, language: str) -> str:
        """A trial's title in a language, from its own catalog."""
        service = self._by_id[dialog_id]
        return service.translator(language).dialog(service.dialog.title)

    # ------------------------------------------------------------------ what every trial shares

    @property
    def languages(self) -> list[str]:
        return self.default.languages

    @property
    def default_language(self) -> str:
        return self.default.default_language

    @property
    def keeps_contacts(self) -> bool:
        return self.default.keeps_contacts

    def translator(self, language: str) -> Translator:
        """The code's messages in a language (and the default trial's texts)."""
        return self.default.translator(language)

    def pseudonym(self, channel: str, raw_id: str | int) -> str:
        return self.default.pseudonym(channel, raw_id)

    def subscribe(self, on_lead: OnLead, in_step: bool = False) -> Callable[[], None]:
        """Hear of every lead change in every trial (ScreeningService.subscribe); returns the unsubscribe."""
        undo = [service.subscribe(on_lead, in_step) for service in self.services]

        def unsubscribe() -> None:
            for each in undo:
                each()

        return unsubscribe

    def team(self) -> TeamService:
        """The study team's service over every trial's leads, with each trial's dialog for its words."""
        return TeamService(self.default.storage, self.dialogs)

    def accounts(self) -> AccountService:
        return self.default.accounts()

    def notifications(self) -> NotificationOutbox:
        return self.default.notifications()

    async def flush(self) -> None:
        await self.default.flush()
