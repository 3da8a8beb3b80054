"""Liveness and readiness endpoints for load balancers."""
