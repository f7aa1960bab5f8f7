"""`coach serve`: livekit-server, the web server and the coach, started together and stopped together."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from typing import Awaitable, Callable
from urllib.parse import urlparse

import click
from aiohttp import web

from coach import livekit_server as lk
from coach.config import Settings
from coach.errors import CoachError

log = logging.getLogger("coach.serve")


def _livekit_target(settings: Settings) -> tuple[str, lk.Keys]:
    """Where livekit-server is, and its keys: one given in settings, one already running with our keys, or none."""
    if settings.livekit_url:
        if not (settings.livekit_api_key and settings.livekit_api_secret):
            raise CoachError("COACH_LIVEKIT_URL needs COACH_LIVEKIT_API_KEY and COACH_LIVEKIT_API_SECRET too")
        url = settings.livekit_url.replace("wss://", "https://", 1).replace("ws://", "http://", 1)
        return url, lk.Keys(settings.livekit_api_key, settings.livekit_api_secret)
    return f"http://127.0.0.1:{settings.livekit_port}", lk.ensure_keys(settings.state_dir)


class _Child:
    """Our livekit-server, replaced by a new one when it stops on its own. `after_restart` (once the web app exists)
    makes the rooms of live sessions again: a restarted livekit-server has none, and makes none by itself."""

    def __init__(self, process: lk.LiveKitProcess | None):
        self.process = process
        self.after_restart: Callable[[], Awaitable[int]] | None = None


async def _keep_livekit_running(child: _Child, port: int) -> None:
    """If livekit-server stops (crash, OOM, someone killed it), say so in one line and start it again, with the rooms
    of live sessions. The coach and both pages join again by themselves."""
    while True:
        await asyncio.sleep(0.5)
        child.process.bound_log()  # its log stays under 2 MB however long we run
        code = child.process.exited()
        if code is None:
            continue
        t0 = time.monotonic()
        click.echo(f"livekit-server stopped (exit code {code}): restarting it ...", err=True)
        try:
            child.process = child.process.restarted()  # from the main thread: see LiveKitProcess
            await asyncio.to_thread(child.process.wait_ready, port)
            rooms = await child.after_restart() if child.after_restart else 0
            click.echo(f"livekit-server is running again after {time.monotonic() - t0:.1f} s "
                       f"({rooms} session room{'' if rooms == 1 else 's'} made again)", err=True)
        except CoachError as e:
            click.echo(f"livekit-server could not be restarted ({e}): trying again in 5 s", err=True)
            await asyncio.sleep(5)


async def _serve(settings: Settings, lan_ip: str) -> None:
    from coach.room import CoachRoomManager
    from coach.runtime import Models, verify_models
    from server.app import create_app
    from server.connections import ConnectionGuard, is_loopback_address, listen, runner_options
    from server.state import PARTNER_ADDRESSES
    from server.lifecycle import restore_rooms
    from server.tls import ensure_certificate, fingerprint, ssl_context
    from server.tokens import LiveKitKeys

    verify_models(settings)  # a missing or damaged model file stops us here, before livekit-server starts
    lk.private_state_dir(settings.state_dir)  # before anything is written there: 0700, its files 0600
    livekit_http, keys = _livekit_target(settings)
    child = _Child(None)
    parsed = urlparse(livekit_http)
    if not lk.answers(parsed.hostname or "127.0.0.1", parsed.port or 80):
        if settings.livekit_url:
            raise CoachError(f"no LiveKit server answers at {settings.livekit_url}: start it, or unset COACH_LIVEKIT_URL")
        binary = lk.find_binary()
        if binary is None:
            raise CoachError("livekit-server not found: run scripts/setup_livekit.sh, put it on PATH, "
                             "or set LIVEKIT_SERVER_BIN to its path")
        lk.check_ports_free(settings)
        config = lk.render_config(settings, lan_ip)
        child.process = lk.LiveKitProcess(binary, config, settings.state_dir / "livekit-server.log")
    else:
        click.echo(f"using the LiveKit server already answering at {livekit_http}", err=True)
    runner = None
    manager = None
    watchdog = None
    listeners: list[asyncio.AbstractServer] = []
    try:
        if child.process:
            await asyncio.to_thread(child.process.wait_ready, settings.livekit_port)
            watchdog = asyncio.create_task(_keep_livekit_running(child, settings.livekit_port))
        click.echo("loading models ...", err=True)
        models = await asyncio.to_thread(Models.load, settings)
        manager = CoachRoomManager(models, settings)
        if settings.tls_cert and settings.tls_key:
            cert, key = settings.tls_cert, settings.tls_key
        else:
            cert, key = ensure_certificate(settings.state_dir, lan_ip)
        app = create_app(settings, keys=LiveKitKeys(keys.api_key, keys.api_secret), lan_ip=lan_ip,
                         livekit_http=livekit_http, hooks=manager)
        runner = web.AppRunner(app, **runner_options(settings.http_timeout_s))
        await runner.setup()
        child.after_restart = lambda: restore_rooms(app)  # from here on the app can reach LiveKit
        partners = app[PARTNER_ADDRESSES]
        guard = ConnectionGuard(max_connections=settings.max_connections,
                                max_per_address=settings.max_connections_per_address,
                                head_timeout_s=settings.http_timeout_s,
                                trusted=lambda address: is_loopback_address(address) or address in partners.values())
        try:
            listeners.append(await listen(runner, guard, "127.0.0.1", settings.http_port))
            listeners.append(await listen(runner, guard, "0.0.0.0", settings.https_port, ssl_context(cert, key)))
        except OSError as e:
            raise CoachError(f"cannot listen on port {settings.http_port} or {settings.https_port} ({e.strerror}): "
                             "stop what uses it, or set COACH_HTTP_PORT / COACH_HTTPS_PORT")
        click.echo(
            f"\nCoach ready ({models.names['stt']}, {models.names['llm']}; {models.threads_note}).\n"
            f"  Facilitator, on this computer:  http://127.0.0.1:{settings.http_port}/\n"
            f"  Partners on your network:       https://{lan_ip}:{settings.https_port}/join#... (invite links from the page)\n"
            f"  Certificate fingerprint (SHA-256): {fingerprint(cert)}\n"
            f"Press Ctrl-C to stop."
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        click.echo("stopping ...", err=True)
        _exit_by(STOP_BUDGET_S)
    finally:
        await _shut_down(watchdog, manager, runner, child, listeners)


async def _shut_down(watchdog, manager, runner, child: _Child, listeners=(), budget_s: float = 3.5) -> None:
    """Everything stopped and every port free within a few seconds, even with a hint being written: livekit-server
    is stopped beside the coaches, not after them, and nothing waits longer than its share of the budget."""
    if watchdog:
        watchdog.cancel()
    for listener in listeners:  # no new connections; runner.cleanup() below closes the open ones
        listener.close()
    stopping = asyncio.create_task(asyncio.to_thread(child.process.stop)) if child.process else None
    if manager:
        try:
            await asyncio.wait_for(manager.aclose(), budget_s - 1.0)
        except (asyncio.TimeoutError, Exception) as e:
            log.warning("coaches did not stop cleanly (%s): leaving anyway", type(e).__name__)
    if runner:
        try:
            await asyncio.wait_for(runner.cleanup(), 1.0)
        except asyncio.TimeoutError:
            log.warning("web server did not stop within 1 s: leaving anyway")
    if stopping:
        await stopping


STOP_BUDGET_S = 4.0  # Ctrl-C to exit, whatever state the sessions are in


def _exit_by(budget_s: float) -> None:
    """A hard deadline for stopping: coaches stuck mid-connect (media that never came up) kept asyncio.run's own
    teardown waiting on the LiveKit SDK for 17 s in an audit. Past the budget the process leaves at once; livekit-server
    goes with it (it dies with its parent)."""

    def leave() -> None:
        log.warning("stopping took longer than %.0f s: leaving now", budget_s)
        logging.shutdown()
        os._exit(0)

    timer = threading.Timer(budget_s, leave)
    timer.daemon = True
    timer.start()


def serve(settings: Settings) -> None:
    lan_ip = settings.lan_ip or lk.lan_address()
    asyncio.run(_serve(settings, lan_ip))
    # Everything of ours is stopped. The LiveKit SDK's own exit hook can abort ("FFI Panic") while its runtime still
    # delivers events to coaches that are gone: leave without it.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
