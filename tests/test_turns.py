"""Turn-taking strategies on their own: soloing plays throughout, trading alternates turns (the
keyboard's first, again at each section of a form, an intro the keyboard's), answering plays
only while it answers."""

import math

from jazzd.live.turns import STRATEGIES, Answer, Solo, Trade
from jazzd.music.charts import Form


def test_solo_plays_throughout_and_trade_alternates_the_keyboards_turn_first():
    assert Solo(4, None, 2.0).until(123.0) == math.inf
    trade = Trade(1, None, 2.0)
    assert [trade.until(b) for b in (0.0, 3.9, 4.0, 7.5, 8.0)] == [-1.0, -1.0, 8.0, 8.0, -1.0]


def test_trade_turns_begin_again_at_each_section_and_an_intro_is_the_keyboards():
    form = Form(bars=12, section_starts=(0, 8), intro=2)  # 2 intro bars, sections of 8 and 4
    trade = Trade(3, form, 2.0)
    starts = [trade.turn(b)[1] for b in (0.0, 8.0, 20.0, 32.0, 40.0, 56.0)]
    assert starts == [0.0, 8.0, 20.0, 32.0, 40.0, 56.0]  # intro; 3 bars, 3 bars, 2 bars; 3 bars, 1 bar
    assert trade.turn(1.0)[0] == -1 and trade.until(1.0) == -1.0


def test_answer_plays_only_while_it_answers_and_the_names_pick_the_strategies():
    answer = Answer(2, None, 1.0)
    assert answer.until(0.0) == -1.0
    answer.answering_until = 12.0
    assert answer.until(11.0) == 12.0 and answer.until(12.0) == -1.0
    answer.reset()
    assert answer.until(11.0) == -1.0
    assert set(STRATEGIES) == {"solo", "trade", "answer"}
