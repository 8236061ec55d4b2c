"""Latency against connected agents (and server CPU/memory) as a PNG, from a run's report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TARGET_P99_MS = 50


def plot_latency(report: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    steps = report["steps"]
    agents = [s["connected"] for s in steps]
    figure, (latency, load) = plt.subplots(
        2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    for key, label in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
        latency.plot(agents, [s[key] for s in steps], marker="o", label=label)
    latency.axhline(TARGET_P99_MS, color="red", linestyle="--", linewidth=1, label="p99 target")
    latency.set_ylabel("draft → nudges (ms)")
    latency.set_ylim(bottom=0)
    latency.grid(alpha=0.3)
    latency.legend(loc="upper left")
    latency.set_title(f"Empathy Engine under load — {report['server']}", fontsize=9)

    load.plot(agents, [s["server_cpu_percent"] for s in steps], marker="s", label="server CPU %")
    load.plot(
        agents,
        [s["generator_cpu_percent"] for s in steps],
        marker="^",
        label="load generator CPU %",
    )
    load.set_ylabel("% of one core")
    load.set_ylim(bottom=0)
    memory = load.twinx()
    memory.plot(
        agents,
        [sum(s["worker_rss_mib"]) for s in steps],
        color="grey",
        marker="d",
        label="server RSS (MiB)",
    )
    memory.set_ylabel("MiB")
    memory.set_ylim(bottom=0)
    lines = load.get_legend_handles_labels()[0] + memory.get_legend_handles_labels()[0]
    load.legend(lines, [line.get_label() for line in lines], loc="upper left", fontsize=8)
    load.set_xlabel(f"connected agents (a draft each every {report['interval_s']:g} s)")
    load.grid(alpha=0.3)
    figure.text(0.01, 0.005, report["machine"], fontsize=7, color="grey")
    figure.tight_layout(rect=(0, 0.02, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
