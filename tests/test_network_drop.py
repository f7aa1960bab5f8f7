"""The partner's network drops for 10 s: their browser runs in its own network namespace on a veth pair made here
(all on this machine, no other address), the link goes down and comes back. LiveKit's reconnect brings the partner
back, the coach listens again, and transcript lines resume. Needs root (ip netns) and livekit-server."""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import REPO
from tests.live_serve import Serve, needs_livekit, session_wav
from tests.test_serve_faults import Clients

pytestmark = [pytest.mark.models, pytest.mark.slow]
HOST_IP, PARTNER_IP = "10.213.77.1", "10.213.77.2"


def _stderr(proc) -> str:
    proc.terminate()
    return proc.communicate(timeout=10)[1].decode(errors="replace")[-3000:]


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


@pytest.fixture
def partner_netns():
    if os.geteuid() != 0 or shutil.which("ip") is None or \
            subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        pytest.skip("needs root and iproute2 (ip netns) to give the partner its own network")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("/usr/bin/chromium is missing: apt-get install chromium")
    pytest.importorskip("playwright", reason="playwright is not installed: pip install -e '.[test]'")
    tag = uuid.uuid4().hex[:6]
    ns, host_if, ns_if = f"nbp-{tag}", f"nbph{tag}", f"nbpp{tag}"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        sh("ip", "link", "set", ns_if, "netns", ns)
        sh("ip", "addr", "add", f"{HOST_IP}/24", "dev", host_if)
        sh("ip", "link", "set", host_if, "up")
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{PARTNER_IP}/24", "dev", ns_if)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        # like a device on a LAN, whose router is this machine (browsers check connectivity only with a route out)
        sh("ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", HOST_IP)
        yield ns, host_if
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_partner_network_drop_of_10_s_then_back(tmp_path, partner_netns):
    needs_livekit()
    ns, host_if = partner_netns
    voice, _ = session_wav(tmp_path / "voice", seconds=40)
    serve = Serve(tmp_path, COACH_LAN_IP=HOST_IP).ready()  # partners reach this machine at the veth address
    state_file = tmp_path / "partner.json"

    def partner_state() -> dict:
        try:
            return json.loads(state_file.read_text())
        except (OSError, ValueError):
            return {}

    async def run():
        c = Clients(serve)
        c.session = serve.api("POST", "/api/sessions")
        c.facilitator = await c.join_facilitator()
        c.partner = None
        browser = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, str(REPO / "tests" / "netns_partner.py"),
                                    c.session["invite_url"], str(voice), str(state_file), "150"], cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for _ in range(600):
                if partner_state().get("state") == "connected" or browser.poll() is not None:
                    break
                await asyncio.sleep(0.1)
            assert partner_state().get("state") == "connected", \
                f"the partner's browser did not get into the call: {partner_state()} {browser.poll()} " \
                f"{_stderr(browser)}"
            await c.wait(lambda: c.lines(), 90)  # the coach hears the partner
            sh("ip", "link", "set", host_if, "down")
            dropped = time.monotonic()
            await asyncio.sleep(10)
            sh("ip", "link", "set", host_if, "up")
            up = time.monotonic()
            lines_before = len(c.lines())
            during = [p for t, topic, p in c.got if topic == "coach.transcript" and dropped + 2 < t < up]
            back = await c.wait(lambda: partner_state().get("state") == "connected", 60)
            heard = await c.wait(lambda: c.lines(since=up + 1.0), 60)  # words spoken after the link came back
            print(f"\nnetwork drop 10 s: partner in the call {back:.1f} s after the link came up (their page saw: "
                  f"{partner_state().get('events') or 'no reconnect needed'}); new transcript lines "
                  f"{heard:.1f} s after that; {lines_before} lines before, {len(during)} while the link was down")
        finally:
            browser.terminate()
            try:
                browser.wait(10)
            except subprocess.TimeoutExpired:
                browser.kill()
            if c.facilitator:
                await c.facilitator.disconnect()

    try:
        asyncio.run(run())
    finally:
        serve.stop(signal.SIGINT)
