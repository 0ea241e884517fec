"""ytscale's reference pipeline: YouTube video/channel import, channel sync, quota and tag
matching, built to hold at 100,000 users. The harness that measures it is the ``ytscale`` package;
nothing here imports it."""
