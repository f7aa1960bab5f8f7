"""The exemplar embeddings cached beside the embedding model: read when texts and model are the same, recomputed
silently when anything differs or the file is damaged, and never a reason to fail when the folder can't be written."""

from __future__ import annotations

import numpy as np
import pytest

from coach.safety import CACHE_PREFIX, SafetyCheck
from tests.fakes import FakeEmbedder

RISK = {"suicidal_ideation": ("I don't want to be here anymore.", "I've been giving my things away."),
        "abuse_or_violence": ("He grabbed me and pinned me to the wall.",)}
SAFE = {"idiom": ("This commute is killing me.",), "grief": ("My mum died last spring and I miss her.",)}
N = 5  # exemplars above


class ModelEmbedder(FakeEmbedder):
    """The fake embedder as a real one presents itself: a folder it lives in and an identity."""

    def __init__(self, folder, identity="model-a"):
        super().__init__()
        self.folder, self.identity = folder, identity

    def embedded(self) -> int:
        return sum(len(c) for c in self.calls)


def caches(folder) -> list:
    return sorted(folder.glob(CACHE_PREFIX + "*.npz"))


def test_a_second_start_reads_the_cache_instead_of_embedding(tmp_path):
    first = ModelEmbedder(tmp_path)
    a = SafetyCheck(first, risk=RISK, safe=SAFE, everyday=())
    assert first.embedded() == N and len(caches(tmp_path)) == 1
    second = ModelEmbedder(tmp_path)
    b = SafetyCheck(second, risk=RISK, safe=SAFE, everyday=())
    assert second.embedded() == 0
    assert np.array_equal(a._risk, b._risk) and np.array_equal(a._safe, b._safe)
    text = "lately I've been giving all my things away"
    va, vb = a.assess(text), b.assess(text)
    assert (va.risk, va.category, va.source, va.score) == (vb.risk, vb.category, vb.source, vb.score)


def test_the_cache_matches_what_the_embedder_gives(tmp_path):
    SafetyCheck(ModelEmbedder(tmp_path), risk=RISK, safe=SAFE)
    cached = SafetyCheck(ModelEmbedder(tmp_path), risk=RISK, safe=SAFE)
    fresh = SafetyCheck(FakeEmbedder(), risk=RISK, safe=SAFE)  # no folder: nothing cached
    assert np.allclose(cached._risk, fresh._risk) and np.allclose(cached._safe, fresh._safe)


@pytest.mark.parametrize("change", ["texts", "model"])
def test_other_texts_or_another_model_are_recomputed_and_replace_the_old_cache(tmp_path, change):
    SafetyCheck(ModelEmbedder(tmp_path), risk=RISK, safe=SAFE)
    old = caches(tmp_path)
    risk = {**RISK, "threat_by_others": ("He said he'd kill me if I left.",)} if change == "texts" else RISK
    emb = ModelEmbedder(tmp_path, identity="model-b" if change == "model" else "model-a")
    check = SafetyCheck(emb, risk=risk, safe=SAFE, everyday=())
    assert emb.embedded() == N + (change == "texts")
    assert len(check._risk) == len(check._risk_cats)
    assert caches(tmp_path) != old and len(caches(tmp_path)) == 1  # the stale one is gone


def test_a_moved_safe_exemplar_is_another_cache(tmp_path):
    """The same texts split differently between the lists are other matrices."""
    SafetyCheck(ModelEmbedder(tmp_path), risk=RISK, safe=SAFE)
    moved_risk = {"suicidal_ideation": RISK["suicidal_ideation"]}
    moved_safe = {**SAFE, "past_or_negated": RISK["abuse_or_violence"]}
    emb = ModelEmbedder(tmp_path)
    check = SafetyCheck(emb, risk=moved_risk, safe=moved_safe, everyday=())
    assert emb.embedded() == N and check._risk.shape[0] == 2 and check._safe.shape[0] == 3


@pytest.mark.parametrize("damage", [b"", b"not a numpy file at all", None])
def test_a_corrupt_cache_is_recomputed_silently(tmp_path, damage):
    SafetyCheck(ModelEmbedder(tmp_path), risk=RISK, safe=SAFE)
    (path,) = caches(tmp_path)
    if damage is None:  # a valid file with the right key but the wrong shape
        with np.load(path) as data:
            key = str(data["key"])
        with open(path, "wb") as f:
            np.savez(f, key=np.array(key), matrix=np.zeros((2, 3), dtype=np.float32))
    else:
        path.write_bytes(damage)
    emb = ModelEmbedder(tmp_path)
    check = SafetyCheck(emb, risk=RISK, safe=SAFE, everyday=())
    assert emb.embedded() == N and check._risk.shape == (3, FakeEmbedder.DIM)
    again = ModelEmbedder(tmp_path)
    SafetyCheck(again, risk=RISK, safe=SAFE, everyday=())
    assert again.embedded() == 0, "the damaged file was replaced by a good one"


def test_a_folder_that_cannot_be_written_means_memory_only(tmp_path):
    not_a_folder = tmp_path / "model.onnx"
    not_a_folder.write_bytes(b"x")  # writing "inside" a file fails like a read-only folder does, even for root
    emb = ModelEmbedder(not_a_folder)
    check = SafetyCheck(emb, risk=RISK, safe=SAFE, everyday=())
    assert emb.embedded() == N and check._safe.shape[0] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]  # nothing written anywhere else


def test_no_cache_without_a_model_identity_or_when_turned_off(tmp_path):
    emb = ModelEmbedder(tmp_path, identity="")
    SafetyCheck(emb, risk=RISK, safe=SAFE, everyday=())
    emb = ModelEmbedder(tmp_path)
    SafetyCheck(emb, risk=RISK, safe=SAFE, cache=False)
    assert caches(tmp_path) == []


def test_the_real_model_has_an_identity_that_follows_its_files(embedder, tmp_path):
    from coach.embed import _identity

    assert embedder.folder.is_dir() and len(embedder.identity) == 64
    a, b = tmp_path / "model.onnx", tmp_path / "tokenizer.json"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    before = _identity(tmp_path, (a, b))
    assert _identity(tmp_path, (a, b)) == before
    a.write_bytes(b"other")
    assert _identity(tmp_path, (a, b)) != before


def test_real_embeddings_from_the_cache_decide_as_fresh_ones(embedder, tmp_path):
    class Beside:
        folder, identity = tmp_path, embedder.identity

        def embed(self, texts):
            return embedder.embed(texts)

    from coach.safety_exemplars import RISK as ALL_RISK, SAFE as ALL_SAFE

    written = SafetyCheck(Beside())
    read = SafetyCheck(Beside())
    assert len(caches(tmp_path)) == 1
    assert read._risk.shape == (sum(map(len, ALL_RISK.values())), 384)
    assert read._safe.shape == (sum(map(len, ALL_SAFE.values())), 384)
    for text in ("I've given my cat to my neighbour so she'll be looked after when I'm gone.",
                 "My grandmother died last spring and I still miss her every day."):
        assert written.assess(text).risk == read.assess(text).risk
        assert written.assess(text).score == pytest.approx(read.assess(text).score, abs=1e-6)
