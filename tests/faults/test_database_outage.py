"""The database is unreachable for 10 s: a TCP proxy between the server and PostgreSQL drops
every connection and refuses new ones (stopping PostgreSQL is not an option: other tests use
it). Drafts still get nudges during the outage; acks wait for the database and arrive after it;
every message is stored exactly once."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from tests.conftest import PG_PORT

from .conftest import TEST_LEXICONS, stored_ids
from .reliable import ReliableAgent

OUTAGE_SECONDS = 10


class CuttableProxy:
    """127.0.0.1:<port> -> PostgreSQL, byte for byte, until cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down = False
        self.stopped = False
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.refused = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:  # as if the database host were gone: the connection fails at once
                self.refused += 1
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.down = True
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def restore(self) -> None:
        self.down = False

    def stop(self) -> None:
        self.stopped = True
        self.cut()
        self.listener.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_ten_seconds_without_the_database_loses_and_duplicates_nothing(start_server, database_url):
    proxy = CuttableProxy(("127.0.0.1", PG_PORT))
    proxied = database_url.replace(f":{PG_PORT}/", f":{proxy.port}/")
    assert proxied != database_url
    server = start_server(proxied, EMPATHY_LEXICON_DIR=str(TEST_LEXICONS))
    agent = ReliableAgent(server.ws_url, server.new_token("outage"), "outage")
    agent.connect()
    n = 0
    try:
        for _ in range(3):
            agent.message("customer", f"m{n}", f"message {n}: I'm so frustrated")
            agent.message("sent", f"m{n + 1}", f"reply {n + 1}: looking now")
            n += 2
        agent.drain()
        acked_before = set(agent.figures.acked)

        proxy.cut()
        cut_at = time.monotonic()
        during = 0
        while time.monotonic() - cut_at < OUTAGE_SECONDS:
            agent.message("customer" if n % 2 else "sent", f"m{n}", f"message {n} in the outage")
            n += 1
            assert agent.draft(f"d{n}", "Please calm down.", timeout=5)["items"]
            during += 1
            agent.pump(0.5)
        acked_in_outage = set(agent.figures.acked) - acked_before
        proxy.restore()
        restored_at = time.monotonic()
        agent.drain(timeout=120)
        acks_after = time.monotonic() - restored_at
        assert agent.draft("after", "Please calm down.")["items"]
    finally:
        agent.close()
        proxy.stop()

    assert proxy.refused > 0, "the server never tried the database during the outage"
    assert acked_in_outage == set(), "acked while the database was unreachable"
    figures = agent.figures
    expected = {f"m{i}" for i in range(n)}
    assert figures.acked == expected
    stored = stored_ids(database_url, "outage")
    assert stored == dict.fromkeys(expected, 1), stored
    print(
        f"database outage {OUTAGE_SECONDS} s: {during} drafts nudged during it, "
        f"{figures.messages_sent} messages sent ({n - 6} during the outage, "
        f"{figures.frames_sent} frames with resends), {len(figures.acked)} acked, "
        f"{sum(stored.values())} stored, lost 0; last ack {acks_after:.1f} s after the database "
        f"came back; {proxy.refused} database connections refused; errors {dict(figures.errors)}"
    )
