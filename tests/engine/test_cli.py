"""`python -m assistant` as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import REPO


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_check_text_reads_like_a_linter() -> None:
    replies = "Your new card should arrive on Friday.\nOk so calm down, we apologize for that.\n"
    result = run("check", stdin=replies)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("-:2:")
    assert any("try:" in line for line in lines)


def test_check_jsonl_prints_one_object_per_line_in_order(tmp_path) -> None:
    source = tmp_path / "replies.txt"
    source.write_text("Thanks for your order.\nCalm down.\n\nAs per our policy, no.\n")
    result = run("check", "--format", "jsonl", str(source))
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["text"] for o in objects] == source.read_text().splitlines()
    assert objects[0]["findings"] == [] and objects[2]["findings"] == []
    finding = objects[1]["findings"][0]
    assert set(finding) == {
        "rule", "category", "question", "start", "end", "message", "suggestions", "severity"
    }  # fmt: skip
    assert objects[3]["findings"]


def test_check_customer_role_reports_feelings() -> None:
    result = run("check", "--role", "customer", "--format", "jsonl", stdin="I'm so worried!!\n")
    (obj,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert {f["category"] for f in obj["findings"]} >= {"worry"}
    assert all(f["question"] == 1 for f in obj["findings"])


def test_bad_usage_and_unreadable_input_exit_2_with_one_line(tmp_path) -> None:
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\xff\xfe\x00bad")
    for args in (("check", "--format", "xml"), ("check", str(tmp_path / "missing.txt")),
                 ("check", str(binary)), ("frobnicate",)):  # fmt: skip
        result = run(*args)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_broken_lexicon_is_a_clear_usage_error(tmp_path) -> None:
    (tmp_path / "bad.yml").write_text("rules:\n  - {id: oops, question: 9}\n")
    result = run("--lexicons", str(tmp_path), "check", stdin="hello\n")
    assert result.returncode == 2
    assert "bad.yml: rule 'oops'" in result.stderr


def test_lint_passes_on_defaults_and_fails_on_a_wrong_example(tmp_path) -> None:
    assert run("lint").returncode == 0
    (tmp_path / "x.yml").write_text(
        "rules:\n  - {id: calm, patterns: [calm down], category: c, question: 2, message: m,\n"
        "     suggestions: [s], examples: {flags: [Settle down.], passes: [ok]}}\n"
    )
    result = run("--lexicons", str(tmp_path), "lint")
    assert result.returncode == 1
    assert "should flag 'Settle down.'" in result.stdout


def test_eval_reports_recall_false_flags_and_misses(tmp_path) -> None:
    tsv = tmp_path / "set.tsv"
    tsv.write_text(
        "text\tlabel\tcategory\n"
        "Calm down.\tavoid\tcondescension\n"
        "Purple monkeys dance.\tavoid\tnonsense\n"
        "I'm so sorry your parcel is late, let me fix it.\trecommended\tempathy\n"
    )
    result = run("eval", str(tsv))
    assert result.returncode == 0, result.stderr
    assert "recall on avoid:          0.500 (1/2)" in result.stdout
    assert "false flags, recommended: 0.000 (0/1)" in result.stdout
    assert "  - Purple monkeys dance." in result.stdout
