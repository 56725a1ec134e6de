"""The draft's simulator, kept as it was (the reference the library must reproduce).

Copied in substance from the draft of Chapter 3 (``../shared/seed``), including its
silent 0.0 for unknown ids, so the tests can check that ``ZooplusSimulator`` returns the
same catalogue, personas, users and clicks for the same seed and calls.
"""

import numpy as np
import pandas as pd


class DraftZooplusSimulator:
    def __init__(self, n_products=50, n_users=1000, seed=42):
        self.rng = np.random.default_rng(seed)
        self.n_products = n_products
        self.n_users = n_users
        self.products = self._create_product_catalog()
        self.personas = self._create_user_personas()
        self.user_to_persona_map = self._assign_users_to_personas()

    def _create_product_catalog(self):
        product_ids = range(self.n_products)
        categories = ["Fish Supplies", "Cat Food", "Dog Food", "Dog Toy", "Cat Toy"]
        num_per_category = self.n_products // len(categories)
        cat_list = []
        for cat in categories:
            cat_list.extend([cat] * num_per_category)
        cat_list.extend(self.rng.choice(categories, self.n_products - len(cat_list)))
        product_data = {"product_id": product_ids, "category": self.rng.permutation(cat_list)}
        return pd.DataFrame(product_data).set_index("product_id")

    def _create_user_personas(self):
        return {
            "new_puppy_parent": {"Dog Food": 0.40, "Dog Toy": 0.50, "Cat Food": 0.10, "Cat Toy": 0.05, "Fish Supplies": 0.02},
            "cat_connoisseur": {"Dog Food": 0.05, "Dog Toy": 0.02, "Cat Food": 0.55, "Cat Toy": 0.45, "Fish Supplies": 0.05},
            "budget_shopper": {"Dog Food": 0.25, "Dog Toy": 0.15, "Cat Food": 0.40, "Cat Toy": 0.20, "Fish Supplies": 0.20},
            "fish_hobbyist": {"Dog Food": 0.02, "Dog Toy": 0.02, "Cat Food": 0.10, "Cat Toy": 0.08, "Fish Supplies": 0.60},
        }

    def _assign_users_to_personas(self):
        persona_names = list(self.personas.keys())
        return {user_id: self.rng.choice(persona_names) for user_id in range(self.n_users)}

    def get_true_ctr(self, user_id, product_id):
        if user_id not in self.user_to_persona_map or product_id not in self.products.index:
            return 0.0
        persona_name = self.user_to_persona_map[user_id]
        persona_prefs = self.personas[persona_name]
        product_category = self.products.loc[product_id, "category"]
        return persona_prefs.get(product_category, 0.01)

    def get_reward(self, user_id, product_id):
        click_prob = self.get_true_ctr(user_id, product_id)
        return self.rng.binomial(1, click_prob)

    def get_random_user(self):
        return self.rng.integers(0, self.n_users)

    def introduce_market_shock(self):
        self.personas["new_puppy_parent"] = {
            "Dog Food": 0.05, "Dog Toy": 0.10, "Cat Food": 0.01, "Cat Toy": 0.02, "Fish Supplies": 0.60,
        }
