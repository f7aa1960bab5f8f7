"""The `coach` command. User errors are one line that says what to do next."""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path

import click
from pydantic import ValidationError

from coach.config import Settings
from coach.errors import CoachError
from coach.events import (
    CoachBehind,
    Event,
    HintFailed,
    HintFirstText,
    HintReady,
    HintStarted,
    LagWarning,
    SafetyAlert,
    SpeechEnded,
    SpeechStarted,
    Transcript,
    TranscriptDropped,
)


def event_dict(ev: Event) -> dict:
    d = {"type": type(ev).__name__}
    for k, v in asdict(ev).items() if is_dataclass(ev) else []:
        d[k] = v
    if isinstance(ev, HintReady):
        d["hint"] = ev.hint.model_dump()
        d["speech_to_hint_s"] = ev.speech_to_hint_s
    if isinstance(ev, SafetyAlert):
        d["hint"] = ev.hint.model_dump()
        d["speech_to_alert_s"] = ev.speech_to_alert_s
    return d


def _clock(t: float) -> str:
    return f"{int(t // 60):02d}:{t % 60:04.1f}"


def format_event(ev: Event, verbose: bool = False) -> str | None:
    if isinstance(ev, Transcript):
        return f"[{_clock(ev.t_ready)}] partner: {ev.text}  ({ev.t_ready - ev.t_end:.2f} s after speech, STT {ev.stt_s:.2f} s)"
    if isinstance(ev, HintReady):
        h, lat = ev.hint, ev.latencies
        flag = "SAFETY HINT" if h.priority == "safety" else "hint"
        lines = [
            f"[{_clock(ev.t_ready)}] {flag} #{ev.hint_id} — {ev.speech_to_hint_s:.2f} s after speech "
            f"(first text {lat['first_text_s']:.2f} s, LLM {lat['llm_total_s']:.2f} s)",
            f"    summary:    {h.summary}",
            f"    suggestion: {h.suggestion}",
            f"    ask:        {h.follow_ups[0]}",
            f"                {h.follow_ups[1]}",
        ]
        if h.reminder:
            lines.append(f"    reminder:   {h.reminder}")
        return "\n".join(lines)
    if isinstance(ev, SafetyAlert):
        grade = "SAFETY CHECK-IN" if ev.hint.alert == "check_in" else "SAFETY ALERT"
        heard = f"\n    heard:      \"{ev.hint.heard}\"" if ev.hint.heard else ""
        return (f"[{_clock(ev.t)}] {grade} (turn {ev.turn_id}, by {ev.source}) — {ev.speech_to_alert_s:.2f} s after speech"
                f"{heard}\n    {ev.hint.suggestion}\n    ask:        {ev.hint.follow_ups[0]}")
    if isinstance(ev, HintFailed):
        return f"[{_clock(ev.t)}] hint #{ev.hint_id} failed: {ev.reason}"
    if isinstance(ev, CoachBehind):
        return (f"[{_clock(ev.t)}] the coach is behind: this hint starts {ev.lag_s:.1f} s after the speech" if ev.lag_s
                else f"[{_clock(ev.t)}] the coach has caught up")
    if isinstance(ev, LagWarning):
        return f"[{_clock(ev.t)}] warning: {ev.lag_s:.1f} s behind real time"
    if verbose:
        if isinstance(ev, SpeechStarted):
            return f"[{_clock(ev.t)}] speech started (turn {ev.turn_id})"
        if isinstance(ev, SpeechEnded):
            return f"[{_clock(ev.t_detected)}] speech ended at {_clock(ev.t_end)} (turn {ev.turn_id}{', split' if ev.split else ''})"
        if isinstance(ev, TranscriptDropped):
            return f"[{_clock(ev.t_ready)}] turn {ev.turn_id} dropped: {ev.reason}"
        if isinstance(ev, (HintStarted, HintFirstText)):
            return f"[{_clock(ev.t)}] {type(ev).__name__} #{ev.hint_id}"
    return None


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CoachError as e:
            raise click.ClickException(str(e)) from e


@click.group(cls=_Group)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug). Never includes the partner's words.")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """No Bad Parts coach: offline IFS-style hints for peer-support sessions."""
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        ctx.obj = Settings()
    except ValidationError as e:
        first = e.errors()[0]
        name = "COACH_" + "_".join(str(x) for x in first["loc"]).upper()
        raise click.ClickException(f"{name}: {first['msg'].removeprefix('Value error, ')}") from None


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def models(settings: Settings, as_json: bool) -> None:
    """List the models: which are installed, where, and which are missing."""
    from coach import modelstore

    rows = modelstore.status(settings.models_dir)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for r in rows:
        mark = "active" if r["active"] else ("installed" if r["installed"] else "missing")
        where = f"{r['path']} ({r['size'] / 1e6:.0f} MB)" if r["installed"] else f"({r['source']})"
        click.echo(f"{r['role']:4} {r['id']:30} {mark:9} {where}  [{r['license']}]")
    missing = {r["role"] for r in rows} - {r["role"] for r in rows if r["installed"]}
    if missing:
        click.echo(f"missing: a {', '.join(sorted(missing))} model: run scripts/setup_models.sh", err=True)


@main.command()
@click.argument("wav", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--realtime", is_flag=True, help="Feed the audio at the speed it was spoken (as in a live session).")
@click.option("--json", "as_json", is_flag=True, help="One JSON event per line.")
@click.option("--events", is_flag=True, help="Also show speech start/end and dropped turns.")
@click.pass_obj
def replay(settings: Settings, wav: Path, realtime: bool, as_json: bool, events: bool) -> None:
    """Run the whole chain over a recording and print transcripts and hints as they would appear live."""
    from coach.audio import load_wav
    from coach.replay import replay_fast, replay_realtime
    from coach.runtime import Models

    clip = load_wav(wav)
    models = Models.load(settings)
    run = replay_realtime if realtime else replay_fast
    hints = 0
    for ev in run(models, settings, clip.samples):
        hints += isinstance(ev, HintReady)
        if as_json:
            click.echo(json.dumps(event_dict(ev)))
        elif (line := format_event(ev, events)) is not None:
            click.echo(line)
    if not as_json:
        click.echo(f"-- {clip.duration:.1f} s of audio, {hints} hint(s); models: {models.names['stt']}, {models.names['llm']}", err=True)


@main.command()
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), help="Folder with manifest.tsv (columns file, reference).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the full results here.")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), help="Draw the results as a PNG chart here.")
@click.option("--modes", default="turn,streaming", show_default=True,
              help="Pipeline modes to compare, interleaved on the same clips (also streaming-no-<part>).")
@click.option("--limit", type=int, help="Only the first N clips.")
@click.option("--no-plain", is_flag=True, help="Skip the plain faster-whisper word-error-rate baseline.")
@click.option("--lag-minutes", type=float, default=0.0, help="Also replay this many minutes of continuous speech in real time and report the lag.")
@click.option("--scaling", is_flag=True, help="Also measure how cost grows with turn length and conversation size.")
@click.option("--safety", is_flag=True,
              help="Instead: score the safety check (recall, false alarms, alert rate on real talk, time) on the "
                   "labelled sets in tests/data and the real-talk sets in ../shared/data (or --safety-set FILE).")
@click.option("--safety-set", "safety_sets", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="With --safety: a labelled JSON-lines set instead of the defaults (repeatable).")
@click.option("--no-real-talk", is_flag=True, help="With --safety: skip the real-talk sets.")
@click.option("--real-talk-sample", type=click.IntRange(1), default=300, show_default=True,
              help="With --safety --whisper: ordinary real-talk turns voiced per set (a seeded sample; all labelled ones too).")
@click.option("--whisper", is_flag=True, help="With --safety: also voice the sets (or read --corpus) and score what Whisper hears.")
@click.option("--quality", is_flag=True,
              help="Instead: hint quality (grounding, addressing, echo, variety, labels) per installed LLM, before "
                   "(LLM alone) and after (LLM summary + IFS move library), on the built-in corpus and --corpus.")
@click.option("--text-only", is_flag=True, help="With --quality: give the hint writers the reference text, not Whisper's.")
@click.option("--no-real-talk-quality", "no_real_quality", is_flag=True,
              help="With --quality: skip the real-talk sets (annomi-dev, counseling-dev client turns, as written).")
@click.option("--live", is_flag=True,
              help="Instead: start a real coach serve, speak the clips into a session as the partner, and measure "
                   "latency at the facilitator, beside a real-time replay of the same clips (needs livekit-server).")
@click.option("--browser", is_flag=True, help="With --live: the facilitator is the real page in Chromium.")
@click.option("--endpoint", is_flag=True,
              help="Instead: how long the end of a turn takes to be seen, and how many turns a shorter wait would split "
                   "in the middle (each clip of the corpus is one whole turn; voice activity only, fast).")
@click.pass_obj
def bench(settings: Settings, corpus: Path | None, json_out: Path | None, chart: Path | None, modes: str,
          limit: int | None, no_plain: bool, lag_minutes: float, scaling: bool, safety: bool,
          safety_sets: tuple[Path, ...], no_real_talk: bool, real_talk_sample: int, whisper: bool, quality: bool, text_only: bool, no_real_quality: bool, live: bool, browser: bool,
          endpoint: bool) -> None:
    """Replay a corpus and report speech-to-hint latency (median, p95) per mode, their ratios, and word error rate."""
    from coach.bench import format_report, run_bench

    if corpus is not None and not corpus.is_dir():
        raise click.ClickException(f"--corpus {corpus}: no such folder")
    if safety_sets and not safety:
        raise click.ClickException("--safety-set goes with --safety")
    if safety:
        _bench_safety(settings, list(safety_sets), whisper, corpus, json_out, not no_real_talk, real_talk_sample)
        return
    if browser and not live:
        raise click.ClickException("--browser goes with --live")
    if endpoint:
        _bench_endpoint(settings, corpus, limit, json_out)
        return
    if live:
        from coach.bench_live import format_live_report, run_live_bench, write_live_chart

        report = run_live_bench(settings, corpus, limit=limit, browser=browser)
        click.echo(format_live_report(report))
        _save(report, json_out, chart, write_live_chart)
        return
    if quality:
        from coach.bench_quality import format_quality, run_quality

        report = run_quality(settings, corpus, text_only=text_only, limit=limit,  # --limit: sessions per corpus
                             real_talk=not no_real_quality)
        click.echo(format_quality(report))
        _save(report, json_out)
        return
    from coach.config import PipelineMode

    try:
        chosen = tuple(PipelineMode.parse(m.strip()) for m in modes.split(",") if m.strip())
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    report = run_bench(settings, corpus, limit=limit, plain=not no_plain, modes=chosen,
                       lag_minutes=lag_minutes, scaling=scaling)
    click.echo(format_report(report))
    from coach.bench_chart import write_chart

    _save(report, json_out, chart, write_chart)


def _bench_endpoint(settings: Settings, corpus: Path | None, limit: int | None, json_out: Path | None) -> None:
    import tempfile

    from coach import modelstore
    from coach.bench import read_corpus, voice_builtin
    from coach.bench_endpoint import format_endpoint_report, run_endpoint_bench
    from coach.vad import EndpointConfig, SileroVad

    vad = SileroVad(modelstore.model_file(settings.models_dir, "vad", None, ".onnx"))
    with tempfile.TemporaryDirectory(prefix="coach-endpoint-") as tmp:
        clips = read_corpus(corpus) if corpus else voice_builtin(Path(tmp))
        report = run_endpoint_bench(clips[:limit] if limit else clips, vad, EndpointConfig.from_settings(settings))
    click.echo(format_endpoint_report(report, str(corpus or "builtin")))
    _save(report, json_out)


def _save(report: dict, json_out: Path | None, chart: Path | None = None, draw=None) -> None:
    """The bench's --json and --chart, whichever were asked for."""
    from coach.bench import write_json

    if json_out:
        write_json(report, json_out)
        click.echo(f"results written to {json_out}", err=True)
    if chart and draw:
        draw(report, chart)
        click.echo(f"chart drawn to {chart}", err=True)


def _bench_safety(settings: Settings, paths: list[Path], whisper: bool, corpus: Path | None, json_out: Path | None,
                  real: bool, sample: int) -> None:
    from coach.bench_safety import format_safety_report, run_safety_bench, write_safety_json
    from coach.runtime import load_embedder
    from coach.safety import SafetyCheck

    for path in paths:
        if not path.is_file():
            raise click.ClickException(f"--safety-set {path}: no such file")
    t0 = time.perf_counter()
    embed_id, embedder = load_embedder(settings)
    check = SafetyCheck(embedder)
    click.echo(f"safety check ready in {time.perf_counter() - t0:.1f} s ({embed_id})", err=True)
    transcriber = None
    if whisper or corpus is not None:
        from coach.runtime import load_transcriber

        stt_id, transcriber = load_transcriber(settings)
        click.echo(f"speech to text: {stt_id}", err=True)
    report = run_safety_bench(check, paths, transcriber, corpus, settings.stt_vocabulary or None, real=real, sample=sample)
    click.echo(format_safety_report(report))
    if json_out:
        write_safety_json(report, json_out)
        click.echo(f"results written to {json_out}", err=True)


@main.command()
@click.pass_obj
def serve(settings: Settings) -> None:
    """Start a live session server: livekit-server, the pages and the coach. Ctrl-C stops everything."""
    from coach.serve import serve as run

    run(settings)


if __name__ == "__main__":
    main()
