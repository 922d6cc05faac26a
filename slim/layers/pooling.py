"""Pooling layers: max and average pooling in 2-D and 3-D.

Each opens a name scope (default 'MaxPool2D', 'AvgPool2D', 'MaxPool3D',
'AvgPool3D'), whose name is the output's alias in `outputs_collections`,
and names its op as TF-Slim did (`<scope>/MaxPool`, `<scope>/AvgPool`).
Defaults follow TF-Slim: `stride=2`, `padding='VALID'`.
"""
import tensorflow as tf

from slim.layers import utils
from slim.scopes import add_arg_scope

tf1 = tf.compat.v1

__all__ = [
    'avg_pool', 'avg_pool2d', 'avg_pool3d', 'max_pool', 'max_pool2d',
    'max_pool3d',
]


def _pool(inputs, kernel_size, stride, padding, data_format, n, pool_fn,
          op_name, layer):
  """Checks the arguments and applies `pool_fn` (a tf.nn pooling op)."""
  inputs = tf.convert_to_tensor(inputs)
  utils.check_rank(inputs, (n + 2,), layer)
  kernel = utils.n_positive_integers(n, kernel_size, 'kernel_size')
  strides = utils.n_positive_integers(n, stride, 'stride')
  padding = utils.normalize_padding(padding)
  if data_format.startswith('NC'):
    ksize, strides = [1, 1] + list(kernel), [1, 1] + list(strides)
  else:
    ksize, strides = [1] + list(kernel) + [1], [1] + list(strides) + [1]
  return pool_fn(inputs, ksize, strides, padding, data_format=data_format,
                 name=op_name)


@add_arg_scope
def avg_pool2d(inputs,
               kernel_size,
               stride=2,
               padding='VALID',
               data_format='NHWC',
               outputs_collections=None,
               scope=None):
  """2-D average pooling.

  Args:
    inputs: a 4-D tensor, NHWC or NCHW.
    kernel_size: an int or a list of 2 ints, the pooling window.
    stride: an int or a list of 2 ints.
    padding: 'VALID' or 'SAME' (any case).
    data_format: 'NHWC' or 'NCHW'.
    outputs_collections: collections to add the output to.
    scope: the name scope; default 'AvgPool2D'.

  Returns:
    The pooled tensor.

  Raises:
    ValueError: for a bad rank, `data_format`, `padding`, `kernel_size` or
      `stride`.
  """
  utils.check_data_format(data_format, ('NHWC', 'NCHW'))
  with tf1.name_scope(scope, 'AvgPool2D', [inputs]) as sc:
    outputs = _pool(inputs, kernel_size, stride, padding, data_format, 2,
                    tf1.nn.avg_pool, 'AvgPool', 'avg_pool2d')
    return utils.collect_named_outputs(outputs_collections, sc, outputs)


@add_arg_scope
def max_pool2d(inputs,
               kernel_size,
               stride=2,
               padding='VALID',
               data_format='NHWC',
               outputs_collections=None,
               scope=None):
  """2-D max pooling.

  Args:
    inputs: a 4-D tensor, NHWC or NCHW.
    kernel_size: an int or a list of 2 ints, the pooling window.
    stride: an int or a list of 2 ints.
    padding: 'VALID' or 'SAME' (any case).
    data_format: 'NHWC' or 'NCHW'.
    outputs_collections: collections to add the output to.
    scope: the name scope; default 'MaxPool2D'.

  Returns:
    The pooled tensor.

  Raises:
    ValueError: for a bad rank, `data_format`, `padding`, `kernel_size` or
      `stride`.
  """
  utils.check_data_format(data_format, ('NHWC', 'NCHW'))
  with tf1.name_scope(scope, 'MaxPool2D', [inputs]) as sc:
    outputs = _pool(inputs, kernel_size, stride, padding, data_format, 2,
                    tf1.nn.max_pool, 'MaxPool', 'max_pool2d')
    return utils.collect_named_outputs(outputs_collections, sc, outputs)


@add_arg_scope
def avg_pool3d(inputs,
               kernel_size,
               stride=2,
               padding='VALID',
               data_format='NDHWC',
               outputs_collections=None,
               scope=None):
  """3-D average pooling.

  Args:
    inputs: a 5-D tensor, NDHWC or NCDHW.
    kernel_size: an int or a list of 3 ints, the pooling window.
    stride: an int or a list of 3 ints.
    padding: 'VALID' or 'SAME' (any case).
    data_format: 'NDHWC' or 'NCDHW'.
    outputs_collections: collections to add the output to.
    scope: the name scope; default 'AvgPool3D'.

  Returns:
    The pooled tensor.

  Raises:
    ValueError: for a bad rank, `data_format`, `padding`, `kernel_size` or
      `stride`.
  """
  utils.check_data_format(data_format, ('NDHWC', 'NCDHW'))
  with tf1.name_scope(scope, 'AvgPool3D', [inputs]) as sc:
    outputs = _pool(inputs, kernel_size, stride, padding, data_format, 3,
                    tf1.nn.avg_pool3d, 'AvgPool3D', 'avg_pool3d')
    return utils.collect_named_outputs(outputs_collections, sc, outputs)


@add_arg_scope
def max_pool3d(inputs,
               kernel_size,
               stride=2,
               padding='VALID',
               data_format='NDHWC',
               outputs_collections=None,
               scope=None):
  """3-D max pooling.

  Args:
    inputs: a 5-D tensor, NDHWC or NCDHW.
    kernel_size: an int or a list of 3 ints, the pooling window.
    stride: an int or a list of 3 ints.
    padding: 'VALID' or 'SAME' (any case).
    data_format: 'NDHWC' or 'NCDHW'.
    outputs_collections: collections to add the output to.
    scope: the name scope; default 'MaxPool3D'.

  Returns:
    The pooled tensor.

  Raises:
    ValueError: for a bad rank, `data_format`, `padding`, `kernel_size` or
      `stride`.
  """
  utils.check_data_format(data_format, ('NDHWC', 'NCDHW'))
  with tf1.name_scope(scope, 'MaxPool3D', [inputs]) as sc:
    outputs = _pool(inputs, kernel_size, stride, padding, data_format, 3,
                    tf1.nn.max_pool3d, 'MaxPool3D', 'max_pool3d')
    return utils.collect_named_outputs(outputs_collections, sc, outputs)


# The TF-Slim README writes `slim.max_pool(...)`; keep that spelling working.
max_pool = max_pool2d
avg_pool = avg_pool2d
