"""ytscale's reference pipeline: YouTube video/channel import, channel sync, quota and tag
matching, built to hold at 100,000 users, with the P0 report's "before" and "after" variants kept
beside it."""
