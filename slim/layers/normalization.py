"""Normalization layers: batch_norm and layer_norm, with TF-Slim semantics,
and local_response_normalization (tf.nn.lrn with a faster CPU gradient).

`batch_norm` keeps TF-Slim's variables (`BatchNorm/{gamma,beta,moving_mean,
moving_variance}`, the moving statistics model variables that are not
trainable), its two update modes (update ops in `updates_collections`, or
`updates_collections=None` for in-place updates under a control dependency)
and its variable creation order, which checkpoints and the manifest record:
`gamma, beta, moving_mean, moving_variance` on the default path, `beta,
gamma, ...` on the paths TF-Slim routed through its own fused or legacy
code (rank-2 inputs, custom `updates_collections`, `batch_weights`,
`zero_debias_moving_mean`).

Moving statistics follow `moving -= (1 - decay) * (moving - batch_stat)`.
The fused kernel (4-D inputs, or 2-D reshaped to 4-D, when `fused` is
None/True) reports the unbiased batch variance (n / (n - 1)) for the moving
variance, as TF-Slim's fused path did; the unfused path uses the biased one.
Outputs are the same either way.
"""
import numpy as np
import tensorflow as tf

from slim import variables
from slim.layers import utils
from slim.scopes import add_arg_scope

tf1 = tf.compat.v1

__all__ = ['batch_norm', 'layer_norm', 'local_response_normalization']

_UPDATE_OPS = tf1.GraphKeys.UPDATE_OPS


def _variable_dtype(dtype):
  """Float16/bfloat16 inputs keep float32 parameters, as TF-Slim did."""
  if dtype in (tf.float16, tf.bfloat16):
    return tf.float32
  return dtype


def _zero_debias_variables(variable):
  """`<variable>/biased` and `<variable>/local_step`, as TF made them."""
  with tf1.variable_scope(variable.op.name, reuse=tf1.AUTO_REUSE):
    biased = variables.variable(
        'biased', shape=variable.shape, dtype=variable.dtype.base_dtype,
        initializer=tf1.zeros_initializer(), trainable=False)
    local_step = variables.variable(
        'local_step', shape=[], dtype=variable.dtype.base_dtype,
        initializer=tf1.zeros_initializer(), trainable=False)
  return biased, local_step


def _assign_moving_average(variable, value, decay, zero_debias_vars=None):
  """`variable -= (1 - decay) * (variable - value)`; returns the new value.

  With `zero_debias_vars` (`biased`, `local_step`, see
  `_zero_debias_variables`), updates `biased` that way instead, counts the
  step and assigns `biased / (1 - decay ** step)`, as
  `tf.train.ExponentialMovingAverage(zero_debias=True)` did.
  """
  with tf1.name_scope(None, 'AssignMovingAvg', [variable, value]) as scope:
    one_minus_decay = tf.cast(1.0 - decay, variable.dtype.base_dtype)
    value = tf.cast(value, variable.dtype.base_dtype)
    if zero_debias_vars is None:
      return tf1.assign_sub(variable, (variable - value) * one_minus_decay,
                            name=scope)
    biased, local_step = zero_debias_vars
    update_biased = tf1.assign_sub(biased, (biased - value) * one_minus_decay)
    update_step = tf1.assign_add(local_step, 1)
    debiased = update_biased / (1 - tf.pow(1.0 - one_minus_decay,
                                           update_step))
    return tf1.assign(variable, debiased, name=scope)


def _make_param(name, params_shape, dtype, param_initializers, default,
                regularizer, variables_collections, trainable):
  initializer = (param_initializers or {}).get(name, default)
  return utils.layer_variable(name, params_shape, dtype, initializer,
                              regularizer, variables_collections, name,
                              trainable)


@add_arg_scope
def batch_norm(inputs,
               decay=0.999,
               center=True,
               scale=False,
               epsilon=0.001,
               activation_fn=None,
               param_initializers=None,
               param_regularizers=None,
               updates_collections=tf1.GraphKeys.UPDATE_OPS,
               is_training=True,
               reuse=None,
               variables_collections=None,
               outputs_collections=None,
               trainable=True,
               batch_weights=None,
               fused=None,
               data_format='NHWC',
               zero_debias_moving_mean=False,
               scope=None,
               renorm=False,
               renorm_clipping=None,
               renorm_decay=0.99,
               adjustment=None):
  """Batch normalization (Ioffe & Szegedy, 2015), as TF-Slim's `batch_norm`.

  In training, normalizes with the batch mean and variance over every axis
  but the channel axis and updates `moving_mean` / `moving_variance`; in
  inference, normalizes with the moving statistics. When training, the
  update ops go into `updates_collections` (run them with the train op), or,
  with `updates_collections=None`, run before the output is returned.

  Args:
    inputs: a tensor of rank >= 2 with a known channel dimension (last, or
      axis 1 for 'NCHW').
    decay: the moving-average decay, e.g. 0.999 or 0.99.
    center: whether to add the learned offset `beta`.
    scale: whether to multiply by the learned `gamma`.
    epsilon: added to the variance to avoid dividing by zero.
    activation_fn: applied last; None for linear.
    param_initializers: optional dict of initializers keyed by 'beta',
      'gamma', 'moving_mean', 'moving_variance'.
    param_regularizers: optional dict of regularizers keyed by 'beta',
      'gamma'.
    updates_collections: collections for the update ops, or None to update
      in place.
    is_training: a Python bool or a scalar bool tensor.
    reuse: whether to reuse the layer's variables.
    variables_collections: a list, or a dict keyed by 'beta', 'gamma',
      'moving_mean', 'moving_variance'.
    outputs_collections: collections to add the output to.
    trainable: whether `beta` and `gamma` are trainable (the moving
      statistics never are).
    batch_weights: optional `[batch]` weights of the examples in the
      statistics.
    fused: None or True to use the fused kernel where possible (4-D or 2-D
      inputs, no `batch_weights`, no `adjustment`); False never uses it.
    data_format: 'NHWC' (channels last) or 'NCHW' (channels at axis 1).
    zero_debias_moving_mean: zero-debias the moving mean (adds
      `moving_mean/biased` and `moving_mean/local_step`).
    scope: the variable scope; default 'BatchNorm'.
    renorm: batch renormalization is not supported; must be False.
    renorm_clipping: unused (renorm only).
    renorm_decay: unused (renorm only).
    adjustment: optional fn(shape of inputs) -> (scale, offset) applied to
      the normalized values in training, before gamma and beta.

  Returns:
    The normalized tensor, same shape as `inputs`.

  Raises:
    NotImplementedError: if `renorm` is True.
    ValueError: for a bad `data_format`, an unknown rank, a rank below 2 or
      an unknown channel dimension.
  """
  del renorm_clipping, renorm_decay  # Only meaningful with renorm.
  if renorm:
    raise NotImplementedError(
        'batch_norm: renorm=True (batch renormalization) is not supported; '
        'use renorm=False.')
  utils.check_data_format(data_format, ('NHWC', 'NCHW'))
  with tf1.variable_scope(scope, 'BatchNorm', [inputs], reuse=reuse) as sc:
    inputs = tf.convert_to_tensor(inputs)
    inputs_shape = inputs.shape
    rank = inputs_shape.rank
    if rank is None or rank < 2:
      shown = 'unknown rank' if rank is None else f'shape {inputs_shape}'
      raise ValueError('batch_norm: inputs must have a known rank >= 2; '
                       f'received a tensor of {shown}.')
    channels_first = data_format == 'NCHW'
    channels = tf.compat.dimension_value(
        inputs_shape[1] if channels_first else inputs_shape[-1])
    if channels is None:
      raise ValueError('batch_norm: the channel dimension of inputs must be '
                       f'known; received shape {inputs_shape} with '
                       f'data_format {data_format!r}.')
    params_shape = [channels]
    dtype = _variable_dtype(inputs.dtype.base_dtype)
    if fused is None:
      fused = True
    custom_updates = updates_collections != _UPDATE_OPS
    possible_to_fuse = (batch_weights is None and adjustment is None and
                        rank in (2, 4))
    use_fused = fused and possible_to_fuse
    # TF-Slim's default path (tf.layers) made gamma before beta; its own
    # fused and legacy paths made beta first. Checkpoints record the order.
    gamma_first = (batch_weights is None and not custom_updates and
                   not zero_debias_moving_mean and
                   not (use_fused and rank == 2))
    param_regularizers = param_regularizers or {}
    beta = gamma = None

    def make_beta():
      return _make_param('beta', params_shape, dtype, param_initializers,
                         tf1.zeros_initializer(),
                         param_regularizers.get('beta'),
                         variables_collections, trainable)

    def make_gamma():
      return _make_param('gamma', params_shape, dtype, param_initializers,
                         tf1.ones_initializer(),
                         param_regularizers.get('gamma'),
                         variables_collections, trainable)

    if gamma_first:
      gamma = make_gamma() if scale else None
      beta = make_beta() if center else None
    else:
      beta = make_beta() if center else None
      gamma = make_gamma() if scale else None
    # The moving statistics are never partitioned (as in TF-Slim).
    with tf1.variable_scope(tf1.get_variable_scope()) as local_scope:
      local_scope.set_partitioner(None)
      moving_mean = _make_param('moving_mean', params_shape, dtype,
                                param_initializers, tf1.zeros_initializer(),
                                None, variables_collections, False)
      moving_variance = _make_param('moving_variance', params_shape, dtype,
                                    param_initializers,
                                    tf1.ones_initializer(), None,
                                    variables_collections, False)

    is_training_value = utils.constant_value(is_training)
    need_updates = is_training_value is None or bool(is_training_value)

    # Made here, not inside a tf.cond branch of the update.
    zero_debias_vars = (_zero_debias_variables(moving_mean)
                        if zero_debias_moving_mean and need_updates else None)

    def updates(mean, variance):
      return (_assign_moving_average(moving_mean, mean, decay,
                                     zero_debias_vars),
              _assign_moving_average(moving_variance, variance, decay))

    if use_fused:
      outputs = _fused(inputs, rank, channels, data_format, beta, gamma,
                       moving_mean, moving_variance, epsilon, is_training,
                       need_updates, updates, updates_collections)
    else:
      outputs = _unfused(inputs, rank, channels, data_format, beta, gamma,
                         moving_mean, moving_variance, epsilon, is_training,
                         need_updates, updates, updates_collections,
                         batch_weights, adjustment)
    outputs.set_shape(inputs_shape)
    if activation_fn is not None:
      outputs = activation_fn(outputs)
    return utils.collect_named_outputs(outputs_collections, sc.name, outputs)


def _fused(inputs, rank, channels, data_format, beta, gamma, moving_mean,
           moving_variance, epsilon, is_training, need_updates, updates,
           updates_collections):
  """batch_norm through tf.nn.fused_batch_norm (4-D, or 2-D made 4-D)."""
  original_inputs = inputs
  if rank == 2:
    new_shape = ([-1, channels, 1, 1] if data_format == 'NCHW'
                 else [-1, 1, 1, channels])
    inputs = tf.reshape(inputs, new_shape)
  param_dtype = moving_mean.dtype.base_dtype
  if beta is None:
    beta = tf.constant(0.0, dtype=param_dtype, shape=[channels])
  if gamma is None:
    gamma = tf.constant(1.0, dtype=param_dtype, shape=[channels])

  def training():
    return tf1.nn.fused_batch_norm(inputs, gamma, beta, epsilon=epsilon,
                                   data_format=data_format)

  def inference():
    return tf1.nn.fused_batch_norm(inputs, gamma, beta, mean=moving_mean,
                                   variance=moving_variance, epsilon=epsilon,
                                   is_training=False, data_format=data_format)

  outputs, mean, variance = utils.smart_cond(is_training, training, inference)
  if need_updates:
    if updates_collections is None:

      def force_updates():
        with tf.control_dependencies(updates(mean, variance)):
          return tf.identity(outputs)

      outputs = utils.smart_cond(is_training, force_updates, lambda: outputs)
    else:
      update_mean, update_variance = utils.smart_cond(
          is_training, lambda: updates(mean, variance),
          lambda: (tf.identity(moving_mean), tf.identity(moving_variance)))
      tf1.add_to_collections(updates_collections, update_mean)
      tf1.add_to_collections(updates_collections, update_variance)
  if rank == 2:
    outputs = tf.reshape(outputs, tf.shape(original_inputs))
  return outputs


def _unfused(inputs, rank, channels, data_format, beta, gamma, moving_mean,
             moving_variance, epsilon, is_training, need_updates, updates,
             updates_collections, batch_weights, adjustment):
  """batch_norm from moments and tf.nn.batch_normalization."""
  if data_format == 'NCHW':
    moments_axes = [0] + list(range(2, rank))
    broadcast_shape = [1, channels] + [1] * (rank - 2)
  else:
    moments_axes = list(range(rank - 1))
    broadcast_shape = None
  if need_updates:
    if batch_weights is None:
      mean, variance = tf.nn.moments(inputs, moments_axes)
    else:
      batch_weights = tf.convert_to_tensor(batch_weights, inputs.dtype)
      inputs.shape[0:1].assert_is_compatible_with(batch_weights.shape)
      batch_weights = tf.reshape(batch_weights, [-1] + [1] * (rank - 1))
      mean, variance = tf.nn.weighted_moments(inputs, moments_axes,
                                              batch_weights)
    mean = tf.cast(mean, moving_mean.dtype.base_dtype)
    variance = tf.cast(variance, moving_variance.dtype.base_dtype)

    def moving_vars():
      return tf.identity(moving_mean), tf.identity(moving_variance)

    if updates_collections is None:

      def force_updates():
        with tf.control_dependencies(updates(mean, variance)):
          return tf.identity(mean), tf.identity(variance)

      mean, variance = utils.smart_cond(is_training, force_updates,
                                        moving_vars)
    else:
      update_mean, update_variance = utils.smart_cond(
          is_training, lambda: updates(mean, variance), moving_vars)
      tf1.add_to_collections(updates_collections, update_mean)
      tf1.add_to_collections(updates_collections, update_variance)
      batch_mean, batch_variance = mean, variance
      mean, variance = utils.smart_cond(
          is_training, lambda: (batch_mean, batch_variance), moving_vars)
  else:
    mean, variance = moving_mean, moving_variance
  offset, scale = beta, gamma
  if adjustment is not None:
    adj_scale, adj_bias = adjustment(tf.shape(inputs))
    adj_scale, adj_bias = utils.smart_cond(
        is_training, lambda: (adj_scale, adj_bias),
        lambda: (tf.ones_like(adj_scale), tf.zeros_like(adj_bias)))
  if broadcast_shape is not None:
    mean = tf.reshape(mean, broadcast_shape)
    variance = tf.reshape(variance, broadcast_shape)
    if offset is not None:
      offset = tf.reshape(offset, broadcast_shape)
    if scale is not None:
      scale = tf.reshape(scale, broadcast_shape)
  if adjustment is not None:
    # Normalize, apply the adjustment, then gamma and beta.
    new_scale = adj_scale if scale is None else adj_scale * scale
    new_offset = adj_bias if scale is None else adj_bias * scale
    if offset is not None:
      new_offset += offset
    scale, offset = new_scale, new_offset
  dtype = inputs.dtype.base_dtype
  cast = lambda t: None if t is None else tf.cast(t, dtype)
  return tf.nn.batch_normalization(inputs, cast(mean), cast(variance),
                                   cast(offset), cast(scale), epsilon)


@add_arg_scope
def layer_norm(inputs,
               center=True,
               scale=True,
               activation_fn=None,
               reuse=None,
               variables_collections=None,
               outputs_collections=None,
               trainable=True,
               begin_norm_axis=1,
               begin_params_axis=-1,
               scope=None,
               epsilon=None):
  """Layer normalization (Ba et al., 2016), as TF-Slim's `layer_norm`.

  Normalizes over axes `begin_norm_axis:` with the per-example mean and
  variance (plus `epsilon`), then applies `gamma` and `beta` of shape
  `inputs.shape[begin_params_axis:]`.

  Args:
    inputs: a tensor of known rank; `inputs.shape[begin_params_axis:]` must
      be fully defined.
    center: whether to add the learned `beta`.
    scale: whether to multiply by the learned `gamma`.
    activation_fn: applied last; None for linear.
    reuse: whether to reuse the layer's variables.
    variables_collections: a list, or a dict keyed by 'beta'/'gamma'.
    outputs_collections: collections to add the output to.
    trainable: whether the variables are trainable.
    begin_norm_axis: first axis normalized over; negative counts from the
      end.
    begin_params_axis: first axis of the parameter shape; negative counts
      from the end.
    scope: the variable scope; default 'LayerNorm'.
    epsilon: added to the variance; None keeps TF-Slim's 1e-12 (1e-3 for
      float16). A network computes its published function only with the
      epsilon it was trained with (ConvNeXt: 1e-6).

  Returns:
    The normalized tensor, same shape as `inputs`.

  Raises:
    ValueError: for an unknown rank, an axis out of range or an undefined
      parameter shape.
  """
  with tf1.variable_scope(scope, 'LayerNorm', [inputs], reuse=reuse) as sc:
    inputs = tf.convert_to_tensor(inputs)
    inputs_shape = inputs.shape
    rank = inputs_shape.rank
    if rank is None:
      raise ValueError('layer_norm: inputs must have a known rank; received '
                       'a tensor of unknown rank.')
    dtype = inputs.dtype.base_dtype
    if begin_norm_axis < 0:
      begin_norm_axis = rank + begin_norm_axis
    if (begin_params_axis >= rank or begin_norm_axis >= rank or
        begin_norm_axis < 0 or begin_params_axis < -rank):
      raise ValueError(
          f'layer_norm: begin_params_axis ({begin_params_axis}) and '
          f'begin_norm_axis ({begin_norm_axis}) must be valid axes of inputs '
          f'of rank {rank} (shape {inputs_shape}).')
    params_shape = inputs_shape[begin_params_axis:]
    if not params_shape.is_fully_defined():
      raise ValueError(
          f'layer_norm: inputs.shape[{begin_params_axis}:] must be fully '
          f'defined; received shape {inputs_shape}.')
    beta = gamma = None
    if center:
      beta = _make_param('beta', params_shape, dtype, None,
                         tf1.zeros_initializer(), None,
                         variables_collections, trainable)
    if scale:
      gamma = _make_param('gamma', params_shape, dtype, None,
                          tf1.ones_initializer(), None,
                          variables_collections, trainable)
    norm_axes = list(range(begin_norm_axis, rank))
    mean, variance = tf.nn.moments(inputs, norm_axes, keepdims=True)
    if epsilon is None:
      epsilon = 1e-12 if dtype != tf.float16 else 1e-3
    outputs = tf.nn.batch_normalization(inputs, mean, variance, offset=beta,
                                        scale=gamma,
                                        variance_epsilon=epsilon)
    outputs.set_shape(inputs_shape)
    if activation_fn is not None:
      outputs = activation_fn(outputs)
    return utils.collect_named_outputs(outputs_collections, sc.name, outputs)


@add_arg_scope
def local_response_normalization(inputs, depth_radius=5, bias=1.0, alpha=1.0,
                                 beta=0.5, name=None):
  """tf.nn.lrn for training graphs: the same function, a faster gradient.

  `output = inputs / (bias + alpha * sqr_sum) ** beta`, where `sqr_sum`
  sums the squares of the `2 * depth_radius + 1` channels around each one
  (the last axis). The window sum is a matmul with a 0/1 band matrix, and
  the gradient is written out (one more band matmul): TensorFlow's CPU
  `LRNGrad` kernel is scalar code, and took a fifth of a CifarNet training
  step (batch 32, TF 2.21), about 4x what this takes. Values agree with
  tf.nn.lrn to float32 round-off (the sums run in another order); there
  are no variables, so checkpoints do not care. Inference graphs can keep
  tf.nn.lrn, the op exporters and TFLite know.

  Args:
    inputs: a 4-D float tensor, channels last.
    depth_radius: half-width of the channel window.
    bias: added to the scaled sum; keep it positive.
    alpha: scale of the sum of squares.
    beta: exponent.
    name: name scope of the ops.

  Returns:
    The normalized tensor, same shape and dtype as `inputs`.

  Raises:
    ValueError: if `inputs` is not 4-D with a known channel count.
  """
  with tf.name_scope(name or 'LRN'):
    inputs = tf.convert_to_tensor(inputs)
    if inputs.shape.rank != 4 or inputs.shape[-1] is None:
      raise ValueError('local_response_normalization: inputs must be 4-D '
                       'with a known channel count; received shape '
                       f'{inputs.shape}.')
    channels = inputs.shape[-1]
    offsets = np.arange(channels)
    band = tf.constant(
        np.abs(offsets[:, None] - offsets[None, :]) <= depth_radius,
        dtype=inputs.dtype)

    @tf.custom_gradient
    def normalize(flat):
      denominator = bias + alpha * tf.matmul(tf.square(flat), band)
      scale = _negative_power(denominator, beta)
      outputs = flat * scale

      def grad(upstream):
        # d out_i / d x_k = [i == k] * scale_i
        #                   - 2 alpha beta x_k out_i / d_i [k in window(i)]
        window_sum = tf.matmul(upstream * outputs / denominator, band)
        return upstream * scale - (2.0 * alpha * beta) * flat * window_sum

      return outputs, grad

    flat = tf.reshape(inputs, [-1, channels])
    return tf.reshape(normalize(flat), tf.shape(inputs))


def _negative_power(base, exponent):
  """`base ** -exponent`, by square roots for CifarNet/AlexNet's 0.75 and
  for 0.5 (tf.pow runs exp(log) per element, several times slower)."""
  if exponent == 0.75:
    inverse_root = tf.math.rsqrt(base)
    return inverse_root * tf.sqrt(inverse_root)
  if exponent == 0.5:
    return tf.math.rsqrt(base)
  return tf.pow(base, -exponent)
