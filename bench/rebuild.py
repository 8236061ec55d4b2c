"""How fast a lexicon edit reaches the live matcher, with 5,000 rules.

    python bench/rebuild.py [--rules 5000] [--repeat 5]

Rules of realistic size: 1-3 short phrases each (2-4 words taken from real agent replies in
../shared/data/sgd/turns.tsv, some with an (a|b) alternative or an [optional] word), with
examples. Measures, each as the median of --repeat runs on one core:

* validating the rule dicts (rules_from_dicts), and a full Engine build (cold, then warm);
* Engine.updated() after one edited rule, one added rule, ten edited rules;
* the whole path a running server takes after a save (Lexicons.check_now on a SQLite file:
  read the version and the rules, validate, Engine.updated), after one editor save.

Prints a Markdown table for docs/benchmarks.md ("## Matcher rebuild").
"""

from __future__ import annotations

import argparse
import csv
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.engine import Engine, rules_from_dicts  # noqa: E402

TURNS = REPO.parent / "shared" / "data" / "sgd" / "turns.tsv"
TARGET_MS = 200
PLAIN_WORD = re.compile(r"^[a-z]{2,}$")


def phrase_pool(limit: int = 20000) -> list[list[str]]:
    """Word runs (2-4 words) from real agent replies."""
    runs: Counter[tuple[str, ...]] = Counter()
    with TURNS.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in rows:
            if row["speaker"] != "SYSTEM":
                continue
            words = row["utterance"].lower().split()
            for size in (2, 3, 4):
                for i in range(len(words) - size + 1):
                    run = words[i : i + size]
                    if all(PLAIN_WORD.match(w) for w in run):  # no punctuation, no "don't"
                        runs[tuple(run)] += 1
            if len(runs) > limit * 4:
                break
    return [list(run) for run, _ in runs.most_common(limit)]


def make_rules(count: int, seed: int = 5) -> list[dict]:
    random.seed(seed)
    pool = phrase_pool()
    vocabulary = sorted({w for run in pool for w in run})
    rules = []
    for n in range(count):
        phrases, flags = [], []
        for _ in range(random.randint(1, 3)):
            words = list(random.choice(pool))
            flags.append(" ".join(words) + ".")
            if random.random() < 0.3:  # an alternative for one word
                i = random.randrange(len(words))
                words[i] = f"({words[i]}|{random.choice(vocabulary)})"
            elif random.random() < 0.2:  # an optional word
                words.insert(random.randrange(len(words) + 1), f"[{random.choice(vocabulary)}]")
            phrases.append(" ".join(words))
        rules.append(
            {
                "id": f"bench-{n}",
                "patterns": phrases,
                "category": random.choice(["policy", "apology", "dismissive", "jargon"]),
                "question": random.randint(1, 5),
                "message": "How would you feel reading this?",
                "suggestions": ["Here's what I can do for you{, name}: …"],
                "examples": {"flags": flags[:1], "passes": ["Zzz qqq."]},
            }
        )
    return rules


def median_ms(function, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def edited(rule: dict, n: int) -> dict:
    return {**rule, "patterns": [*rule["patterns"], f"edited phrase number {n}"]}


def live_path_ms(dicts: list[dict], repeat: int) -> float:
    """Lexicons.check_now() after one editor save, on a SQLite file with every rule stored."""
    from assistant.editor import rules as editor_rules
    from assistant.live.lexicons import Lexicons
    from assistant.storage import lexicon_store
    from assistant.storage.db import make_engine, make_session_factory, migrate

    with tempfile.TemporaryDirectory() as folder:
        db = make_engine(f"sqlite:///{folder}/bench.sqlite3")
        migrate(db)
        sessions = make_session_factory(db)
        with sessions.begin() as session:
            lexicon_store.replace_rules(session, dicts)
        lexicons = Lexicons(sessions, REPO / "lexicons", poll_seconds=3600)
        lexicons.ensure_started()
        lexicons.stop()
        samples = []
        for n in range(repeat):
            with sessions.begin() as session:
                editor_rules.save(session, edited(dicts[n], n), editor_rules.CLI, dicts[n]["id"])
            start = time.perf_counter()
            assert lexicons.check_now()
            samples.append((time.perf_counter() - start) * 1000)
        db.dispose()
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    dicts = make_rules(args.rules)
    validate = median_ms(lambda: rules_from_dicts(dicts, source="bench"), args.repeat)
    rules = rules_from_dicts(dicts, source="bench")
    start = time.perf_counter()
    engine = Engine(rules)
    cold = (time.perf_counter() - start) * 1000
    warm = median_ms(lambda: Engine(rules), args.repeat)
    sequences = sum(len(r.patterns) for r in rules)

    one = rules_from_dicts([edited(dicts[0], 0), *dicts[1:]], source="bench")
    added = rules_from_dicts([*dicts, edited({**dicts[0], "id": "bench-new"}, 1)], "bench")
    ten = rules_from_dicts([edited(d, i) for i, d in enumerate(dicts[:10])] + dicts[10:], "bench")
    update_one = median_ms(lambda: engine.updated(one), args.repeat)
    update_add = median_ms(lambda: engine.updated(added), args.repeat)
    update_ten = median_ms(lambda: engine.updated(ten), args.repeat)
    assert engine.updated(one).analyse("edited phrase number 0"), "the edit must be live"
    live = live_path_ms(dicts, args.repeat)

    print(f"{args.rules} rules, {sequences} phrases; Python {platform.python_version()}, "
          f"{platform.machine()}, median of {args.repeat}\n")  # fmt: skip
    print("| step | ms |")
    print("| --- | ---: |")
    rows = [
        ("validate every rule dict (`rules_from_dicts`)", validate),
        ("full `Engine` build, first in the process (word forms learnt)", cold),
        ("full `Engine` build, warm", warm),
        ("`Engine.updated()`: one rule edited", update_one),
        ("`Engine.updated()`: one rule added", update_add),
        ("`Engine.updated()`: ten rules edited", update_ten),
        ("live path after a save: `Lexicons.check_now()` (read, validate, update)", live),
    ]
    for label, ms in rows:
        print(f"| {label} | {ms:.1f} |")
    verdict = "meets" if update_one < TARGET_MS else "misses"
    print(f"\nMatcher rebuild after one edit: {update_one:.1f} ms ({verdict} {TARGET_MS} ms).")


if __name__ == "__main__":
    main()
