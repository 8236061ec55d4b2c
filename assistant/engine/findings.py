"""What the engine returns: one finding per flagged span, framed by the checklist."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# The "How would I feel?" checklist every nudge is framed by.
QUESTIONS: dict[int, str] = {
    1: "How does the person I'm trying to help feel?",
    2: "How would I feel if I were that person?",
    3: 'No matter the request or the "rules", is there something I can or should do to help?',
    4: "What would I expect to be done for me if the roles were reversed?",
    5: (
        "In the end, what would make this customer satisfied, or better yet happy, "
        "and is there any reason I can't do it or find someone who can?"
    ),
}

SEVERITIES = ("suggestion", "warning")


@dataclass(frozen=True)
class Finding:
    """A flagged span (or, with start == end == 0, the message as a whole)."""

    rule: str
    category: str
    question: int
    start: int
    end: int
    text: str
    message: str
    suggestions: list[str] = field(default_factory=list)
    severity: str = "suggestion"
    empowered: list[str] = field(default_factory=list)  # what the team may offer (q3, q5)

    def to_dict(self) -> dict:
        return asdict(self)
