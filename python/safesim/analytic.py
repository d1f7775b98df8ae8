"""The analytic oracle: per-dyad outcome probabilities without simulating.

With bans off, a dyad (offender contact that a minor answered) is an absorbing
Markov chain; ``sim/include/safesim/oracle.hpp`` solves it with the
fundamental matrix N = (I - Q)^-1 and averages over the minors who open dyads.
It checks the engine (MODEL.md section 7) and is a fast estimator.
"""

from __future__ import annotations

import os
from typing import Any

from safesim import _core
from safesim.scenario import Scenario

__all__ = ["OFFENDER_TYPES", "oracle"]

#: Offender types in the engine's order.
OFFENDER_TYPES = ("groomer", "sextortion", "distributor")


def oracle(
    scenario: Scenario | str | os.PathLike[str],
    platform: str | int = "main",
    offender_type: str | int = "groomer",
    public_share: float = 1.0,
) -> dict[str, float]:
    """Per-dyad outcome of ``offender_type`` on ``platform``: probabilities and expected days.

    ``public_share`` is the share of the dyads' minors whose profile is public,
    so that a sextortion offender can save their images (leverage,
    ``response.harvest_leverage_factor``; ``download_restrictions`` limit it).
    The engine knows this share only by simulating; the default 1 is an upper
    bound on the leverage. It does not matter for groomers and distributors.

    Keys: ``exploited``, ``reported``, ``exited``, ``detected``,
    ``closed_after_exploitation``, ``*_before_exploitation``,
    ``reach_trust/isolation/solicitation``, ``moved``, ``exploitation_events``,
    ``expected_days`` and time-weighted moments. ``exploited`` plus the three
    ``*_before_exploitation`` probabilities sum to 1.

    >>> import safesim as ss
    >>> o = ss.oracle(ss.Scenario.default())
    >>> round(o["exploited"] + o["reported_before_exploitation"] + o["exited_before_exploitation"]
    ...       + o["detected_before_exploitation"], 9)
    1.0
    """
    from safesim.api import as_scenario

    sc = as_scenario(scenario)
    names = sc.platforms
    if isinstance(platform, str):
        if platform not in names:
            raise ValueError(f"no platform {platform!r} (platforms: {', '.join(names)})")
        p_index = names.index(platform)
    else:
        p_index = int(platform)
    if isinstance(offender_type, str):
        if offender_type not in OFFENDER_TYPES:
            raise ValueError(f"offender_type must be one of {OFFENDER_TYPES}, got {offender_type!r}")
        t_index = OFFENDER_TYPES.index(offender_type)
    else:
        t_index = int(offender_type)
    out: dict[str, Any] = _core.dyad_outcome(sc.spec, p_index, t_index, public_share)
    return {k: float(v) for k, v in out.items()}
