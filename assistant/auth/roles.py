"""Who may do what. Every editor route asks one of these; the access-matrix test checks them.

admin: everything (global rules, every team's rules, users and teams).
lead: their own team's rules, switch-offs and empowerment list; reads the rest.
trainer: reads rules, statistics and history; edits nothing.
agent: nothing here (agents use the extension).
"""

from __future__ import annotations

from dataclasses import dataclass

READERS = ("admin", "lead", "trainer")
EDITORS = ("admin", "lead")


@dataclass(frozen=True)
class SignedIn:
    """The signed-in person as plain data (safe to keep beyond a database session)."""

    id: int
    email: str
    role: str
    team: str | None

    # Flask-Login's user interface
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_read(self) -> bool:
        return self.role in READERS

    def can_read_team(self, team: str | None) -> bool:
        """Global rules are readable by every reader; a team's rules by its people and admins."""
        return self.can_read() and (team is None or self.is_admin or team == self.team)

    def can_edit(self, team: str | None) -> bool:
        """Global rules: admins. A team's rules: admins and that team's lead."""
        if self.is_admin:
            return True
        return self.role == "lead" and team is not None and team == self.team

    def can_edit_some(self) -> bool:
        return self.role in EDITORS and (self.is_admin or self.team is not None)

    def reach(self) -> str | None:
        """Whose conversations and numbers this person reads, decided once for the trainers'
        pages and the dashboard: "all" (admins, trainers without a team), "team" (leads and
        trainers with a team), "own" (agents), None (nothing: a lead without a team)."""
        if self.is_admin or (self.role == "trainer" and not self.team):
            return "all"
        if self.role in ("trainer", "lead") and self.team:
            return "team"
        return "own" if self.role == "agent" else None

    def can_switch_for(self, team: str | None) -> bool:
        """Switch a global rule off for a team: that team's lead, or an admin."""
        return team is not None and self.can_edit(team)
