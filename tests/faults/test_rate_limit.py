"""Fill a connection past its rate limit: the frames over it are answered `rate-limited` (and
dropped), the client resends what is unacked, and every message is stored exactly once."""

from __future__ import annotations

from .conftest import TEST_LEXICONS, stored_ids
from .reliable import ReliableAgent

MESSAGES = 60


def test_flooding_past_the_rate_limit_loses_and_duplicates_nothing(start_server, database_url):
    server = start_server(
        database_url,
        EMPATHY_LEXICON_DIR=str(TEST_LEXICONS),
        EMPATHY_FRAMES_PER_SECOND=5,
        EMPATHY_FRAME_BURST=10,
    )
    agent = ReliableAgent(server.ws_url, server.new_token("flooder"), "flood")
    agent.connect()
    try:
        for i in range(MESSAGES):  # all at once: six times the burst
            kind = "customer" if i % 3 else "sent"
            agent.message(kind, f"m{i}", f"message {i}, please calm down")
        agent.drain(timeout=120)
        assert agent.draft("after", "Please calm down.")["items"]  # the connection still coaches
    finally:
        agent.close()

    figures = agent.figures
    assert figures.errors["rate-limited"] > 0, "the flood never reached the limit"
    assert figures.frames_sent > MESSAGES  # some were resent
    assert figures.acked == {f"m{i}" for i in range(MESSAGES)}
    stored = stored_ids(database_url, "flood")
    assert stored == {f"m{i}": 1 for i in range(MESSAGES)}, stored
    print(
        f"rate limit: {MESSAGES} messages, {figures.frames_sent} frames sent, "
        f"{figures.errors['rate-limited']} rate-limited, {len(figures.acked)} acked, "
        f"{sum(stored.values())} stored, lost 0"
    )
