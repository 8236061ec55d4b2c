"""Security tests reuse the editor's app, people and signed-in browsers (tests/editor)."""

from __future__ import annotations

from tests.editor.conftest import (  # noqa: F401  (fixtures re-exported for this folder)
    PASSWORD,
    PEOPLE,
    TEST_LEXICONS,
    Browser,
    browser_for,
    csrf_from,
    editor_app,
)
