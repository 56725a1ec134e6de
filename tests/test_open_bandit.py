"""The Open Bandit Dataset loader (bandits_lib.envs.open_bandit).

The shipped sample is checked against the raw CSV files read independently; the
encodings (one-hot users, items numbered by first appearance, per-arm feature vectors)
against their definitions; every malformed or missing file raises an error naming the
file and the problem (tested on small files written to a temporary folder); and the
package declares the data so that a non-editable install ships it.
"""

from __future__ import annotations

import gzip
import shutil
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomllib
import torch

from bandits_lib.envs.open_bandit import DATA_DIR, USER_COLUMNS, OpenBanditData, load_open_bandit

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def random_log() -> OpenBanditData:
    return load_open_bandit("random")


@pytest.fixture(scope="module")
def bts_log() -> OpenBanditData:
    return load_open_bandit("bts")


@pytest.fixture(scope="module")
def raw_random() -> pd.DataFrame:
    with gzip.open(DATA_DIR / "random" / "all" / "all.csv.gz", "rt") as handle:
        return pd.read_csv(handle, index_col=0)


# ---------------------------------------------------------------------------- the shipped sample
def test_shipped_logs_have_the_documented_shape(random_log, bts_log):
    for data in (random_log, bts_log):
        assert data.n_events == 10_000 and data.n_actions == 80 and data.n_positions == 3
        assert data.actions.dtype == np.int64 and set(np.unique(data.positions)) == {0, 1, 2}
        assert set(np.unique(data.rewards)) == {0.0, 1.0}
        assert ((data.propensities > 0) & (data.propensities <= 1)).all()
        assert data.user_features.shape == (10_000, len(data.user_feature_names))
        assert data.affinity.shape == (10_000, 80)
        assert np.all(np.diff(data.timestamps.astype(np.int64)) >= 0)
    # The uniformly random policy shows each of 80 items with probability 1/80 at every slot.
    assert np.all(random_log.propensities == 1 / 80)
    assert len(np.unique(bts_log.propensities)) > 1000


def test_values_equal_the_raw_csv(random_log, raw_random):
    assert np.array_equal(random_log.actions, raw_random["item_id"].to_numpy())
    assert np.array_equal(random_log.positions + 1, raw_random["position"].to_numpy())
    assert random_log.rewards.sum() == raw_random["click"].sum()
    assert np.array_equal(random_log.affinity[:, 7], raw_random["user-item_affinity_7"].to_numpy(dtype=np.float32))
    # One-hot: each user feature's block marks its value, categories in the order of user_categories.
    for column in USER_COLUMNS:
        block = [k for k, name in enumerate(random_log.user_feature_names) if name.startswith(f"{column}=")]
        categories = random_log.user_categories[column]
        assert len(block) == len(categories) and list(categories) == sorted(categories)
        codes = random_log.user_features[:, block].argmax(axis=1)
        assert np.array_equal(np.array(categories)[codes], raw_random[column].to_numpy())
    assert np.all(random_log.user_features.sum(axis=1) == 4)


def test_both_logs_share_one_encoding(random_log, bts_log):
    """The item files hash category labels differently; numbering by first item makes them agree."""
    assert random_log.feature_names == bts_log.feature_names
    assert np.array_equal(random_log.item_features, bts_log.item_features)
    raw_items = [pd.read_csv(DATA_DIR / p / "all" / "item_context.csv", index_col=0) for p in ("random", "bts")]
    assert not (raw_items[0]["item_feature_1"] == raw_items[1]["item_feature_1"]).all()  # labels differ ...
    assert len(random_log.user_feature_names) == 26  # ... and the union of both logs' user categories


def test_arm_features_are_the_documented_concatenation(random_log):
    i = 123
    X = random_log.arm_features(i)
    assert isinstance(X, torch.Tensor) and X.dtype == torch.float32
    assert X.shape == (80, random_log.feature_dim) == (80, 50)
    n_user = len(random_log.user_feature_names)
    assert torch.equal(X[:, :n_user], torch.from_numpy(random_log.user_features[i]).expand(80, -1))
    position = X[:, n_user:n_user + 3]
    assert torch.all(position[:, random_log.positions[i]] == 1) and torch.all(position.sum(1) == 1)
    assert torch.equal(X[:, n_user + 3:-1], torch.from_numpy(random_log.item_features))
    assert torch.equal(X[:, -1], torch.from_numpy(random_log.affinity[i]))
    batch = random_log.arm_features(np.array([5, i, 9_999]))
    assert batch.shape == (3, 80, 50) and torch.equal(batch[1], X)
    # Items: numeric item_feature_0, then one one-hot per categorical feature.
    assert np.all(random_log.item_features[:, 1:].sum(axis=1) == 2)
    with pytest.raises(IndexError, match="index must be in"):
        random_log.arm_features(10_000)


def test_item_feature_choice_and_subset(random_log):
    wide = load_open_bandit("random", item_categorical=("item_feature_1", "item_feature_2", "item_feature_3"))
    assert wide.feature_dim == random_log.feature_dim + 21
    part = random_log.subset(slice(0, 100))
    assert part.n_events == 100 and np.array_equal(part.rewards, random_log.rewards[:100])
    summary = random_log.summary()
    assert summary["events"] == 10_000 and summary["clicks"] == int(random_log.rewards.sum())


# ---------------------------------------------------------------------------- malformed files
def copy_sample(tmp_path: Path, policies=("random", "bts")) -> Path:
    """A writable copy of the shipped sample, first 50 rows of each log, uncompressed."""
    for policy in policies:
        folder = tmp_path / policy / "all"
        folder.mkdir(parents=True)
        shutil.copy(DATA_DIR / policy / "all" / "item_context.csv", folder / "item_context.csv")
        with gzip.open(DATA_DIR / policy / "all" / "all.csv.gz", "rt") as handle:
            pd.read_csv(handle, index_col=0, nrows=50).to_csv(folder / "all.csv")
    return tmp_path


def edit_log(root: Path, change, policy="random") -> Path:
    path = root / policy / "all" / "all.csv"
    frame = pd.read_csv(path, index_col=0)
    frame = change(frame)
    frame.to_csv(path)
    return path


def test_a_copy_loads_uncompressed(tmp_path):
    root = copy_sample(tmp_path)
    data = load_open_bandit("random", data_dir=root)
    assert data.n_events == 50 and data.source == root / "random" / "all" / "all.csv"


@pytest.mark.parametrize("change,message", [
    (lambda f: f.drop(columns=["click"]), r"missing the columns \['click'\]"),
    (lambda f: f.assign(item_id=f["item_id"].where(f.index != 3, 80)), r"'item_id' must lie in \[0, 79\], found 80"),
    (lambda f: f.assign(position=f["position"].where(f.index != 4, 4)), r"'position' must lie in \[1, 3\]"),
    (lambda f: f.assign(click=f["click"].where(f.index != 5, 2)), r"'click' must lie in \[0, 1\], found 2"),
    (lambda f: f.assign(click=f["click"].astype(float).where(f.index != 5, 0.5)), "'click' must hold integers"),
    (lambda f: f.assign(propensity_score=f["propensity_score"].where(f.index != 6, 0.0)),
     r"'propensity_score' must lie in \(0, 1\], found 0.0 \(row 6\)"),
    (lambda f: f.assign(user_feature_2=f["user_feature_2"].where(f.index != 7, None)),
     "'user_feature_2' has missing values"),
    (lambda f: f.drop(columns=["user-item_affinity_79"]), r"missing the columns \['user-item_affinity_79'\]"),
    (lambda f: f.assign(**{"user-item_affinity_3": "many"}), "'user-item_affinity_3' must hold finite numbers"),
    (lambda f: f.assign(timestamp="yesterday"), "'timestamp' holds a value that is not a date"),
])
def test_malformed_log_names_the_file_and_the_problem(tmp_path, change, message):
    root = copy_sample(tmp_path)
    path = edit_log(root, change)
    with pytest.raises(ValueError, match=message) as caught:
        load_open_bandit("random", data_dir=root)
    assert str(path) in str(caught.value)


def test_malformed_item_file(tmp_path):
    root = copy_sample(tmp_path)
    path = root / "random" / "all" / "item_context.csv"
    items = pd.read_csv(path, index_col=0)
    items.loc[3, "item_id"] = 2
    items.to_csv(path)
    with pytest.raises(ValueError, match="item 2 appears twice") as caught:
        load_open_bandit("random", data_dir=root)
    assert str(path) in str(caught.value)
    items.drop(columns=["item_feature_3"]).to_csv(path)
    with pytest.raises(ValueError, match=r"missing the columns \['item_feature_3'\]"):
        load_open_bandit("random", data_dir=root)


def test_missing_empty_and_corrupt_files(tmp_path):
    root = copy_sample(tmp_path)
    log = root / "random" / "all" / "all.csv"
    log.unlink()
    with pytest.raises(FileNotFoundError, match=r"all\.csv\.gz does not exist"):
        load_open_bandit("random", data_dir=root)
    log.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        load_open_bandit("random", data_dir=root)
    log.unlink()
    (root / "random" / "all" / "all.csv.gz").write_bytes(b"\x1f\x8b\x08 not really gzip")
    with pytest.raises(ValueError, match="could not be read as a CSV file") as caught:
        load_open_bandit("random", data_dir=root)
    assert "all.csv.gz" in str(caught.value)
    (root / "bts" / "all" / "item_context.csv").unlink()
    with pytest.raises(FileNotFoundError, match="item_context.csv does not exist"):
        load_open_bandit("bts", data_dir=root)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_open_bandit("random", data_dir=tmp_path / "nowhere")


def test_bad_arguments():
    with pytest.raises(ValueError, match="behavior_policy must be one of"):
        load_open_bandit("thompson")
    with pytest.raises(ValueError, match="campaign must be one of"):
        load_open_bandit("random", campaign="kids")
    with pytest.raises(FileNotFoundError, match="men"):
        load_open_bandit("random", campaign="men")  # a valid campaign that does not ship
    with pytest.raises(ValueError, match="item_categorical must be one of"):
        load_open_bandit("random", item_categorical=("item_feature_9",))


def test_explicit_user_categories_must_cover_the_log(tmp_path):
    root = copy_sample(tmp_path, policies=("random",))
    data = load_open_bandit("random", data_dir=root)  # vocabulary of this one log
    frame = pd.read_csv(root / "random" / "all" / "all.csv", index_col=0)
    vocabulary = {c: sorted(frame[c].unique()) for c in USER_COLUMNS}
    assert len(data.user_feature_names) == sum(len(v) for v in vocabulary.values())
    vocabulary["user_feature_1"] = vocabulary["user_feature_1"][1:]
    with pytest.raises(ValueError, match="'user_feature_1' has the value .* not among the"):
        load_open_bandit("random", data_dir=root, user_categories=vocabulary)


# ---------------------------------------------------------------------------- packaging
def test_package_data_declares_every_shipped_file():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["bandits_lib"]
    shipped = [p.relative_to(REPO / "bandits_lib").as_posix() for p in DATA_DIR.rglob("*") if p.is_file()]
    assert {"data/open_bandit/README.md", "data/open_bandit/random/all/all.csv.gz",
            "data/open_bandit/bts/all/item_context.csv"} <= set(shipped)
    for name in shipped:
        assert any(fnmatch(name, pattern) for pattern in patterns), f"{name} is not declared as package data"
    readme = (DATA_DIR / "README.md").read_text()
    assert "CC BY 4.0" in readme and "Saito" in readme and "Apache" in readme
