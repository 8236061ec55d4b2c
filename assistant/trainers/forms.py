"""Forms of the trainers' blueprint (CSRF token included by Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length


class TokenLoginForm(FlaskForm):
    token = PasswordField("Agent token", validators=[DataRequired(), Length(max=200)])
