"""Ways to run the connector on an existing orchestrator (each optional; the CLI needs none of them)."""
