"""Admin-side views and actions (the dashboard's admin endpoint)."""
