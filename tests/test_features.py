import pandas as pd
import pytest
import torch

from bandits_lib import FEATURE_DIM, PERSONAS, FeatureBuilder, ZooplusSimulator, create_feature_vectors


def test_encoding_is_persona_then_category_one_hot():
    sim = ZooplusSimulator(seed=1)
    X = create_feature_vectors("budget_shopper", sim.products)
    assert X.shape == (50, FEATURE_DIM) == (50, 9) and X.dtype == torch.float32
    assert torch.equal(X[:, :4], torch.tensor([0.0, 0.0, 1.0, 0.0]).expand(50, 4))
    categories = ["Fish Supplies", "Cat Food", "Dog Food", "Dog Toy", "Cat Toy"]
    for product, category in sim.products["category"].items():
        assert X[product, 4:].tolist() == [float(c == category) for c in categories]


@pytest.mark.parametrize("persona", PERSONAS)
def test_fast_builder_equals_pandas_version(persona):
    sim = ZooplusSimulator(n_products=37, seed=2)
    assert torch.equal(FeatureBuilder(sim.products)(persona), create_feature_vectors(persona, sim.products))


def test_unknown_persona_or_catalogue_errors():
    sim = ZooplusSimulator()
    with pytest.raises(ValueError, match="user_persona"):
        create_feature_vectors("senior_dog_owner", sim.products)
    with pytest.raises(ValueError, match="user_persona"):
        FeatureBuilder(sim.products)("senior_dog_owner")
    with pytest.raises(ValueError, match="empty"):
        create_feature_vectors("fish_hobbyist", sim.products.iloc[:0])
    with pytest.raises(ValueError, match="unknown categories"):
        create_feature_vectors("fish_hobbyist", pd.DataFrame({"category": ["Bird Seed"]}))
    with pytest.raises(TypeError, match="products_df"):
        create_feature_vectors("fish_hobbyist", [1, 2])
