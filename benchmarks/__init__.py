"""Benchmarks of the P0 report's claims: the report's "before", its "after" and ours, in one run."""
