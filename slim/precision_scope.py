"""Which dtype the layers built now compute in: the state behind
`slim.precision.compute_precision`.

Its own module, importing nothing of slim, because both sides read it:
`slim.variables` (a variable asked for in the compute dtype is read
through a cast) and `slim.precision` (whose DynamicLossScale creates its
variables through `slim.variables`). Users reach it as `slim.precision`.
"""
import contextlib
import threading

import tensorflow as tf

__all__ = ['PRECISIONS', 'LOW_PRECISIONS', 'compute_precision',
           'compute_dtype']

PRECISIONS = {'float32': tf.float32, 'bfloat16': tf.bfloat16,
              'float16': tf.float16}
# The dtypes that compute on float32 variables.
LOW_PRECISIONS = (tf.bfloat16, tf.float16)

_state = threading.local()


@contextlib.contextmanager
def compute_precision(dtype):
  """Layers built inside compute in `dtype` on float32 variables.

  Args:
    dtype: tf.bfloat16 or tf.float16 (or a name of PRECISIONS); float32 or
      None make this a no-op, so callers need no branch.
  """
  dtype = PRECISIONS.get(dtype, dtype) if isinstance(dtype, str) else dtype
  if dtype is not None and tf.as_dtype(dtype) not in LOW_PRECISIONS + (
      tf.float32,):
    raise ValueError(f'precision must be one of {", ".join(PRECISIONS)}; '
                     f'got {dtype!r}.')
  previous = getattr(_state, 'dtype', None)
  _state.dtype = tf.as_dtype(dtype) if dtype in LOW_PRECISIONS else None
  try:
    yield
  finally:
    _state.dtype = previous


def compute_dtype():
  """The active low compute dtype, or None outside `compute_precision`."""
  return getattr(_state, 'dtype', None)
