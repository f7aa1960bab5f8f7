"""The web server's own limits against a real listening socket (server/connections.py, as `coach serve` uses it):
slow headers are cut off at the deadline, connections beyond the caps are refused at once with a JSON answer, and
a normal request from elsewhere still gets through while an address hogs its share."""

import asyncio
import contextlib
import json
import time

import pytest
from aiohttp import web

from coach.config import Settings
from coach.serve_process import free_port
from server.app import create_app
from server.connections import ConnectionGuard, listen, runner_options
from server.rooms import MemoryRooms
from tests.test_server_api import KEYS

TIMEOUT_S = 2.0


@contextlib.asynccontextmanager
async def serving(tmp_path, *, max_connections=100, max_per_address=20):
    settings = Settings(state_dir=tmp_path, http_timeout_s=TIMEOUT_S)
    app = create_app(settings, keys=KEYS, lan_ip="127.0.0.1", rooms=MemoryRooms())
    runner = web.AppRunner(app, **runner_options(TIMEOUT_S))  # as coach/serve.py
    await runner.setup()
    guard = ConnectionGuard(max_connections=max_connections, max_per_address=max_per_address,
                            head_timeout_s=TIMEOUT_S)
    port = free_port()
    listener = await listen(runner, guard, "127.0.0.1", port)
    try:
        yield port, guard
    finally:
        listener.close()
        await runner.cleanup()


async def connect(port, source="127.0.0.1"):
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def get(port, path="/api/health", source="127.0.0.1") -> tuple[int, dict, bytes]:
    reader, writer = await connect(port, source)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return parse(raw)


def parse(raw: bytes) -> tuple[int, dict, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


class SlowClient:
    """Sends a request line and then one header line every 0.5 s, never the blank line that ends the headers."""

    def __init__(self, port, source):
        self.port, self.source = port, source
        self.answer = b""
        self.closed_after: float | None = None

    async def run(self):
        t0 = time.monotonic()
        reader, writer = await connect(self.port, self.source)
        try:
            writer.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n".encode())
            while True:
                try:
                    chunk = await asyncio.wait_for(reader.read(4096), 0.5)
                except asyncio.TimeoutError:
                    writer.write(b"X-Slow: yes\r\n")  # a header line now and then keeps naive timers happy
                    continue
                if not chunk:
                    break
                self.answer += chunk
        except ConnectionError:
            pass
        finally:
            self.closed_after = time.monotonic() - t0
            writer.close()


async def test_thirty_slow_header_sockets_are_cut_off_and_the_cap_refuses_the_rest(tmp_path):
    async with serving(tmp_path, max_per_address=20) as (port, guard):
        slow = [SlowClient(port, "127.0.0.2") for _ in range(30)]
        tasks = [asyncio.create_task(c.run()) for c in slow]
        await asyncio.sleep(0.5)
        refused = [c for c in slow if c.closed_after is not None]
        assert len(refused) == 10 and guard.open == 20, (len(refused), guard.open)
        for c in refused:  # answered at once, and told why
            status, headers, body = parse(c.answer)
            assert status == 429 and "too many connections" in json.loads(body)["error"]
            assert headers["Retry-After"] and "Content-Security-Policy" in headers
            assert c.closed_after < 0.5
        status, _, body = await get(port)  # the facilitator, meanwhile, from another address
        assert status == 200 and json.loads(body) == {"ok": True}
        t0 = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT_S + 2)
        held = [c for c in slow if c not in refused]
        longest = max(c.closed_after for c in held)
        print(f"\n30 slow-header sockets: 10 refused at once, 20 closed after {min(c.closed_after for c in held):.2f}"
              f"-{longest:.2f} s (deadline {TIMEOUT_S:g} s); all done {time.monotonic() - t0:.2f} s after the check")
        assert all(TIMEOUT_S - 0.1 <= c.closed_after <= TIMEOUT_S + 1.0 for c in held)
        assert all(parse(c.answer)[0] == 408 for c in held)
        assert guard.open == 0 and guard.timed_out == 20
        assert (await get(port, source="127.0.0.2"))[0] == 200  # the address may connect again


async def test_the_total_cap_refuses_with_503_and_frees_up(tmp_path):
    async with serving(tmp_path, max_connections=5, max_per_address=5) as (port, guard):
        idle = [await connect(port, f"127.0.0.{i + 2}") for i in range(5)]
        await asyncio.sleep(0.1)
        status, headers, body = await get(port)
        assert status == 503 and "connection limit" in json.loads(body)["error"] and headers["Retry-After"]
        for _, writer in idle:
            writer.close()
        await asyncio.sleep(0.2)
        assert guard.open == 0 and (await get(port))[0] == 200


async def test_a_slow_second_request_on_a_kept_alive_connection_is_cut_off_too(tmp_path):
    async with serving(tmp_path) as (port, _):
        reader, writer = await connect(port)
        writer.write(f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        first = await asyncio.wait_for(reader.readuntil(b'{"ok": true}'), 5)
        assert first.startswith(b"HTTP/1.1 200")
        t0 = time.monotonic()
        writer.write(b"GET /api/health HTTP/1.1\r\n")
        closed = None
        while closed is None and time.monotonic() - t0 < TIMEOUT_S + 3:
            try:
                if not await asyncio.wait_for(reader.read(4096), 0.5):
                    closed = time.monotonic() - t0
            except asyncio.TimeoutError:
                writer.write(b"X-Slow: yes\r\n")
        writer.close()
        assert closed is not None and closed <= TIMEOUT_S + 1.0, closed


async def test_a_slow_body_gets_408(tmp_path):
    async with serving(tmp_path) as (port, _):
        reader, writer = await connect(port)
        writer.write(f"POST /api/join HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: 200\r\n\r\n{{".encode())
        t0 = time.monotonic()
        raw = await asyncio.wait_for(reader.read(4096), TIMEOUT_S + 3)
        status, headers, body = parse(raw)
        assert status == 408 and "did not arrive" in json.loads(body)["error"]
        assert TIMEOUT_S - 0.1 <= time.monotonic() - t0 <= TIMEOUT_S + 1.0
        assert "Content-Security-Policy" in headers
        assert await asyncio.wait_for(reader.read(), 3) == b""  # and the connection is let go soon after
        writer.close()


@pytest.mark.parametrize("request_bytes", [
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",  # a header line over 8190 bytes
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS to the HTTP port\r\n\r\n",
])
async def test_requests_aiohttp_cannot_parse_get_json_with_our_headers(tmp_path, request_bytes):
    async with serving(tmp_path) as (port, _):
        reader, writer = await connect(port)
        writer.write(request_bytes)
        raw = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        status, headers, body = parse(raw)
        assert status == 400 and json.loads(body)["error"]
        assert headers["Content-Type"].startswith("application/json")
        assert "Content-Security-Policy" in headers and headers["Cache-Control"] == "no-store"
