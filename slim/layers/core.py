"""Core layers: fully_connected, bias_add, dropout, flatten, one_hot_encoding,
softmax, unit_norm, and the meta-layers repeat and stack.

Same arguments, defaults, scope names (`fully_connected`, `BiasAdd`,
`Dropout`, `Flatten`, `OneHotEncoding`, `softmax`, `UnitNorm`) and op names
(`<scope>/MatMul`, `<scope>/BiasAdd`, `<scope>/Relu`, `<scope>/Reshape_1`
for softmax) as TF-Slim.
"""
import functools
import numbers

import tensorflow as tf

from slim import initializers
from slim import precision
from slim.layers import utils
from slim.scopes import add_arg_scope

tf1 = tf.compat.v1

__all__ = [
    'bias_add', 'drop_path', 'dropout', 'elu', 'flatten', 'fully_connected', 'linear',
    'one_hot_encoding', 'relu', 'relu6', 'repeat', 'softmax', 'stack',
    'unit_norm',
]


@add_arg_scope
def fully_connected(inputs,
                    num_outputs,
                    activation_fn=tf.nn.relu,
                    normalizer_fn=None,
                    normalizer_params=None,
                    weights_initializer=initializers.xavier_initializer(),
                    weights_regularizer=None,
                    biases_initializer=tf1.zeros_initializer(),
                    biases_regularizer=None,
                    reuse=None,
                    variables_collections=None,
                    outputs_collections=None,
                    trainable=True,
                    scope=None):
  """A fully connected layer: `activation_fn(normalizer_fn(x W) or x W + b)`.

  Creates `weights` `[in, num_outputs]` and, unless a `normalizer_fn` is
  given or `biases_initializer` is None, `biases` `[num_outputs]`. Inputs of
  rank > 2 are transformed along their last dimension.

  Args:
    inputs: a tensor of rank >= 2 whose last dimension is known.
    num_outputs: the number of output units, a positive int.
    activation_fn: applied last; None for linear.
    normalizer_fn: e.g. `slim.batch_norm`; when set, no biases are made.
    normalizer_params: kwargs for `normalizer_fn`.
    weights_initializer: initializer of the weights.
    weights_regularizer: optional regularizer of the weights.
    biases_initializer: initializer of the biases; None for no biases.
    biases_regularizer: optional regularizer of the biases.
    reuse: whether to reuse the layer's variables.
    variables_collections: a list, or a dict keyed by 'weights'/'biases'.
    outputs_collections: collections to add the output to.
    trainable: whether the variables are trainable.
    scope: the variable scope; default 'fully_connected'.

  Returns:
    The output tensor, shape `inputs.shape[:-1] + [num_outputs]`.

  Raises:
    ValueError: if `num_outputs` is not a positive int, or `inputs` has rank
      below 2 or an unknown last dimension.
  """
  num_outputs = utils.check_positive_int(num_outputs, 'num_outputs',
                                         'fully_connected')
  with tf1.variable_scope(scope, 'fully_connected', [inputs],
                          reuse=reuse) as sc:
    inputs = tf.convert_to_tensor(inputs)
    rank = inputs.shape.rank
    if rank is None or rank < 2:
      shown = 'unknown rank' if rank is None else f'shape {inputs.shape}'
      raise ValueError('fully_connected: inputs must have rank >= 2; '
                       f'received a tensor of {shown}.')
    num_input_units = tf.compat.dimension_value(inputs.shape[-1])
    if num_input_units is None:
      raise ValueError('fully_connected: the last dimension of inputs must '
                       f'be known; received shape {inputs.shape}.')
    dtype = inputs.dtype.base_dtype
    weights = utils.layer_variable(
        'weights', [num_input_units, num_outputs], dtype, weights_initializer,
        weights_regularizer, variables_collections, 'weights', trainable)
    if rank == 2:
      outputs = tf.matmul(inputs, weights, name='MatMul')
    else:
      outputs = tf.tensordot(inputs, weights, [[rank - 1], [0]])
      outputs.set_shape(inputs.shape[:-1].concatenate([num_outputs]))
    outputs = utils.finish_layer(
        outputs, num_outputs, dtype, None, activation_fn, normalizer_fn,
        normalizer_params, biases_initializer, biases_regularizer,
        variables_collections, trainable)
    return utils.collect_named_outputs(outputs_collections, sc.name, outputs)


# Legacy shorthands of TF-Slim.
linear = functools.partial(fully_connected, activation_fn=None)
relu = functools.partial(fully_connected, activation_fn=tf.nn.relu)
relu6 = functools.partial(fully_connected, activation_fn=tf.nn.relu6)
elu = functools.partial(fully_connected, activation_fn=tf.nn.elu)


@add_arg_scope
def bias_add(inputs,
             activation_fn=None,
             initializer=tf1.zeros_initializer(),
             regularizer=None,
             reuse=None,
             variables_collections=None,
             outputs_collections=None,
             trainable=True,
             data_format='NHWC',
             scope=None):
  """Adds learned `biases` (one per channel) to `inputs`.

  Args:
    inputs: a tensor of rank >= 2 with a known channel dimension (last, or
      axis 1 for 'NCHW', which needs rank 4).
    activation_fn: applied last; None for linear.
    initializer: initializer of the biases.
    regularizer: optional regularizer of the biases.
    reuse: whether to reuse the layer's variables.
    variables_collections: a list, or a dict keyed by 'biases'.
    outputs_collections: collections to add the output to.
    trainable: whether the biases are trainable.
    data_format: 'NHWC' or 'NCHW'.
    scope: the variable scope; default 'BiasAdd'.

  Returns:
    The output tensor.

  Raises:
    ValueError: for a bad `data_format`, an unknown rank, 'NCHW' with rank
      other than 4, or an unknown channel dimension.
  """
  utils.check_data_format(data_format, ('NHWC', 'NCHW'))
  with tf1.variable_scope(scope, 'BiasAdd', [inputs], reuse=reuse) as sc:
    inputs = tf.convert_to_tensor(inputs)
    rank = inputs.shape.rank
    if rank is None or rank < 2:
      shown = 'unknown rank' if rank is None else f'shape {inputs.shape}'
      raise ValueError('bias_add: inputs must have a known rank >= 2; '
                       f'received a tensor of {shown}.')
    if data_format == 'NCHW' and rank != 4:
      raise ValueError('bias_add: data_format NCHW needs inputs of rank 4; '
                       f'received shape {inputs.shape}.')
    num_features = utils.channel_dimension(inputs.shape, data_format)
    biases = utils.layer_variable(
        'biases', [num_features], inputs.dtype.base_dtype, initializer,
        regularizer, variables_collections, 'biases', trainable)
    outputs = tf.nn.bias_add(inputs, biases, data_format=data_format)
    if activation_fn is not None:
      outputs = activation_fn(outputs)
    return utils.collect_named_outputs(outputs_collections, sc.name, outputs)


@add_arg_scope
def dropout(inputs,
            keep_prob=0.5,
            noise_shape=None,
            is_training=True,
            outputs_collections=None,
            scope=None,
            seed=None):
  """Dropout in training (kept units scaled by 1/keep_prob); identity else.

  Args:
    inputs: a tensor.
    keep_prob: the probability of keeping each unit, in (0, 1].
    noise_shape: optional shape of the keep/drop mask (broadcast to
      `inputs`), e.g. `[batch, 1, 1, channels]`.
    is_training: a Python bool or a scalar bool tensor.
    outputs_collections: collections to add the output to.
    scope: the variable scope; default 'Dropout'.
    seed: optional random seed.

  Returns:
    A tensor shaped like `inputs`.

  Raises:
    ValueError: if a Python `keep_prob` is not in (0, 1].
  """
  if isinstance(keep_prob, numbers.Real) and not 0 < keep_prob <= 1:
    raise ValueError('dropout: keep_prob must be in (0, 1]; received '
                     f'{keep_prob!r}.')
  with tf1.variable_scope(scope, 'Dropout', [inputs]) as sc:
    inputs = tf.convert_to_tensor(inputs)

    def dropped():
      if isinstance(keep_prob, numbers.Real) and keep_prob == 1:
        return tf.identity(inputs)
      return tf.nn.dropout(inputs, rate=1 - keep_prob,
                           noise_shape=noise_shape, seed=seed)

    outputs = utils.smart_cond(is_training, dropped,
                               lambda: tf.identity(inputs))
    return utils.collect_named_outputs(outputs_collections, sc.name, outputs)


@add_arg_scope
def drop_path(inputs,
              drop_rate=0.0,
              is_training=True,
              outputs_collections=None,
              scope=None,
              seed=None):
  """Stochastic depth: drops a residual branch for whole examples.

  In training, each example's branch output is zeroed with probability
  `drop_rate` and the kept ones are scaled by 1 / (1 - drop_rate), so the
  expectation is unchanged; at inference it is the identity (Huang et al.,
  2016; the `DropConnect` of EfficientNet and the `StochasticDepth` of
  ConvNeXt). Apply it to the branch before it is added to the shortcut.

  Args:
    inputs: the residual branch, `[batch, ...]`.
    drop_rate: the probability of dropping an example's branch, in [0, 1);
      0 returns the input.
    is_training: a Python bool or a scalar bool tensor.
    outputs_collections: collections to add the output to.
    scope: the variable scope; default 'DropPath'.
    seed: optional random seed.

  Returns:
    A tensor shaped like `inputs`.

  Raises:
    ValueError: if a Python `drop_rate` is not in [0, 1).
  """
  if isinstance(drop_rate, numbers.Real) and not 0 <= drop_rate < 1:
    raise ValueError('drop_path: drop_rate must be in [0, 1); received '
                     f'{drop_rate!r}.')
  with tf1.variable_scope(scope, 'DropPath', [inputs]) as sc:
    inputs = tf.convert_to_tensor(inputs)
    if isinstance(drop_rate, numbers.Real) and drop_rate == 0:
      outputs = tf.identity(inputs)
    else:
      mask_shape = tf.concat(
          [tf.shape(inputs)[:1], tf.ones([inputs.shape.rank - 1], tf.int32)],
          axis=0)
      outputs = utils.smart_cond(
          is_training,
          lambda: tf.nn.dropout(inputs, rate=drop_rate,
                                noise_shape=mask_shape, seed=seed),
          lambda: tf.identity(inputs))
    return utils.collect_named_outputs(outputs_collections, sc.name, outputs)


@add_arg_scope
def flatten(inputs, outputs_collections=None, scope=None):
  """Flattens `[batch, d1, ..., dk]` into `[batch, d1 * ... * dk]`.

  Args:
    inputs: a tensor of rank >= 2.
    outputs_collections: collections to add the output to.
    scope: the name scope; default 'Flatten'.

  Returns:
    A 2-D tensor with the same batch size.

  Raises:
    ValueError: if `inputs` has unknown rank or rank below 2.
  """
  with tf1.name_scope(scope, 'Flatten', [inputs]) as sc:
    inputs = tf.convert_to_tensor(inputs)
    rank = inputs.shape.rank
    if rank is None or rank < 2:
      shown = 'unknown rank' if rank is None else f'shape {inputs.shape}'
      raise ValueError('flatten: inputs must have rank >= 2; received a '
                       f'tensor of {shown}.')
    batch = tf.compat.dimension_value(inputs.shape[0])
    outputs = tf.reshape(inputs, (tf.shape(inputs)[0] if batch is None
                                  else batch, -1))
    rest = inputs.shape[1:]
    flat = rest.num_elements() if rest.is_fully_defined() else None
    outputs.set_shape([tf.compat.dimension_value(inputs.shape[0]), flat])
    return utils.collect_named_outputs(outputs_collections, sc, outputs)


@add_arg_scope
def one_hot_encoding(labels,
                     num_classes,
                     on_value=1.0,
                     off_value=0.0,
                     outputs_collections=None,
                     scope=None):
  """One-hot encodes integer `labels` into `num_classes` float columns.

  Args:
    labels: an integer tensor of class ids.
    num_classes: the number of classes.
    on_value: the value at the label's position.
    off_value: the value elsewhere.
    outputs_collections: collections to add the output to.
    scope: the name scope; default 'OneHotEncoding'.

  Returns:
    A tensor of shape `labels.shape + [num_classes]`.

  Raises:
    TypeError: if `labels` is not an integer tensor.
  """
  with tf1.name_scope(scope, 'OneHotEncoding', [labels, num_classes]) as sc:
    labels = tf.convert_to_tensor(labels)
    if not labels.dtype.is_integer:
      raise TypeError('one_hot_encoding: labels must be an integer tensor; '
                      f'received dtype {labels.dtype.name}.')
    if labels.dtype == tf.int32:
      labels = tf.cast(labels, tf.int64)
    outputs = tf.one_hot(labels, num_classes, on_value=on_value,
                         off_value=off_value)
    return utils.collect_named_outputs(outputs_collections, sc, outputs)


@add_arg_scope
def softmax(logits, scope=None):
  """Softmax over the last dimension of `logits`, for any rank >= 2.

  As in TF-Slim the logits are reshaped to 2-D, so the output op is
  `<scope>/Reshape_1` (e.g. 'CifarNet/Predictions/Reshape_1').

  Args:
    logits: a tensor of rank >= 2 whose last dimension is known.
    scope: the variable scope; default 'softmax'.

  Returns:
    Probabilities, shaped like `logits` (float32 for bfloat16/float16
    logits).

  Raises:
    ValueError: if `logits` has rank below 2 or unknown last dimension.
  """
  with tf1.variable_scope(scope, 'softmax', [logits]):
    logits = tf.convert_to_tensor(logits)
    num_logits = utils.last_dimension(logits.shape, min_rank=2)
    logits_2d = tf.reshape(logits, [-1, num_logits])
    # In mixed precision the probabilities are float32.
    predictions = tf.nn.softmax(precision.to_float32(logits_2d))
    predictions = tf.reshape(predictions, tf.shape(logits))
    predictions.set_shape(logits.shape)
    return predictions


@add_arg_scope
def unit_norm(inputs, dim, epsilon=1e-7, scope=None):
  """Divides `inputs` by its L2 norm along `dim`: x / sqrt(eps + sum x^2).

  Args:
    inputs: a tensor of known rank.
    dim: the axis to normalize, in [0, rank).
    epsilon: added inside the square root.
    scope: the variable scope; default 'UnitNorm'.

  Returns:
    A tensor shaped like `inputs`.

  Raises:
    ValueError: if the rank is unknown or `dim` is out of range.
  """
  with tf1.variable_scope(scope, 'UnitNorm', [inputs]):
    inputs = tf.convert_to_tensor(inputs)
    rank = inputs.shape.rank
    if rank is None:
      raise ValueError('unit_norm: inputs must have a known rank; received '
                       'a tensor of unknown rank.')
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or (
        dim < 0 or dim >= rank):
      raise ValueError(f'unit_norm: dim must be an int in [0, {rank}) for '
                       f'inputs of rank {rank}; received {dim!r}.')
    lengths = tf.sqrt(epsilon + tf.reduce_sum(tf.square(inputs), dim,
                                              keepdims=True))
    return tf.math.divide(inputs, lengths)


def _layer_scope_name(layer, fallback):
  """The default name of a repeat/stack scope: the layer function's name."""
  if hasattr(layer, '__name__'):
    return layer.__name__
  if hasattr(layer, 'func') and hasattr(layer.func, '__name__'):
    return layer.func.__name__  # A functools.partial.
  return fallback


def _inner_prefix(scope, layer, fallback):
  """The prefix of the inner scopes: the outer scope's last name component."""
  if scope is None:
    return _layer_scope_name(layer, fallback)
  if isinstance(scope, tf1.VariableScope):
    return scope.name.split('/')[-1]
  return scope


def repeat(inputs, repetitions, layer, *args, **kwargs):
  """Applies `layer` `repetitions` times, in scopes `<scope>/<scope>_<i>`.

  `repeat(x, 3, slim.conv2d, 64, [3, 3], scope='conv1')` makes
  conv1/conv1_1, conv1/conv1_2 and conv1/conv1_3.

  Args:
    inputs: the input tensor.
    repetitions: how many times to apply `layer`.
    layer: a callable `layer(inputs, *args, scope=..., **kwargs)`.
    *args: extra positional arguments of every call.
    **kwargs: extra keyword arguments of every call; `scope` names the outer
      scope (default: the layer's name, e.g. 'convolution2d').

  Returns:
    The output of the last call.

  Raises:
    ValueError: if `repetitions` is not a non-negative int.
  """
  if isinstance(repetitions, bool) or not isinstance(
      repetitions, numbers.Integral) or repetitions < 0:
    raise ValueError('repeat: repetitions must be a non-negative int; '
                     f'received {repetitions!r}.')
  scope = kwargs.pop('scope', None)
  with tf1.variable_scope(scope, 'Repeat', [inputs]):
    inputs = tf.convert_to_tensor(inputs)
    scope = _inner_prefix(scope, layer, 'repeat')
    outputs = inputs
    for i in range(repetitions):
      kwargs['scope'] = f'{scope}_{i + 1}'
      outputs = layer(outputs, *args, **kwargs)
    return outputs


def stack(inputs, layer, stack_args, **kwargs):
  """Applies `layer` once per entry of `stack_args`, in `<scope>/<scope>_<i>`.

  `stack(x, slim.fully_connected, [32, 64, 128], scope='fc')` makes fc/fc_1,
  fc/fc_2 and fc/fc_3 with 32, 64 and 128 units.

  Args:
    inputs: the input tensor.
    layer: a callable `layer(inputs, *layer_args, scope=..., **kwargs)`.
    stack_args: a list or tuple; each entry is the positional arguments of
      one call (a tuple/list of them, or a single value).
    **kwargs: extra keyword arguments of every call; `scope` names the outer
      scope (default: the layer's name).

  Returns:
    The output of the last call.

  Raises:
    ValueError: if `stack_args` is not a list or tuple.
  """
  scope = kwargs.pop('scope', None)
  if not isinstance(stack_args, (list, tuple)):
    raise ValueError('stack: stack_args must be a list or tuple; received '
                     f'{type(stack_args).__name__} {stack_args!r}.')
  with tf1.variable_scope(scope, 'Stack', [inputs]):
    inputs = tf.convert_to_tensor(inputs)
    scope = _inner_prefix(scope, layer, 'stack')
    outputs = inputs
    for i, layer_args in enumerate(stack_args):
      kwargs['scope'] = f'{scope}_{i + 1}'
      if not isinstance(layer_args, (list, tuple)):
        layer_args = [layer_args]
      outputs = layer(outputs, *layer_args, **kwargs)
    return outputs
