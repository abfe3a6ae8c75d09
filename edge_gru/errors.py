"""One error hierarchy for edge-gru.

Every error a user can cause derives from :class:`EdgeGruError`; the CLI turns
them into one line on stderr and exit status 2.
"""

from __future__ import annotations


class EdgeGruError(Exception):
    """Base class of every error edge-gru raises on purpose."""


class UnsupportedModelError(EdgeGruError):
    """The model uses a layer or an attribute that edge-gru cannot represent."""


class ModelFileError(EdgeGruError):
    """A model or artifact file is missing, corrupt or of the wrong kind."""


class DataError(EdgeGruError):
    """Input data is missing, malformed, non-finite or of the wrong shape."""


class QuantizationError(EdgeGruError):
    """The model cannot be quantized safely (e.g. an accumulator could overflow)."""


class ToolMissingError(EdgeGruError):
    """An optional tool or package needed for this operation is not installed."""


class OutputExistsError(EdgeGruError):
    """An output path exists and ``--force`` was not given."""


class OutputError(EdgeGruError):
    """An output cannot be written where the user asked (a parent is a file, a read-only folder, ...)."""


def error_summary(exc: BaseException, limit: int = 200) -> str:
    """The first line of a library's exception (cut to ``limit`` characters), or its type when it says nothing:
    what goes inside edge-gru's one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


class EdgeGruWarning(UserWarning):
    """Base class of the warnings edge-gru issues: the work went on, but a result may not be what you expect."""


class QuantizationWarning(EdgeGruWarning):
    """The model quantized, but calibration found a term the fixed-point format saturates."""
