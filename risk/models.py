"""Risk policy, alerts and limit changes (models added by the risk work)."""
