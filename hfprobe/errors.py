"""Every error hfprobe raises on purpose, in one place.

Each one subclasses a built-in so callers can catch it either way, and each message is
one line: which file or repo, what is wrong, and what to do about it. The CLI turns any
`HfprobeError` into that line on stderr and exit code 2 (tracebacks only with
HFPROBE_DEBUG=1).
"""

from __future__ import annotations


class HfprobeError(Exception):
    """Base class. `str(err)` is the one line a user sees."""

    exit_code = 2


class SourceNotFoundError(HfprobeError, FileNotFoundError):
    """A local path, Hub repo, revision or file that does not exist."""


class SourceAccessError(HfprobeError, PermissionError):
    """The source exists but cannot be read: permissions, gated/private repo, bad token."""


class NetworkError(HfprobeError, ConnectionError):
    """The Hub (or HF_ENDPOINT) could not be reached, or offline mode has no cached copy."""


class InvalidWeightsError(HfprobeError, ValueError):
    """A weights file that is malformed: empty, truncated, bad header, bad offsets, NaN/Inf."""


class UnsafeFileError(HfprobeError, ValueError):
    """A pickle that holds more than tensors; it is refused, never executed."""


class UnsupportedFormatError(HfprobeError, ValueError):
    """Weights we can read but whose layout hfprobe does not know."""


class NoWeightsError(HfprobeError, FileNotFoundError):
    """A folder or repo with no weights file hfprobe can use."""


class LayerNotFoundError(HfprobeError, KeyError):
    """The layer an expert or zoo reader asked for is absent from this model."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ZooError(HfprobeError, ValueError):
    """A zoo with missing or malformed labels, files or mixed architectures."""


class ExpertError(HfprobeError, ValueError):
    """An expert folder that is missing files, mismatched, or used with the wrong input."""


class TextEncoderError(HfprobeError, RuntimeError):
    """A text encoder that cannot be loaded, or labels it cannot embed."""


class CardError(HfprobeError, ValueError):
    """A model card that cannot be parsed or written safely."""


class HubWriteError(HfprobeError, RuntimeError):
    """A write to the Hub (commit, pull request) that was refused or failed."""


class SearchIndexError(HfprobeError, RuntimeError):
    """The search index is missing, locked or corrupt."""


class UsageError(HfprobeError, ValueError):
    """Arguments that do not fit together."""


class OutputPathError(HfprobeError, OSError):
    """A local path hfprobe was asked to write (--out, --index, --summary, --log) that cannot be created or
    written: its parent is a file, it is the wrong kind (file or folder), no permission, a read-only or full disk."""

    def __str__(self) -> str:  # OSError would format (errno, strerror) pairs
        return str(self.args[0]) if self.args else ""


class TruncatedWeightsError(InvalidWeightsError):
    """A weights file whose header is intact but whose tensor data is cut short: `inspect` still answers from
    the header; reading tensors (a layer, predict, the readout) is refused."""
