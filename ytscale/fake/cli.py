"""The fake's options, in command-line syntax: ``python -m ytscale.fake`` and
``$YTSCALE_FAKE_ARGS`` (read by :func:`ytscale.fake.app.create_app`) both take them."""

from __future__ import annotations

import argparse

from reference.quota.costs import DEFAULT_DAILY_QUOTA
from reference.youtube.parse import parse_datetime
from ytscale.fake.catalogue import DEFAULT_CHANNELS, EPOCH
from ytscale.fake.faults import FaultConfig, Latency
from ytscale.fake.hub import DEFAULT_MAX_LEASE_S
from ytscale.fake.youtube import FakeConfig


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ytscale.fake",
        description="Serve the fake YouTube Data API v3 on 127.0.0.1 (loopback only).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--seed", type=int, default=0, help="catalogue seed")
    p.add_argument("--channels", type=int, default=DEFAULT_CHANNELS)
    p.add_argument("--daily-quota", type=int, default=DEFAULT_DAILY_QUOTA)
    p.add_argument("--start", type=parse_datetime, default=EPOCH, help="simulated start, RFC 3339")
    p.add_argument(
        "--time-scale", type=float, default=1.0, help="simulated seconds per real second"
    )
    p.add_argument("--latency-mean", type=float, default=0.0, help="simulated seconds")
    p.add_argument("--latency-sigma", type=float, default=0.5)
    p.add_argument("--slow", type=float, default=0.0, help="rate of slow answers")
    p.add_argument("--slow-seconds", type=float, default=30.0, help="extra simulated seconds")
    p.add_argument("--rate-limit", type=float, default=0.0, help="rate of rateLimitExceeded")
    p.add_argument("--server-error", type=float, default=0.0, help="rate of 500/503")
    p.add_argument("--drop", type=float, default=0.0, help="rate of dropped connections")
    p.add_argument("--storm", type=float, default=0.0, help="rate at which quota storms start")
    p.add_argument("--storm-requests", type=int, default=100, help="requests a storm lasts")
    p.add_argument("--fault-seed", type=int, default=None, help="default: --seed")
    p.add_argument(
        "--feed-delay", type=float, default=300.0, help="simulated seconds the Atom feed lags"
    )
    p.add_argument(
        "--push-delay",
        type=float,
        default=30.0,
        help="simulated seconds from an upload to the hub's notification",
    )
    p.add_argument(
        "--push-loss", type=float, default=0.0, help="rate of notifications the hub never sends"
    )
    p.add_argument(
        "--max-lease",
        type=int,
        default=DEFAULT_MAX_LEASE_S,
        help="longest WebSub lease the hub grants, seconds",
    )
    p.add_argument(
        "--hub-interval",
        type=float,
        default=1.0,
        help="real seconds between pumps of the WebSub hub; 0 disables",
    )
    p.add_argument("--log-level", default="warning")
    return p


def config_from_args(args: argparse.Namespace) -> FakeConfig:
    faults = FaultConfig(
        seed=args.seed if args.fault_seed is None else args.fault_seed,
        rate_limit=args.rate_limit,
        server_error=args.server_error,
        drop=args.drop,
        slow=args.slow,
        slow_s=args.slow_seconds,
        storm=args.storm,
        storm_requests=args.storm_requests,
        latency=Latency(args.latency_mean, args.latency_sigma),
    )
    return FakeConfig(
        seed=args.seed,
        channels=args.channels,
        daily_quota=args.daily_quota,
        start=args.start,
        time_scale=args.time_scale,
        faults=faults,
        feed_delay_s=args.feed_delay,
        push_delay_s=args.push_delay,
        push_loss=args.push_loss,
        max_lease_s=args.max_lease,
    )
