"""Watching a real `coach serve` for tests/test_privacy.py: every file its process tree opens for writing and every
address it connects or sends to (strace), the sockets it holds (sampled from /proc), folder listings before and
after, and a network namespace pair (coach / partner on a veth, nothing else) to run it in."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from coach.config import REPO_DIR
from coach.serve_process import PORT_SETTINGS, free_port
from tests.conftest import REPO
from tests.live_serve import Serve, children

COACH_IP, PARTNER_IP, SUBNET = "10.213.77.1", "10.213.77.2", ipaddress.ip_network("10.213.77.0/24")
# what can write a file, name one, or reach another machine; chdir so that relative paths resolve
SYSCALLS = ("open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,"
            "truncate,chdir,fchdir,connect,sendto,sendmsg,sendmmsg")
# not files on a disk: kernel interfaces and devices. /dev/shm is checked (files there live until reboot) except
# for POSIX named semaphores (sem.*: a counter, no data; Python's multiprocessing makes one and unlinks it at once)
NOT_FILES = ("/proc/", "/sys/", "/dev/null", "/dev/tty", "/dev/urandom", "/dev/random", "/dev/pts/", "/dev/shm/sem.")


def strace_prefix(out: Path) -> list[str]:
    """strace on the whole tree (-f), one file per thread (-ff: no interleaved lines), fd paths and sockets' ends
    shown (-yy), stopped
    only at the traced calls (--seccomp-bpf), so models run at full speed."""
    out.mkdir(parents=True, exist_ok=True)
    return ["strace", "-f", "-ff", "-yy", "-qq", "-s", "0", "--seccomp-bpf", "-e", "signal=none",
            "-e", f"trace={SYSCALLS}", "-o", str(out / "t")]


class WatchedServe(Serve):
    """Serve started under a command prefix (strace, `ip netns exec`). Stopped by signalling coach serve itself,
    so strace sees it exit and flushes."""

    def __init__(self, folder: Path, prefix: list[str], **env: str):
        """As ServeProcess starts it (free ports, a private state folder), with `prefix` before the command."""
        folder.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port() for name in PORT_SETTINGS}
        self.ports["COACH_LIVEKIT_UDP_PORT"] = free_port(socket.SOCK_DGRAM)
        self.http = f"http://127.0.0.1:{self.ports['COACH_HTTP_PORT']}"
        self.https = f"https://127.0.0.1:{self.ports['COACH_HTTPS_PORT']}"
        self.out = folder / f"serve-{time.monotonic_ns()}.out"
        self._browser = None
        full_env = {**os.environ, "COACH_LAN_IP": "127.0.0.1", "COACH_STATE_DIR": str(folder / "state"),
                    "COACH_MODELS_DIR": str(REPO / "models"), "PYTHONUNBUFFERED": "1",
                    **{k: str(v) for k, v in self.ports.items()}, **env}
        self._out = open(self.out, "wb")
        self.proc = subprocess.Popen([*prefix, sys.executable, "-m", "coach.cli", "serve"], cwd=REPO_DIR,
                                     env=full_env, stdout=self._out, stderr=subprocess.STDOUT)

    def coach_pid(self) -> int | None:
        """coach serve's own process (under strace or `ip netns exec`, not theirs)."""
        for pid in [self.proc.pid, *tree(self.proc.pid)]:
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[0] == sys.executable.encode() and b"coach.cli" in argv:
                return pid
        return None

    def stop(self, sig=signal.SIGINT, timeout: float = 20.0) -> float:
        t0 = time.monotonic()
        pid = self.coach_pid()
        if pid and self.proc.poll() is None:
            os.kill(pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            for p in [*tree(self.proc.pid), self.proc.pid]:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait()
        self._out.close()
        return time.monotonic() - t0


def tree(pid: int) -> list[int]:
    """Every descendant of `pid` (threads' children included)."""
    out, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


# ---- sockets held, sampled from /proc -------------------------------------------------------------------------------


def _addr(hex_addr: str) -> tuple[str, int]:
    ip, port = hex_addr.split(":")
    raw = bytes.fromhex(ip)
    if len(raw) == 4:
        addr = ipaddress.IPv4Address(raw[::-1])
    else:  # four little-endian 32-bit words
        addr = ipaddress.IPv6Address(b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
        if addr.ipv4_mapped:
            addr = addr.ipv4_mapped
    return str(addr), int(port, 16)


def sockets_of(pid: int) -> set[tuple[str, tuple[str, int], tuple[str, int]]]:
    """(protocol, local, remote) of the connected sockets `pid` holds, from its own network namespace's tables."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    found = set()
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            rows = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[9] in inodes:
                local, remote = _addr(cols[1]), _addr(cols[2])
                if remote[1] != 0:  # connected (listening and unconnected sockets have no peer)
                    found.add((proto.rstrip("6"), local, remote))
    return found


class SocketSampler(threading.Thread):
    """Every `every_s`, the connected sockets of the whole process tree under `pid`."""

    def __init__(self, pid: int, every_s: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.every_s = pid, every_s
        self.seen: set = set()
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            for pid in [self.pid, *tree(self.pid)]:
                self.seen |= sockets_of(pid)
            self.samples += 1
            self._halt.wait(self.every_s)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


# ---- what strace saw -------------------------------------------------------------------------------------------------

_CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)")
_STR = re.compile(r'(\d+<([^>]*)>|AT_FDCWD(?:<([^>]*)>)?), "((?:[^"\\]|\\.)*)"')
_PATHS = re.compile(r'"((?:[^"\\]|\\.)*)"')
_INET = re.compile(r'sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)|'
                   r'sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"')
_SOCK = re.compile(r"^\d+<(TCP|UDP|TCPv6|UDPv6):\[([^\]]*(?:\][^\]]*)?)\]>")
_PEER = re.compile(r"->\[?([0-9a-fA-F.:]+?)\]?:(\d+)$")
_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")


@dataclass
class Trace:
    writes: set[Path] = field(default_factory=set)  # every path opened for writing, made, or renamed/linked to
    connects: list[tuple[str, str, int, bool]] = field(default_factory=list)  # (tcp|udp, address, port, succeeded)
    sends: Counter = field(default_factory=Counter)  # (tcp|udp, address, port) -> send calls naming it
    chdirs: list[str] = field(default_factory=list)
    threads: int = 0

    def peers(self) -> set[tuple[str, str, int]]:
        return {(p, a, n) for p, a, n, _ in self.connects} | set(self.sends)


def _resolve(fd_path: str | None, name: str, cwd: Path) -> Path:
    name = bytes(name, "utf-8").decode("unicode_escape")
    return Path(os.path.normpath(Path(fd_path or cwd) / name))


def _inet(args: str) -> list[tuple[str, int]]:
    return [(a4 or a6, int(p4 or p6)) for p4, a4, p6, a6 in _INET.findall(args)]


def parse_trace(folder: Path, cwd: Path = REPO_DIR) -> Trace:
    """Everything the traced calls of every thread did (strace -ff -yy output)."""
    t = Trace()
    for path in folder.glob("t.*"):
        t.threads += 1
        for line in path.read_text(errors="replace").splitlines():
            m = _CALL.match(line)
            if not m:
                continue
            call, args, result = m.groups()
            ok = result != "?" and int(result) >= 0
            if call in ("connect", "sendto", "sendmsg", "sendmmsg"):
                sock = _SOCK.match(args)
                if not sock:  # unix, netlink: on this machine
                    continue
                proto = sock.group(1).rstrip("v6").lower()
                named = _inet(args)
                if call == "connect":
                    t.connects += [(proto, a, port, ok or "EINPROGRESS" in line) for a, port in named]
                else:
                    peer = _PEER.search(sock.group(2))
                    for a, port in named or ([(peer.group(1), int(peer.group(2)))] if peer else []):
                        t.sends[(proto, a, port)] += 1
                continue
            if not ok:
                continue
            if call in ("chdir", "fchdir"):
                t.chdirs.append(line[:200])
                continue
            if call in ("open", "openat", "openat2") and not any(f in args for f in _WRITE_FLAGS):
                continue
            if call in ("open", "creat", "mkdir", "truncate", "rename", "link", "symlink"):
                names = [_resolve(None, n, cwd) for n in _PATHS.findall(args)]
                t.writes |= set(names[-1:] if call in ("rename", "link", "symlink") else names[:1])
            else:
                named = _STR.findall(args)
                if named:
                    _, fd_path, cwd_path, name = named[-1] if call in ("renameat", "renameat2", "linkat",
                                                                         "symlinkat") else named[0]
                    t.writes.add(_resolve(fd_path or cwd_path or None, name, cwd))
    return t


def nameservers() -> set[str]:
    """The DNS servers this machine's resolver would ask: a connect to one of them is a name lookup."""
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        return set()
    return {line.split()[1] for line in lines if line.startswith("nameserver") and len(line.split()) > 1}


def outside(paths: set[Path], allowed: list[Path]) -> list[Path]:
    """Paths written that are neither under an allowed folder nor a kernel interface or device."""
    allowed = [a.resolve() for a in allowed]
    bad = []
    for p in sorted(paths):
        s = str(p)
        if s.startswith(NOT_FILES):
            continue
        real = Path(os.path.realpath(p))
        if not any(real == a or a in real.parents for a in allowed):
            bad.append(p)
    return bad


def listing(root: Path) -> dict[str, tuple[int, int, int]]:
    """relative path -> (size, mtime_ns, mode) of everything under `root`."""
    out = {}
    if not root.exists():
        return out
    for p in [root, *root.rglob("*")]:
        st = p.lstat()
        out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


def changed(before: dict, after: dict) -> list[str]:
    return sorted(k for k in after if before.get(k) != after[k] and k != ".")


def allowed_peer(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip in SUBNET or ip.is_unspecified


# ---- a coach namespace and a partner namespace on one veth pair --------------------------------------------------


def netns_missing() -> str | None:
    """Why the namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root to make network namespaces (ip netns add)"
    if shutil.which("ip") is None:
        return "needs iproute2 (`ip`): apt-get install iproute2"
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        return "`ip netns` does not work here (no CAP_SYS_ADMIN?)"
    return None


def _sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


@contextmanager
def coach_and_partner_netns():
    """Two fresh namespaces joined by a veth pair and nothing else: the coach's (lo + 10.213.77.1/24) and the
    partner's (lo + 10.213.77.2/24). No default route in either: nothing beyond this machine is reachable."""
    tag = uuid.uuid4().hex[:6]
    coach, partner = f"nbpc-{tag}", f"nbpq-{tag}"
    c_if, p_if = f"nbpcv{tag}", f"nbpqv{tag}"
    _sh("ip", "netns", "add", coach)
    try:
        _sh("ip", "netns", "add", partner)
        _sh("ip", "link", "add", c_if, "type", "veth", "peer", "name", p_if)
        _sh("ip", "link", "set", c_if, "netns", coach)
        _sh("ip", "link", "set", p_if, "netns", partner)
        for ns, dev, ip in ((coach, c_if, COACH_IP), (partner, p_if, PARTNER_IP)):
            _sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            _sh("ip", "-n", ns, "link", "set", dev, "up")
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield coach, partner
    finally:
        subprocess.run(["ip", "netns", "del", partner], capture_output=True)
        subprocess.run(["ip", "netns", "del", coach], capture_output=True)


def routes(ns: str) -> list[str]:
    out = []
    for family in ("-4", "-6"):
        done = subprocess.run(["ip", "-n", ns, family, "route", "show", "table", "all"], capture_output=True,
                              text=True)
        out += [line for line in done.stdout.splitlines() if line.strip()]
    return out


WORD = re.compile(r"[a-z]{6,}")


def partner_words(texts: list[str]) -> set[str]:
    """The partner's distinctive words (6 letters or more): what a leak of their speech would contain."""
    return {w for text in texts for w in WORD.findall(text.lower())}


def words_in(data: bytes, words: set[str]) -> set[str]:
    text = data.decode("utf-8", errors="replace").lower()
    return {w for w in words if re.search(rf"\b{w}\b", text)}
