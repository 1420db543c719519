"""Forecasts as distributions: a metric's value (in the metric's own units, e.g. 0.93 for 93%
accuracy) or a delivery delay in days after the deadline (negative: early). Entered by hand, or
`history` to be fitted from past milestones (resolved by `attestpay.design.history`)."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Fixed(_Dist):
    kind: Literal["fixed"]
    value: float


class Uniform(_Dist):
    kind: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self):
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


class Triangular(_Dist):
    kind: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError(f"needs low <= mode <= high and low < high, got {self.low}, {self.mode}, {self.high}")
        return self


class Normal(_Dist):
    """Optionally cut to [min, max] (a share cannot exceed 1, a count cannot be negative)."""

    kind: Literal["normal"]
    mean: float
    sd: float = Field(ge=0)
    min: float | None = None
    max: float | None = None


class Empirical(_Dist):
    """Past outcomes, drawn from with replacement."""

    kind: Literal["empirical"]
    samples: list[float] = Field(min_length=1)


class FromHistory(_Dist):
    """Fitted from past milestones of this metric kind (default: the spec's unit)."""

    kind: Literal["history"]
    metric_kind: str | None = None
    shape: Literal["empirical", "normal"] = "empirical"


Distribution = Annotated[Fixed | Uniform | Triangular | Normal | Empirical, Field(discriminator="kind")]
Forecastable = Annotated[Fixed | Uniform | Triangular | Normal | Empirical | FromHistory, Field(discriminator="kind")]


def sample(dist: Fixed | Uniform | Triangular | Normal | Empirical, rng: np.random.Generator, n: int) -> np.ndarray:
    """n draws as float64."""
    match dist:
        case Fixed():
            return np.full(n, dist.value)
        case Uniform():
            return rng.uniform(dist.low, dist.high, n)
        case Triangular():
            return rng.triangular(dist.low, dist.mode, dist.high, n)
        case Normal():
            draws = rng.normal(dist.mean, dist.sd, n)
            return np.clip(draws, dist.min, dist.max) if dist.min is not None or dist.max is not None else draws
        case Empirical():
            return rng.choice(np.asarray(dist.samples, dtype=np.float64), n)
    raise TypeError(f"not a resolved distribution: {dist!r}")
