"""Trainers' pages: flagged transcripts, replay, coaching notes, peer examples, and the
agents' own "my coaching" page (with sign-in by agent token)."""

from __future__ import annotations

from flask import Blueprint

trainers = Blueprint("trainers", __name__)

from . import views  # noqa: E402, F401  (routes register on the blueprint)

__all__ = ["trainers"]
