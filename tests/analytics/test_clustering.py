import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from patron.analytics.clustering import BehaviourClusterer
from patron.analytics.errors import InputError, InsufficientDataError, NotFittedError

# Three behaviours: (size, recency, purchases, spend, tenure), in weeks and dollars.
GROUPS = {
    "champions": (300, 2.0, 12.0, 900.0, 60.0),
    "lapsed_one_time": (500, 40.0, 0.0, 30.0, 50.0),
    "newcomers": (200, 5.0, 3.0, 120.0, 8.0),
}


def simulate(seed: int = 1) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    parts, truth = [], []
    for g, (n, rec, freq, spend, tenure) in enumerate(GROUPS.values()):
        parts.append(
            pl.DataFrame(
                {
                    "recency": rng.gamma(20, rec / 20, n),
                    # Lapsed one-time buyers bought exactly once; the others around `freq` times.
                    "n_purchases": np.ones(n, dtype=np.int64)
                    if freq == 0
                    else np.maximum(1, rng.poisson(freq, n)).astype(np.int64),
                    "total_spend": rng.gamma(10, spend / 10, n),
                    "T": rng.gamma(20, tenure / 20, n),
                }
            )
        )
        truth += [g] * n
    data = pl.concat(parts).with_row_index("customer_id")
    return data, np.array(truth)


@pytest.fixture(scope="module")
def fitted() -> tuple[BehaviourClusterer, pl.DataFrame, np.ndarray]:
    data, truth = simulate()
    return BehaviourClusterer(silhouette_size=1000).fit(data), data, truth


def test_it_finds_the_three_simulated_behaviours(fitted):
    model, _, truth = fitted
    assert model.n_clusters_ == 3
    assert max(model.silhouettes_, key=model.silhouettes_.get) == 3
    assert set(model.silhouettes_) == set(range(2, 9))
    assert adjusted_rand_score(truth, model.labels_) > 0.98


def test_it_reports_centres_in_original_units_ordered_by_spend(fitted):
    model, _, _ = fitted
    centres = model.centers_
    assert centres["size"].to_list() == [300, 200, 500]
    spend = centres["total_spend"].to_list()
    assert spend == sorted(spend, reverse=True)
    # log1p centres back-transformed: close to the groups' typical values.
    assert centres["total_spend"][0] == pytest.approx(900, rel=0.1)
    assert centres["n_purchases"][2] == pytest.approx(1.0, abs=1e-9)
    assert centres["recency"][2] == pytest.approx(40, rel=0.1)


def test_it_describes_each_cluster_in_plain_language(fitted):
    model, _, _ = fitted
    described = model.describe()
    assert described["description"].to_list() == [
        "recent, frequent, high spend, long-standing",
        "recent, newly acquired",
        "lapsed one-time buyers, low spend",
    ]
    assert described["phrase_keys"].to_list()[2] == ["lapsed", "one_time", "low_spend"]
    assert described["recency_level"].to_list() == ["low", "low", "high"]
    assert described["share"].sum() == pytest.approx(1.0)


def test_it_is_deterministic_for_a_seed_and_predicts_its_own_labels(fitted):
    model, data, _ = fitted
    again = BehaviourClusterer(silhouette_size=1000).fit(data.sample(fraction=1.0, seed=3))
    assert again.centers_.select("size").equals(model.centers_.select("size"))
    assert np.array_equal(model.predict(data), model.labels_)
    assert np.array_equal(again.predict(data), model.labels_)


def test_pickled_it_predicts_and_describes_the_same_without_the_fitted_labels(fitted):
    import pickle

    model, data, _ = fitted
    blob = pickle.dumps(model)
    assert len(blob) < len(pickle.dumps(model.labels_))  # the labels were most of it
    again = pickle.loads(blob)
    assert again.labels_ is None and again._model.labels_ is None and model._model.labels_ is not None
    assert np.array_equal(again.predict(data), model.labels_)
    assert again.describe().equals(model.describe())


def test_it_uses_a_fixed_number_of_clusters_without_searching():
    data, _ = simulate(seed=2)
    model = BehaviourClusterer(n_clusters=2).fit(data)
    assert model.n_clusters_ == 2 and model.silhouettes_ == {}
    assert model.centers_["size"].sum() == data.height


def test_it_calls_a_single_cluster_typical():
    data, _ = simulate(seed=2)
    described = BehaviourClusterer(n_clusters=1).fit(data).describe()
    assert described["description"].to_list() == ["typical customers"]


def test_it_refuses_identical_customers_and_bad_columns():
    same = pl.DataFrame(
        {"recency": [1.0] * 5, "n_purchases": [2] * 5, "total_spend": [10.0] * 5, "T": [3.0] * 5}
    )
    with pytest.raises(InsufficientDataError):
        BehaviourClusterer().fit(same)
    with pytest.raises(InputError) as err:
        BehaviourClusterer().fit(same.drop("T"))
    assert err.value.column == "T"
    with pytest.raises(InputError) as err:
        BehaviourClusterer().fit(same.with_columns(pl.Series("recency", [1.0, -1, 1, 1, 1])))
    assert (err.value.row, err.value.column) == (2, "recency")
    with pytest.raises(NotFittedError):
        BehaviourClusterer().describe()
