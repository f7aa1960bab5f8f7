"""Privacy you can prove (issue 11, item 5), against a real `coach serve` and its real livekit-server: a partner on
the LAN speaks a WAV through the LiveKit SDK, a facilitator on this computer receives the transcript and hints.

One session is recorded for the module and each test checks one property of it: coach serve runs under strace
(every file its process tree opens for writing, every address it connects or sends to), inside a network namespace
of its own whose only other end is the partner's namespace on a veth pair, with HOME and TMPDIR pointed at watched
folders and a state folder left loose (0755, a key file 0644) beforehand. The model tests start coach serve and
coach replay on a damaged copy of the models. Each prints its measured figures (-s to see)."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach import modelstore
from tests import privacy_watch as watch
from tests.conftest import REPO
from tests.live_serve import needs_livekit, session_wav

pytestmark = [pytest.mark.models, pytest.mark.slow]
CLIENTS = REPO / "tests" / "privacy_clients.py"
MODELS = REPO / "models"
LOG_BOUND = 256 * 1024  # livekit-server's log after a whole session, at the level livekit.yaml sets (info)


def _wait(check, timeout: float, what: str, also=lambda: "") -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if check():
            return time.monotonic() - t0
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout:.0f} s {also()}")


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def _loose_state(state: Path) -> dict:
    """A state folder as an older version (or a hand) may have left it: open to everyone."""
    state.mkdir(parents=True)
    os.chmod(state, 0o755)
    keys = state / "livekit-keys.yaml"
    keys.write_text(f"NBPTESTKEY: {secrets.token_urlsafe(32)}\n")
    os.chmod(keys, 0o644)
    old_log = state / "livekit-server.log"
    old_log.write_text("a line left by an older run\n" * 1000)
    os.chmod(old_log, 0o644)
    (state / "leftover").mkdir()
    os.chmod(state / "leftover", 0o755)
    (state / "leftover" / "note.txt").write_text("left by hand")
    os.chmod(state / "leftover" / "note.txt", 0o644)
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in [keys, old_log, state / "leftover"]}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    needs_livekit()
    tmp = tmp_path_factory.mktemp("privacy")
    voice, turns = session_wav(tmp / "voice", seconds=30)
    from coach.bench import BUILTIN_UTTERANCES

    spoken = [text for _, text in BUILTIN_UTTERANCES[:turns]]
    state, home, tmpdir, talk = tmp / "state", tmp / "home", tmp / "tmpdir", tmp / "talk"
    for d in (home, tmpdir, talk):
        d.mkdir()
    loose = _loose_state(state)
    modelstore.verify_all(MODELS, [r["id"] for r in modelstore.status(MODELS) if r["active"]])  # stamps, as installed
    watched = {"state": state, "models": MODELS, "home": home, "tmpdir": tmpdir}
    before = {name: watch.listing(d) for name, d in watched.items()}
    traced = shutil.which("strace") is not None
    no_netns = watch.netns_missing()
    result = {"tmp": tmp, "state": state, "watched": watched, "before": before, "loose": loose, "spoken": spoken,
              "traced": traced, "netns": no_netns is None, "why_no_netns": no_netns, "turns": turns}
    with (watch.coach_and_partner_netns() if no_netns is None else _no_netns()) as (coach_ns, partner_ns):
        in_coach = ["ip", "netns", "exec", coach_ns] if coach_ns else []
        in_partner = ["ip", "netns", "exec", partner_ns] if partner_ns else []
        lan = watch.COACH_IP if coach_ns else "127.0.0.1"
        prefix = in_coach + (watch.strace_prefix(tmp / "strace") if traced else [])
        serve = watch.WatchedServe(tmp, prefix, COACH_LAN_IP=lan, HOME=str(home), TMPDIR=str(tmpdir))
        sampler = None
        clients_env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(tmp / "clients-home")}
        procs = []
        try:
            result["ready_s"] = serve.wait_for("Coach ready", 240)
            if coach_ns:
                result["routes"] = watch.routes(coach_ns)
            sampler = watch.SocketSampler(serve.proc.pid)
            sampler.start()
            fac = subprocess.Popen([*in_coach, sys.executable, str(CLIENTS), "facilitator", serve.http, str(talk),
                                    "200"], cwd=REPO, env=clients_env, stderr=subprocess.PIPE)
            procs.append(fac)
            _wait(lambda: (talk / "session.json").exists() or fac.poll() is not None, 60, "no session made",
                  lambda: fac.stderr.read().decode()[-2000:] if fac.poll() is not None else "")
            assert (talk / "session.json").exists(), fac.stderr.read().decode()[-2000:]
            https = f"https://{lan}:{serve.ports['COACH_HTTPS_PORT']}"
            partner = subprocess.Popen([*in_partner, sys.executable, str(CLIENTS), "partner", https, str(talk),
                                        str(voice)], cwd=REPO, stderr=subprocess.PIPE,
                                       env={**clients_env, "SSL_CERT_FILE": str(state / "tls-cert.pem")})
            procs.append(partner)
            partner.wait(180)
            why = partner.stderr.read().decode()[-3000:]
            assert (talk / "partner.json").exists(), f"the partner did not finish speaking: {why}"
            assert partner.returncode == 0, f"the partner spoke, then failed: {why}"

            def got(topic):
                return [g["payload"] for g in _read_json(talk / "facilitator.json", [])
                        if g["topic"] == topic and not g["payload"].get("partial")]
            _wait(lambda: got("coach.transcript") and got("coach.hint"), 120,
                  "the facilitator got no transcript line and hint", lambda: serve.output()[-2000:])
            time.sleep(4.0)  # whatever is still being written lands
            (talk / "done").touch()
            fac.wait(30)
            result["lines"] = [p["text"] for p in got("coach.transcript")]
            result["hints"] = got("coach.hint")
            result["partner"] = _read_json(talk / "partner.json", {})
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            if sampler:
                sampler.stop()
            result["stop_s"] = serve.stop(signal.SIGINT)
    result["output"] = serve.output()
    result["after"] = {name: watch.listing(d) for name, d in watched.items()}
    result["sockets"] = sampler.seen if sampler else set()
    result["samples"] = sampler.samples if sampler else 0
    result["trace"] = watch.parse_trace(tmp / "strace") if traced else None
    return result


class _no_netns:
    def __enter__(self):
        return None, None

    def __exit__(self, *exc):
        return False


def _words(session) -> set[str]:
    return watch.partner_words(session["lines"] + session["spoken"])


def test_a_session_happened(session):
    print(f"\nsession: coach ready in {session['ready_s']:.1f} s, {len(session['lines'])} transcript lines and "
          f"{len(session['hints'])} hints at the facilitator, {len(_words(session))} distinct partner words to look "
          f"for; stopped in {session['stop_s']:.1f} s")
    assert session["lines"] and session["hints"]
    heard = watch.partner_words(session["spoken"]) & watch.partner_words(session["lines"])
    assert heard, "the coach heard none of the partner's words"


def test_no_file_written_outside_the_state_and_model_folders(session):
    if not session["traced"]:
        pytest.skip("strace is missing (apt-get install strace): every file opened for writing cannot be seen")
    trace = session["trace"]
    allowed = [session["state"], MODELS]
    bytecode = {p for p in trace.writes if p.suffix == ".pyc" and p.parent.name == "__pycache__"}
    outside = watch.outside(trace.writes - bytecode, allowed)
    written = sorted(p for p in trace.writes if not str(p).startswith(watch.NOT_FILES))
    print(f"\nfiles: strace followed {trace.threads} threads; {len(written)} paths opened for writing or made: "
          + ", ".join(str(p).replace(str(session['tmp']), '<tmp>') for p in written)
          + f"; compiled bytecode caches: {len(bytecode)}")
    assert not trace.chdirs, f"the process tree changed directory (relative paths ambiguous): {trace.chdirs}"
    assert outside == [], f"written outside the state and model folders: {outside}"
    for name in ("home", "tmpdir"):
        assert session["after"][name] == session["before"][name], f"{name} changed: {session['after'][name]}"
    # in the state folder only what coach serve needs: keys, certificate, the rendered config, livekit's log
    expected = {"livekit-keys.yaml", "livekit.runtime.yaml", "livekit-server.log", "tls-cert.pem", "tls-key.pem"}
    new = set(session["after"]["state"]) - set(session["before"]["state"])
    assert new <= expected, f"unexpected files in the state folder: {new - expected}"
    # and nothing of the partner in any file written, nor in the state folder
    words = _words(session)
    files = {p for p in trace.writes if p.is_file() and not str(p).startswith(watch.NOT_FILES)}
    files |= {p for p in session["state"].rglob("*") if p.is_file()}
    leaked = {str(p): sorted(watch.words_in(p.read_bytes(), words)) for p in files}
    leaked = {p: w for p, w in leaked.items() if w}
    print(f"       {len(files)} files written or in the state folder grepped for {len(words)} partner words: "
          f"{len(leaked)} hold any")
    assert leaked == {}, f"the partner's words are in files: {leaked}"


def test_every_file_and_folder_in_the_state_folder_is_private_even_if_it_was_not(session):
    state = session["state"]
    modes = {str(p.relative_to(state)): stat.S_IMODE(p.lstat().st_mode) for p in [state, *state.rglob("*")]}
    print(f"\nstate folder: before {', '.join(f'{k} {v:o}' for k, v in session['loose'].items())}; after "
          + ", ".join(f"{k} {v:o}" for k, v in sorted(modes.items())))
    assert modes["."] == 0o700
    for path in [state, *state.rglob("*")]:
        want = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.lstat().st_mode) == want, f"{path} is {stat.S_IMODE(path.lstat().st_mode):o}"
    assert "NBPTESTKEY" in (state / "livekit-keys.yaml").read_text(), "the existing keys were replaced"


def test_livekit_server_log_is_private_bounded_and_started_afresh(session):
    log = session["state"] / "livekit-server.log"
    size = log.stat().st_size
    text = log.read_text(errors="replace")
    levels = {lvl for lvl in ("DEBUG", "INFO", "WARN", "ERROR") if f"\t{lvl}\t" in text}
    print(f"\nlivekit-server.log: {size / 1024:.1f} KB after the session ({len(text.splitlines())} lines, levels "
          f"{sorted(levels)}), mode {stat.S_IMODE(log.stat().st_mode):o}")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert "left by an older run" not in text, "the log of an older run was kept"
    assert size < LOG_BOUND, f"livekit-server.log grew to {size} bytes in one short session"
    assert "DEBUG" not in levels, "livekit-server logs at debug level"
    assert watch.words_in(log.read_bytes(), _words(session)) == set()


def test_livekit_server_log_is_rotated_past_its_bound(tmp_path):
    """However long coach serve runs: written as livekit-server writes it (O_APPEND), checked as the watchdog does."""
    from coach import livekit_server as lk

    log, bound = tmp_path / "livekit-server.log", 256 * 1024
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    rotations, biggest = 0, 0
    try:
        for i in range(5000):  # 5 MB of 1 KB lines
            os.write(fd, f"{i:08d} ".encode() + b"x" * 1014 + b"\n")
            if i % 50 == 0:
                rotations += lk.bound_log(log, bound)
                biggest = max(biggest, log.stat().st_size)
    finally:
        os.close(fd)
    old = log.with_name(log.name + ".1")
    print(f"\nlivekit-server.log: 5 MB written, {rotations} rotations, at most {biggest / 1024:.0f} KB + "
          f"{old.stat().st_size / 1024:.0f} KB on disk")
    assert rotations >= 15 and biggest <= bound + 60 * 1024 and old.stat().st_size <= bound + 60 * 1024
    assert stat.S_IMODE(log.stat().st_mode) == stat.S_IMODE(old.stat().st_mode) == 0o600
    assert log.read_bytes()[:8] != b"00000000" and b"\0" not in log.read_bytes(), "not started afresh, or holes"


def test_the_session_reaches_only_loopback_and_the_test_lan(session):
    if not session["netns"]:
        pytest.skip(f"no network namespaces: {session['why_no_netns']}")
    routes = session["routes"]
    assert not any(r.startswith("default") for r in routes), f"a default route in the coach's namespace: {routes}"
    reach = [r for r in routes if not r.startswith(("local ", "broadcast ", "multicast ", "anycast ", "fe80::",
                                                    "ff00::"))]
    assert all(r.startswith(("10.213.77.0/24", "::1")) for r in reach), f"routes beyond the test LAN: {reach}"
    sockets = session["sockets"]
    sampled = sorted({f"{proto} {r[0]}" for proto, _, r in sockets})
    bad = [s for s in sockets if not watch.allowed_peer(s[2][0])]
    print(f"\nnetwork: routes {routes}\n  sampled from /proc ({session['samples']} samples): {len(sockets)} distinct "
          f"connected sockets, to {', '.join(sampled)}")
    assert sockets, "no connection of the process tree was seen"
    assert bad == [], f"sockets connected beyond loopback and the test LAN: {bad}"
    trace = session["trace"]
    if trace is None:
        return
    peers = trace.peers()
    tcp = [c for c in trace.connects if c[0] == "tcp"]
    lookups = [c for c in trace.connects if c[1] in watch.nameservers()]
    # a UDP connect() sends no packet: libwebrtc does one to a public address to learn the default route
    probes = sorted({(a, n, ok) for p, a, n, ok in trace.connects if p == "udp" and not watch.allowed_peer(a)})
    lan = {a for _, a, _ in peers if ipaddress.ip_address(a) in watch.SUBNET}
    print(f"  strace: {len(tcp)} TCP connects to {len({(a, n) for _, a, n, _ in tcp})} address:ports "
          f"({', '.join(sorted({a for _, a, _, _ in tcp}))}); {sum(trace.sends.values())} sends to "
          f"{len(trace.sends)} address:ports ({', '.join(sorted({a for _, a, _ in trace.sends}))}); "
          f"name lookups {len(lookups)}; UDP route probes (no packet) {probes}")
    assert lookups == [], f"name lookups tried (something reaching for the internet): {lookups[:5]}"
    assert [c for c in tcp if not watch.allowed_peer(c[1])] == [], "TCP connections beyond the test LAN"
    assert [s for s in trace.sends if not watch.allowed_peer(s[1])] == [], "packets sent beyond the test LAN"
    assert not any(ok for _, _, ok in probes), f"a route beyond the test LAN: {probes}"
    assert lan, "nothing went over the test LAN: the partner was not on it"


def test_logs_at_the_default_level_hold_no_partner_words(session):
    out = session["output"]
    words = _words(session)
    found = watch.words_in(out.encode(), words)
    print(f"\nlogs: {len(out.splitlines())} lines of coach serve output (stdout and stderr, default level) grepped for "
          f"{len(words)} partner words: {len(found)} found {sorted(found)}")
    assert found == set(), [line for line in out.splitlines() if watch.words_in(line.encode(), found)][:5]


# ---- models: refused when missing or damaged, never fetched ---------------------------------------------------------


def _models_copy(dest: Path, copy: set[str]) -> Path:
    """A models folder of links to the installed files, with real copies of `copy` (model/file) to damage."""
    dest.mkdir()
    shutil.copy(MODELS / "manifest.json", dest)
    for folder in MODELS.iterdir():
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        (dest / folder.name).mkdir()
        for f in folder.iterdir():
            rel = f"{folder.name}/{f.name}"
            if f.name.startswith(".") or rel in copy:
                shutil.copy2(f, dest / rel)
            else:
                (dest / rel).symlink_to(f)
    return dest


def _active() -> dict[str, str]:
    return {r["role"]: r["id"] for r in modelstore.status(MODELS) if r["active"]}


def _breakages():
    ids = _active() if (MODELS / "manifest.json").exists() else {}
    stt, vad = ids.get("stt", "whisper-base"), ids.get("vad", "silero-vad")
    return [
        pytest.param("replay", f"{stt}/model.bin", "missing", id="replay-stt-weights-missing"),
        pytest.param("replay", f"{vad}/silero_vad.onnx", "flip", id="replay-vad-one-byte-changed"),
        pytest.param("replay", f"{stt}/model.bin", "flip", id="replay-stt-weights-one-byte-changed-145MB"),
        pytest.param("replay", f"{stt}/tokenizer.json", "truncate", id="replay-stt-tokenizer-truncated"),
        pytest.param("serve", f"{stt}/model.bin", "missing", id="serve-stt-weights-missing"),
        pytest.param("serve", f"{vad}/silero_vad.onnx", "flip", id="serve-vad-one-byte-changed"),
    ]


def _break(path: Path, how: str) -> None:
    if how == "missing":
        path.unlink()
    elif how == "truncate":
        with open(path, "r+b") as f:
            f.truncate(path.stat().st_size // 2)
    else:
        with open(path, "r+b") as f:  # same size, same name: only the checksum can tell
            f.seek(path.stat().st_size // 2)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 0xFF]))


def _offline(cmd: list[str], tmp: Path, env: dict) -> tuple[subprocess.CompletedProcess, float, watch.Trace | None]:
    """`cmd` with no network at all (`unshare -n`: not even a route to loopback's outside) and, where strace is
    there, every connect() it tries recorded."""
    prefix = []
    if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"):
        prefix = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]  # loopback only
    traced = shutil.which("strace") is not None
    if traced:
        prefix += watch.strace_prefix(tmp / "strace")
    t0 = time.monotonic()
    done = subprocess.run([*prefix, *cmd], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - t0
    return done, took, watch.parse_trace(tmp / "strace") if traced else None


@pytest.mark.parametrize("command, broken, how", _breakages())
def test_models_refuse_to_start_when_a_file_is_missing_or_damaged(tmp_path, command, broken, how):
    if not (MODELS / broken).is_file():
        pytest.skip(f"{broken} is not installed here (scripts/setup_models.sh)")
    if command == "serve":
        needs_livekit()
    models = _models_copy(tmp_path / "models", {broken})
    _break(models / broken, how)
    env = {**os.environ, "COACH_MODELS_DIR": str(models), "HOME": str(tmp_path / "home"),
           "COACH_STATE_DIR": str(tmp_path / "state"), "COACH_LAN_IP": "127.0.0.1", "HF_HUB_OFFLINE": "0",
           "HF_HOME": str(tmp_path / "hf")}
    if command == "serve":
        from coach.serve_process import PORT_SETTINGS, free_port

        env |= {name: str(free_port()) for name in PORT_SETTINGS}
        env["COACH_LIVEKIT_UDP_PORT"] = str(free_port(socket.SOCK_DGRAM))
        cmd = [sys.executable, "-m", "coach.cli", "serve"]
    else:
        wav = tmp_path / "quiet.wav"
        import numpy as np
        import soundfile as sf

        sf.write(wav, np.zeros(16000, np.float32), 16000)
        cmd = [sys.executable, "-m", "coach.cli", "replay", str(wav)]
    done, took, trace = _offline(cmd, tmp_path, env)
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    print(f"\n{command} with {broken} {how}: exit {done.returncode} after {took:.1f} s: {errors}"
          + (f"; connect() calls to an IP address: {len(trace.connects)}" if trace else ""))
    assert done.returncode != 0
    assert len(errors) == 1, done.stderr[-2000:]
    assert str(models / broken) in errors[0], errors[0]
    assert "setup_models.sh" in errors[0]
    assert took < 30.0
    assert "Traceback" not in done.stderr
    if trace:
        hubs = [p for p in trace.peers() if not watch.allowed_peer(p[1])]
        assert hubs == [], f"tried to reach {hubs}"
    assert not (tmp_path / "hf").exists() and not (tmp_path / "home" / ".cache").exists(), "a hub cache was made"


def test_verification_at_start_is_fast_once_files_are_stamped(tmp_path):
    """Unchanged files cost a stat each; a copied or touched one is hashed again, and then stamped."""
    ids = list(_active().values())
    if len(ids) < 4:
        pytest.skip("the models are not installed (scripts/setup_models.sh)")
    vad = _active()["vad"]
    touched = f"{vad}/silero_vad.onnx"
    models = _models_copy(tmp_path / "models", {touched})  # links to the installed files; a copy of the one touched
    for model_id in ids:  # as installed by an older version: no stamps
        record = json.loads((models / model_id / modelstore.MARKER).read_text())
        record.pop("verified", None)
        (models / model_id / modelstore.MARKER).write_text(json.dumps(record))
    cold, hashed = modelstore.verify_all(models, ids)
    warm, again = modelstore.verify_all(models, ids)
    size = sum((models / m / f["name"]).stat().st_size for m in ids
               for f in modelstore.load_manifest(models)["models"][m]["files"])
    print(f"\nverification of {size / 1e6:.0f} MB of models: {cold:.2f} s hashing everything, {warm * 1000:.1f} ms "
          "with every file stamped")
    assert sorted(hashed) == sorted(ids) and again == []
    assert warm < 0.1
    os.utime(models / touched)
    assert modelstore.verify_all(models, ids)[1] == [vad], "a touched file was not hashed again"
