"""End-to-end accuracy on the built-in datasets (the issue's acceptance figures)."""

import numpy as np
import pytest

from edge_gru.data import accuracy, predicted_class
from edge_gru.fixed.model import quantize_model
from edge_gru.float_ref import predict

pytestmark = pytest.mark.slow        # end-to-end: make test-fast leaves these out

LIMITS = {"w8a16": (0.002, 0.995), "w8a8": (0.01, 0.98), "w16a16": (0.002, 0.995)}


def test_spoken_digits_float_accuracy(spoken_digits_model, spoken_digits):
    model, spec, _, keras_acc = spoken_digits_model
    _, test = spoken_digits
    y = predict(spec, test.X)
    np.testing.assert_allclose(y, model.predict(test.X, verbose=0), atol=1e-5)
    assert accuracy(y, test.y) >= 0.96
    assert abs(accuracy(y, test.y) - keras_acc) < 1e-9


@pytest.mark.parametrize("prec", list(LIMITS))
def test_spoken_digits_fixed_accuracy(spoken_digits_model, spoken_digits, prec):
    _, spec, _, _ = spoken_digits_model
    train, test = spoken_digits
    yf = predict(spec, test.X)
    yq = quantize_model(spec, train.X, prec).predict(test.X)
    max_drop, min_agree = LIMITS[prec]
    assert accuracy(yq, test.y) >= accuracy(yf, test.y) - max_drop
    assert np.mean(predicted_class(yq) == predicted_class(yf)) >= min_agree


@pytest.mark.parametrize("prec", list(LIMITS))
def test_seed_toy_fixed_accuracy(seed_model, prec):
    _, spec, train, test, keras_acc = seed_model
    assert keras_acc > 0.85
    yf = predict(spec, test.X)
    yq = quantize_model(spec, train.X, prec).predict(test.X)
    max_drop, min_agree = LIMITS[prec]
    assert accuracy(yq, test.y) >= accuracy(yf, test.y) - max_drop
    assert np.mean(predicted_class(yq) == predicted_class(yf)) >= min_agree
