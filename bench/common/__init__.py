"""Shared pieces of the benchmarks in bench/ (not a benchmark itself; ``make bench`` runs only
the scripts directly in bench/)."""
