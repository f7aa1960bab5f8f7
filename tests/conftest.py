import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def settings():
    from coach.config import Settings

    return Settings(models_dir=REPO / "models")


@pytest.fixture(scope="session")
def models(settings):
    """The real offline models, loaded once for the whole run."""
    from coach.errors import ModelsMissingError
    from coach.runtime import Models

    try:
        return Models.load(settings)
    except ModelsMissingError as e:
        if os.environ.get("CI"):
            raise  # CI installs the models: missing ones are a failure there, not a skip
        pytest.skip(f"models not installed ({e})")


@pytest.fixture(scope="session")
def embedder():
    """The real sentence embedder alone (no Whisper, no LLM): the safety and move tests need only this."""
    from coach import modelstore
    from coach.config import DEFAULT_MODELS_DIR
    from coach.embed import OnnxEmbedder
    from coach.errors import ModelsMissingError

    try:
        _, folder = modelstore.resolve(DEFAULT_MODELS_DIR, "embed")
    except ModelsMissingError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"embedding model not installed ({e})")
    return OnnxEmbedder(folder)


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present (the shared evaluation data lives beside the project)")
    return path
