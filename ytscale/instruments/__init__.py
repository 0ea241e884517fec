"""Measuring aids: statement counting, EXPLAIN plans, and the quota contention harness."""
