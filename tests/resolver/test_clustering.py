"""Guard-rails and clustering, with a brute-force oracle."""

from __future__ import annotations

import random

import duckdb
import numpy as np
import pandas as pd
import pytest

from resolver.cluster import cluster_records
from resolver.edges import deterministic_edges
from resolver.options import LinkingOptions
from resolver.sources import TOUCHPOINT_COLUMNS


def _touchpoints(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame([dict.fromkeys(TOUCHPOINT_COLUMNS) | r for r in rows])
    frame["record_id"] = np.arange(len(frame))
    frame["record_key"] = frame["record_key"].fillna(pd.Series(range(len(frame))).astype(str))
    frame["source"] = frame["source"].fillna("s")
    frame["subject_type"] = frame["subject_type"].fillna("cookie")
    frame["subject_id"] = frame["subject_id"].fillna(frame["record_key"])
    return frame


def _edges(tp: pd.DataFrame, **options) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("tp", tp)
    edges, _ = deterministic_edges(con, options=LinkingOptions(**options))
    return edges


def _refused(edges: pd.DataFrame) -> dict[object, int]:
    return edges["reason"].dropna().value_counts().to_dict()


def test_placeholder_email_tying_many_customers_is_blocked():
    tp = _touchpoints(
        [
            {"customer_id": f"C{i}", "email_folded": "noemail@example.com", "kind": "customers"}
            for i in range(3)
        ]
    )
    edges = _edges(tp)
    assert _refused(edges) == {"blocked_value:auto": 2}


def test_one_customers_duplicate_rows_on_one_email_are_not_a_placeholder():
    """A CRM's five rows of one person (a typo in one surname) share her email: one holder.

    Three strangers of three surnames on one email are a placeholder as before.
    """
    surnames = ["nrkt", "nrkt", "nrkt", "nrkt", "nrkt"]  # consonant skeletons of norcott, norcot
    one = _touchpoints(
        [
            {"customer_id": f"C{i}", "email_folded": "ralph@x.com", "kind": "customers",
             "first_name": "ralph", "last_skeleton": s}
            for i, s in enumerate(surnames)
        ]
    )  # fmt: skip
    edges = _edges(one)
    assert _refused(edges) == {}
    assert len(edges[edges["rule"] == "email"]) == 4
    strangers = _touchpoints(
        [
            {"customer_id": f"C{i}", "email_folded": "no@x.com", "kind": "customers",
             "first_name": f, "last_skeleton": s}
            for i, (f, s) in enumerate([("ann", "chn"), ("boris", "vnv"), ("dana", "lv")])
        ]
    )  # fmt: skip
    assert _refused(_edges(strangers)) == {"blocked_value:auto": 2}


def test_a_customer_counts_once_whatever_its_rows_say_of_its_surname():
    """A couple's CRM rows and their order rows (no surname on those) share the family email:
    two holders, not four, so the email is no placeholder."""
    rows = [
        {"customer_id": c, "email_folded": "cohens@x.com", "kind": k, "last_skeleton": s}
        for c, k, s in [("C1", "customers", "khn"), ("C1", "orders", None),
                        ("C2", "customers", "khn"), ("C2", "orders", None)]
    ]  # fmt: skip
    assert "blocked_value:auto" not in _refused(_edges(_touchpoints(rows)))


def test_configured_blocklist():
    tp = _touchpoints([{"email_folded": "test@test.com"}, {"email_folded": "test@test.com"}])
    assert _refused(_edges(tp, blocklist={"email": ("test@test.com",)})) == {
        "blocked_value:list": 1
    }


def test_shared_device_keeps_anonymous_records_together_and_logins_apart():
    tp = _touchpoints(
        [
            {"device_id": "tab", "customer_id": "A"},
            {"device_id": "tab", "customer_id": "B"},
            {"device_id": "tab"},
            {"device_id": "tab"},
        ]
    )
    edges = _edges(tp)
    accepted = edges[edges["reason"].isna()]
    assert set(zip(accepted["left"], accepted["right"], strict=True)) == {(2, 3)}
    assert _refused(edges) == {"shared_identifier": 2}


def test_recycled_phone_conflict_veto_and_ambiguity():
    tp = _touchpoints(
        [
            {
                "phone": "+447911123456",
                "first_latin": "barbara",
                "dob": "1950-01-01",
                "customer_id": "X",
            },
            {"phone": "+447911123456", "first_latin": "carly", "customer_id": "Y"},
            {"phone": "+447911123456"},  # no name: whose is it?
        ]
    )
    assert _refused(_edges(tp)) == {"conflict": 1, "ambiguous_identifier": 1}


def test_nickname_and_typo_are_not_conflicts():
    tp = _touchpoints(
        [
            {"email_folded": "w@x.com", "first_latin": "william", "first_forms": ["william"]},
            {"email_folded": "w@x.com", "first_latin": "bill", "first_forms": ["bill", "william"]},
            {"email_folded": "w@x.com", "first_latin": "willaim", "first_forms": ["willaim"]},
        ]
    )
    edges = _edges(tp)
    accepted = edges[edges["reason"].isna()]
    pairs = list(zip(accepted["left"], accepted["right"], strict=True))
    # bill ~ willaim alone is too far (nickname plus typo), but both are william's
    assert _oracle_components(3, pairs) == [0, 0, 0]


def _oracle_components(n: int, pairs: list[tuple[int, int]]) -> list[int]:
    labels = list(range(n))
    changed = True
    while changed:
        changed = False
        for a, b in pairs:
            low = min(labels[a], labels[b])
            if labels[a] != low or labels[b] != low:
                labels[a] = labels[b] = low
                changed = True
    return labels


@pytest.mark.parametrize("seed", range(15))
def test_unconstrained_clustering_equals_connected_components(seed):
    rng = random.Random(seed)
    n = rng.randint(5, 60)
    pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(0, n))]
    pairs = [(a, b) for a, b in pairs if a != b]
    edges = pd.DataFrame(
        {
            "left": [a for a, _ in pairs],
            "right": [b for _, b in pairs],
            "rank": [rng.randint(0, 3) for _ in pairs],
            "probability": [rng.random() for _ in pairs],
            "reason": [None] * len(pairs),
        }
    )
    result = cluster_records(
        n_records=n,
        edges=edges,
        customer=np.full(n, -1),
        subject=np.arange(n),
        may_link=np.ones(n, bool),
        max_customer_ids=2,
    )
    assert result.labels.tolist() == _oracle_components(n, pairs)


def _brute_force_greedy(n, edges, customer, limit):
    """Reference: apply edges strongest first, recomputing clusters from scratch each time."""
    order = sorted(
        range(len(edges)), key=lambda i: (edges[i][2], -edges[i][3], edges[i][0], edges[i][1])
    )
    accepted: list[tuple[int, int]] = []
    decisions = [None] * len(edges)
    for i in order:
        a, b = edges[i][0], edges[i][1]
        trial = _oracle_components(n, [*accepted, (a, b)])
        members = [j for j in range(n) if trial[j] == trial[a]]
        customers = {customer[j] for j in members if customer[j] >= 0}
        if len(customers) > limit:
            decisions[i] = "identifier_limit"
        else:
            accepted.append((a, b))
            decisions[i] = "accepted"
    return _oracle_components(n, accepted), decisions


@pytest.mark.parametrize("seed", range(25))
def test_identifier_limit_matches_brute_force_reference(seed):
    rng = random.Random(1000 + seed)
    n = rng.randint(4, 25)
    customer = [rng.choice([-1, -1, 0, 1, 2, 3]) for _ in range(n)]
    raw = [
        (rng.randrange(n), rng.randrange(n), rng.randint(0, 3), round(rng.random(), 3))
        for _ in range(rng.randint(1, 2 * n))
    ]
    raw = [e for e in raw if e[0] != e[1]]
    edges = pd.DataFrame(raw or [(0, 1, 0, 1.0)], columns=["left", "right", "rank", "probability"])
    edges["reason"] = None
    result = cluster_records(
        n_records=n,
        edges=edges,
        customer=np.array(customer),
        subject=np.arange(n),
        may_link=np.ones(n, bool),
        max_customer_ids=1,
    )
    labels, decisions = _brute_force_greedy(n, list(edges.itertuples(index=False)), customer, 1)
    assert result.labels.tolist() == labels
    assert result.decisions.tolist() == decisions


def test_weakest_link_is_the_one_split():
    # A(customer 0) -0.99- B -0.95- C(customer 1): the 0.95 link goes.
    edges = pd.DataFrame(
        {
            "left": [0, 1],
            "right": [1, 2],
            "rank": [3, 3],
            "probability": [0.99, 0.95],
            "reason": [None, None],
        }
    )
    result = cluster_records(
        n_records=3, edges=edges, customer=np.array([0, -1, 1]), subject=np.arange(3),
        may_link=np.ones(3, bool), max_customer_ids=1,
    )  # fmt: skip
    assert result.labels.tolist() == [0, 0, 2]
    assert result.decisions.tolist() == ["accepted", "identifier_limit"]


def test_consent_gate_keeps_unconsented_subject_apart():
    # records 0,1 share cookie subject 7 without consent; 2 is a CRM record.
    edges = pd.DataFrame(
        {
            "left": [0, 1],
            "right": [1, 2],
            "rank": [1, 0],
            "probability": [1.0, 1.0],
            "reason": [None, None],
        }
    )
    result = cluster_records(
        n_records=3, edges=edges, customer=np.array([-1, 5, 5]), subject=np.array([7, 7, 9]),
        may_link=np.array([False, False, True]), max_customer_ids=2,
    )  # fmt: skip
    assert result.labels.tolist() == [0, 0, 2]
    assert sorted(result.decisions.tolist()) == ["accepted", "consent"]


def test_conflicting_dates_of_birth_are_not_merged_transitively():
    # Two James Smiths (dob differ) each link to a dob-less checkout form.
    edges = pd.DataFrame(
        {
            "left": [0, 1],
            "right": [2, 2],
            "rank": [3, 3],
            "probability": [0.99, 0.98],
            "reason": [None, None],
        }
    )
    result = cluster_records(
        n_records=3, edges=edges, customer=np.array([0, 1, -1]), subject=np.arange(3),
        may_link=np.ones(3, bool), max_customer_ids=2,
        first_names=pd.Series(["james", "james", "james"]),
        dobs=pd.Series(["1941-03-13", "1967-12-07", None]),
    )  # fmt: skip
    assert result.labels.tolist() == [0, 1, 0]
    assert result.decisions.tolist() == ["accepted", "conflict"]


def _model_edges(pairs: list[tuple[int, int, float]], rule: str = "splink") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "left": [a for a, _, _ in pairs],
            "right": [b for _, b, _ in pairs],
            "rule": rule,
            "rank": 3,
            "probability": [p for _, _, p in pairs],
            "reason": None,
        }
    )


def test_crm_duplicate_rows_linked_directly_merge_whatever_their_number():
    """Five CRM rows of one customer (FEBRL3) merge under the default limit of 2."""
    edges = _model_edges([(0, 1, 0.99), (1, 2, 0.98), (2, 3, 0.97), (3, 4, 0.96)])
    result = cluster_records(
        n_records=5, edges=edges, customer=np.arange(5), subject=np.arange(5),
        may_link=np.ones(5, bool), max_customer_ids=2, customer_record=np.ones(5, bool),
    )  # fmt: skip
    assert result.labels.tolist() == [0, 0, 0, 0, 0]
    assert set(result.decisions) == {"accepted"}


def test_customers_joined_through_other_records_still_meet_the_limit():
    """Three customers each linked only to one web form (record 3): the third is refused."""
    edges = _model_edges([(0, 3, 0.99), (1, 3, 0.98), (2, 3, 0.97)])
    result = cluster_records(
        n_records=4, edges=edges, customer=np.array([0, 1, 2, -1]), subject=np.arange(4),
        may_link=np.ones(4, bool), max_customer_ids=2,
        customer_record=np.array([True, True, True, False]),
    )  # fmt: skip
    assert result.decisions.tolist() == ["accepted", "accepted", "identifier_limit"]
    assert result.labels.tolist() == [0, 0, 2, 0]


def test_conflict_needs_contact_identifiers_on_both_sides():
    """Twins (own emails) stay apart; a corrupted duplicate without contacts is the model's call.

    A contact both hold does not excuse first names that wholly disagree: a couple's
    one family email is not one person (the exact edge on it is refused upstream too),
    while a nickname on a shared phone is.
    """
    names = pd.Series(["benjamin", "joshua"])
    twins = cluster_records(
        n_records=2, edges=_model_edges([(0, 1, 0.999)]), customer=np.array([0, 1]),
        subject=np.arange(2), may_link=np.ones(2, bool), max_customer_ids=2,
        first_names=names, contacts=pd.Series([["e:ben@x.com"], ["e:josh@x.com"]]),
        customer_record=np.ones(2, bool),
    )  # fmt: skip
    assert twins.decisions.tolist() == ["conflict"]
    duplicate = cluster_records(
        n_records=2, edges=_model_edges([(0, 1, 0.999)]), customer=np.array([0, 1]),
        subject=np.arange(2), may_link=np.ones(2, bool), max_customer_ids=2,
        first_names=names, contacts=pd.Series([None, None]), customer_record=np.ones(2, bool),
    )  # fmt: skip
    assert duplicate.decisions.tolist() == ["accepted"]
    shared = cluster_records(
        n_records=2, edges=_model_edges([(0, 1, 0.999)]), customer=np.array([0, 1]),
        subject=np.arange(2), may_link=np.ones(2, bool), max_customer_ids=2,
        first_names=names, contacts=pd.Series([["p:+1"], ["p:+1", "e:x@y.z"]]),
        customer_record=np.ones(2, bool),
    )  # fmt: skip
    assert shared.decisions.tolist() == ["conflict"]
    nickname = cluster_records(
        n_records=2, edges=_model_edges([(0, 1, 0.999)]), customer=np.array([0, 1]),
        subject=np.arange(2), may_link=np.ones(2, bool), max_customer_ids=2,
        first_names=pd.Series(["benjamin", "ben"]),
        contacts=pd.Series([["p:+1"], ["p:+1", "e:x@y.z"]]), customer_record=np.ones(2, bool),
    )  # fmt: skip
    assert nickname.decisions.tolist() == ["accepted"]


def test_names_written_in_each_others_field_are_not_a_conflict():
    result = cluster_records(
        n_records=2, edges=_model_edges([(0, 1, 0.99)]), customer=np.array([0, 1]),
        subject=np.arange(2), may_link=np.ones(2, bool), max_customer_ids=2,
        first_names=pd.Series(["joselyn", "dakin"]), last_names=pd.Series(["dakin", "joselyn"]),
        contacts=pd.Series([["e:a@x.com"], ["e:b@x.com"]]), customer_record=np.ones(2, bool),
    )  # fmt: skip
    assert result.decisions.tolist() == ["accepted"]


@pytest.mark.parametrize(
    ("a", "b"),
    [("yossi", "yosef"), ("yossi", "יוסף"), ("sasha", "александр"), ("dima", "dmitry"),
     ("дима", "dmitriy"), ("avi", "avraham"), ("katya", "екатерина"), ("bill", "william"),
     ("a", "aleksandr")],
)  # fmt: skip
def test_diminutives_and_initials_are_the_same_first_name(a, b):
    from resolver.compare import first_names_compatible

    assert first_names_compatible(a, b)


@pytest.mark.parametrize(
    ("a", "b"), [("misha", "masha"), ("sasha", "pasha"), ("barbara", "carly"), ("yossi", "yoni")]
)
def test_different_names_stay_different(a, b):
    from resolver.compare import first_names_compatible

    assert not first_names_compatible(a, b)


def test_placeholder_and_widely_shared_ad_ids_do_not_link():
    zero = "00000000-0000-0000-0000-000000000000"
    tp = _touchpoints(
        [{"ad_id": zero, "device_id": "d1"}, {"ad_id": zero, "device_id": "d2"}]
        + [{"ad_id": "shared-test-id", "device_id": f"x{i}"} for i in range(5)]
        + [{"ad_id": "mine", "device_id": "a"}, {"ad_id": "mine", "device_id": "b"}]
    )
    edges = _edges(tp)
    refused = edges[edges["rule"] == "ad_id"]
    assert set(refused.loc[refused["reason"].notna(), "reason"]) == {
        "blocked_value:known", "blocked_value:auto",
    }  # fmt: skip
    accepted = refused[refused["reason"].isna()]
    assert set(zip(accepted["left"], accepted["right"], strict=True)) == {(7, 8)}


@pytest.mark.parametrize("seed", range(10))
def test_a_second_batch_of_weakest_edges_equals_one_pass(seed):
    """Stitching resumes the union: the same decisions as clustering every edge at once."""
    from resolver.cluster import GuardedUnion

    rng = random.Random(500 + seed)
    n = rng.randint(6, 30)
    customer = np.array([rng.choice([-1, -1, 0, 1, 2]) for _ in range(n)])
    names = pd.Series([rng.choice([None, "anna", "boris", "carla"]) for _ in range(n)])

    def batch(count: int, rank: int) -> pd.DataFrame:
        pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(count)]
        pairs = [(a, b) for a, b in pairs if a != b] or [(0, 1)]
        return pd.DataFrame(
            {
                "left": [a for a, _ in pairs], "right": [b for _, b in pairs], "rule": "splink",
                "rank": rank, "probability": [rng.random() for _ in pairs], "reason": None,
            }
        )  # fmt: skip

    first, second = batch(2 * n, rng.randint(0, 3)), batch(n, 4)
    common = {
        "customer": customer, "subject": np.arange(n), "may_link": np.ones(n, bool),
        "max_customer_ids": 1, "first_names": names,
    }  # fmt: skip
    together = cluster_records(
        n_records=n, edges=pd.concat([first, second], ignore_index=True), **common
    )
    union = GuardedUnion(n_records=n, **common)
    decisions = pd.concat([union.add(first), union.add(second)], ignore_index=True)
    assert decisions.tolist() == together.decisions.tolist()
    assert union.labels().tolist() == together.labels.tolist()


def test_a_record_matching_two_incompatible_people_equally_links_to_neither():
    """A dob-less "Aleksandr Ivanov" scores 0.99 against two Ivanovs born 1964 and 1980."""
    from resolver.ambiguity import ambiguous_model_edges

    fragment = np.array([0, 1, 2, 3])
    names = pd.Series(["aleksandr", "aleksandr", "aleksandr", "boris"])
    dobs = pd.Series([None, "1964-06-16", "1980-02-01", "1980-02-01"])
    contacts = pd.Series([None, ["p:+79161"], ["p:+79162"], None])
    flags = ambiguous_model_edges(
        left=np.array([0, 0, 3]), right=np.array([1, 2, 2]), weight=np.array([9.0, 8.5, 9.0]),
        accepted=np.ones(3, bool), fragment=fragment, first_names=names, dobs=dobs,
        contacts=contacts,
    )  # fmt: skip
    assert flags.tolist() == [True, True, False]
    # without contacts on both sides a clash is only evidence (FEBRL replaces whole values)
    febrl = ambiguous_model_edges(
        left=np.array([0, 0, 3]), right=np.array([1, 2, 2]), weight=np.array([9.0, 8.5, 9.0]),
        accepted=np.ones(3, bool), fragment=fragment, first_names=names, dobs=dobs,
        contacts=pd.Series([None] * 4),
    )  # fmt: skip
    assert not febrl.any()
    # a clearly stronger link (far more bits) is not a tie: it is kept
    clear = ambiguous_model_edges(
        left=np.array([0, 0]), right=np.array([1, 2]), weight=np.array([20.0, 8.0]),
        accepted=np.ones(2, bool), fragment=fragment, first_names=names, dobs=dobs,
    )  # fmt: skip
    assert clear.tolist() == [False, False]
    # two fragments that could be one person (compatible) are no ambiguity
    same = ambiguous_model_edges(
        left=np.array([0, 0]), right=np.array([1, 2]), weight=np.array([9.0, 9.0]),
        accepted=np.ones(2, bool), fragment=fragment, first_names=names,
        dobs=pd.Series([None, "1964-06-16", "1964-06-16", None]),
    )  # fmt: skip
    assert same.tolist() == [False, False]


def test_a_record_between_two_spouses_of_one_family_email_links_to_neither():
    """A nameless web form scores 0.99 and 0.98 against Stephen and Jessica Ashhurst, whose
    one family email the union does not let join them: the form could be either's."""
    from resolver.ambiguity import ambiguous_model_edges

    flags = ambiguous_model_edges(
        left=np.array([0, 0]), right=np.array([1, 2]), weight=np.array([9.0, 8.7]),
        accepted=np.ones(2, bool), fragment=np.array([0, 1, 2]),
        first_names=pd.Series([None, "stephen", "jessica"]), dobs=pd.Series([None] * 3),
        contacts=pd.Series([None, ["e:ashhurst.home@x"], ["e:ashhurst.home@x", "p:+4477"]]),
    )  # fmt: skip
    assert flags.tolist() == [True, True]


def test_a_name_only_record_between_father_and_son_links_to_neither_where_dates_are_kept():
    """A messenger contact "William Morris" (name only) scores 5.1 bits against the father's
    CRM row (born 1969, no contacts) and 4.1 against the son's (born 1993, email and phone).
    Without contacts on the father's side the contact clash does not tell them apart, but
    where the data keeps birth dates the union never joins them (``dobs_trusted``): they are
    two people, and nothing in the contact says which."""
    from resolver.ambiguity import ambiguous_model_edges

    def flags(*, trust_dobs):
        return ambiguous_model_edges(
            left=np.array([0, 0]), right=np.array([1, 2]), weight=np.array([5.1, 4.1]),
            accepted=np.ones(2, bool), fragment=np.array([0, 1, 2]),
            first_names=pd.Series(["william", "william", "bill"]),
            dobs=pd.Series([None, "1969-11-27", "1993-05-09"]),
            contacts=pd.Series([None, None, ["e:morrisw@gmail.com", "p:+18723379828"]]),
            trust_dobs=trust_dobs,
        )  # fmt: skip

    assert flags(trust_dobs=True).tolist() == [True, True]
    # data whose duplicates replace whole dates (FEBRL): the date stays the model's evidence
    assert flags(trust_dobs=False).tolist() == [False, False]


def test_a_bare_name_among_several_people_of_that_name_links_to_none():
    """A messenger contact "Smith Michael" with nothing but the name scores 0.997 against
    another contact of that name (who has a phone). Three Michael Smiths of New York born
    in 1974 and 1980 are in the CRM: the name alone cannot say whose it is. A name only
    one person holds, or namesakes of another city, leave the link alone."""
    from resolver.ambiguity import namesake_model_edges

    rows = [
        ("michael", "smith", "1974-05-25", "new york city", "+13327118652"),  # 0 Michael I
        ("michael", "smith", "1974-04-04", "new york city", None),  # 1 Michael II (no contact)
        ("smith", "michael", None, None, "+16464391152"),  # 2 Michael II's contact
        ("michael", "smith", "1980-01-10", "new york city", "+16469000385"),  # 3 Michael III
        ("smith", "michael", None, None, None),  # 4 the bare name
        ("yael", "ben ami", "1990-02-03", "haifa", "+972501234567"),  # 5
        ("yael", "ben ami", None, "haifa", None),  # 6 a bare name one person holds
        ("michael", "smith", None, "leeds", None),  # 7 a bare name of another city
    ]
    tp = pd.DataFrame(rows, columns=["first_latin", "last_latin", "dob", "city", "phone"])
    flags = namesake_model_edges(
        left=np.array([4, 6, 7, 4]), right=np.array([2, 5, 3, 3]),
        accepted=np.array([True, True, True, False]), fragment=np.arange(8), touchpoints=tp,
    )  # fmt: skip
    assert flags.tolist() == [True, False, False, False]


def test_a_bare_name_and_city_among_namesakes_written_in_another_script_links_to_none():
    """A loyalty row "Amir Natour Sr, Haifa" (name and city only) scores 10 bits against the
    son's CRM row and 5.7 against the father's, written in Hebrew (אמיר נאטור, born 1954):
    one name of one city, two people."""
    from resolver.ambiguity import namesake_model_edges

    columns = ["first_latin", "last_latin", "first_canon", "last_skeleton", "dob", "city"]
    rows = [
        ("amir", "natour", "~amir", "ntr", None, "haifa"),  # 0 the loyalty row
        ("amir", "natour", "~amir", "ntr", "1987-04-12", "haifa"),  # 1 the son
        ("myr", "ntvr", "~amir", "ntr", "1954-11-18", "haifa"),  # 2 the father, in Hebrew
        ("hsn", "ntvr", "~hasan", "ntr", "1995-07-17", "ramla"),  # 3 a cousin
    ]
    tp = pd.DataFrame(rows, columns=columns)
    edges = {"left": np.array([0, 0]), "right": np.array([1, 2]), "fragment": np.arange(4)}
    flags = namesake_model_edges(**edges, accepted=np.ones(2, bool), touchpoints=tp)
    assert flags.tolist() == [True, True]
    # the father's name written only as its Latin transliteration would not be his
    alone = namesake_model_edges(
        **edges, accepted=np.ones(2, bool), touchpoints=tp.drop(columns="first_canon")
    )
    assert alone.tolist() == [False, False]


@pytest.mark.parametrize("guarded", [True, False], ids=["generations", "unguarded"])
def test_a_father_and_son_written_sr_and_jr_never_merge(guarded):
    """Larry Walcombe Sr and LARRY WALCOMBE JR: CRM rows of one name and address, the father
    without a birth date, each with his own phone; the model scores the pair 1.0. A third
    row, "Larry Walcombe" with neither suffix nor contacts, may still join either."""
    from resolver.normalize import name_generation

    raw_last = ["Walcombe Sr", "WALCOMBE JR", "Walcombe"]
    tp = _touchpoints(
        [
            {"customer_id": "45368990", "kind": "customers", "first_name": "larry",
             "last_name": "walcombe", "phone": "+16466781533", "address": "ocean 22 34"},
            {"customer_id": "59641582", "kind": "customers", "first_name": "larry",
             "last_name": "walcombe", "dob": "2006-12-16", "phone": "+13322326891",
             "address": "ocean 22 34b"},
            {"customer_id": "80017789", "kind": "customers", "first_name": "larry",
             "last_name": "walcombe"},
        ]
    )  # fmt: skip
    tp["generation"] = [name_generation(x) for x in raw_last]
    model = pd.DataFrame(
        {"left": [0, 1], "right": [1, 2], "rule": "splink", "rank": 3,
         "probability": [1.0, 0.97], "reason": None}
    )  # fmt: skip
    edges = pd.concat([_edges(tp), model], ignore_index=True)
    result = cluster_records(
        n_records=3, edges=edges, customer=pd.factorize(tp["customer_id"])[0],
        subject=np.arange(3), may_link=np.ones(3, bool), max_customer_ids=2,
        first_names=tp["first_name"], last_names=tp["last_name"], dobs=tp["dob"],
        contacts=tp["phone"], customer_record=np.ones(3, bool),
        generations=tp["generation"] if guarded else None,
    )  # fmt: skip
    if guarded:
        assert result.labels.tolist() == [0, 1, 1]
        assert result.decisions.iloc[-2:].tolist() == ["conflict", "accepted"]
    else:
        assert result.labels.tolist() == [0, 0, 0]


@pytest.mark.parametrize("same_person", [True, False], ids=["crm-duplicates", "family-tablet"])
def test_a_device_shared_by_two_customer_rows_of_one_person_is_not_shared(same_person):
    """A tablet logged into customers A and B: its anonymous sessions join them only if A is B.

    Records 0 and 1 are CRM rows A and B; 2 and 3 the tablet's logged-in sessions;
    4 and 5 its anonymous sessions. With ``same_person`` A and B share an email.
    """
    tp = _touchpoints(
        [
            {"customer_id": "A", "kind": "customers", "email_folded": "a@x.com" if same_person else None},
            {"customer_id": "B", "kind": "customers", "email_folded": "a@x.com" if same_person else None},
            {"device_id": "tab", "customer_id": "A"},
            {"device_id": "tab", "customer_id": "B"},
            {"device_id": "tab"},
            {"device_id": "tab"},
        ]
    )  # fmt: skip
    edges = _edges(tp)
    assert _refused(edges) == {"shared_identifier": 2}  # upstream: a shared device
    result = cluster_records(
        n_records=6, edges=edges, customer=pd.factorize(tp["customer_id"])[0],
        subject=np.arange(6), may_link=np.ones(6, bool), max_customer_ids=2,
        customer_record=(tp["kind"] == "customers").to_numpy(),
    )  # fmt: skip
    shared = (edges["reason"] == "shared_identifier").to_numpy()
    if same_person:
        assert result.labels.tolist() == [0] * 6
        assert set(result.decisions[shared]) == {"accepted"}
    else:
        assert result.labels.tolist() == [0, 1, 0, 1, 4, 4]
        assert set(result.decisions[shared]) == {"shared_identifier"}


def _senior_and_junior(dobs: list[str | None], contacts: list[list[str]]) -> list[str]:
    """Two CRM rows of one name and address, linked by the model at 0.995."""
    result = cluster_records(
        n_records=2, edges=_model_edges([(0, 1, 0.995)]), customer=np.array([0, 1]),
        subject=np.arange(2), may_link=np.ones(2, bool), max_customer_ids=2,
        first_names=pd.Series(["geoffrey", "geoffrey"]), dobs=pd.Series(dobs),
        contacts=pd.Series(contacts), customer_record=np.ones(2, bool),
    )  # fmt: skip
    return result.decisions.tolist()


def test_a_new_email_and_a_new_phone_at_once_is_another_person():
    """Father and son of one name: each his own email and phone, the son without a birth date."""
    own = [["jshel@x.com", "+14439384266"], ["geoffrey@y.com", "+14434051958"]]
    assert _senior_and_junior([None, "1951-04-14"], own) == ["conflict"]
    # A second registration keeps the email or the phone: one person.
    kept_phone = [["jshel@x.com", "+14439384266"], ["geoffrey@y.com", "+14439384266"]]
    assert _senior_and_junior([None, "1951-04-14"], kept_phone) == ["accepted"]
    # Only phones (or only emails) on a side: the model's call, as before.
    assert _senior_and_junior([None, None], [["+14439384266"], ["+14434051958"]]) == ["accepted"]
    # A birth date both give is the person's, whatever the contacts.
    assert _senior_and_junior(["1951-04-14", "1951-04-14"], own) == ["accepted"]


def test_placeholder_phones_are_never_linked_on():
    tp = _touchpoints(
        [
            {"customer_id": "A", "phone": "+972500000000", "first_latin": "emma"},
            {"customer_id": "B", "phone": "+972500000000"},
            {"customer_id": "C", "phone": "+441234567890"},
            {"customer_id": "D", "phone": "+441234567890"},
            {"customer_id": "E", "phone": "+972501234500"},
            {"customer_id": "F", "phone": "+972501234500"},
        ]
    )
    edges = _edges(tp)
    phone = edges[edges["rule"] == "phone"]
    assert sorted(phone["reason"].fillna("accepted")) == [
        "accepted", "blocked_value:known", "blocked_value:known",
    ]  # fmt: skip


def test_names_swapped_and_written_another_way_are_not_a_conflict():
    """беккер роза is Roza Bekker; Davies Ollie is Oliver Davies (issue #11)."""
    for first, last in (
        (["roza", "беккер"], ["bekker", "роза"]),
        (["oliver", "davies"], ["davies", "ollie"]),
    ):
        result = cluster_records(
            n_records=2, edges=_model_edges([(0, 1, 0.99)]), customer=np.array([0, 1]),
            subject=np.arange(2), may_link=np.ones(2, bool), max_customer_ids=2,
            first_names=pd.Series(first), last_names=pd.Series(last),
            contacts=pd.Series([["e:a@x.com"], ["p:+972524328420"]]), customer_record=np.ones(2, bool),
        )  # fmt: skip
        assert result.decisions.tolist() == ["accepted"], (first, last)


def _dated_world(dobs: list[str | None], pairs: list[tuple[int, int]]) -> dict[str, object]:
    n = len(dobs)
    return {
        "n_records": n, "edges": _model_edges([(a, b, 0.999) for a, b in pairs]),
        "customer": np.arange(n), "subject": np.arange(n), "may_link": np.ones(n, bool),
        "max_customer_ids": 2, "first_names": pd.Series(["william"] * n),
        "dobs": pd.Series(dobs), "contacts": pd.Series([None] * n, dtype=object),
        "customer_record": np.ones(n, bool),
    }  # fmt: skip


def test_a_birth_date_clash_refuses_a_model_link_where_the_data_keeps_birth_dates():
    """William Morris (1969) and his son (1993), no contacts: 99 dated links agree, theirs not."""
    dobs: list[str | None] = ["1969-11-27", "1993-05-09"]
    pairs = [(0, 1)]
    for i in range(99):
        dobs += [f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}"] * 2
        pairs.append((len(dobs) - 2, len(dobs) - 1))
    result = cluster_records(**_dated_world(dobs, pairs))
    assert result.decisions.tolist()[0] == "conflict"
    assert set(result.decisions.tolist()[1:]) == {"accepted"}


def test_duplicates_sharing_a_contact_show_that_the_data_keeps_birth_dates():
    """Where contacts merge a CRM's duplicates before the model, its own dated links are few:
    the father's link to his son's row is one of two. The rows sharing a phone under one
    first name (60 pairs, all agreeing) are the measure as well, so the clash is refused."""
    dobs: list[str | None] = ["1954-03-24", "1984-08-05", "1970-01-01", "1970-01-01"]
    model = _model_edges([(0, 1, 0.9999), (2, 3, 0.999)])
    phone_pairs = []
    for i in range(60):
        dobs += [f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}"] * 2
        phone_pairs.append((len(dobs) - 2, len(dobs) - 1, 1.0))
    phones = _model_edges(phone_pairs, rule="phone").assign(rank=2)
    world = _dated_world(dobs, [])
    world["edges"] = pd.concat([phones, model], ignore_index=True)
    world["contacts"] = pd.Series([None] * 4 + [[f"p:+{i // 2}"] for i in range(120)], dtype=object)
    decisions = cluster_records(**world).decisions.tolist()
    assert decisions[60] == "conflict"  # the father's model link to his son's row
    assert set(decisions[:60]) == {"accepted"}
    without = dict(world, edges=model)
    assert cluster_records(**without).decisions.tolist() == ["accepted", "accepted"]


def test_birth_dates_are_not_a_veto_where_duplicates_replace_them():
    """FEBRL replaces whole birth dates in about 5 % of its duplicates: the model weighs them."""
    dobs: list[str | None] = []
    pairs = []
    for i in range(60):
        other = "1922-06-09" if i % 20 == 0 else f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}"
        dobs += [f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}", other]
        pairs.append((len(dobs) - 2, len(dobs) - 1))
    result = cluster_records(**_dated_world(dobs, pairs))
    assert set(result.decisions.tolist()) == {"accepted"}


def test_dobs_trusted_counts_dated_links_not_told_apart_by_contacts():
    from resolver.cluster import dobs_trusted

    dobs = {0: {"1969-11-27"}, 1: {"1993-05-09"}, 2: {"1980-01-01"}, 3: {"1980-01-01"}}
    left, right = np.array([0, 2]), np.array([1, 3])
    assert not dobs_trusted(left, right, dob_sets=dobs, contact_sets={})
    apart = {0: {"e:a@x.com"}, 1: {"e:b@x.com"}}
    assert dobs_trusted(left, right, dob_sets=dobs, contact_sets=apart)
    assert not dobs_trusted(np.array([0]), np.array([1]), dob_sets=dobs, contact_sets=apart)


def test_a_component_clustered_alone_judges_birth_dates_as_the_whole_graph():
    """The Spark engine clusters one component at a time. William Morris's component alone
    has one dated model link and it clashes, so on its own it would not trust birth dates;
    given the whole graph's verdict (``graph_trusts_dobs``) it decides as the graph does."""
    from resolver.cluster import graph_trusts_dobs

    dobs: list[str | None] = ["1969-11-27", "1993-05-09"]
    pairs = [(0, 1)]
    for i in range(99):
        dobs += [f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}"] * 2
        pairs.append((len(dobs) - 2, len(dobs) - 1))
    world = _dated_world(dobs, pairs)
    assert cluster_records(**world).decisions.tolist()[0] == "conflict"
    trusted = graph_trusts_dobs(world["edges"], dobs=world["dobs"], contacts=world["contacts"])
    assert trusted
    alone = _dated_world(dobs[:2], pairs[:1])
    assert cluster_records(**alone).decisions.tolist() == ["accepted"]  # its own verdict
    assert cluster_records(**alone, trust_dobs=trusted).decisions.tolist() == ["conflict"]


def test_the_birth_date_verdict_does_not_depend_on_the_edges_row_order():
    """Past 50,000 contact edges the verdict reads a sample, chosen by pair, not by row."""
    from resolver.cluster import graph_trusts_dobs

    rng = np.random.default_rng(7)
    n = 2 * 120_000
    dobs = pd.Series([f"19{50 + i // 2 % 40}-0{1 + i // 2 % 9}-1{i // 2 % 10}" for i in range(n)])
    clash = rng.random(n // 2) < 0.02  # about the bound: the sample decides
    dobs.iloc[1::2] = np.where(clash, "1900-01-01", dobs.iloc[1::2].to_numpy())
    edges = _model_edges([(2 * i, 2 * i + 1, 1.0) for i in range(n // 2)], rule="phone")
    names = pd.Series(["dana"] * n)
    verdicts = {
        graph_trusts_dobs(
            edges.sample(frac=1, random_state=seed), dobs=dobs, contacts=None, first_names=names
        )
        for seed in range(4)
    }
    assert len(verdicts) == 1
