"""`flask transcripts export` and `import`: the format, round trip, mappings, redaction,
idempotence and bad input, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assistant.storage import accounts
from assistant.storage.models import AuditEvent, Conversation, Message, MessageFinding

from .conftest import SHARED_DATA, cli_for, make_app

CARD = "4111 1111 1111 1111"
EMAIL = "sam.jones@example.com"

EXPORT = {
    "conversations": [
        {
            "id": "ticket-1",
            "agent": "Sam",
            "team": "support",
            "started": "2024-03-01T10:00:00Z",
            "messages": [
                {
                    "id": "m1",
                    "role": "customer",
                    "text": "This is the third time I'm asking and I'm really frustrated!",
                    "ts": "2024-03-01T10:00:00Z",
                },
                {
                    "id": "m2",
                    "role": "agent",
                    "text": "We apologize for any inconvenience. As per our policy, refunds "
                    "take 7-10 days.",
                    "ts": "2024-03-01T10:01:30.250000Z",
                },
            ],
        },
        {
            "id": "ticket-2",
            "agent": "Robin",
            "team": "billing",
            "started": "2024-03-02T09:00:00Z",
            "messages": [
                {"id": "a", "role": "customer", "text": "Hi, a quick question.", "ts": 1709370000},
                {"id": "b", "role": "agent", "text": "Of course, happy to help!"},
            ],
        },
    ]
}


def write(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def export_json(cli, *args: str) -> dict:
    result = cli("transcripts", "export", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def count(app, model) -> int:
    with app.extensions["empathy"].sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_export_format_is_exactly_as_specified(app, cli, tmp_path):
    with app.extensions["empathy"].sessions.begin() as session:
        accounts.create_agent(session, "Sam", "support")  # an account of ours: linked
    result = cli("transcripts", "import", write(tmp_path / "in.json", EXPORT))
    assert result.exit_code == 0, result.output
    assert "Imported 4 message(s)" in result.stdout

    data = export_json(cli)
    assert list(data) == ["conversations"]
    first, second = data["conversations"]
    assert list(first) == ["id", "agent", "team", "started", "messages"]
    assert (first["id"], first["agent"], first["team"], first["started"]) == (
        "ticket-1",
        "Sam",
        "support",
        "2024-03-01T10:00:00Z",
    )
    assert [list(m) for m in first["messages"]] == [["id", "role", "text", "ts", "findings"]] * 2
    customer, agent = first["messages"]
    assert (customer["id"], customer["role"], customer["ts"]) == ("m1", "customer", EXPORT_TS[0])
    assert (agent["id"], agent["role"], agent["ts"]) == ("m2", "agent", EXPORT_TS[1])
    for message in first["messages"]:
        for finding in message["findings"]:
            assert list(finding) == ["rule", "question", "severity", "start", "end", "text"]
            if finding["end"]:  # a span: offsets into the stored text
                assert message["text"][finding["start"] : finding["end"]] == finding["text"]
    assert {f["rule"] for f in agent["findings"]} >= {"as-per-policy"}
    assert customer["findings"], "the customer's frustration is a finding"
    # Robin has no account here: the export's name is kept; a missing ts takes the one before.
    assert second["agent"] == "Robin" and second["team"] == "billing"
    assert [m["ts"] for m in second["messages"]] == ["2024-03-02T09:00:00Z"] * 2


EXPORT_TS = ("2024-03-01T10:00:00Z", "2024-03-01T10:01:30.250000Z")


def test_round_trip_export_import_export_is_identical(app, cli, tmp_path):
    assert cli("transcripts", "import", write(tmp_path / "in.json", EXPORT)).exit_code == 0
    first = cli("transcripts", "export", "--output", tmp_path / "one.json")
    assert first.exit_code == 0 and "Exported 2 conversation(s)" in first.stderr

    other = make_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        again = cli_for(other)
        assert again("transcripts", "import", tmp_path / "one.json").exit_code == 0
        assert again("transcripts", "export", "-o", tmp_path / "two.json").exit_code == 0
        assert again("transcripts", "export", "--format", "csv", "-o", tmp_path / "two.csv")
    finally:
        other.extensions["empathy"].stop()
    one = (tmp_path / "one.json").read_text()
    assert one == (tmp_path / "two.json").read_text()
    assert json.loads(one)["conversations"][0]["messages"][1]["findings"]

    # Our CSV export imports back with the default mapping, to the same export.
    third = make_app(f"sqlite:///{tmp_path / 'third.sqlite3'}")
    try:
        run = cli_for(third)
        assert run("transcripts", "import", tmp_path / "two.csv").exit_code == 0
        assert run("transcripts", "export", "-o", tmp_path / "three.json").exit_code == 0
    finally:
        third.extensions["empathy"].stop()
    assert (tmp_path / "three.json").read_text() == one


def test_csv_export_one_row_per_message(app, cli, tmp_path):
    cli("transcripts", "import", write(tmp_path / "in.json", EXPORT))
    result = cli("transcripts", "export", "--format", "csv")
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert len(rows) == 4
    assert list(rows[0]) == [
        "conversation_id",
        "agent",
        "team",
        "started",
        "message_id",
        "role",
        "text",
        "ts",
        "findings",
    ]
    assert rows[1]["conversation_id"] == "ticket-1" and rows[1]["message_id"] == "m2"
    assert "as-per-policy" in {f["rule"] for f in json.loads(rows[1]["findings"])}


def test_export_selection(app, cli, tmp_path):
    cli("transcripts", "import", write(tmp_path / "in.json", EXPORT))
    ids = lambda data: [c["id"] for c in data["conversations"]]  # noqa: E731
    assert ids(export_json(cli, "--since", "2024-03-02")) == ["ticket-2"]
    assert ids(export_json(cli, "--conversation", "ticket-1")) == ["ticket-1"]
    assert ids(export_json(cli, "--team", "billing")) == ["ticket-2"]
    assert ids(export_json(cli, "--team", "nobody")) == []
    bad = cli("transcripts", "export", "--since", "last week")
    assert bad.exit_code == 2 and "is not a date" in bad.output


def test_helpdesk_csv_with_a_column_mapping(app, cli, tmp_path):
    path = tmp_path / "helpdesk.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["ticket", "author", "body", "created", "owner"])
        writer.writerow(["T-9", "USER", "I've been waiting all day, this is ridiculous", "", "Kai"])
        writer.writerow(["T-9", "SYSTEM", "As per our policy we can't do that.", "", "Kai"])
        writer.writerow(["T-10", "user", "thanks!", "2024-05-01 12:00:00", "Kai"])
    result = cli(
        "transcripts", "import", path,
        "--map", "conversation=ticket,role=author,text=body,ts=created,agent=owner",
        "--role-values", "customer=USER,agent=SYSTEM",
        "--team", "helpdesk",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = export_json(cli)
    first, second = data["conversations"]
    assert (first["id"], first["agent"], first["team"]) == ("T-9", "Kai", "helpdesk")
    assert [m["role"] for m in first["messages"]] == ["customer", "agent"]
    assert [m["id"] for m in first["messages"]] == ["1", "2"]  # no id column: position
    assert "as-per-policy" in {f["rule"] for f in first["messages"][1]["findings"]}
    assert second["messages"][0]["ts"] == "2024-05-01T12:00:00Z"
    with app.extensions["empathy"].sessions() as session:
        assert set(session.scalars(select(Conversation.source))) == {"import"}


def test_personal_data_is_redacted_before_it_is_stored(app, cli, tmp_path):
    data = {
        "conversations": [
            {
                "id": EMAIL,  # a ticket keyed by e-mail: stored as a hash, never as it is
                "messages": [
                    {"id": "1", "role": "customer", "text": f"My card {CARD}, mail {EMAIL}"},
                    {"id": "2", "role": "agent", "text": f"As per our policy, {EMAIL}"},
                ],
            }
        ]
    }
    assert cli("transcripts", "import", write(tmp_path / "pii.json", data)).exit_code == 0
    with app.extensions["empathy"].sessions() as session:
        stored = [
            *session.scalars(select(Message.text)),
            *session.scalars(select(MessageFinding.text)),
            *session.scalars(select(Conversation.external_id)),
        ]
    everything = "\n".join(stored)
    assert "[card]" in everything and "[email]" in everything
    assert CARD not in everything and EMAIL not in everything and "4111" not in everything
    # The operator can still ask for it by the id they know.
    (found,) = export_json(cli, "--conversation", EMAIL)["conversations"]
    assert found["id"].startswith("h:") and EMAIL not in json.dumps(found)


def test_reimport_stores_nothing_twice_and_continues_a_longer_file(app, cli, tmp_path):
    path = write(tmp_path / "in.json", EXPORT)
    assert cli("transcripts", "import", path).exit_code == 0
    before = (count(app, Conversation), count(app, Message), count(app, MessageFinding))
    again = cli("transcripts", "import", path)
    assert again.exit_code == 0 and "Imported 0 message(s)" in again.stdout
    assert "4 message(s) already stored" in again.stdout
    assert (count(app, Conversation), count(app, Message), count(app, MessageFinding)) == before

    longer = json.loads(json.dumps(EXPORT))
    longer["conversations"][1]["messages"].append({"id": "c", "role": "agent", "text": "Done!"})
    result = cli("transcripts", "import", write(tmp_path / "longer.json", longer))
    assert "Imported 1 message(s)" in result.stdout and "1 continued" in result.stdout
    assert count(app, Message) == before[1] + 1 and count(app, Conversation) == before[0]


def test_import_and_export_are_audited_with_counts_only(app, cli, tmp_path):
    cli("transcripts", "import", write(tmp_path / "in.json", EXPORT))
    with app.extensions["empathy"].sessions() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "transcripts.import")
        ).one()
    assert event.actor == "cli" and event.target == "in.json"
    assert event.details["messages"] == 4 and event.details["conversations"] == 2
    assert all(isinstance(value, int) for value in event.details.values())
    export_json(cli, "--team", "support")
    with app.extensions["empathy"].sessions() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "transcripts.export")
        ).one()
    assert event.details == {"conversations": 1, "format": "json", "team": "support", "since": None}


def test_two_processes_find_the_same_as_one(app, cli, tmp_path):
    many = {
        "conversations": [
            {**conversation, "id": f"{conversation['id']}-{n}"}
            for n in range(150)
            for conversation in EXPORT["conversations"]
        ]
    }
    path = write(tmp_path / "many.json", many)
    assert cli("transcripts", "import", path, "--team", "one").exit_code == 0
    two = cli("transcripts", "import", path, "--team", "two", "--processes", "2")
    assert two.exit_code == 0, two.output
    one_export = export_json(cli, "--team", "one")["conversations"]
    two_export = export_json(cli, "--team", "two")["conversations"]
    assert len(one_export) == 300
    for left, right in zip(one_export, two_export, strict=True):
        assert left["messages"] == right["messages"]


# --- bad input --------------------------------------------------------------------------------


def test_malformed_json_is_a_clear_error_and_stores_nothing(app, cli, tmp_path):
    result = cli("transcripts", "import", write(tmp_path / "bad.json", '{"conversations": [\n{'))
    assert result.exit_code == 1
    assert "bad.json: not valid JSON (line 2" in result.stderr
    assert "Traceback" not in result.output and count(app, Message) == 0


def test_csv_missing_columns_names_them(app, cli, tmp_path):
    path = write(tmp_path / "export.csv", "ticket,who,body\n1,USER,hello\n")
    result = cli("transcripts", "import", path)
    assert result.exit_code == 1
    assert "missing column(s) conversation (column 'conversation_id')" in result.stderr
    assert "'ticket', 'who', 'body'" in result.stderr and "--map" in result.stderr


def test_wrong_types_skip_the_record_with_where_and_why(app, cli, tmp_path):
    data = {
        "conversations": [
            {
                "id": "ok",
                "messages": [
                    {"id": "1", "role": "customer", "text": "hello"},
                    {"id": "2", "role": "agent", "text": 42},
                    {"id": "3", "role": "bot", "text": "beep"},
                    {"id": "4", "role": "agent", "text": "hi", "ts": "yesterday"},
                    "not a message",
                ],
            },
            {"id": ["no"], "messages": []},
            {"id": "no-messages", "messages": "none"},
            7,
        ]
    }
    result = cli("transcripts", "import", write(tmp_path / "types.json", data))
    assert result.exit_code == 3, result.output
    for expected in (
        "conversation 1 message 2: text must be a string",
        "conversation 1 message 3: role 'bot' is neither customer nor agent",
        "conversation 1 message 4: timestamp 'yesterday' is not ISO 8601",
        "conversation 1 message 5: must be an object",
        "conversation 2: id must be a string",
        'conversation 3: "messages" must be a list',
        "conversation 4: must be an object",
    ):
        assert expected in result.stderr
    assert "7 bad record(s) skipped" in result.stdout
    assert "Traceback" not in result.output and count(app, Message) == 1


def test_bad_csv_rows_are_reported_by_line(app, cli, tmp_path):
    path = write(
        tmp_path / "rows.csv",
        "conversation_id,role,text\nc1,customer,hi\n,agent,no conversation\nc1,robot,x\n"
        "c1,agent,hello,extra\nc1,agent,ok\n",
    )
    result = cli("transcripts", "import", path)
    assert result.exit_code == 3
    assert "line 3: conversation id is empty" in result.stderr
    assert "line 4: role 'robot'" in result.stderr
    assert "line 5: more fields than the header has" in result.stderr
    assert count(app, Message) == 2


def test_bad_options_are_usage_errors(app, cli, tmp_path):
    path = write(tmp_path / "in.json", EXPORT)
    assert cli("transcripts", "import", path, "--map", "colour=x").exit_code == 2
    assert cli("transcripts", "import", path, "--map", "role").exit_code == 2
    assert cli("transcripts", "import", path, "--role-values", "bot=X").exit_code == 2
    assert cli("transcripts", "import", tmp_path / "absent.json").exit_code == 2
    unknown = cli("transcripts", "import", write(tmp_path / "notes.md", "x"))
    assert unknown.exit_code == 1 and "--format json|csv" in unknown.stderr


# --- the real data in ../shared/data ---------------------------------------------------------

needs_shared = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} (the shared datasets) is absent"
)


@needs_shared
def test_abcd_sample_imports(app, cli):
    path = SHARED_DATA / "abcd" / "abcd_sample.json"
    result = cli("transcripts", "import", path, "--preset", "abcd", "--team", "abcd")
    assert result.exit_code == 0, result.output
    # 3 conversations, 72 turns of which 9 are system actions (left out).
    assert "Imported 63 message(s)" in result.stdout and "3 new" in result.stdout
    source = json.loads(path.read_text())
    emails = [t for c in source for s, t in c["original"] if "@email.com" in t]
    assert emails, "the sample has e-mail addresses to redact"
    with app.extensions["empathy"].sessions() as session:
        texts = "\n".join(session.scalars(select(Message.text)))
    assert "@email.com" not in texts and "[email]" in texts


@needs_shared
def test_sgd_turns_import_with_the_preset(app, cli, tmp_path):
    lines = (SHARED_DATA / "sgd" / "turns.tsv").read_text().splitlines()[:301]
    path = write(tmp_path / "turns.tsv", "\n".join(lines) + "\n")
    result = cli("transcripts", "import", path, "--preset", "sgd")
    assert result.exit_code == 0, result.output
    assert "Imported 300 message(s)" in result.stdout
    data = export_json(cli)["conversations"]
    assert data[0]["id"] == "1_00000" and data[0]["messages"][0]["role"] == "customer"
    assert data[0]["messages"][1]["role"] == "agent"


def test_the_real_command_line(app, database_url, tmp_path):
    """`flask --app server transcripts import` as an operator runs it: progress bar, summary,
    exit codes; a bad file is one line on stderr, no traceback."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DATABASE_URL": database_url, "EMPATHY_DEMO": "0"}

    def flask(*args) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "server", "transcripts", *map(str, args)],
            cwd=repo, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    done = flask("import", write(tmp_path / "in.json", EXPORT), "--processes", "2")
    assert done.returncode == 0, done.stderr
    assert "Importing" in done.stderr and "Imported 4 message(s)" in done.stdout
    bad = flask("import", write(tmp_path / "bad.json", "[1, 2"))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("Error: bad.json: not valid JSON")
    exported = flask("export", "--format", "csv")
    assert exported.returncode == 0 and exported.stdout.count("\n") == 5


def test_sgd_preset_keeps_overlapping_dialogue_ids_apart(app, cli, tmp_path):
    """sgd's turns.tsv joins two splits whose dialogue ids overlap: with the preset a second run
    of an id is a conversation of its own; with a plain mapping it continues the first."""
    rows = [
        ("d1", "0", "USER", "first split, hello"),
        ("d1", "1", "SYSTEM", "hi there"),
        ("d2", "0", "USER", "another"),
        ("d1", "0", "USER", "second split, a different dialogue"),
        ("d1", "1", "SYSTEM", "welcome"),
    ]
    text = "dialogue_id\tturn\tspeaker\tutterance\n" + "".join("\t".join(r) + "\n" for r in rows)
    path = write(tmp_path / "turns.tsv", text)
    result = cli("transcripts", "import", path, "--preset", "sgd", "--team", "preset")
    assert result.exit_code == 0 and "Imported 5 message(s)" in result.stdout
    data = export_json(cli, "--team", "preset")["conversations"]
    assert [c["id"] for c in data] == ["d1", "d2", "d1~2"]
    assert data[2]["messages"][0]["text"] == "second split, a different dialogue"
    again = cli("transcripts", "import", path, "--preset", "sgd", "--team", "preset")
    assert "Imported 0 message(s)" in again.stdout and "5 message(s) already stored" in again.stdout

    plain = cli(
        "transcripts", "import", path, "--team", "plain",
        "--map", "conversation=dialogue_id,id=turn,role=speaker,text=utterance",
        "--role-values", "customer=USER,agent=SYSTEM",
    )  # fmt: skip
    assert "Imported 3 message(s)" in plain.stdout and "2 message(s) already stored" in plain.stdout


def test_awkward_values_store_on_every_database(app, cli, tmp_path):
    """NUL characters (PostgreSQL refuses them in text), the longest ids allowed, far-off and
    offset times, markup: stored, and a second import finds every one of them stored."""
    long_id = "c" * 200
    data = {
        "conversations": [
            {
                "id": "nul\x00id",
                "team": "te\x00am" + "x" * 150,
                "agent": "ag\x00ent",
                "messages": [
                    {"id": "m\x00", "role": "customer", "text": "a\x00b <script>x</script>"},
                    {"id": "m" * 100, "role": "agent", "text": "ok", "ts": "0001-01-01T00:00"},
                    {"id": 3, "role": "AGENT", "text": "", "ts": "9999-12-31T23:59:59+01:00"},
                ],
            },
            {"id": long_id, "messages": [{"role": "customer", "text": "é" * 5000}]},
        ]
    }
    path = write(tmp_path / "odd.json", data)
    result = cli("transcripts", "import", path)
    assert result.exit_code == 0, result.output
    assert "Imported 4 message(s)" in result.stdout
    again = cli("transcripts", "import", path)
    assert again.exit_code == 0 and "4 message(s) already stored" in again.stdout
    exported = export_json(cli)["conversations"]
    assert [c["id"] for c in exported] == ["nul\ufffdid", long_id]
    assert exported[0]["team"] == "te\ufffdam" + "x" * 95  # the column's 100 characters
    assert exported[0]["messages"][0]["text"] == "a\ufffdb <script>x</script>"


FORMULAS = {
    "conversations": [
        {
            "id": "=1+1",
            "agent": '=HYPERLINK("http://evil.example","Sam")',
            "team": "@ops",
            "started": "2024-03-01T10:00:00Z",
            "messages": [
                {"id": "-m1", "role": "customer", "text": "=cmd|' /C calc'!A0", "ts": 1709287200},
                {"id": "m2", "role": "agent", "text": "+1 sorry about that", "ts": 1709287201},
                {"id": "m3", "role": "customer", "text": "-2 items\tmissing", "ts": 1709287202},
                {"id": "m4", "role": "agent", "text": "'=already quoted", "ts": 1709287203},
                {"id": "m5", "role": "customer", "text": "'plain quote", "ts": 1709287204},
                {"id": "m6", "role": "agent", "text": "@here thanks", "ts": 1709287205},
            ],
        }
    ]
}


def test_csv_export_guards_formulas_and_imports_back_unchanged(app, cli, tmp_path):
    assert cli("transcripts", "import", write(tmp_path / "in.json", FORMULAS)).exit_code == 0
    one = cli("transcripts", "export", "-o", tmp_path / "one.json")
    assert one.exit_code == 0
    assert (
        cli("transcripts", "export", "--format", "csv", "-o", tmp_path / "one.csv").exit_code == 0
    )
    with (tmp_path / "one.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))[1:]
    # No cell a spreadsheet would run: every risky start is behind a quote.
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    first = rows[0]
    assert first[0] == "'=1+1" and first[1].startswith("'=HYPERLINK") and first[2] == "'@ops"
    assert first[4] == "'-m1" and first[6] == "'=cmd|' /C calc'!A0"
    texts = [row[6] for row in rows]
    assert texts[3:5] == ["''=already quoted", "'plain quote"]

    other = make_app(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    try:
        again = cli_for(other)
        assert again("transcripts", "import", tmp_path / "one.csv").exit_code == 0
        assert again("transcripts", "export", "-o", tmp_path / "two.json").exit_code == 0
    finally:
        other.extensions["empathy"].stop()
    exported = (tmp_path / "one.json").read_text()
    assert (tmp_path / "two.json").read_text() == exported
    assert json.loads(exported)["conversations"][0]["messages"][3]["text"] == "'=already quoted"


def test_agent_names_link_only_agent_accounts_and_are_redacted(app, cli, tmp_path):
    with app.extensions["empathy"].sessions.begin() as session:
        # A trainer of the team whose display name is the export's agent name ("sam").
        accounts.create_user(session, "sam@example.org", "trainer", "a-long-password", "support")
    data = {
        "conversations": [
            {
                "id": "t-1",
                "agent": "sam",
                "team": "support",
                "messages": [{"id": "1", "role": "agent", "text": "Hello!"}],
            },
            {
                "id": "t-2",
                "agent": EMAIL,  # a helpdesk naming agents by e-mail
                "team": "support",
                "messages": [{"id": "1", "role": "agent", "text": "Hi!"}],
            },
        ]
    }
    assert cli("transcripts", "import", write(tmp_path / "agents.json", data)).exit_code == 0
    with app.extensions["empathy"].sessions() as session:
        stored = dict(
            session.execute(
                select(Conversation.external_id, Conversation.agent_id).order_by(Conversation.id)
            ).all()
        )
        names = list(session.scalars(select(Conversation.agent_name).order_by(Conversation.id)))
    assert stored == {"t-1": None, "t-2": None}, "a trainer is not the agent of a conversation"
    assert names == ["sam", "[email]"]
    assert EMAIL not in json.dumps(export_json(cli))
