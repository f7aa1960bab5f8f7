"""The partner's browser in its own network namespace (run by tests/test_network_drop.py under `ip netns exec`):
joins from the invite link, then writes the call's state to a JSON file every half second."""

import json
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

invite, wav, out, seconds = sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])
args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--ignore-certificate-errors",
        f"--use-file-for-fake-audio-capture={wav}"]
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
    page = browser.new_page()
    page.on("console", lambda m: m.type in ("error", "warning") and print(f"console {m.type}: {m.text[:300]}", file=sys.stderr, flush=True))
    page.set_default_timeout(30_000)
    page.goto(invite)
    page.get_by_label("Your name").fill("Sam")
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Join the session").click()
    page.evaluate("""() => { window.seen = []; const mark = () => {
        const room = window.nbpPartner.room();
        if (room && !room._nbpWatched) { room._nbpWatched = true;
            for (const e of ['reconnecting', 'reconnected', 'disconnected']) room.on(e, () => window.seen.push(e)); }
    }; setInterval(mark, 100); }""")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        state = page.evaluate("() => ({state: window.nbpPartner.room()?.state ?? null, events: window.seen, "
                              "message: document.querySelector('#call-message')?.textContent})")
        out.write_text(json.dumps({**state, "t": time.time()}))
        time.sleep(0.5)
    browser.close()
