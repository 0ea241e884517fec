"""Measuring aids: statement counting, EXPLAIN plans, the quota contention harness, and scratch
schemas on a shared PostgreSQL."""
