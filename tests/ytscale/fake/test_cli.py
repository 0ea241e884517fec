"""The fake's command line: ``python -m ytscale.fake`` and the options ``create_app`` reads."""

import pytest

from ytscale.fake.__main__ import main
from ytscale.fake.cli import config_from_args, parser
from ytscale.fake.youtube import FakeConfig


def test_the_cli_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    help_text = capsys.readouterr().out
    assert "127.0.0.1" in help_text and "--latency-mean" in help_text


def test_the_cli_configures_the_feed_and_the_hub(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(
        ["--feed-delay", "60", "--push-delay", "5", "--push-loss", "0.1", "--max-lease", "3600"]
    )
    config = config_from_args(args)
    assert (config.feed_delay_s, config.push_delay_s, config.push_loss, config.max_lease_s) == (
        60.0,
        5.0,
        0.1,
        3600,
    )
    assert args.hub_interval == 1.0
    with pytest.raises(SystemExit):
        parser().parse_args(["--help"])
    help_text = capsys.readouterr().out
    for option in ("--hub-interval", "--feed-delay", "--push-delay", "--push-loss", "--max-lease"):
        assert option in help_text
    with pytest.raises(ValueError, match="push_loss"):
        FakeConfig(push_loss=1.5)
