"""The library's exceptions: everything spikecodec raises on bad input derives from one class."""

__all__ = [
    "CorruptStreamError",
    "LimitError",
    "ParameterError",
    "RateControlError",
    "SpikeCodecError",
    "SpikeCodecWarning",
    "TruncatedStreamError",
    "UnsupportedImageError",
]


class SpikeCodecError(ValueError):
    """Base class of spikecodec's errors (a ``ValueError``, so bad input is caught as such)."""


class ParameterError(SpikeCodecError):
    """A parameter of a public function has a bad value or type; the message names the
    parameter and what it accepts."""


class CorruptStreamError(SpikeCodecError):
    """The stream is not a valid spikecodec stream (bad magic, header, checksum or content).

    ``chunks`` holds the time slices that were read intact before the damage, if any,
    ``header`` the stream's header when the damage lies after it (else None), and ``alpha``
    its alpha plane (:class:`~spikecodec.format.container.Alpha`) when it has one.
    """

    def __init__(self, message: str, chunks: list[bytes] | None = None, header=None, alpha=None):
        super().__init__(message)
        self.chunks = chunks or []
        self.header = header
        self.alpha = alpha


class TruncatedStreamError(SpikeCodecError):
    """The stream ends before anything decodable (inside the header)."""


class LimitError(SpikeCodecError):
    """The stream declares more than the configured limits allow (e.g. too many pixels)."""


class SpikeCodecWarning(UserWarning):
    """A recoverable problem, e.g. a damaged time slice that ends decoding early."""


class UnsupportedImageError(ParameterError):
    """The input is not an image spikecodec codes (unreadable, wrong mode, dtype or shape)."""


class RateControlError(ParameterError):
    """A rate-control target that is invalid, ambiguous or out of reach (a bad value of a
    target parameter, hence a :class:`ParameterError`); ``best`` is the closest reachable value
    (bytes or dB) when the target is out of reach, else None."""

    def __init__(self, message: str, best: float | None = None):
        super().__init__(message)
        self.best = best
