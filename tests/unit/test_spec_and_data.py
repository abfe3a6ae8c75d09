import numpy as np
import pytest

from edge_gru.data import Dataset, load_data, load_dataset, seed_toy, validate
from edge_gru.errors import DataError, ModelFileError, UnsupportedModelError
from edge_gru.spec import load_spec, random_spec, save_spec


def test_spec_roundtrip(tmp_path, rng):
    spec = random_spec(rng, 13, [37, 5], [(4, "relu"), (3, "softmax")], timesteps=9, reset_after=False)
    save_spec(spec, tmp_path / "m.egspec")
    back = load_spec(tmp_path / "m.egspec")
    assert back.describe() == spec.describe()
    np.testing.assert_array_equal(back.grus[1].recurrent_kernel, spec.grus[1].recurrent_kernel)
    assert back.macs_per_sequence() == 9 * (3 * 37 * (13 + 37) + 3 * 5 * (37 + 5)) + 5 * 4 + 4 * 3


def test_spec_rejects_bad_chains(rng):
    spec = random_spec(rng, 3, [4, 4])
    spec.grus[0].return_sequences = False
    with pytest.raises(UnsupportedModelError, match="return_sequences=True"):
        spec.check()
    with pytest.raises(UnsupportedModelError, match="softmax"):
        random_spec(rng, 3, [4], [(2, "softmax"), (2, "linear")])
    spec = random_spec(rng, 3, [4])
    spec.grus[0].kernel = spec.grus[0].kernel[:, :5]
    with pytest.raises(UnsupportedModelError, match="kernel has shape"):
        spec.check()


@pytest.mark.parametrize("content", [b"", b"garbage" * 10, b"PK\x03\x04broken zip"])
def test_corrupt_spec_file(tmp_path, content):
    p = tmp_path / "bad.egspec"
    p.write_bytes(content)
    with pytest.raises(ModelFileError):
        load_spec(p)


def test_spec_file_of_other_kind(tmp_path):
    p = tmp_path / "x.egspec"
    np.savez(p.open("wb"), X=np.zeros(3))
    with pytest.raises(ModelFileError, match="not an edge-gru file"):
        load_spec(p)


def test_data_validation(tmp_path):
    good = Dataset(np.zeros((4, 3, 2), np.float32), np.array([0, 1, 1, 0]))
    good.save(tmp_path / "good.npz")
    ds = load_data(tmp_path / "good.npz", features=2, timesteps=3)
    assert ds.X.shape == (4, 3, 2) and ds.n_classes == 2
    with pytest.raises(DataError, match="features"):
        load_data(tmp_path / "good.npz", features=5)
    with pytest.raises(DataError, match="timesteps"):
        load_data(tmp_path / "good.npz", timesteps=7)
    np.savez(tmp_path / "nox.npz", Y=np.zeros(3))
    with pytest.raises(DataError, match="no array 'X'"):
        load_data(tmp_path / "nox.npz")
    np.savez(tmp_path / "rank.npz", X=np.zeros((3, 4)))
    with pytest.raises(DataError, match=r"\(N, T, F\)"):
        load_data(tmp_path / "rank.npz")
    bad = np.zeros((2, 3, 2), np.float32)
    bad[1, 1, 1] = np.nan
    np.savez(tmp_path / "nan.npz", X=bad)
    with pytest.raises(DataError, match="NaN"):
        load_data(tmp_path / "nan.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable"):
        load_data(tmp_path / "junk.npz")
    with pytest.raises(DataError, match="no such"):
        load_data(tmp_path / "missing.npz")
    with pytest.raises(DataError, match="rows"):
        validate(Dataset(np.zeros((3, 2, 2)), np.zeros(2)))
    with pytest.raises(DataError, match="integer class"):
        validate(Dataset(np.zeros((2, 2, 2)), np.array([0.5, 1.0])))


def test_builtin_datasets():
    train, test = load_dataset("spoken-digits")
    assert train.X.shape == (2400, 48, 13) and test.X.shape == (600, 48, 13)
    assert np.bincount(test.y).tolist() == [60] * 10
    assert abs(float(train.X[:, -1].mean())) < 0.5 and np.isfinite(train.X).all()
    train2, _ = load_dataset("spoken-digits")
    np.testing.assert_array_equal(train.X, train2.X)
    tr, te = load_dataset("seed-toy")
    assert tr.X.shape[1:] == (10, 5) and 0.2 < tr.y.mean() < 0.8
    assert not np.array_equal(tr.X[:10], te.X[:10])
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("mnist")


def test_seed_toy_needs_memory():
    ds = seed_toy(2000, seed=5)
    # the last timestep alone is a poor predictor: the label depends on every step
    last = (ds.X[:, -1, 0] - ds.X[:, -1, 1]) > 0
    assert np.mean(last == ds.y) < 0.75
