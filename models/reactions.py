"""Classic reaction networks that validate the jump engine (REFERENCE.md section 6).

Each constructor returns ``(network, x0)``: a :class:`bdprocess.ReactionNetwork` and its
initial count vector. The ``*_moments`` functions give the exact mean and variance of
the one-species models; :func:`dimerisation_moments` solves the (finite) master equation.
Defaults follow the SBML discrete stochastic models test suite (DSMTS, Evans, Gillespie,
Wilkinson 2008): birth-death with x0 = 100, birth 0.1, death 0.11; immigration-death with
immigration 1, death 0.1, x0 = 0.
"""

import numpy as np
import scipy.linalg

from bdprocess import ReactionNetwork


def birth_death(x0: int = 100, birth: float = 0.1, death: float = 0.11):
    """Linear birth-death: X -> 2X at rate birth * X, X -> 0 at rate death * X."""
    net = ReactionNetwork(
        ("X",),
        {"birth": ({"X": 1}, {"X": 2}), "death": ({"X": 1}, {})},
        [birth, death],
    )
    return net, net.initial_state({"X": x0})


def immigration_death(x0: int = 0, immigration: float = 1.0, death: float = 0.1):
    """Immigration-death: 0 -> X at rate immigration, X -> 0 at rate death * X."""
    net = ReactionNetwork(
        ("X",),
        {"immigration": ({}, {"X": 1}), "death": ({"X": 1}, {})},
        [immigration, death],
    )
    return net, net.initial_state({"X": x0})


def batch_immigration(x0: int = 0, batch: int = 5, immigration: float = 1.0, death: float = 0.1):
    """Batch immigration-death: 0 -> batch X at rate immigration, X -> 0 at rate death * X.

    ``batch`` is stoichiometry, hence static (changing it recompiles).
    """
    if int(batch) != batch or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch}")
    net = ReactionNetwork(
        ("X",),
        {"immigration": ({}, {"X": int(batch)}), "death": ({"X": 1}, {})},
        [immigration, death],
    )
    return net, net.initial_state({"X": x0})


def dimerisation(p0: int = 100, k1: float = 0.001, k2: float = 0.01):
    """Dimerisation 2P -> P2 (propensity k1 P (P - 1) / 2) and P2 -> 2P (k2 P2), P2(0) = 0."""
    net = ReactionNetwork(
        ("P", "P2"),
        {"dimerise": ({"P": 2}, {"P2": 1}), "dissociate": ({"P2": 1}, {"P": 2})},
        [k1, k2],
    )
    return net, net.initial_state({"P": p0})


# ---- exact answers ------------------------------------------------------------------------


def birth_death_moments(t, x0: int = 100, birth: float = 0.1, death: float = 0.11):
    """Exact mean and variance of linear birth-death at times t (numpy arrays)."""
    t = np.asarray(t, float)
    r = birth - death
    if r == 0:
        return np.full_like(t, x0, dtype=float), 2 * birth * x0 * t
    g = np.exp(r * t)
    return x0 * g, x0 * (birth + death) / r * g * (g - 1)


def immigration_death_moments(t, x0: int = 0, immigration: float = 1.0, death: float = 0.1):
    """Exact mean and variance of immigration-death: Binomial(x0, e^{-death t}) survivors
    plus independent Poisson((immigration/death)(1 - e^{-death t})) immigrants."""
    return batch_immigration_moments(t, x0, 1, immigration, death)


def batch_immigration_moments(
    t, x0: int = 0, batch: int = 5, immigration: float = 1.0, death: float = 0.1
):
    """Exact mean and variance of batch immigration-death.

    Survivors of the x0 initial molecules are Binomial(x0, p), p = e^{-death t}. Batches
    arrive as a Poisson process; a batch arriving at s contributes Binomial(batch,
    e^{-death (t - s)}) molecules, so the immigrants form a compound Poisson sum with mean
    a b I1 and variance a (b (I1 - I2) + b^2 I2), I1 = int_0^t q ds, I2 = int_0^t q^2 ds.
    """
    t = np.asarray(t, float)
    p = np.exp(-death * t)
    i1 = (1 - p) / death
    i2 = (1 - p**2) / (2 * death)
    mean = x0 * p + immigration * batch * i1
    var = x0 * p * (1 - p) + immigration * (batch * (i1 - i2) + batch**2 * i2)
    return mean, var


def dimerisation_moments(t, p0: int = 100, k1: float = 0.001, k2: float = 0.01):
    """Exact mean and variance of P (the monomer) from the chemical master equation.

    P + 2 P2 = p0 is conserved, so the state is the number of dimers d = 0..p0 // 2 and
    the master equation is a small linear ODE, solved with a matrix exponential.
    """
    t = np.atleast_1d(np.asarray(t, float))
    d = np.arange(p0 // 2 + 1)
    p = p0 - 2 * d
    up = k1 * p * (p - 1) / 2  # d -> d + 1
    down = k2 * d  # d -> d - 1
    q = np.diag(-(up + down)) + np.diag(up[:-1], -1) + np.diag(down[1:], 1)
    prob0 = np.zeros(d.size)
    prob0[0] = 1.0
    probs = np.stack([scipy.linalg.expm(q * s) @ prob0 for s in t])
    mean = probs @ p
    return mean, probs @ p**2 - mean**2


def dsmts_scores(samples, mean, var):
    """DSMTS Z and Y scores (Evans, Gillespie, Wilkinson 2008) of ``samples`` (N, times).

    Z_t = sqrt(N) (sample mean - mean) / sd and Y_t = sqrt(N/2) (S_t^2 / var - 1), with
    S_t^2 the mean squared deviation about the true mean. An exact simulator gives
    |Z| < 3 and |Y| < 5 at every t (times with var = 0 give NaN: check those exactly).
    """
    x = np.asarray(samples, float)
    n = x.shape[0]
    mean, var = np.asarray(mean, float), np.asarray(var, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.sqrt(n) * (x.mean(0) - mean) / np.sqrt(var)
        y = np.sqrt(n / 2) * (((x - mean) ** 2).mean(0) / var - 1)
    return np.where(var > 0, z, np.nan), np.where(var > 0, y, np.nan)


MODELS = {
    "birth_death": birth_death,
    "immigration_death": immigration_death,
    "dimerisation": dimerisation,
    "batch_immigration": batch_immigration,
}
"""Name -> constructor of every reaction-network model."""

__all__ = [
    "MODELS",
    "batch_immigration",
    "batch_immigration_moments",
    "birth_death",
    "birth_death_moments",
    "dimerisation",
    "dimerisation_moments",
    "dsmts_scores",
    "immigration_death",
    "immigration_death_moments",
]
