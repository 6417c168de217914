"""Leave: statutory annual leave entitlement and its ledger (pure core in ``entitlement``)."""
