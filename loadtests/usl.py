"""Gunther's Universal Scalability Law, fitted to throughput against concurrency.

```python
fit = Fit.of([1, 18, 36, 72, 108, 144, 216], [64.9, 995.9, 1652.4, 1853.2, 1828.9, 1775.0, 1702.2])
fit.lam, fit.sigma, fit.kappa          # 90.0, 0.0277, 0.000104 (the usl R package's SPEC SDM91 fit)
fit.peak                               # N where throughput tops out: sqrt((1 - sigma) / kappa)
fit.throughput(100), fit.band(100)     # the model, and its 95 % confidence interval
```

``X(N) = lam·N / (1 + sigma·(N - 1) + kappa·N·(N - 1))``: ``lam`` the throughput of one, ``sigma``
contention, ``kappa`` coherency. The fit is least squares on ``X`` by Gauss-Newton, started from
the linearised form (``N/X`` is a quadratic in ``N``); the band comes from the parameters'
covariance (the delta method). Asked beyond twice the largest concurrency measured, the model
refuses (:class:`Extrapolation`): a curve fitted to a few points says nothing that far out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: How far past the largest measured concurrency the model answers.
REACH = 2.0
Z95 = 1.96


class Extrapolation(ValueError):
    """Asked past :data:`REACH` times the largest concurrency measured."""


@dataclass(frozen=True)
class Fit:
    lam: float
    sigma: float
    kappa: float
    covariance: np.ndarray
    largest: float

    @classmethod
    def of(cls, concurrency: Sequence[float], throughput: Sequence[float]) -> Fit:
        n, x = np.asarray(concurrency, float), np.asarray(throughput, float)
        if len(n) < 4 or len(set(n)) < 4:
            raise ValueError("a USL fit needs at least 4 distinct concurrencies (3 parameters)")
        c, b, a = np.polyfit(n, n / x, 2)
        lam = 1 / (a + b + c)
        params = np.array([lam, b * lam + c * lam, c * lam])
        for _ in range(100):
            jacobian = _jacobian(params, n)
            step = np.linalg.lstsq(jacobian, x - _model(params, n), rcond=None)[0]
            params = params + step
            if np.all(np.abs(step) <= 1e-12 * (np.abs(params) + 1e-12)):
                break
        residual = x - _model(params, n)
        jacobian = _jacobian(params, n)
        variance = float(residual @ residual) / (len(n) - 3)
        covariance = variance * np.linalg.pinv(jacobian.T @ jacobian)
        return cls(*(float(p) for p in params), covariance=covariance, largest=float(n.max()))

    @property
    def peak(self) -> float:
        """The concurrency of the highest throughput (infinite without coherency cost)."""
        return float(np.sqrt((1 - self.sigma) / self.kappa)) if self.kappa > 0 else float("inf")

    def throughput(self, concurrency: float) -> float:
        self._within(concurrency)
        return float(_model(self._params, np.array([concurrency]))[0])

    def band(self, concurrency: float, z: float = Z95) -> tuple[float, float]:
        """The model's confidence interval at ``concurrency`` (95 % by default)."""
        self._within(concurrency)
        gradient = _jacobian(self._params, np.array([concurrency]))[0]
        half = z * float(np.sqrt(max(gradient @ self.covariance @ gradient, 0.0)))
        centre = self.throughput(concurrency)
        return centre - half, centre + half

    @property
    def _params(self) -> np.ndarray:
        return np.array([self.lam, self.sigma, self.kappa])

    def _within(self, concurrency: float) -> None:
        if concurrency > REACH * self.largest:
            raise Extrapolation(
                f"refusing to extrapolate to N={concurrency:g}: past {REACH:g}x the largest "
                f"measured ({self.largest:g})"
            )


def littles_law(throughput_rps: float, response_s: float) -> float:
    """The mean number of requests in the system: ``N = X·R``."""
    return throughput_rps * response_s


def _model(params: np.ndarray, n: np.ndarray) -> np.ndarray:
    lam, sigma, kappa = params
    result: np.ndarray = lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))
    return result


def _jacobian(params: np.ndarray, n: np.ndarray) -> np.ndarray:
    lam, sigma, kappa = params
    d = 1 + sigma * (n - 1) + kappa * n * (n - 1)
    return np.stack([n / d, -lam * n * (n - 1) / d**2, -lam * n * n * (n - 1) / d**2], axis=1)
