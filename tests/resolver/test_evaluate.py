from __future__ import annotations

import pandas as pd
import pytest

from resolver import LabelsError, evaluate_graph, read_labels


def test_metrics_by_hand():
    # truth: {a,b,c} {d,e}; prediction: {a,b} {c,d,e}
    graph = pd.DataFrame(
        {
            "source": ["crm", "web", "web", "crm", "web"],
            "record_key": list("abcde"),
            "person_id": ["P", "P", "Q", "Q", "Q"],
            "kind": ["customers", "sessions", "sessions", "customers", "sessions"],
        }
    )
    labels = pd.DataFrame(
        {"source": graph["source"], "record_key": list("abcde"), "true_id": list("TTTUU")}
    )
    ev = evaluate_graph(graph=graph, labels=labels)
    # predicted pairs: ab, cd, ce, de = 4; true pairs: ab ac bc de = 4; correct: ab, de = 2
    assert (ev.predicted_pairs, ev.true_pairs, ev.correct_pairs) == (4, 4, 2)
    assert ev.pairwise_precision == 0.5 and ev.pairwise_recall == 0.5 and ev.pairwise_f1 == 0.5
    assert ev.cluster_precision == 0 and ev.cluster_recall == 0
    # B-cubed precision: a 1, b 1, c 1/3, d 2/3, e 2/3 -> 11/15
    assert ev.bcubed_precision == pytest.approx(11 / 15, abs=1e-6)
    assert ev.customer_false_merges == 1  # Q holds T (customer a... via c) and U (customer d)


def test_labels_file_errors_name_the_problem(tmp_path):
    bad = tmp_path / "l.csv"
    bad.write_text("source,record_key\ncrm,1\n")
    with pytest.raises(LabelsError, match="true_id"):
        read_labels(bad)
    bad.write_text("source,record_key,true_id\ncrm,1,T\ncrm,1,U\n")
    with pytest.raises(LabelsError, match="line"):
        read_labels(bad)
    with pytest.raises(LabelsError, match="does not exist"):
        read_labels(tmp_path / "missing.csv")
