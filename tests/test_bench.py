"""coach bench: the report people read and the JSON they compare (latency values themselves are not asserted:
they are measurements, not test results)."""

import json
import shutil
import subprocess
import sys

import pytest

from coach import bench, bench_load
from tests.conftest import REPO


def test_wer_ignores_case_punctuation_and_hyphens():
    assert bench.wer(["The cold-hearted man, Mr. Smith."], ["the cold hearted man mister smith"]) == 0.0
    assert bench.wer(["one two three four"], ["one two four"]) == 0.25
    assert bench.wer(["one two"], [""]) == 1.0  # nothing heard counts as every word missed
    assert bench.wer([""], ["noise"]) is None  # no reference words: nothing to score


def test_wer_difference_counts_errors_per_clip_and_brackets_the_difference():
    refs = ["one two three four", "five six seven eight", "nine ten"]
    baseline = ["one two three four", "five six seven eight", "nine"]  # 1 error in 10 words
    candidate = ["one two three", "five six seven ate", "nine ten"]  # 2 errors
    d = bench.wer_difference(refs, candidate, baseline)
    assert d["points"] == 10.0
    assert (d["clips_better"], d["clips_worse"], d["clips"]) == (1, 2, 3)
    assert d["ci95"][0] <= d["points"] <= d["ci95"][1] and d["ci95"][0] < d["ci95"][1]
    same = bench.wer_difference(refs, baseline, baseline)
    assert same["points"] == 0.0 and same["ci95"] == [0.0, 0.0]
    assert bench.wer_difference([""], ["noise"], [""]) is None


def test_percentiles_skip_missing_values():
    assert bench.percentiles([None, 3.0, 1.0, 2.0]) == {"p50": 2.0, "p95": 2.9, "n": 3}
    assert bench.percentiles([None]) == {"p50": None, "p95": None, "n": 0}


def test_lag_trend_is_the_fitted_change_over_the_run():
    span = 1800.0
    flat = [(t, 2.0 + (0.5 if i % 2 else -0.5)) for i, t in enumerate(range(0, 1800, 20))]
    rising = [(t, 1.0 + t / span) for t in range(0, 1800, 20)]
    assert abs(bench_load._trend(flat, span)) < 0.1
    assert bench_load._trend(rising, span) == pytest.approx(1.0, abs=0.01)
    assert bench_load._trend(rising[:2], span) is None


def test_report_text_names_every_mode_ratio_and_lag():
    stats = bench.Spread(1000.0, 1200.0, 3)
    mode = bench.ModeSummary({m: stats for m in bench.METRICS}, bench.Spread(0.4, 0.5, 3), bench.Spread(0.6, 0.8, 3), wer=0.05, hints=3,
                             hints_failed=0, hints_truncated=0, safety_hints=0)
    lag = bench_load.LagResult(minutes=30, turns=96, transcripts=96, hints=95, transcript_lag_start_s=1.2,
                               transcript_lag_end_s=1.3, hint_lag_start_s=4.0, hint_lag_end_s=4.2,
                               transcript_lag_trend_s=0.05, hint_lag_trend_s=None, per_minute=[], lag_warnings=0,
                               max_behind_s=0.0)
    report = bench.BenchReport(
        corpus="builtin", models={"stt": "whisper-base", "llm": "smollm2"}, clips=[],
        modes={"turn": mode, "streaming": mode}, ratios={m: 1.0 for m in bench.METRICS},
        wer={"turn": 0.05, "streaming": 0.05, "plain_whisper": None}, peak_rss_mb=700.0,
        wer_streaming_minus_turn={"points": -0.17, "ci95": [-1.33, 0.93], "clips_better": 35, "clips_worse": 30,
                                  "clips": 181},
        speedup_first_text=1.0, speedup_complete=1.0, lag=lag,
    )
    text = bench.format_report(report)
    for needle in ("first_text_ms", "complete_ms", "streaming/turn", "WER 5.0%", "first text x1.0", "CPU 0.6 core-seconds",
                   "transcript 1.2 s in the first tenth -> 1.3 s in the last (trend +0.05 s)", "(trend - s)",
                   "WER streaming - turn: -0.17 points (95% interval -1.33 to +0.93"):
        assert needle in text, needle
    saved = report.to_json()  # the JSON keeps the layout earlier runs were saved in
    assert saved["modes"]["turn"]["first_text_ms"] == {"p50": 1000.0, "p95": 1200.0, "n": 3}
    assert saved["modes"]["streaming"]["rtf"]["p50"] == 0.4 and saved["modes"]["turn"]["hints"] == 3
    assert saved["wer"]["streaming_minus_turn"]["clips"] == 181 and saved["speedup_first_text"] == 1.0
    assert saved["lag"]["hint_lag_end_s"] == 4.2 and "scaling" not in saved


@pytest.mark.models
@pytest.mark.slow
def test_bench_command_writes_the_json_and_chart_the_issue_asks_for(models, tmp_path):
    """The CLI end to end on two built-in clips (voiced with espeak-ng), both modes, real models."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed (scripts/install.sh installs it)")
    out, chart = tmp_path / "bench.json", tmp_path / "bench.png"
    done = subprocess.run(
        [sys.executable, "-m", "coach.cli", "bench", "--limit", "2", "--no-plain", "--json", str(out), "--chart", str(chart)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    for mode in ("turn", "streaming"):
        for metric in ("first_text_ms", "complete_ms", "transcript_ms", "endpoint_ms"):
            assert report["modes"][mode][metric]["n"] == 2
            assert 0 < report["modes"][mode][metric]["p50"] <= report["modes"][mode][metric]["p95"]
        assert report["modes"][mode]["hints_failed"] == 0
        assert 0 < report["modes"][mode]["cpu_per_speech_s"]["p50"] < 4  # per second of speech, on 2 cores
    assert report["turn_s"]["n"] == 2 and report["turn_s"]["p50"] > 1  # the turn lengths it was measured on
    turn, streaming = (report["modes"][m]["first_text_ms"]["p50"] for m in ("turn", "streaming"))
    assert report["speedup_first_text"] == pytest.approx(turn / streaming, rel=0.01)
    assert report["wer"]["streaming_minus_turn"]["clips"] == 2
    assert report["peak_rss_mb"] > 100
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000
    assert "speed-up, turn / streaming medians" in done.stdout


def test_bench_with_a_missing_corpus_is_one_clear_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "coach.cli", "bench", "--corpus", str(tmp_path / "nope")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == f"Error: --corpus {tmp_path / 'nope'}: no such folder"


def test_voice_corpus_script_makes_a_corpus_the_bench_reads(tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed (scripts/install.sh installs it)")
    texts = tmp_path / "turns.jsonl"
    rows = [{"text": "A part of me wants to rest for a while.", "is_client": 1},
            {"text": "How does that feel when you notice it?", "is_client": 0},
            {"text": "Too short.", "is_client": 1},
            {"text": "Another part keeps me busy, \"always\" busy.", "is_client": 1}]
    texts.write_text("\n".join(json.dumps(r) for r in rows))
    out = tmp_path / "corpus"
    done = subprocess.run([sys.executable, "scripts/voice_corpus.py", str(texts), str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    clips = bench.read_corpus(out)
    assert [c.reference for c in clips] == [rows[0]["text"], rows[3]["text"]]
    assert all(c.path.stat().st_size > 10_000 for c in clips)
    empty = tmp_path / "empty.txt"
    empty.write_text("hi\n")
    done = subprocess.run([sys.executable, "scripts/voice_corpus.py", str(empty), str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.strip() == f"Error: {empty}: no utterance of 5 words or more"


def test_live_timeline_matches_each_clip_to_its_hint_and_splits_the_delivery():
    from coach.bench_live import Arrival, Timeline

    t = Timeline(ends=[100.0, 110.0, 120.0])
    # answers clip 2: the coach heard the end 0.2 s late and finished 1.0 s later; sent 30 ms after, 50 ms on the way
    t.hints["a"] = Arrival(first_at=110.7, final_at=111.3, speech_end_at=110.2, sent_at=111.23, received_at=111.28,
                           coach={"speech_to_hint_s": 1.0, "first_text_s": 0.4})
    t.hints["b"] = Arrival(first_at=101.0, final_at=None, speech_end_at=None)  # never finished: answers nothing
    rows = t.per_clip()
    assert rows[0]["complete_s"] is None and rows[2]["complete_s"] is None
    got = rows[1]
    assert (got["first_text_s"], got["complete_s"], got["coach_complete_s"]) == (0.7, 1.3, 1.0)
    assert got["heard_end_ms"] == pytest.approx(200, abs=0.5)
    assert got["queued_ms"] == pytest.approx(30, abs=0.5) and got["transit_ms"] == pytest.approx(50, abs=0.5)
    assert got["drawing_ms"] == pytest.approx(20, abs=0.5)


def test_live_report_prints_the_cost_and_the_delivery_breakdown():
    from coach.bench_live import _summary, format_live_report

    row = {"first_text_s": 0.9, "complete_s": 1.5, "coach_first_text_s": 0.6, "coach_complete_s": 1.2,
           "heard_end_ms": 150.0, "queued_ms": 5.0, "transit_ms": 40.0, "drawing_ms": 2.0}
    replay = {**row, "first_text_s": 0.8, "complete_s": 1.3, "heard_end_ms": 90.0,
              "queued_ms": None, "transit_ms": None, "drawing_ms": None}
    report = {"facilitator": "browser", "clips": ["c1"], "live": _summary([row]), "replay": _summary([replay]),
              "overhead_ms": {"first_text_s": 100.0, "complete_s": 200.0},
              "overhead_per_clip_ms": {"first_text_s": 100.0, "complete_s": 200.0}}
    text = format_live_report(report)
    assert "first text 100.0 ms, complete 200.0 ms" in text
    assert "live 150 / 150 ms, replay 90 / 90 ms" in text
    assert "queued 5 / 5 ms, transit 40 / 40 ms, drawing 2 / 2 ms" in text


def test_a_transcripts_notes_in_brackets_are_not_spoken():
    from coach.bench import spoken

    assert spoken("Well [laughs] I tried, [crosstalk] you know.") == "Well I tried, you know."
    assert spoken("[foreign language] It was hard.") == "It was hard."
    assert spoken("No notes here.") == "No notes here."


def test_a_line_that_is_only_a_note_is_voiced_as_silence(tmp_path):
    from coach.audio import load_wav
    from coach.bench import voice

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: apt-get install espeak-ng")
    clips = voice([("a", "[sighs]"), ("b", "Fine [laughs] thanks.")], tmp_path)
    assert [c.reference for c in clips] == ["", "Fine thanks."]
    assert not load_wav(clips[0].path).samples.any() and load_wav(clips[1].path).samples.any()

