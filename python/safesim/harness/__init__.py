"""Safety checks: expectations in scenario files, decided by sequential tests.

See :mod:`safesim.harness.sequential` for the decision procedure,
:mod:`safesim.harness.expectations` for the ``expect:`` schema and
:mod:`safesim.harness.runner` for running them.
"""
