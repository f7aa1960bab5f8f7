"""The sentence embedder: our ONNX graph of all-MiniLM-L6-v2 must give what sentence-transformers gives."""

import json
import subprocess
import sys

import numpy as np
import pytest

from coach.errors import ModelsMissingError

# sentence-transformers 5 with torch 2.13 (measured once, outside the project) for "A man is eating food."
REFERENCE_HEAD = [0.03324165, 0.00440609, -0.00627695, 0.04837865, -0.13870227, -0.03361740]


def test_matches_the_reference_implementation(embedder):
    vec = embedder.embed(["A man is eating food."])
    assert vec.shape == (1, 384)
    assert np.allclose(vec[0, :6], REFERENCE_HEAD, atol=1e-5)
    assert abs(float(np.linalg.norm(vec[0])) - 1.0) < 1e-5


def test_batches_with_padding_give_the_same_vectors(embedder):
    texts = ["short", "a much longer sentence that needs a lot more tokens than the first one does"]
    embedder.forget()
    together = embedder.embed(texts)
    alone = []
    for t in texts:
        embedder.forget()  # made again, not the kept vector
        alone.append(embedder.embed([t]))
    assert np.allclose(together, np.vstack(alone), atol=1e-5)


def test_a_text_embedded_again_is_not_run_through_the_model_again(embedder, monkeypatch):
    embedder.forget()
    first = embedder.embed(["I feel a part of me tighten.", "It wants to protect me."])
    runs = []
    real_run = embedder._session.run
    monkeypatch.setattr(embedder, "_session", type("Counting", (), {
        "run": lambda self, names, feed: runs.append(feed["input_ids"].shape[0]) or real_run(names, feed)})())
    again = embedder.embed(["It wants to protect me.", "Something new to say.", "It wants to protect me."])
    assert runs == [1]  # only the new sentence, once
    assert np.allclose(again[0], first[1]) and np.allclose(again[2], first[1])
    assert again.shape == (3, 384)
    embedder.forget()
    embedder.embed(["It wants to protect me."])
    assert runs == [1, 1]


def test_meaning_is_closer_than_wording(embedder):
    a, b, c = embedder.embed(["Everyone would be better off without me.", "My family would be happier if I were gone.",
                              "Everyone would be better off with a bigger kitchen."])
    assert a @ b > a @ c


def test_empty_input_and_blank_strings(embedder):
    assert embedder.embed([]).shape == (0, 384)
    assert embedder.embed(["   "]).shape == (1, 384)


def test_missing_files_say_what_to_run(tmp_path):
    from coach.embed import OnnxEmbedder

    with pytest.raises(ModelsMissingError, match="setup_models.sh"):
        OnnxEmbedder(tmp_path)


def test_export_of_a_file_that_is_not_safetensors_is_a_clear_error(tmp_path):
    bad, config = tmp_path / "model.safetensors", tmp_path / "config.json"
    bad.write_bytes(b"\x00" * 64)
    config.write_text(json.dumps({"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12}))
    done = subprocess.run([sys.executable, "-m", "coach.embed_export", str(bad), str(config), str(tmp_path / "out.onnx")],
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert not (tmp_path / "out.onnx").exists()
    assert done.stderr.strip().splitlines()[-1].startswith("Error")
