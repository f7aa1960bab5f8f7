"""A real `coach serve` (with its own livekit-server child) started as a user starts it, on free loopback ports with
a private state folder: for `coach bench --live` and the live tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from coach.config import REPO_DIR
from coach.errors import CoachError

PORT_SETTINGS = ("COACH_HTTP_PORT", "COACH_HTTPS_PORT", "COACH_LIVEKIT_PORT", "COACH_LIVEKIT_TCP_PORT")


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    def __init__(self, folder: Path, **env: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port() for name in PORT_SETTINGS}
        self.ports["COACH_LIVEKIT_UDP_PORT"] = free_port(socket.SOCK_DGRAM)
        self.ports.update({k: int(v) for k, v in env.items() if k in self.ports})
        self.http = f"http://127.0.0.1:{self.ports['COACH_HTTP_PORT']}"
        self.https = f"https://127.0.0.1:{self.ports['COACH_HTTPS_PORT']}"
        self.out = folder / f"serve-{time.monotonic_ns()}.out"
        self._browser: urllib.request.OpenerDirector | None = None
        full_env = {**os.environ, "COACH_LAN_IP": "127.0.0.1", "COACH_STATE_DIR": str(folder / "state"),
                    "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in self.ports.items()}, **env}
        self._out = open(self.out, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "coach.cli", "serve"], cwd=REPO_DIR, env=full_env,
                                     stdout=self._out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 180.0, after: int = 0) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if text in self.output()[after:]:
                return time.monotonic() - t0
            if self.proc.poll() is not None:
                raise CoachError(f"coach serve exited ({self.proc.returncode}): {self.output()[-1500:]}")
            time.sleep(0.1)
        raise CoachError(f"coach serve did not say {text!r} within {timeout:.0f} s: {self.output()[-1500:]}")

    def ready(self) -> "ServeProcess":
        self.wait_for("Coach ready")
        return self

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """Calls the API as the facilitator's page does: with the cookie that opening the page hands out."""
        if self._browser is None:
            self._browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
            self._browser.open(self.http + "/", timeout=10).close()
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.http + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with self._browser.open(req, timeout=10) as r:
            return json.loads(r.read())

    def stop(self, sig=signal.SIGINT, timeout: float = 15.0) -> float:
        """Seconds it took to exit (killed after `timeout`)."""
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
