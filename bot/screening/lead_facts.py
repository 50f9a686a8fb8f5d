"""What a lead keeps of a screening: plain data (no contact details), made from the answers by the pure rules."""

from __future__ import annotations

from ..dialog import rules
from ..dialog.engine import Conversation, Engine
from ..dialog.model import NOT_SURE
from ..store.leads import Screening


def screening_of(engine: Engine, conv: Conversation, findings: list[rules.Finding]) -> Screening:
    """The summary a lead keeps: reasons, answers to check, each criterion's result, urgency."""
    dialog = engine.dialog
    review = [
        {"question": f.question, "answer": conv.answers.get(f.question, {}).get("value", NOT_SURE)}
        for f in findings
        if f.status == "unclear"
    ]
    return Screening(
        outcome=conv.outcome,
        respondent=dialog.respondent_of(conv.answers),
        language=conv.language,
        dialog_version=dialog.version,
        reasons=[
            {"criterion": f.criterion, "question": f.question, "status": f.status, "until": str(f.until or "")}
            for f in findings
        ],
        review_answers=list({r["question"]: r for r in review}.values()),
        criteria=dict(rules.criterion_results(dialog, conv.answers, engine.today())),
        urgent=engine.urgent_reason(conv),
        dialog_id=dialog.id,
    )
