"""Audio in: load_wav errors and conversions to 16 kHz mono float32, and timed chunks."""

import numpy as np
import pytest
import soundfile as sf

from coach.audio import CHUNK_SAMPLES, SAMPLE_RATE, chunks, load_wav, to_mono_16k
from coach.errors import AudioInputError


def sine(rate: int, seconds: float, hz: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float64)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


# ---- errors --------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(AudioInputError, match="no such file"):
        load_wav(tmp_path / "nope.wav")


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(AudioInputError, match="no such file"):
        load_wav(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioInputError, match="empty"):
        load_wav(path)


def test_corrupt_header(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(AudioInputError, match="not a readable audio file"):
        load_wav(path)


def test_truncated_riff_header(tmp_path):
    path = tmp_path / "cut.wav"
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    with pytest.raises(AudioInputError):
        load_wav(path)


def test_valid_wav_with_zero_frames(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros((0, 1), dtype=np.float32), 16_000, subtype="PCM_16")
    assert path.stat().st_size > 0  # a real header, just no samples
    with pytest.raises(AudioInputError, match="no audio samples"):
        load_wav(path)


# ---- conversions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rate, channels, subtype",
    [
        (8_000, 2, "PCM_16"),
        (44_100, 1, "PCM_24"),
        (48_000, 1, "FLOAT"),
        (22_050, 1, "PCM_U8"),
        (16_000, 1, "PCM_32"),
    ],
)
def test_conversion_to_16k_mono_float32(tmp_path, rate, channels, subtype):
    seconds = 1.5
    mono = sine(rate, seconds, hz=300.0, amplitude=0.5)
    data = np.stack([mono] * channels, axis=1) if channels > 1 else mono
    path = tmp_path / f"in_{rate}_{subtype}.wav"
    sf.write(path, data, rate, subtype=subtype)
    assert sf.info(str(path)).subtype == subtype

    clip = load_wav(path)
    assert clip.samples.dtype == np.float32
    assert clip.samples.ndim == 1
    assert clip.samples.flags["C_CONTIGUOUS"]
    assert clip.source_rate == rate and clip.source_channels == channels
    assert clip.duration == pytest.approx(seconds, rel=0.01)
    assert len(clip.samples) == pytest.approx(seconds * SAMPLE_RATE, rel=0.01)
    # the signal survived: right level, centred on zero (unsigned 8-bit included), in range
    assert rms(clip.samples) == pytest.approx(0.5 / np.sqrt(2), rel=0.03)
    assert abs(float(np.mean(clip.samples))) < 0.01
    assert np.max(np.abs(clip.samples)) <= 1.0


def test_stereo_is_mixed_down(tmp_path):
    rate = 8_000
    left = sine(rate, 1.0, amplitude=0.5)
    path = tmp_path / "left_only.wav"
    sf.write(path, np.stack([left, np.zeros_like(left)], axis=1), rate, subtype="PCM_16")
    clip = load_wav(path)
    assert clip.source_channels == 2
    assert rms(clip.samples) == pytest.approx(0.25 / np.sqrt(2), rel=0.03)  # the average of the two channels


def test_to_mono_16k_passthrough_keeps_samples():
    x = np.linspace(-0.5, 0.5, 1000).astype(np.float64)
    y = to_mono_16k(x, SAMPLE_RATE)
    assert y.dtype == np.float32 and len(y) == 1000
    np.testing.assert_allclose(y, x, atol=1e-6)


# ---- chunks --------------------------------------------------------------------------------------------------


def test_chunks_are_512_samples_with_times():
    samples = np.arange(CHUNK_SAMPLES * 3 + 100, dtype=np.float32)
    out = list(chunks(samples))
    assert [len(c.samples) for c in out] == [512, 512, 512, 100]
    assert [c.t for c in out] == pytest.approx([0.0, 0.032, 0.064, 0.096])
    assert out[0].duration == pytest.approx(0.032)
    assert out[-1].t_end == pytest.approx(len(samples) / SAMPLE_RATE)
    for a, b in zip(out, out[1:]):
        assert a.t_end == pytest.approx(b.t)
    np.testing.assert_array_equal(np.concatenate([c.samples for c in out]), samples)  # nothing lost or repeated


def test_chunks_with_offset_and_size():
    out = list(chunks(np.zeros(1600, dtype=np.float32), chunk_samples=800, t0=10.0))
    assert [c.t for c in out] == pytest.approx([10.0, 10.05])
    assert out[-1].t_end == pytest.approx(10.1)


def test_chunks_of_nothing():
    assert list(chunks(np.zeros(0, dtype=np.float32))) == []
