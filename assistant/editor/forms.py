"""The rule form: plain fields for the phrase syntax, an advanced field for token patterns.
Converts between the form and the rule dict of the lexicon format (docs/lexicons.md)."""

from __future__ import annotations

from typing import Any

import yaml
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from assistant.engine import QUESTIONS
from assistant.storage.models import ROLES as USER_ROLES


def choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


RULE_ROLES = [
    ("agent", "Agent reply (flag phrasing in drafts)"),
    ("customer", "Customer feeling (detected in customer messages)"),
    ("acknowledgement", "Acknowledgement (shows a feeling was acknowledged)"),
    ("empowerment", "Empowerment (something agents may offer)"),
]
QUESTION_CHOICES = [(str(n), f"{n}. {text}") for n, text in QUESTIONS.items()]


class RuleForm(FlaskForm):
    rule_id = StringField("Rule id", validators=[DataRequired(), Length(max=80)])
    team = SelectField("Applies to", choices=[])
    role = SelectField("Kind", choices=choices(RULE_ROLES), default="agent")
    category = StringField("Category", validators=[Optional(), Length(max=100)])
    question = SelectField("Checklist question", choices=choices(QUESTION_CHOICES), default="3")
    severity = SelectField("Severity", choices=choices([("suggestion",) * 2, ("warning",) * 2]))
    scope = SelectField(
        "Where it must appear",
        choices=choices(
            [
                ("anywhere", "anywhere"),
                ("start", "opening a sentence"),
                ("whole", "the whole message"),
            ]
        ),
    )
    patterns = TextAreaField("Phrases (one per line)")
    exceptions = TextAreaField("Exceptions (one per line)")
    message = TextAreaField("Message to the agent", validators=[Optional()])
    suggestions = TextAreaField("Better phrasings (one per line)")
    flags = TextAreaField("Examples it must flag (one per line)")
    passes = TextAreaField("Examples it must not flag (one per line)")
    tokens = TextAreaField("Advanced: spaCy token patterns (YAML list)")
    enabled = BooleanField("Enabled", default=True)

    def to_rule(self) -> dict[str, Any]:
        """The rule dict the engine validates (problems are reported by the engine)."""
        data: dict[str, Any] = {
            "id": self.rule_id.data.strip(),
            "role": self.role.data,
            "category": (self.category.data or "").strip()
            or ("empowerment" if self.role.data == "empowerment" else ""),
            "question": int(self.question.data or 3),
            "severity": self.severity.data,
            "message": (self.message.data or "").strip(),
            "suggestions": _lines(self.suggestions.data),
        }
        for name in ("patterns", "exceptions"):
            if _lines(getattr(self, name).data):
                data[name] = _lines(getattr(self, name).data)
        tokens = (self.tokens.data or "").strip()
        if tokens:
            data["tokens"] = _yaml_or_text(tokens)
        if self.scope.data != "anywhere":
            data["scope"] = self.scope.data
        if not self.enabled.data:
            data["enabled"] = False
        if self.team.data:
            data["team"] = self.team.data
        flags, passes = _lines(self.flags.data), _lines(self.passes.data)
        if flags or passes:
            data["examples"] = {"flags": flags, "passes": passes}
        return data

    def fill(self, data: dict[str, Any]) -> None:
        self.rule_id.data = data["id"]
        self.team.data = data.get("team") or ""
        self.role.data = data.get("role", "agent")
        self.category.data = data.get("category", "")
        self.question.data = str(data.get("question", 3))
        self.severity.data = data.get("severity", "suggestion")
        self.scope.data = data.get("scope", "anywhere")
        self.message.data = data.get("message", "")
        self.suggestions.data = "\n".join(data.get("suggestions", []))
        self.patterns.data = "\n".join(data.get("patterns", []))
        self.exceptions.data = "\n".join(data.get("exceptions", []))
        examples = data.get("examples") or {}
        self.flags.data = "\n".join(examples.get("flags", []))
        self.passes.data = "\n".join(examples.get("passes", []))
        tokens = data.get("tokens")
        self.tokens.data = yaml.safe_dump(tokens, default_flow_style=None) if tokens else ""
        self.enabled.data = data.get("enabled", True)


class EmpowermentForm(FlaskForm):
    team = SelectField("Team", choices=[])
    offer = StringField(
        "What agents may offer without asking",
        validators=[DataRequired(), Length(max=300)],
        description='e.g. "Refund up to $50 on the spot"',
    )
    situations = TextAreaField(
        "Situations it fits (phrases, one per line; empty: every conversation)",
        description='e.g. "(charged|billed) twice"',
    )


class ImportForm(FlaskForm):
    file = FileField("Lexicon file (.yml)", validators=[FileRequired()])


class UserForm(FlaskForm):
    email = EmailField(
        "E-mail", validators=[DataRequired(), Regexp(r"^[^@\s]+@[^@\s]+$"), Length(max=320)]
    )
    role = SelectField("Role", choices=choices([(r, r) for r in USER_ROLES]))
    team = StringField("Team", validators=[Optional(), Length(max=100)])
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=8)])


class TeamForm(FlaskForm):
    name = StringField("Team name", validators=[DataRequired(), Length(max=100)])


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _yaml_or_text(text: str) -> Any:
    """Token patterns as YAML (JSON is YAML too); unparsable text is left for the engine's
    validation to report."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        return f"not valid YAML: {error}"
