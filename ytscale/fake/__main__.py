"""``python -m ytscale.fake --port 8001 --seed 1 --latency-mean 5 --time-scale 100``: the fake
under uvicorn, on loopback."""

from __future__ import annotations

from collections.abc import Iterable

from ytscale.fake.app import create_app
from ytscale.fake.cli import config_from_args, parser


def main(argv: Iterable[str] | None = None) -> None:
    import uvicorn

    args = parser().parse_args(None if argv is None else list(argv))
    app = create_app(config_from_args(args), hub_interval_s=args.hub_interval)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level=args.log_level, lifespan="on")


if __name__ == "__main__":
    main()
