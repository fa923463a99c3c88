"""The rules: ids, owners, next actions and due times, states, KPIs (plain functions over frames)."""
