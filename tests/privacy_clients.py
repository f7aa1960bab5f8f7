"""The two people of a session for tests/test_privacy.py, each a process of its own so that it can run in its own
network namespace (`ip netns exec`), with the LiveKit Python SDK as their browsers would use it.

  facilitator HTTP_BASE FOLDER SECONDS   on the coach's computer: opens the page (cookie), makes a session, writes
                                         FOLDER/session.json, joins, and writes what the coach sends it to
                                         FOLDER/facilitator.json until FOLDER/done appears
  partner HTTPS_BASE FOLDER WAV          on the LAN: joins from the invite over HTTPS (the coach's certificate as
                                         the only trusted one: SSL_CERT_FILE), speaks WAV, writes FOLDER/partner.json
"""

import asyncio
import json
import os
import ssl
import sys
import time
import traceback
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path


def _write(path: Path, data) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


async def facilitator(base: str, folder: Path, seconds: float) -> None:
    from livekit import rtc

    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    browser.open(base + "/", timeout=10).close()

    def api(method, path):
        req = urllib.request.Request(base + path, data=b"{}" if method == "POST" else None, method=method,
                                     headers={"Content-Type": "application/json"})
        with browser.open(req, timeout=10) as r:
            return json.loads(r.read())

    session = api("POST", "/api/sessions")
    view = api("GET", f"/api/sessions/{session['session_id']}")
    got = []
    room = rtc.Room()
    for topic in ("coach.hint", "coach.transcript"):
        def handler(reader, identity, topic=topic):
            async def read():
                got.append({"topic": topic, "payload": json.loads(await reader.read_all())})
            asyncio.create_task(read())
        room.register_text_stream_handler(topic, handler)
    await room.connect(view["livekit_url"], view["facilitator"]["token"])
    _write(folder / "session.json", session)
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (folder / "done").exists():
        _write(folder / "facilitator.json", got)
        await asyncio.sleep(0.5)
    _write(folder / "facilitator.json", got)
    await room.disconnect()


async def partner(base: str, folder: Path, wav: str) -> None:
    from livekit import rtc

    from coach.audio import load_wav
    from coach.bench_live import speak_into

    session = json.loads((folder / "session.json").read_text())
    invite = session["invite_url"].split("#", 1)[1]
    tls = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    req = urllib.request.Request(base + "/api/join", method="POST", headers={"Content-Type": "application/json",
                                                                             "Origin": base},
                                 data=json.dumps({"invite": invite, "name": "Sam", "consent": True}).encode())
    with urllib.request.urlopen(req, context=tls, timeout=10) as r:
        view = json.loads(r.read())
    room = rtc.Room()
    await room.connect(view["livekit_url"], view["token"])
    t0 = time.monotonic()
    samples = load_wav(wav).samples
    await speak_into(room, samples, settle_s=1.0)
    await asyncio.sleep(2.0)  # the last words go out
    _write(folder / "partner.json", {"livekit_url": view["livekit_url"], "spoke_s": time.monotonic() - t0,
                                     "audio_s": len(samples) / 16000})
    await room.disconnect()


def _leave(code: int) -> None:
    """Exit without the interpreter's teardown. The SDK disposes its native runtime in an atexit hook while that
    runtime's threads may still be delivering events; in CI that once aborted a partner with a Rust panic
    ("panic in a function that cannot unwind", SIGABRT) after its work was done and written. The session is what
    the privacy tests examine, not the SDK's teardown, so a client whose work is done leaves at once."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    role, base, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    try:
        if role == "facilitator":
            asyncio.run(facilitator(base, folder, float(sys.argv[4])))
        else:
            asyncio.run(partner(base, folder, sys.argv[4]))
    except BaseException:
        traceback.print_exc()
        _leave(1)
    _leave(0)
