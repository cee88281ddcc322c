"""Final ranking: spec contradictions last, user weight grows with ratings, no duplicates."""

from engine.scoring.rank import HALF_WEIGHT_AT, Ranked, blended_score, rank, user_weight


def test_candidates_contradicting_the_spec_go_last() -> None:
    cands = [
        Ranked(readability=5.0, expected=5.0, contradicts_spec=True),
        Ranked(readability=1.0, expected=1.0),
        Ranked(readability=3.0, expected=3.0),
    ]
    assert rank(cands, n_ratings=0, top_k=3) == [2, 1, 0]


def test_without_ratings_readability_decides_and_with_many_the_user_does() -> None:
    readable = Ranked(readability=4.5, expected=2.0)
    liked = Ranked(readability=2.5, expected=5.0)
    assert rank([readable, liked], n_ratings=0, top_k=2) == [0, 1]
    assert rank([readable, liked], n_ratings=100, top_k=2) == [1, 0]


def test_the_user_weight_grows_with_ratings() -> None:
    weights = [user_weight(n) for n in sorted({0, 1, 5, HALF_WEIGHT_AT, 50, 1000})]
    assert weights[0] == 0.0 and user_weight(HALF_WEIGHT_AT) == 0.5
    assert weights == sorted(weights) and weights[-1] < 1.0
    c = Ranked(readability=5.0, expected=1.0)
    assert blended_score(c, 0) == 5.0
    assert blended_score(c, HALF_WEIGHT_AT) == 3.0


def test_near_duplicates_are_not_shown_twice_in_the_top_k() -> None:
    a = Ranked(readability=5.0, expected=3.0, embedding=[0.0, 0.0])
    a_again = Ranked(readability=4.9, expected=3.0, embedding=[0.0, 0.01])
    same_nodes = Ranked(readability=4.8, expected=3.0, embedding=[5.0, 5.0], key="nodes-a")
    same_nodes_too = Ranked(readability=4.7, expected=3.0, embedding=[9.0, 9.0], key="nodes-a")
    other = Ranked(readability=1.0, expected=3.0, embedding=[1.0, 0.0])
    order = rank([a, a_again, same_nodes, same_nodes_too, other], n_ratings=0, top_k=3)
    assert order[:3] == [0, 2, 4]
    assert sorted(order) == [0, 1, 2, 3, 4]  # duplicates wait behind the top K, not dropped


def test_a_distinct_contradicting_candidate_beats_a_duplicate_into_the_top_k() -> None:
    a = Ranked(readability=5.0, expected=3.0, key="a")
    a_again = Ranked(readability=5.0, expected=3.0, key="a")
    wrong = Ranked(readability=1.0, expected=1.0, contradicts_spec=True, key="b")
    assert rank([a, a_again, wrong], n_ratings=0, top_k=2) == [0, 2, 1]


def test_empty_and_ties_are_stable() -> None:
    assert rank([], n_ratings=3, top_k=3) == []
    same = [Ranked(readability=3.0, expected=3.0) for _ in range(4)]
    assert rank(same, n_ratings=3, top_k=2) == [0, 1, 2, 3]
