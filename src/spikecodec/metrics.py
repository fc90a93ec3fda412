"""Image quality and rate metrics: PSNR, SSIM, MS-SSIM, luma, bits per pixel, Bjøntegaard deltas.

Plain functions over numpy arrays, in the style of :mod:`skimage.metrics`. The conventions are
those of the project's rate–distortion practice:

- rate is counted over the whole file, ``bpp = 8 * n_bytes / (H * W)`` (bits per pixel, not per
  sample, also for RGB);
- PSNR uses peak 255 on the uint8 images, over all samples (all channels for RGB);
- SSIM is :func:`skimage.metrics.structural_similarity` with ``data_range=255`` and the default
  7x7 window, on luma (RGB images are first reduced to ITU-R BT.601 luma exactly as Pillow's
  ``Image.convert('L')`` does);
- MS-SSIM is Wang, Simoncelli and Bovik's multi-scale SSIM [3]_, also on luma;
- curves are compared with the Bjøntegaard delta rate: pchip interpolation of log-rate against
  quality over the overlapping quality range.

PSNR, MSE, luma and bpp need numpy only. SSIM (scikit-image), MS-SSIM and the Bjøntegaard
deltas (SciPy) need the ``lab`` extra, ``pip install 'spikecodec[lab]'``; they import it when
called.

References
----------
.. [1] G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves",
       ITU-T SG16/Q6 VCEG, document VCEG-M33, Austin, 2001.
.. [2] Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from
       error visibility to structural similarity", IEEE Trans. Image Process. 13(4), 2004.
.. [3] Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural similarity for image
       quality assessment", 37th Asilomar Conference on Signals, Systems and Computers, 2003.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .errors import ParameterError

__all__ = ["bd_psnr", "bd_rate", "bpp", "luma", "ms_ssim", "mse", "psnr", "ssim"]

# ITU-R BT.601 luma weights in 16-bit fixed point, as Pillow's ``convert('L')`` uses them
# (libImaging/Convert.c): 0.299 = 19595/65536, 0.587 = 38470/65536, 0.114 = 7471/65536;
# the three add up to 65536 so white stays 255.
_LUMA_WEIGHTS = (np.uint32(19595), np.uint32(38470), np.uint32(7471))


def _lab(module: str):
    """An optional module of the ``lab`` extra, or an ImportError that says how to get it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"this metric needs {module.split('.')[0]}: pip install 'spikecodec[lab]'"
        ) from err


def _same_shape(reference: np.ndarray, test: np.ndarray) -> None:
    if reference.shape != test.shape:
        raise ParameterError(
            f"images must have the same shape, got {reference.shape} and {test.shape}"
        )
    if reference.size == 0:
        raise ParameterError("images must not be empty")


def mse(reference: ArrayLike, test: ArrayLike) -> float:
    """Mean squared error between two images, over all samples.

    .. math:: \\mathrm{MSE} = \\frac{1}{N} \\sum_{i=1}^{N} (x_i - y_i)^2

    computed in float64 (exact for uint8 images of fewer than 2**37 samples).

    Parameters
    ----------
    reference, test : array_like
        Images of the same shape (any number of dimensions and channels).

    Returns
    -------
    float
        The mean squared error, in squared sample units.

    Examples
    --------
    >>> mse(np.zeros((2, 2), np.uint8), np.full((2, 2), 3, np.uint8))
    9.0
    """
    reference = np.asarray(reference)
    test = np.asarray(test)
    _same_shape(reference, test)
    diff = np.subtract(reference, test, dtype=np.float64)
    return float(np.mean(diff * diff))


def psnr(reference: ArrayLike, test: ArrayLike, peak: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB, over all samples.

    .. math:: \\mathrm{PSNR} = 10 \\log_{10} \\frac{\\mathrm{peak}^2}{\\mathrm{MSE}}

    with the MSE of :func:`mse` taken over every sample (all channels of an RGB image at once,
    not per channel and then averaged).

    Parameters
    ----------
    reference, test : array_like
        Images of the same shape, usually uint8 ``(H, W)`` or ``(H, W, 3)``.
    peak : float, optional
        The largest possible sample value (default: 65535 for a uint16 ``reference``, else 255
        for 8-bit images).

    Returns
    -------
    float
        PSNR in dB; ``inf`` for identical images.

    Examples
    --------
    >>> a = np.zeros((4, 4), np.uint8)
    >>> round(psnr(a, a + 1), 2)  # MSE = 1: 10*log10(255**2)
    48.13
    >>> psnr(a, a)
    inf
    """
    if peak is None:
        peak = 65535.0 if np.asarray(reference).dtype == np.uint16 else 255.0
    peak = float(peak)
    if not np.isfinite(peak) or peak <= 0:
        raise ParameterError(f"peak must be a positive finite number, got {peak!r}")
    error = mse(reference, test)
    if error == 0.0:
        return float("inf")
    return float(10.0 * np.log10(peak * peak / error))


def luma(rgb: ArrayLike) -> np.ndarray:
    """ITU-R BT.601 luma of an 8-bit RGB image, bit-exact with Pillow's ``convert('L')``.

    .. math:: Y = \\lfloor (19595 R + 38470 G + 7471 B + 2^{15}) / 2^{16} \\rfloor

    i.e. ``Y = 0.299 R + 0.587 G + 0.114 B`` rounded, in the 16-bit fixed point Pillow uses.
    (Rounding the floating-point sum instead differs from Pillow on 9443 of the 2**24 colours,
    by one level.)

    Parameters
    ----------
    rgb : array_like of uint8, shape (..., 3)
        An RGB image, channels last.

    Returns
    -------
    numpy.ndarray of uint8, shape (...)
        The luma image.

    Examples
    --------
    >>> luma(np.array([[[255, 255, 255], [255, 0, 0]]], np.uint8))
    array([[255,  76]], dtype=uint8)
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise ParameterError(f"luma expects a uint8 RGB image, got dtype {rgb.dtype}")
    if rgb.ndim < 1 or rgb.shape[-1] != 3:
        raise ParameterError(f"luma expects channels last with 3 channels, got shape {rgb.shape}")
    c = rgb.astype(np.uint32)
    wr, wg, wb = _LUMA_WEIGHTS
    y = c[..., 0] * wr + c[..., 1] * wg + c[..., 2] * wb + np.uint32(1 << 15)
    return (y >> 16).astype(np.uint8)


def _as_gray_uint8(image: np.ndarray, name: str) -> np.ndarray:
    if image.dtype != np.uint8:
        raise ParameterError(f"{name} must be a uint8 image, got dtype {image.dtype}")
    if image.ndim == 3 and image.shape[-1] == 3:
        return luma(image)
    if image.ndim == 2:
        return image
    raise ParameterError(f"{name} must have shape (H, W) or (H, W, 3), got {image.shape}")


def ssim(reference: ArrayLike, test: ArrayLike) -> float:
    """Structural similarity (SSIM) of two 8-bit images, computed on luma.

    The mean over the image of

    .. math:: \\mathrm{SSIM}(x, y) = \\frac{(2\\mu_x\\mu_y + C_1)(2\\sigma_{xy} + C_2)}
              {(\\mu_x^2 + \\mu_y^2 + C_1)(\\sigma_x^2 + \\sigma_y^2 + C_2)},
       \\quad C_1 = (0.01 L)^2,\\ C_2 = (0.03 L)^2,\\ L = 255,

    with local statistics over a 7x7 uniform window, as computed by
    :func:`skimage.metrics.structural_similarity` (``data_range=255``, default window) [2]_.
    RGB images are reduced to luma with :func:`luma` first.

    Parameters
    ----------
    reference, test : array_like of uint8
        Images of the same shape, ``(H, W)`` or ``(H, W, 3)``, at least 7 pixels on each side.

    Returns
    -------
    float
        SSIM in [-1, 1]; 1.0 for identical images.
    """
    structural_similarity = _lab("skimage.metrics").structural_similarity
    reference = np.asarray(reference)
    test = np.asarray(test)
    _same_shape(reference, test)
    y_ref = _as_gray_uint8(reference, "reference")
    y_test = _as_gray_uint8(test, "test")
    if min(y_ref.shape) < 7:
        raise ParameterError(f"SSIM's 7x7 window needs images of at least 7x7, got {y_ref.shape}")
    return float(structural_similarity(y_ref, y_test, data_range=255))


MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""The exponents of the five scales of MS-SSIM, finest first (Wang et al. 2003 [3]_)."""
_MS_SSIM_WINDOW = 11  # Gaussian window side, pixels
_MS_SSIM_SIGMA = 1.5  # Gaussian window standard deviation, pixels


def _ssim_and_cs(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean SSIM and mean contrast-structure term over the valid 11x11 Gaussian windows."""
    correlate1d = _lab("scipy.ndimage").correlate1d
    r = _MS_SSIM_WINDOW // 2
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / _MS_SSIM_SIGMA) ** 2)
    g /= g.sum()

    def local_mean(z: np.ndarray) -> np.ndarray:
        z = correlate1d(correlate1d(z, g, axis=0), g, axis=1)
        return z[r:-r, r:-r]  # only the windows wholly inside the image ('valid')

    c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2
    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x * mu_x
    var_y = local_mean(y * y) - mu_y * mu_y
    cov = local_mean(x * y) - mu_x * mu_y
    cs = (2.0 * cov + c2) / (var_x + var_y + c2)
    luminance = (2.0 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1)
    return float(np.mean(luminance * cs)), float(np.mean(cs))


def _halve(z: np.ndarray) -> np.ndarray:
    """Means over 2x2 blocks (an odd last row or column is dropped)."""
    h, w = z.shape[0] // 2, z.shape[1] // 2
    return z[: 2 * h, : 2 * w].reshape(h, 2, w, 2).mean(axis=(1, 3))


def ms_ssim(reference: ArrayLike, test: ArrayLike) -> float:
    """Multi-scale structural similarity (MS-SSIM) of two 8-bit images, computed on luma.

    .. math:: \\mathrm{MS\\text{-}SSIM} = \\mathrm{SSIM}_M^{w_M}
              \\prod_{j=1}^{M-1} \\mathrm{CS}_j^{w_j}

    where ``CS_j`` is the mean contrast-structure term
    ``(2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2)`` at scale ``j`` and ``SSIM_M`` the mean
    SSIM at the coarsest scale [3]_: local statistics over an 11x11 Gaussian window of standard
    deviation 1.5 pixels, at the positions where the window lies wholly inside the image (as in
    the authors' MATLAB code), ``C1 = (0.01*255)^2``, ``C2 = (0.03*255)^2``; each scale is the
    previous one averaged over 2x2 blocks (an odd last row or column is dropped). The weights are
    :data:`MS_SSIM_WEIGHTS` for the standard ``M = 5`` scales. A negative mean term is taken as
    0 (as TensorFlow's and pytorch_msssim's implementations do), so the result is real.

    Images too small for five scales (the coarsest needs at least 11 pixels a side, so 176
    pixels for five) use as many scales ``M`` as fit and the first ``M`` weights divided by
    their sum; e.g. a 64x64 image uses three scales with weights
    ``(0.0448, 0.2856, 0.3001) / 0.6305``. (The five standard weights are used as published;
    they add up to 1.0001.)

    RGB images are reduced to luma with :func:`luma` first.

    Parameters
    ----------
    reference, test : array_like of uint8
        Images of the same shape, ``(H, W)`` or ``(H, W, 3)``, at least 11 pixels on each side.

    Returns
    -------
    float
        MS-SSIM in [0, 1]; 1.0 for identical images.
    """
    reference = np.asarray(reference)
    test = np.asarray(test)
    _same_shape(reference, test)
    x = _as_gray_uint8(reference, "reference").astype(np.float64)
    y = _as_gray_uint8(test, "test").astype(np.float64)
    if min(x.shape) < _MS_SSIM_WINDOW:
        raise ParameterError(
            f"MS-SSIM's 11x11 window needs images of at least 11x11, got {x.shape}"
        )
    scales = 1
    while scales < len(MS_SSIM_WEIGHTS) and min(x.shape) >> scales >= _MS_SSIM_WINDOW:
        scales += 1
    terms = []
    for _ in range(scales - 1):
        terms.append(_ssim_and_cs(x, y)[1])
        x, y = _halve(x), _halve(y)
    terms.append(_ssim_and_cs(x, y)[0])
    weights = np.asarray(MS_SSIM_WEIGHTS[:scales])
    if scales < len(MS_SSIM_WEIGHTS):
        weights = weights / weights.sum()
    return float(np.prod(np.maximum(terms, 0.0) ** weights))


def bpp(n_bytes: int, shape: Sequence[int]) -> float:
    """Bits per pixel of a file of ``n_bytes`` bytes for an image of the given shape.

    .. math:: \\mathrm{bpp} = 8\\, n_\\mathrm{bytes} / (H W)

    Pixels, not samples: an RGB image's rate is also divided by ``H * W`` only.

    Parameters
    ----------
    n_bytes : int
        The whole file's size in bytes (headers included).
    shape : sequence of int
        The image's shape, ``(H, W)`` or ``(H, W, C)``.

    Returns
    -------
    float
        The rate in bits per pixel.

    Examples
    --------
    >>> bpp(49152, (512, 768))
    1.0
    """
    n_bytes = int(n_bytes)
    if n_bytes < 0:
        raise ParameterError(f"n_bytes must be >= 0, got {n_bytes}")
    if len(shape) < 2 or shape[0] <= 0 or shape[1] <= 0:
        raise ParameterError(f"shape must start with positive (H, W), got {tuple(shape)}")
    return 8.0 * n_bytes / (int(shape[0]) * int(shape[1]))


def _curve(rate: ArrayLike, quality: ArrayLike, which: str) -> tuple[np.ndarray, np.ndarray]:
    rate = np.asarray(rate, dtype=np.float64)
    quality = np.asarray(quality, dtype=np.float64)
    if rate.ndim != 1 or rate.shape != quality.shape:
        raise ParameterError(
            f"{which}: rate and quality must be 1-D of the same length, "
            f"got shapes {rate.shape} and {quality.shape}"
        )
    if not np.all(np.isfinite(rate)) or np.any(rate <= 0):
        raise ParameterError(f"{which}: rates must be positive and finite, got {rate}")
    if not np.all(np.isfinite(quality)):
        raise ParameterError(f"{which}: qualities must be finite, got {quality}")
    return rate, quality


def _window(
    rate: np.ndarray, quality: np.ndarray, rate_window: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    if rate_window is None:
        return rate, quality
    lo, hi = (float(v) for v in rate_window)
    if not lo < hi:
        raise ParameterError(f"rate_window must be (lo, hi) with lo < hi, got {rate_window}")
    keep = (rate >= lo) & (rate <= hi)
    return rate[keep], quality[keep]


def _unique_sorted(x: np.ndarray, y: np.ndarray, keep_low_y: bool) -> tuple[np.ndarray, ...]:
    """Sort points by ``x``; of points with equal ``x`` keep the best ``y`` (lowest or highest)."""
    order = np.lexsort((y if keep_low_y else -y, x))
    x, y = x[order], y[order]
    _, first = np.unique(x, return_index=True)
    return x[first], y[first]


def _bd_delta(
    x_anchor: np.ndarray, y_anchor: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> float:
    """Mean of ``pchip_test(x) - pchip_anchor(x)`` over the overlap of the two ``x`` ranges."""
    for name, x in (("anchor", x_anchor), ("test", x_test)):
        if x.size < 2:
            raise ParameterError(f"the {name} curve needs at least 2 distinct points, got {x.size}")
    lo = max(x_anchor[0], x_test[0])
    hi = min(x_anchor[-1], x_test[-1])
    if not lo < hi:
        raise ParameterError(
            f"the curves do not overlap: anchor spans [{x_anchor[0]:g}, {x_anchor[-1]:g}], "
            f"test spans [{x_test[0]:g}, {x_test[-1]:g}]"
        )
    PchipInterpolator = _lab("scipy.interpolate").PchipInterpolator
    area_anchor = PchipInterpolator(x_anchor, y_anchor).integrate(lo, hi)
    area_test = PchipInterpolator(x_test, y_test).integrate(lo, hi)
    return float((area_test - area_anchor) / (hi - lo))


def bd_rate(
    rate_anchor: ArrayLike,
    quality_anchor: ArrayLike,
    rate_test: ArrayLike,
    quality_test: ArrayLike,
    rate_window: tuple[float, float] | None = None,
) -> float:
    """Bjøntegaard delta rate: the test codec's average rate change at equal quality, in percent.

    Each curve's log-rate is interpolated as a function of quality by a monotone piecewise cubic
    (pchip, :class:`scipy.interpolate.PchipInterpolator`); over the overlap
    ``[q_lo, q_hi]`` of the two quality ranges

    .. math:: \\Delta = \\frac{1}{q_{hi} - q_{lo}} \\int_{q_{lo}}^{q_{hi}}
              \\left(\\ln R_\\mathrm{test}(q) - \\ln R_\\mathrm{anchor}(q)\\right) dq,
       \\qquad \\mathrm{BD\\text{-}rate} = 100\\,(e^{\\Delta} - 1)\\ \\%.

    Negative means the test codec needs fewer bits than the anchor for the same quality. [1]_

    Parameters
    ----------
    rate_anchor, quality_anchor : array_like, shape (n,)
        The anchor's rate-quality points (rate in bpp, or any positive rate unit; quality in
        dB for PSNR, or SSIM, ...). Any order: the points are sorted by quality, and of points
        with equal quality only the lowest rate is kept.
    rate_test, quality_test : array_like, shape (m,)
        The test codec's points, likewise.
    rate_window : (float, float), optional
        ``(lo, hi)`` in the rate's unit: points of either curve whose rate lies outside
        ``[lo, hi]`` are left out before interpolating (e.g. ``(0.25, 2.0)`` bpp).

    Returns
    -------
    float
        The BD-rate in percent.

    Raises
    ------
    ValueError
        If a curve has fewer than 2 distinct points (after the window), if rates are not
        positive and finite, or if the quality ranges do not overlap.

    Examples
    --------
    >>> q = [30.0, 33.0, 36.0, 39.0]
    >>> r = [0.25, 0.5, 1.0, 2.0]
    >>> round(bd_rate(r, q, [0.8 * x for x in r], q), 9)  # 20 % fewer bits everywhere
    -20.0
    """
    ra, qa = _window(*_curve(rate_anchor, quality_anchor, "anchor"), rate_window)
    rt, qt = _window(*_curve(rate_test, quality_test, "test"), rate_window)
    qa, la = _unique_sorted(qa, np.log(ra), keep_low_y=True)
    qt, lt = _unique_sorted(qt, np.log(rt), keep_low_y=True)
    return float(np.expm1(_bd_delta(qa, la, qt, lt)) * 100.0)


def bd_psnr(
    rate_anchor: ArrayLike,
    quality_anchor: ArrayLike,
    rate_test: ArrayLike,
    quality_test: ArrayLike,
    rate_window: tuple[float, float] | None = None,
) -> float:
    """Bjøntegaard delta quality: the test codec's average quality change at equal rate.

    Each curve's quality is interpolated as a function of log-rate by pchip; over the overlap
    ``[l_lo, l_hi]`` of the two log-rate ranges

    .. math:: \\mathrm{BD\\text{-}PSNR} = \\frac{1}{l_{hi} - l_{lo}} \\int_{l_{lo}}^{l_{hi}}
              \\left(Q_\\mathrm{test}(l) - Q_\\mathrm{anchor}(l)\\right) dl,
       \\qquad l = \\ln R.

    In the quality's unit: dB for PSNR (positive means the test codec is better); it works the
    same for any quality measure (e.g. SSIM). [1]_

    Parameters
    ----------
    rate_anchor, quality_anchor, rate_test, quality_test, rate_window
        As for :func:`bd_rate`. Points are sorted by rate; of points with equal rate only the
        highest quality is kept.

    Returns
    -------
    float
        The average quality difference, test minus anchor.

    Examples
    --------
    >>> r = [0.25, 0.5, 1.0, 2.0]
    >>> round(bd_psnr(r, [30, 33, 36, 39], r, [30.5, 33.5, 36.5, 39.5]), 9)
    0.5
    """
    ra, qa = _window(*_curve(rate_anchor, quality_anchor, "anchor"), rate_window)
    rt, qt = _window(*_curve(rate_test, quality_test, "test"), rate_window)
    la, qa = _unique_sorted(np.log(ra), qa, keep_low_y=False)
    lt, qt = _unique_sorted(np.log(rt), qt, keep_low_y=False)
    return _bd_delta(la, qa, lt, qt)
