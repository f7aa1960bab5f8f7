"""A real `coach serve` (with its own real livekit-server child) run as a user runs it, for the live tests.
Loopback only: COACH_LAN_IP=127.0.0.1, free ports, a private state folder."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from coach import livekit_server as lk
from tests.conftest import REPO

BINARY = lk.find_binary()
NO_SERVER = ("livekit-server not found on PATH or LIVEKIT_SERVER_BIN (no registry ships it; build it from "
             "livekit/livekit v1.13.5 outside the project): live tests skipped")


def needs_livekit():
    if BINARY is None:
        pytest.skip(NO_SERVER)


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Serve:
    def __init__(self, tmp: Path, **env: str):
        tmp.mkdir(parents=True, exist_ok=True)
        self.ports = {"COACH_HTTP_PORT": free_port(), "COACH_HTTPS_PORT": free_port(), "COACH_LIVEKIT_PORT": free_port(),
                      "COACH_LIVEKIT_TCP_PORT": free_port(), "COACH_LIVEKIT_UDP_PORT": free_port(socket.SOCK_DGRAM)}
        self.http = f"http://127.0.0.1:{self.ports['COACH_HTTP_PORT']}"
        self.https = f"https://127.0.0.1:{self.ports['COACH_HTTPS_PORT']}"
        self.out = tmp / f"serve-{time.monotonic_ns()}.out"
        full_env = {**os.environ, "COACH_LAN_IP": "127.0.0.1", "COACH_STATE_DIR": str(tmp / "state"),
                    "COACH_MODELS_DIR": str(REPO / "models"), "PYTHONUNBUFFERED": "1",
                    **{k: str(v) for k, v in self.ports.items()}, **env}
        self.ports.update({k: int(v) for k, v in env.items() if k in self.ports})
        self._out = open(self.out, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "coach.cli", "serve"], cwd=REPO, env=full_env,
                                     stdout=self._out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 180.0, after: int = 0) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if text in self.output()[after:]:
                return time.monotonic() - t0
            if self.proc.poll() is not None:
                raise AssertionError(f"coach serve exited ({self.proc.returncode}):\n{self.output()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not seen within {timeout} s:\n{self.output()[-3000:]}")

    def ready(self) -> "Serve":
        self.wait_for("Coach ready")
        return self

    def livekit_pid(self) -> int:
        pids = [p for p in children(self.proc.pid) if "livekit" in Path(f"/proc/{p}/cmdline").read_text()]
        assert pids, "coach serve has no livekit-server child"
        return pids[0]

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.http + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def stop(self, sig=signal.SIGINT, timeout: float = 15.0) -> float:
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        return time.monotonic() - t0
