"""The USL fit reproduces a published analysis, bands its curve, and refuses to extrapolate."""

from __future__ import annotations

import numpy as np
import pytest

from loadtests.usl import Extrapolation, Fit, littles_law

#: SPEC SDM91, a Sun SPARCcenter 2000 (the usl R package's ``specsdm91`` data set): users, and
#: scripts an hour. The package's fit: lambda 89.9952, sigma 0.0277285, kappa 0.0001044.
SDM91_LOAD = [1, 18, 36, 72, 108, 144, 216]
SDM91_THROUGHPUT = [64.9, 995.9, 1652.4, 1853.2, 1828.9, 1775.0, 1702.2]


def test_the_fit_reproduces_the_published_spec_sdm91_analysis() -> None:
    fit = Fit.of(SDM91_LOAD, SDM91_THROUGHPUT)
    assert fit.lam == pytest.approx(89.9952, rel=1e-4)
    assert fit.sigma == pytest.approx(0.0277285, rel=1e-4)
    assert fit.kappa == pytest.approx(0.0001044, rel=1e-3)
    assert fit.peak == pytest.approx(96.5, abs=0.5)  # sqrt((1 - sigma) / kappa)


def test_the_band_holds_the_curve_and_widens_away_from_the_data() -> None:
    fit = Fit.of(SDM91_LOAD, SDM91_THROUGHPUT)
    low, high = fit.band(72)
    assert low < fit.throughput(72) < high
    assert (fit.band(400)[1] - fit.band(400)[0]) > (high - low)


def test_exact_data_fit_exactly() -> None:
    n = np.array([1, 2, 4, 8, 16, 32.0])
    x = 10 * n / (1 + 0.05 * (n - 1) + 0.001 * n * (n - 1))
    fit = Fit.of(n, x)
    assert (fit.lam, fit.sigma, fit.kappa) == pytest.approx((10, 0.05, 0.001), rel=1e-6)


def test_the_model_refuses_past_twice_the_largest_load() -> None:
    fit = Fit.of(SDM91_LOAD, SDM91_THROUGHPUT)
    fit.throughput(432)
    with pytest.raises(Extrapolation, match="past 2x the largest measured"):
        fit.throughput(433)
    with pytest.raises(ValueError, match="at least 4"):
        Fit.of([1, 2, 3], [1, 2, 3])


def test_littles_law() -> None:
    assert littles_law(throughput_rps=150, response_s=0.02) == pytest.approx(3.0)
