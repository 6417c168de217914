"""Heart-to-heart talks (谈心谈话): records, cadence rules and the obligations they create.

The pure core lives in ``periods`` (period arithmetic), ``register`` (who talks with whom on which
days), ``cadence`` (obligations and their red-letter status) and ``defaults`` (the seed rules).
"""
