"""The bench as a picture: where the time goes per mode (stacked medians) and how latencies spread."""

from __future__ import annotations

from pathlib import Path

from coach.bench import BenchReport

STAGES = [  # (label, from metric, to metric)
    ("end of turn detected", None, "endpoint_ms"),
    ("final transcript", "endpoint_ms", "transcript_ms"),
    ("first hint text", "transcript_ms", "first_text_ms"),
    ("complete hint", "first_text_ms", "complete_ms"),
]
COLORS = ["#9bb7d4", "#5b8db8", "#e0a458", "#7aa874"]


def write_chart(report: BenchReport, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no screen needed
    import matplotlib.pyplot as plt

    modes = list(report.modes)
    fig, (bars, spread) = plt.subplots(1, 2, figsize=(13, 0.9 * len(modes) + 3.4),
                                       gridspec_kw={"width_ratios": [1.1, 1]})

    for y, mode in enumerate(modes):
        s = report.modes[mode].latency
        left = 0.0
        for (label, a, b), color in zip(STAGES, COLORS):
            start = s[a].p50 if a else 0.0
            end = s[b].p50
            if end is None or start is None:
                continue
            width = max(0.0, end - max(start, left))
            bars.barh(y, width / 1000, left=left / 1000, color=color, label=label if y == 0 else None)
            left += width
        bars.text(left / 1000 + 0.05, y, f"{left / 1000:.2f} s", va="center", fontsize=9)
    bars.set_yticks(range(len(modes)), modes)
    bars.set_xlabel("seconds after the end of the partner's speech (medians)")
    bars.set_title("Where the time goes")
    bars.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, fontsize=8, frameon=False)
    bars.invert_yaxis()

    data, labels = [], []
    for mode in modes:
        for metric, short in (("first_text_ms", "first text"), ("complete_ms", "complete")):
            values = [c.ms[metric] / 1000 for c in report.clips if c.mode == mode and c.ms.get(metric) is not None]
            data.append(values)
            labels.append(f"{mode}\n{short}")
    spread.boxplot(data, vert=False, showfliers=True)
    spread.set_yticks(range(1, len(labels) + 1), labels, fontsize=8)
    spread.set_xlabel("seconds (each clip)")
    spread.set_title("Latency per clip")
    spread.invert_yaxis()

    title = f"{report.corpus} — {report.models['stt']} + {report.models['llm']}"
    if report.speedup_first_text:
        title += f" — first text ×{report.speedup_first_text} faster streaming"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
