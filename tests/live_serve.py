"""A real `coach serve` (with its own real livekit-server child) run as a user runs it, for the live tests.
Loopback only: COACH_LAN_IP=127.0.0.1, free ports, a private state folder."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from coach import livekit_server as lk
from coach.serve_process import ServeProcess, free_port  # noqa: F401 - free_port is for the tests
from tests.conftest import REPO

BINARY = lk.find_binary()
NO_SERVER = ("livekit-server not found on PATH or LIVEKIT_SERVER_BIN (no registry ships it; build it from "
             "livekit/livekit v1.13.5 outside the project): live tests skipped")


def needs_livekit():
    if BINARY is None:
        pytest.skip(NO_SERVER)


def port_free(port: int, kind=socket.SOCK_STREAM, host="127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def session_wav(folder: Path, seconds: float = 80.0, pause_s: float = 2.5) -> tuple[Path, int]:
    """A partner talking for about `seconds`: the bench's partner-style turns voiced by espeak-ng, a pause after each.
    Returns the WAV (48 kHz, as a browser microphone gives) and the number of turns in it."""
    import shutil

    import numpy as np
    import soundfile as sf
    import soxr

    from coach.audio import SAMPLE_RATE, load_wav
    from coach.bench import voice_builtin

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is needed to voice the partner: apt-get install espeak-ng")
    folder.mkdir(parents=True, exist_ok=True)
    parts, total, turns = [np.zeros(SAMPLE_RATE, np.float32)], 1.0, 0
    for clip in voice_builtin(folder):
        if total >= seconds:
            break
        samples = load_wav(clip.path).samples
        parts += [samples, np.zeros(int(pause_s * SAMPLE_RATE), np.float32)]
        total += len(samples) / SAMPLE_RATE + pause_s
        turns += 1
    path = folder / "partner-session.wav"
    sf.write(path, soxr.resample(np.concatenate(parts), SAMPLE_RATE, 48000), 48000, subtype="PCM_16")
    return path, turns


class Serve(ServeProcess):
    """coach serve for a test: the models of this checkout, and a check that livekit-server is its child."""

    def __init__(self, tmp: Path, **env: str):
        super().__init__(tmp, **{"COACH_MODELS_DIR": str(REPO / "models"), **env})

    def livekit_pid(self) -> int:
        pids = [p for p in children(self.proc.pid) if "livekit" in Path(f"/proc/{p}/cmdline").read_text()]
        assert pids, "coach serve has no livekit-server child"
        return pids[0]
