"""The P0 report's code under measurement: its "before" and "after" variants, each sharing
everything with ours but the one function that differs."""
