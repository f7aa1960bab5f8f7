"""The livekit-server configuration we render: LAN-only, no public STUN, private keys. No server needed."""

import os
import stat

import pytest

from coach import livekit_server as lk
from coach.config import Settings

yaml = pytest.importorskip("yaml")


@pytest.fixture
def settings(tmp_path):
    return Settings(state_dir=tmp_path / "state # odd: path", livekit_port=17880, livekit_udp_port=17882,
                    livekit_tcp_port=17881)


def test_rendered_config_is_lan_only(settings):
    settings.state_dir.mkdir(parents=True)
    keys = lk.ensure_keys(settings.state_dir)
    path = lk.render_config(settings, "192.168.1.20")
    config = yaml.safe_load(path.read_text())
    assert config["port"] == 17880 and config["bind_addresses"] == ["127.0.0.1"]
    rtc = config["rtc"]
    assert rtc["udp_port"] == 17882 and rtc["tcp_port"] == 17881
    assert rtc["use_external_ip"] is False and rtc["node_ip"] == "192.168.1.20"
    # clients are told about no STUN server but this machine's own, so nothing is looked up off the LAN
    assert rtc["stun_servers"] == ["192.168.1.20:17882"]
    assert config["turn"]["enabled"] is False
    assert config["key_file"] == str(settings.state_dir / lk.KEY_FILE)  # quoted: the odd path survives YAML
    key_file = settings.state_dir / lk.KEY_FILE
    assert key_file.read_text().strip() == f"{keys.api_key}: {keys.api_secret}"
    for p in (key_file, path):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600  # livekit-server refuses keys others can read
    assert len(keys.api_secret) >= 32


def test_keys_are_generated_once(settings):
    settings.state_dir.mkdir(parents=True)
    assert lk.ensure_keys(settings.state_dir) == lk.ensure_keys(settings.state_dir)


def test_server_environment_drops_livekit_overrides(monkeypatch):
    monkeypatch.setenv("NODE_IP", "8.8.8.8")
    monkeypatch.setenv("LIVEKIT_KEYS", "devkey: secret")
    monkeypatch.setenv("LIVEKIT_RTC_TCP_PORT", "1")
    monkeypatch.setenv("HOME_SOMETHING", "kept")
    env = lk.server_environment()
    assert "NODE_IP" not in env and "LIVEKIT_KEYS" not in env and "LIVEKIT_RTC_TCP_PORT" not in env
    assert env["HOME_SOMETHING"] == "kept"


def test_livekit_log_is_private_and_one_run_long(tmp_path):
    import os
    from pathlib import Path

    from coach.livekit_server import LiveKitProcess

    log = tmp_path / "livekit-server.log"
    log.write_text("identities from an older run\n")
    os.chmod(log, 0o644)
    proc = LiveKitProcess(Path("/bin/echo"), tmp_path / "cfg.yaml", log)  # echo prints its arguments and exits
    proc.proc.wait()
    assert log.stat().st_mode & 0o777 == 0o600
    assert "older run" not in log.read_text()
    again = proc.restarted()  # a restart within the same run keeps this run's log
    again.proc.wait()
    again.stop()
    assert log.read_text().count("--config") == 2
