"""Pooling layers: max and average pooling in 2-D and 3-D.

Each opens a name scope (default 'MaxPool2D', 'AvgPool2D', 'MaxPool3D',
'AvgPool3D'), whose name is the output's alias in `outputs_collections`,
and names its op as TF-Slim did (`<scope>/MaxPool`, `<scope>/AvgPool`).
Defaults follow TF-Slim: `stride=2`, `padding='VALID'`.

The four layers differ only in rank and op, so one factory makes them all;
each keeps TF-Slim's name, signature and arg_scope key.
"""
import tensorflow as tf

from slim.layers import utils
from slim.scopes import add_arg_scope

tf1 = tf.compat.v1

__all__ = [
    'avg_pool', 'avg_pool2d', 'avg_pool3d', 'max_pool', 'max_pool2d',
    'max_pool3d',
]

# data_format values by spatial rank, channels last first.
_DATA_FORMATS = {2: ('NHWC', 'NCHW'), 3: ('NDHWC', 'NCDHW')}


def _pooling_layer(kind, n, pool_fn, op_name):
  """Makes `{kind}_pool{n}d`, applying `pool_fn` (a tf.nn op) named `op_name`.

  Args:
    kind: 'avg' or 'max'.
    n: the number of spatial dimensions, 2 or 3.
    pool_fn: the tf.nn pooling op.
    op_name: the name of the pooling op inside the layer's scope.

  Returns:
    The `add_arg_scope`-decorated layer.
  """
  layer = f'{kind}_pool{n}d'
  default_scope = f'{kind.capitalize()}Pool{n}D'
  data_formats = _DATA_FORMATS[n]

  def pool(inputs,
           kernel_size,
           stride=2,
           padding='VALID',
           data_format=data_formats[0],
           outputs_collections=None,
           scope=None):
    utils.check_data_format(data_format, data_formats)
    with tf1.name_scope(scope, default_scope, [inputs]) as sc:
      inputs = tf.convert_to_tensor(inputs)
      utils.check_rank(inputs, (n + 2,), layer)
      kernel = utils.n_positive_integers(n, kernel_size, 'kernel_size')
      strides = utils.n_positive_integers(n, stride, 'stride')
      padding = utils.normalize_padding(padding)
      if data_format.startswith('NC'):
        ksize, strides = [1, 1] + list(kernel), [1, 1] + list(strides)
      else:
        ksize, strides = [1] + list(kernel) + [1], [1] + list(strides) + [1]
      outputs = pool_fn(inputs, ksize, strides, padding,
                        data_format=data_format, name=op_name)
      return utils.collect_named_outputs(outputs_collections, sc, outputs)

  pool.__name__ = pool.__qualname__ = layer
  pool.__doc__ = f"""{n}-D {'average' if kind == 'avg' else 'max'} pooling.

  Args:
    inputs: a {n + 2}-D tensor, {' or '.join(data_formats)}.
    kernel_size: an int or a list of {n} ints, the pooling window.
    stride: an int or a list of {n} ints.
    padding: 'VALID' or 'SAME' (any case).
    data_format: {' or '.join(repr(f) for f in data_formats)}.
    outputs_collections: collections to add the output to.
    scope: the name scope; default '{default_scope}'.

  Returns:
    The pooled tensor.

  Raises:
    ValueError: for a bad rank, `data_format`, `padding`, `kernel_size` or
      `stride`.
  """
  return add_arg_scope(pool)


avg_pool2d = _pooling_layer('avg', 2, tf1.nn.avg_pool, 'AvgPool')
max_pool2d = _pooling_layer('max', 2, tf1.nn.max_pool, 'MaxPool')
avg_pool3d = _pooling_layer('avg', 3, tf1.nn.avg_pool3d, 'AvgPool3D')
max_pool3d = _pooling_layer('max', 3, tf1.nn.max_pool3d, 'MaxPool3D')

# The TF-Slim README writes `slim.max_pool(...)`; keep that spelling working.
max_pool = max_pool2d
avg_pool = avg_pool2d
