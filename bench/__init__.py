"""Benchmark of the LeadPanther connector against dlt's generic rest_api source (see bench/README.md)."""
