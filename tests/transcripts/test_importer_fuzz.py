"""Hypothesis: the importer never raises an unhandled exception, whatever the file holds.

Arbitrary JSON (and JSON shaped almost like an export) and arbitrary CSV text either import,
with bad records reported, or fail with SourceError (a one-line reason): nothing else. And what
it stores holds no card number or e-mail address it was given."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from assistant.storage.models import Message
from assistant.transcripts.importer import run_import
from assistant.transcripts.sources import SourceError, options_for

from .conftest import make_app

# A longer bounded run: EMPATHY_FUZZ_EXAMPLES=3000 (figures in docs/benchmarks.md, Fuzzing).
EXAMPLES = int(os.environ.get("EMPATHY_FUZZ_EXAMPLES", "100"))

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=30,
)
roles = st.sampled_from(["customer", "agent", "USER", "bot", "", None, 3])
timestamps = (
    st.none()
    | st.integers(min_value=-(10**16), max_value=10**16)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=25)
    | st.datetimes().map(lambda moment: moment.isoformat())
)
texts = st.text(max_size=60) | st.sampled_from(
    ["card 4111 1111 1111 1111 please", "mail me at a.b@example.com", "As per our policy"]
)
messages = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=10) | st.integers() | st.none(),
        "role": roles,
        "text": texts | json_values,
        "ts": timestamps,
    },
)
conversations = st.fixed_dictionaries(
    {"messages": st.lists(messages, max_size=4) | json_values},
    optional={
        "id": st.text(max_size=12) | st.integers() | st.lists(st.integers(), max_size=2),
        "team": st.text(max_size=12) | st.integers() | st.none(),
        "agent": st.text(max_size=12) | st.none(),
        "started": timestamps,
    },
)
export_like = st.fixed_dictionaries(
    {"conversations": st.lists(conversations | json_values, max_size=4)}
)
csv_cells = st.text(alphabet=string.printable + "éß\x00\u2028", max_size=15) | texts


@st.composite
def csv_texts(draw) -> str:
    header = draw(
        st.sampled_from(
            ["conversation_id,message_id,role,text,ts", "conversation_id,role,text", "a,b"]
        )
    )
    rows = draw(st.lists(st.lists(csv_cells, max_size=6), max_size=6))
    return header + "\n" + "\n".join(",".join(row) for row in rows) + draw(csv_cells)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    app = make_app(f"sqlite:///{folder / 'fuzz.sqlite3'}")
    yield app, folder
    app.extensions["empathy"].stop()


def _import(app, path: Path, **options) -> None:
    try:
        run_import(
            path, options_for(None, None, None, None, **options), app.extensions["empathy"].sessions
        )
    except SourceError as error:
        assert str(error) and "\n" not in str(error)


def _nothing_personal_stored(app) -> None:
    with app.extensions["empathy"].sessions() as session:
        for text in session.scalars(select(Message.text)):
            assert "a.b@example.com" not in text and "4111 1111 1111 1111" not in text


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=json_values | export_like | st.lists(conversations, max_size=3))
def test_any_json_imports_or_fails_cleanly(fuzz_app, data):
    app, folder = fuzz_app
    path = folder / "fuzz.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    _import(app, path)
    _nothing_personal_stored(app)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=csv_texts() | st.text(max_size=200))
def test_any_csv_imports_or_fails_cleanly(fuzz_app, text):
    app, folder = fuzz_app
    path = folder / "fuzz.csv"
    path.write_text(text, encoding="utf-8")
    _import(app, path)
    _nothing_personal_stored(app)


@settings(
    max_examples=max(20, EXAMPLES // 5), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(raw=st.binary(max_size=200))
def test_any_bytes_import_or_fail_cleanly(fuzz_app, raw):
    app, folder = fuzz_app
    for name in ("bytes.json", "bytes.csv"):
        path = folder / name
        path.write_bytes(raw)
        _import(app, path)
