"""Numeric parity with the original implementation (compat/goldens).

Every float variable gets det_value(name, shape); the input is det_input. The
original's logits must match within 1e-4 of max|logits|, and every end
point's mean and std within 1e-3 of that end point's std (its spread): deep
stacks wash the input out of the logits, so the early end points are where a
wrong padding or stride shows.
"""
import numpy as np
import pytest

from tests.nets import nets_harness as harness

pytestmark = pytest.mark.slow


@pytest.mark.parametrize('name', harness.golden_names())
def test_matches_golden(name):
  golden = np.load(f'{harness.GOLDENS}/{name}.npz')
  logits, end_points = harness.run_golden(name)
  expected = golden['logits']
  np.testing.assert_allclose(
      logits.reshape(expected.shape), expected, rtol=0,
      atol=1e-4 * np.abs(expected).max())
  for key in golden.files:
    if not key.startswith('ep_mean/'):
      continue
    ep = key[len('ep_mean/'):]
    assert ep in end_points, f'{name}: end point {ep} missing'
    value = end_points[ep].astype(np.float64)
    spread = max(float(golden['ep_std/' + ep]), 1e-12)
    assert abs(value.mean() - golden[key]) <= 1e-3 * spread, (ep, 'mean')
    assert abs(value.std() - golden['ep_std/' + ep]) <= 1e-3 * spread, (
        ep, 'std')
