"""The rules: ids, owners, next actions and due times, states, KPIs (functions over frames)."""
