"""The coach's errors. Each message says what happened and what to do next."""


class CoachError(Exception):
    """Base class: a user-facing problem with a one-line explanation."""


class AudioInputError(CoachError):
    """An audio file that cannot be read or holds no audio."""


class ModelsMissingError(CoachError):
    """A model the pipeline needs is not installed."""


class ModelInstallError(CoachError):
    """Installing a model failed; nothing half-installed was left behind."""


class ModelOutputError(CoachError):
    """A model returned something the pipeline cannot use."""
