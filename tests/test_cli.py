"""The command line's own checks: every option out of range is one line and exit 2."""

import pytest

from jazzd.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["--port", "x", "--seed", "-1"],
        ["render", "--seed", "-2"],
        ["train", "--stride", "0"],
        ["train", "--epochs", "0"],
        ["train", "--batch-size", "0"],
        ["train", "--n-a", "-64"],
        ["train", "--tx", "0"],
        ["train", "--min-count", "0"],
        ["train", "--dropout", "1.5"],
        ["bench", "--timing", "--drop", "1"],
        ["--port", "x", "--bpm", "9000"],
        ["--port", "x", "--temperature", "10"],
        ["render", "--top-p", "0", "-o", "x.mid"],
        ["eval", "--model", "wjazzd", "--corpus", "x", "--temperature", "-1"],
    ],
)
def test_an_option_out_of_range_is_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert caught.value.code == 2 and len(errors) == 1 and "must be" in errors[0]


def test_the_journal_gets_a_traceback_with_every_line_at_the_records_priority():
    import logging

    from jazzd.cli import JournalFormatter

    try:
        raise RuntimeError("realizer bug")
    except RuntimeError:
        record = logging.LogRecord("jazzd", logging.ERROR, __file__, 1, "the timing thread failed", (), None)
        import sys

        record.exc_info = sys.exc_info()
    lines = JournalFormatter().format(record).splitlines()
    assert lines[0] == "<3>the timing thread failed" and len(lines) > 3
    assert all(line.startswith("<3>") for line in lines) and lines[-1] == "<3>RuntimeError: realizer bug"
