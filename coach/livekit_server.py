"""Our own livekit-server: keys, the rendered LAN config, finding the binary, and running it as a child."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from coach.config import REPO_DIR, Settings
from coach.errors import CoachError

TEMPLATE = REPO_DIR / "livekit.yaml"
KEY_FILE = "livekit-keys.yaml"


@dataclass(frozen=True)
class Keys:
    api_key: str
    api_secret: str


def private_state_dir(state_dir: Path) -> Path:
    """The state folder, made (or made again) private: the folder and any folder in it 0700, every file 0600. One
    left by an older version or made by hand (0755, a key file 0644) is tightened, not trusted. Symbolic links are
    left alone (chmod would follow them out of the folder)."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(state_dir, 0o700)
    for root, dirs, files in os.walk(state_dir):
        for name in dirs + files:
            path = Path(root, name)
            if not path.is_symlink():
                os.chmod(path, 0o700 if path.is_dir() else 0o600)
    return state_dir


def ensure_keys(state_dir: Path) -> Keys:
    """An API key and a strong secret (32 random bytes), generated at first run into a file only the user can read.
    Never a well-known development key."""
    path = state_dir / KEY_FILE
    if path.exists():
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)  # livekit-server refuses a key file others can read
        key, _, secret = path.read_text().strip().partition(":")
        if key and len(secret.strip()) >= 32:
            return Keys(key.strip(), secret.strip())
    private_state_dir(state_dir)
    keys = Keys("NBP" + secrets.token_hex(6).upper(), secrets.token_urlsafe(32))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{keys.api_key}: {keys.api_secret}\n")
    return keys


def render_config(settings: Settings, node_ip: str) -> Path:
    text = TEMPLATE.read_text()
    text = text.replace("NODE_IP", node_ip).replace("KEY_FILE", str(settings.state_dir / KEY_FILE))
    text = text.replace("port: 7880", f"port: {settings.livekit_port}", 1)
    text = text.replace("udp_port: 7882", f"udp_port: {settings.livekit_udp_port}")
    text = text.replace("UDP_PORT", str(settings.livekit_udp_port))
    text = text.replace("tcp_port: 7881", f"tcp_port: {settings.livekit_tcp_port}")
    out = settings.state_dir / "livekit.runtime.yaml"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # O_CREAT's mode applies only to a new file
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return out


def find_binary() -> Path | None:
    """LIVEKIT_SERVER_BIN, then PATH, then where scripts/setup_livekit.sh puts it."""
    env = os.environ.get("LIVEKIT_SERVER_BIN")
    if env:
        return Path(env) if Path(env).is_file() else None
    on_path = shutil.which("livekit-server")
    if on_path:
        return Path(on_path)
    local = REPO_DIR / ".venv" / "bin" / "livekit-server"
    return local if local.is_file() else None


def lan_address() -> str:
    """The address other machines on the LAN use for this one. A UDP 'connect' picks the outgoing interface without
    sending any packet; with no network at all this is loopback."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, never contacted
        return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        s.close()


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_ports_free(settings: Settings) -> None:
    checks = [("tcp", "127.0.0.1", settings.livekit_port, "COACH_LIVEKIT_PORT"),
              ("tcp", "0.0.0.0", settings.livekit_tcp_port, "COACH_LIVEKIT_TCP_PORT"),
              ("udp", "0.0.0.0", settings.livekit_udp_port, "COACH_LIVEKIT_UDP_PORT")]
    checks = [c for c in checks if c[2]]  # a port of 0 is one not used (media over TCP, off by default)
    for proto, host, port, env in checks:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        if proto == "tcp":  # as servers bind: connections of a run just stopped (TIME_WAIT) do not block the port
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise CoachError(f"{proto.upper()} port {port} is in use: stop what uses it, or set {env} to a free port")
        finally:
            s.close()


def server_environment() -> dict[str, str]:
    """Our environment minus what livekit-server would read as configuration over the rendered file
    (NODE_IP, UDP_PORT, LIVEKIT_CONFIG, LIVEKIT_KEYS, LIVEKIT_RTC_..., REDIS_...)."""
    overrides = ("NODE_IP", "UDP_PORT", "REDIS_HOST", "REDIS_PASSWORD")
    return {k: v for k, v in os.environ.items() if k not in overrides and not k.startswith("LIVEKIT_")}


def _die_with_parent() -> None:
    """In the child, before exec: its own session (our Ctrl-C is handled by us, not sent to it), and killed by the
    kernel when we die, even by SIGKILL (Linux PR_SET_PDEATHSIG)."""
    os.setsid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass  # not Linux: stop() still takes it down on a normal exit
    if os.getppid() == 1:  # we died between fork and prctl
        os._exit(1)


LOG_MAX_BYTES = 1 << 20  # livekit-server.log is rotated past 1 MB (warn level: a few lines a session)


def bound_log(path: Path, max_bytes: int = LOG_MAX_BYTES) -> bool:
    """Past `max_bytes`, the log moves to `<name>.1` (replacing the older one, 0600) and starts again empty: at most
    twice `max_bytes` on disk however long coach serve runs. The writer must hold it with O_APPEND. True if rotated."""
    try:
        if path.stat().st_size <= max_bytes:
            return False
        old = path.with_name(path.name + ".1")
        fd = os.open(old, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out)
        os.truncate(path, 0)  # lines written between the copy and here are lost: a few, at most
        return True
    except OSError:
        return False


# A JWT: three base64url parts, the first two JSON ("eyJ" is '{"'). A join token carries the participant's name, and
# livekit-server writes a rejected one whole at warn level: a partner's name (or any text a LAN peer puts in a forged
# token) would reach the disk. Also a name or metadata field of a participant, should a line carry one.
_TOKEN = re.compile(rb"eyJ[A-Za-z0-9_-]{4,}\.(?:eyJ)?[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*")
_NAMED = re.compile(rb'("?(?:name|participantName|participant_name|metadata|attributes)"?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|\S+)')
WITHHELD = b"[withheld]"


def redact(line: bytes) -> bytes:
    """A line of livekit-server's log without tokens, participants' names or metadata."""
    return _NAMED.sub(lambda m: m.group(1) + WITHHELD, _TOKEN.sub(b"[token withheld]", line))


class _LogPump(threading.Thread):
    """Reads livekit-server's output line by line and writes it to the log redacted (we choose what reaches the
    disk, not livekit-server)."""

    MAX_LINE = 64 * 1024  # a longer line is cut: a peer can make livekit-server log what it sends

    def __init__(self, source, sink):
        super().__init__(name="livekit-log", daemon=True)
        self._source, self._sink = source, sink

    def run(self) -> None:
        try:
            for line in iter(lambda: self._source.readline(self.MAX_LINE), b""):
                self._sink.write(redact(line if line.endswith(b"\n") else line + b"\n"))
                self._sink.flush()
        except (OSError, ValueError):  # the log was closed under us at stop: nothing more to write
            pass
        finally:
            self._source.close()


class LiveKitProcess:
    """livekit-server as our child: stopped with us, and killed by the kernel if we are killed.
    Start it from the main thread: the parent-death signal fires when the thread that started it ends."""

    def __init__(self, binary: Path, config: Path, log_path: Path, fresh_log: bool = True):
        """The log holds identities and addresses: readable only by the user, and started afresh at each launch
        (one run's worth, not a history of every session); a restart within a run appends to it."""
        self.binary, self.config, self.log_path = binary, config, log_path
        # O_APPEND: livekit-server's writes always land at the end, so bound_log can empty the file under it
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_TRUNC if fresh_log else 0)
        fd = os.open(log_path, flags, 0o600)
        os.fchmod(fd, 0o600)  # a log left by an older version may be 0644
        self._log = os.fdopen(fd, "ab")
        self.proc = subprocess.Popen(
            [str(binary), "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            env=server_environment(),
        )
        self._pump = _LogPump(self.proc.stdout, self._log)
        self._pump.start()

    def bound_log(self, max_bytes: int = LOG_MAX_BYTES) -> bool:
        return bound_log(self.log_path, max_bytes)

    def exited(self) -> int | None:
        """The exit code if it has stopped, else None."""
        return self.proc.poll()

    def restarted(self) -> "LiveKitProcess":
        self._pump.join(timeout=1.0)  # its output is written before the log is handed on
        self._log.close()
        return LiveKitProcess(self.binary, self.config, self.log_path, fresh_log=False)

    def wait_ready(self, port: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CoachError(f"livekit-server exited at start (code {self.proc.returncode}): see its log")
            if answers("127.0.0.1", port):
                return
            time.sleep(0.1)
        raise CoachError(f"livekit-server did not answer on port {port} within {timeout:.0f} s: see its log")

    def stop(self, grace_s: float = 2.0) -> None:
        """SIGTERM, then SIGKILL after `grace_s`: livekit-server drains rooms on SIGTERM, and stopping must stay quick."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self._pump.join(timeout=1.0)
        self._log.close()
