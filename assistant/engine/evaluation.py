"""Quality figures: the phrase dev set (avoid / recommended) and GoEmotions feelings."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .engine import Engine

FEELING_EMOTIONS = ("anger", "annoyance", "disappointment", "nervousness", "fear")
CALM_EMOTIONS = ("neutral", "gratitude")


@dataclass
class PhraseScore:
    avoid: int = 0
    caught: int = 0
    recommended: int = 0
    false_flags: int = 0
    per_category: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    misses: list[str] = field(default_factory=list)
    flagged_recommended: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.avoid if self.avoid else 0.0

    @property
    def false_flag_rate(self) -> float:
        return self.false_flags / self.recommended if self.recommended else 0.0


def read_phrase_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or "text" not in rows[0] or "label" not in rows[0]:
        raise ValueError(f"{path}: needs a header with 'text' and 'label' columns")
    return rows


def score_phrases(engine: Engine, rows: Iterable[dict[str, str]]) -> PhraseScore:
    score = PhraseScore()
    for row in rows:
        text, label = row["text"], row["label"].strip()
        category = next((v for k, v in row.items() if k and "category" in k and v), "")
        rules = [f.rule for f in engine.analyse(text)]
        counts = score.per_category[f"{label}: {category}" if category else label]
        counts["total"] += 1
        if label == "avoid":
            score.avoid += 1
            score.caught += bool(rules)
            counts["flagged"] += bool(rules)
            if not rules:
                score.misses.append(text)
        elif label == "recommended":
            score.recommended += 1
            score.false_flags += bool(rules)
            counts["flagged"] += bool(rules)
            if rules:
                score.flagged_recommended.append((text, rules))
    return score


def format_phrase_score(score: PhraseScore) -> str:
    lines = [
        f"recall on avoid:          {score.recall:.3f} ({score.caught}/{score.avoid})",
        f"false flags, recommended: {score.false_flag_rate:.3f} "
        f"({score.false_flags}/{score.recommended})",
        "",
        "per category (flagged/total):",
    ]
    for category, counts in sorted(score.per_category.items()):
        lines.append(f"  {counts['flagged']:>3}/{counts['total']:<3} {category}")
    lines += ["", f"missed avoid phrases ({len(score.misses)}):"]
    lines += [f"  - {text}" for text in score.misses]
    lines += ["", f"flagged recommended phrases ({len(score.flagged_recommended)}):"]
    lines += [f"  - {text}  [{', '.join(rules)}]" for text, rules in score.flagged_recommended]
    return "\n".join(lines)


def read_goemotions(path: Path) -> list[tuple[str, set[str]]]:
    labels_file = path.parent / "labels.txt"
    names = labels_file.read_text(encoding="utf-8").split()
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2:
                rows.append((parts[0], {names[int(i)] for i in parts[1].split(",") if i}))
    return rows


def score_feelings(engine: Engine, rows: list[tuple[str, set[str]]]) -> dict[str, tuple[int, int]]:
    """emotion -> (texts where a feeling was detected, texts with that emotion)."""
    detected = Counter()
    totals = Counter()
    for text, emotions in rows:
        found = bool(engine.feelings(text))
        for emotion in emotions:
            totals[emotion] += 1
            detected[emotion] += found
    return {e: (detected[e], totals[e]) for e in totals}


def format_feelings_score(scores: dict[str, tuple[int, int]]) -> str:
    def line(emotion: str) -> str:
        hit, total = scores.get(emotion, (0, 0))
        rate = hit / total if total else 0.0
        return f"  {emotion:<15} {rate:.3f} ({hit}/{total})"

    lines = ["recall (a feeling detected):"]
    lines += [line(e) for e in FEELING_EMOTIONS]
    lines += ["false alarms (a feeling detected):"]
    lines += [line(e) for e in CALM_EMOTIONS]
    return "\n".join(lines)
