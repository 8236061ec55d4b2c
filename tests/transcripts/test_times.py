"""One naive-to-UTC rule (assistant/storage/times.as_utc) for the live server, the readers and
the export; an out-of-range `--since` is a usage error, not a traceback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from assistant.live import connection
from assistant.storage.times import as_utc
from assistant.transcripts import export, sources


def test_as_utc_takes_naive_as_utc_and_converts_offsets():
    assert as_utc(datetime(2024, 3, 1, 10)) == datetime(2024, 3, 1, 10, tzinfo=UTC)
    plus_two = datetime(2024, 3, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(plus_two).tzinfo is UTC and as_utc(plus_two).hour == 10
    assert export.iso(plus_two) == "2024-03-01T10:00:00Z"
    assert export.iso(datetime(2024, 3, 1, 10)) == "2024-03-01T10:00:00Z"
    assert sources._time("2024-03-01T12:00:00+02:00") == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_the_live_server_uses_the_shared_helper():
    assert connection.as_utc is as_utc
    assert not hasattr(connection, "_as_utc")


def test_a_since_out_of_range_is_a_usage_error(cli):
    result = cli("transcripts", "export", "--since", "0001-01-01T00:00:00+05:00")
    assert result.exit_code == 2 and "out of range" in result.output
