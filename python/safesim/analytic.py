"""The analytic oracle: per-dyad outcome probabilities without simulating.

With bans off, a dyad (offender contact that a minor answered) is an absorbing
Markov chain; ``sim/include/safesim/oracle.hpp`` solves it with the
fundamental matrix N = (I - Q)^-1 and averages over the minors who open dyads.
It checks the engine (docs/model/submodels/oracle.md) and is a fast estimator.

This module sits below the experiment API: it uses only :mod:`safesim.scenario`
and the C++ extension.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from safesim import _core
from safesim.scenario import Scenario

__all__ = ["MIXTURE_SHARES", "OFFENDER_TYPES", "oracle"]

#: Offender types in the engine's order.
OFFENDER_TYPES = ("groomer", "sextortion", "distributor", "peer")

#: The shares the oracle mixes over, each with its meaning and default, as
#: declared in the C++ oracle (``mixture_dimensions()``); :func:`oracle` takes
#: them as keywords.
MIXTURE_SHARES: dict[str, str] = {share: meaning for share, _flag, meaning in _core.dyad_mixture()}


def _as_scenario(scenario: Scenario | str | os.PathLike[str]) -> Scenario:
    """Return a Scenario as is; a path or an installed scenario's name loaded (as ``safesim.api.as_scenario``)."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, Path, os.PathLike)):
        return Scenario.load(scenario)
    raise TypeError(f"expected a Scenario or a path, got {type(scenario).__name__}")


def oracle(
    scenario: Scenario | str | os.PathLike[str],
    platform: str | int = "main",
    offender_type: str | int = "groomer",
    **shares: float,
) -> dict[str, float]:
    """Per-dyad outcome of ``offender_type`` on ``platform``: probabilities and expected days.

    ``scenario`` is a :class:`Scenario`, a scenario file or an installed
    scenario's name. The oracle averages over the minors who open dyads: their
    vulnerability and the binary conditions whose shares are the keywords
    ``shares`` (:data:`MIXTURE_SHARES`, each in [0, 1]; one not given takes
    its default from the scenario):

    - ``public_share``: share of the dyads' minors whose profile is public, so
      that a sextortion offender can save their images (leverage,
      ``response.harvest_leverage_factor``; ``download_restrictions`` limit it).
      The engine knows this share only by simulating; the default 1 is an
      upper bound on the leverage. It does not matter for groomers,
      distributors and peer perpetrators (``offender_type="peer"``).
    - ``educated_share``: minors reached by an education campaign (default
      ``education.uptake``).
    - ``readable_share``: conversations that grooming detection can read
      (default ``1 - e2ee_share``, or 1 with ``client_side_scanning``).
    - ``supervised_share``: the dyads' minors supervised by a parent (default
      ``parental_supervision.uptake``).

    Keys: ``exploited`` and its kinds ``images_obtained``, ``sextorted`` and
    ``met_offline`` (a demand counts images too unless the images were
    harvested), ``reported``, ``exited``, ``detected``,
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
    unknown = sorted(set(shares) - set(MIXTURE_SHARES))
    if unknown:
        raise TypeError(
            f"oracle() got unexpected keyword argument(s) {', '.join(unknown)} "
            f"(mixture shares: {', '.join(MIXTURE_SHARES)})"
        )
    sc = _as_scenario(scenario)
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
    out: dict[str, Any] = _core.dyad_outcome(sc.spec, p_index, t_index, dict(shares))
    return {k: float(v) for k, v in out.items()}
