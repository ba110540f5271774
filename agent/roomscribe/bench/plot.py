"""PNG plot of the utterance-final latency distribution."""

from __future__ import annotations

from pathlib import Path

from roomscribe.bench.runner import BenchReport


def plot_latency(report: BenchReport, path: Path) -> Path:
    """Empirical CDF of first-shown and final latency over every stream."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = sorted(x for s in report.streams if s.score for x in s.score.first_shown if x >= 0)
    final = sorted(x for s in report.streams if s.score for x in s.score.final if x >= 0)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for values, label in ((shown, "first shown"), (final, "final")):
        if values:
            ys = [(i + 1) / len(values) for i in range(len(values))]
            ax.step(values, ys, where="post", label=f"{label} (n={len(values)})")
    ax.axvline(1.5, color="grey", linestyle=":", label="target final p90 (1.5 s)")
    ax.set_xlabel("seconds after the utterance ended")
    ax.set_ylabel("share of utterances")
    ax.set_title(
        f"roomscribe {report.model}: {report.streams_per_file} stream(s), pace {report.pace}"
    )
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
