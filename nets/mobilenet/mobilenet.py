"""The generic MobileNet builder: a conv-def table in, a network out.

A conv-def is a dict:

    dict(defaults={(op, ...): {arg: value}},   # arg_scope defaults
         overrides={(op, ...): {arg: value}},  # applied after the defaults
         spec=[op(slim.conv2d, stride=2, num_outputs=32, kernel_size=[3, 3]),
               op(conv_blocks.expanded_conv, num_outputs=16), ...])

`mobilenet_base` runs the spec in order, layer i + 1 becoming end point
'layer_<i+1>' and every output a block records in the `endpoints` dict it is
given becoming '<layer>/<name>' ('layer_3/expansion_output',
'layer_18/output').
Along the way it applies the width multiplier (`depth_multiplier`, rounded to
multiples of 8), atrous convolution for `output_stride` and explicit
padding. `mobilenet` adds the classification head. MobileNet v2 and v3 are
tables fed to these two functions (see mobilenet_v2.py and mobilenet_v3.py)
through `mobilenet_with_depth_multiplier`.
"""
import collections
import contextlib
import copy
import inspect

import tensorflow as tf

import slim
from nets import zoo
from nets.mobilenet import conv_blocks

tf1 = tf.compat.v1

__all__ = ['op', 'NoOpScope', 'safe_arg_scope', 'depth_multiplier',
           'mobilenet_base', 'mobilenet', 'mobilenet_with_depth_multiplier',
           'global_pool', 'training_scope', 'apply_activation']

# The original's class; a context manager that does nothing.
NoOpScope = contextlib.nullcontext


def apply_activation(x, name=None, activation_fn=None):
  """activation_fn(x, name=name), or x when activation_fn is None."""
  return activation_fn(x, name=name) if activation_fn else x


@contextlib.contextmanager
def _set_arg_scope_defaults(defaults):
  """Enters `slim.arg_scope(ops, **args)` for every (ops, args) of `defaults`.

  Args:
    defaults: a dict or a sequence of pairs `(tuple of ops, {arg: value})`,
      entered in order (later entries win).

  Yields:
    None.
  """
  items = list(defaults.items()) if hasattr(defaults, 'items') else defaults
  with contextlib.ExitStack() as stack:
    for func, default_arg in items:
      stack.enter_context(slim.arg_scope(func, **default_arg))
    yield


@slim.add_arg_scope
def depth_multiplier(output_params,
                     multiplier,
                     divisible_by=8,
                     min_depth=8,
                     **unused_kwargs):
  """Scales output_params['num_outputs'] by `multiplier`, in place.

  The result is rounded to a multiple of `divisible_by`, at least
  `min_depth`, never more than 10% below the scaled value. Ops without
  'num_outputs' (depthwise-only, pooling) are left alone.

  Args:
    output_params: an op's parameters (modified in place).
    multiplier: the width multiplier.
    divisible_by: channel granularity.
    min_depth: the smallest number of channels.
    **unused_kwargs: ignored.
  """
  if 'num_outputs' not in output_params:
    return
  d = output_params['num_outputs']
  output_params['num_outputs'] = conv_blocks.make_divisible(
      d * multiplier, divisible_by, min_depth)


_Op = collections.namedtuple('Op', ['op', 'params', 'multiplier_func'])


def op(opfunc, multiplier_func=depth_multiplier, **params):
  """A spec entry: `opfunc(net, **params)`, its width scaled by multiplier_func.

  Args:
    opfunc: the layer or block function.
    multiplier_func: `(params, multiplier) -> None`, scales `params` in
      place; `multiplier_transform` in `params` is an alias.
    **params: the op's arguments.

  Returns:
    An `Op(op, params, multiplier_func)` namedtuple.
  """
  multiplier = params.pop('multiplier_transform', multiplier_func)
  return _Op(opfunc, params=params, multiplier_func=multiplier)


def safe_arg_scope(funcs, **kwargs):
  """`slim.arg_scope(funcs, **kwargs)` with the None-valued kwargs dropped.

  So that `is_training=None` keeps whatever an outer scope set.

  Args:
    funcs: the ops to scope.
    **kwargs: their defaults; None values are ignored.

  Returns:
    An arg_scope, or `contextlib.nullcontext()` when no argument is left.
  """
  filtered_args = {name: value for name, value in kwargs.items()
                   if value is not None}
  if filtered_args:
    return slim.arg_scope(funcs, **filtered_args)
  return contextlib.nullcontext()


@contextlib.contextmanager
def _scope_all(scope, default_scope=None):
  """A variable scope and its original name scope (re-entered, not renamed)."""
  with tf1.variable_scope(scope, default_name=default_scope) as s, \
       tf1.name_scope(s.original_name_scope):
    yield s


def _layer_params(opdef, multiplier, use_explicit_padding, schedule):
  """One spec entry's parameters after width, stride and padding rules.

  Args:
    opdef: the spec entry.
    multiplier: the width multiplier.
    use_explicit_padding: whether the network pads explicitly.
    schedule: the network's `zoo.AtrousSchedule`, advanced by the layer.

  Returns:
    (params, layer_rate, pad_kernel): the op's keyword arguments, its atrous
    rate, and the kernel to pad the input for (None for no padding).
  """
  params = dict(opdef.params)
  opdef.multiplier_func(params, multiplier)
  params['stride'], layer_rate = schedule.step(params.get('stride', 1))
  # Dilate only kernels larger than 1x1 (an absent kernel_size means 3x3).
  if layer_rate > 1 and tuple(params.get('kernel_size', [])) != (1, 1):
    params['rate'] = layer_rate
  pad_kernel = None
  if use_explicit_padding:
    if 'kernel_size' in params:
      pad_kernel = params['kernel_size']
    else:
      params['use_explicit_padding'] = True
  return params, layer_rate, pad_kernel


def _takes_endpoints(opfunc):
  """Whether `opfunc` (a block, or a partial of one) takes `endpoints`."""
  return 'endpoints' in inspect.signature(opfunc).parameters


@slim.add_arg_scope
def mobilenet_base(  # pylint: disable=invalid-name
    inputs,
    conv_defs,
    multiplier=1.0,
    final_endpoint=None,
    output_stride=None,
    use_explicit_padding=False,
    scope=None,
    is_training=False):
  """The MobileNet body (no pooling, no logits) built from `conv_defs`.

  Args:
    inputs: a [batch, height, width, channels] tensor.
    conv_defs: the network's table: {'defaults', 'overrides', 'spec'} (see
      the module docstring).
    multiplier: the width multiplier, applied to every op's 'num_outputs'
      through the op's multiplier_func (depth_multiplier by default).
    final_endpoint: the last end point to build ('layer_<n>'); None builds
      the whole spec.
    output_stride: the largest ratio of input to output spatial size
      (None, 1 or an even number); beyond it convolutions are atrous.
    use_explicit_padding: pad explicitly (independently of the input size)
      and convolve with VALID padding, as TFLite prefers.
    scope: the variable scope; default 'Mobilenet'.
    is_training: batch norm in training mode; None keeps the arg_scope's.

  Returns:
    (net, end_points): the last layer's output and a dict of end points
    ('layer_<i>' and '<layer>/<...>output').

  Raises:
    ValueError: if multiplier <= 0 or output_stride is not None, 1 or a
      multiple of 2.
  """
  if multiplier <= 0:
    raise ValueError('multiplier must be greater than zero. '
                     f'Received: {multiplier!r}.')

  conv_defs_defaults = conv_defs.get('defaults', {})
  conv_defs_overrides = conv_defs.get('overrides', {})
  if use_explicit_padding:
    conv_defs_overrides = copy.deepcopy(conv_defs_overrides)
    conv_defs_overrides[
        (slim.conv2d, slim.separable_conv2d)] = {'padding': 'VALID'}

  if output_stride is not None:
    if output_stride == 0 or (output_stride > 1 and output_stride % 2):
      raise ValueError('output_stride must be None, 1 or a multiple of 2. '
                       f'Received: {output_stride!r}.')

  # Scope, then batch-norm mode, then the table's defaults, then overrides.
  with _scope_all(scope, default_scope='Mobilenet'), \
       safe_arg_scope([slim.batch_norm], is_training=is_training), \
       _set_arg_scope_defaults(conv_defs_defaults), \
       _set_arg_scope_defaults(conv_defs_overrides):
    schedule = zoo.AtrousSchedule(output_stride)
    net = inputs
    end_points = zoo.EndPoints(final_endpoint=final_endpoint)
    for i, opdef in enumerate(conv_defs['spec']):
      params, layer_rate, pad_kernel = _layer_params(
          opdef, multiplier, use_explicit_padding, schedule)
      if pad_kernel is not None:
        net = zoo.fixed_padding(net, pad_kernel, layer_rate)
      end_point = 'layer_%d' % (i + 1)
      # Blocks that name their inner outputs ('expansion_output', ...)
      # record them here, as '<layer>/<name>' end points.
      block_end_points = {}
      if _takes_endpoints(opdef.op):
        params['endpoints'] = block_end_points
      try:
        net = opdef.op(net, **params)
      except Exception:
        tf1.logging.error('Failed to create op %i: %r params: %r', i, opdef,
                          params)
        raise
      stop = end_points.add(end_point, net)
      for name, tensor in block_end_points.items():
        end_points[end_point + '/' + name] = tensor
      if stop:
        break
    return net, end_points


def global_pool(input_tensor, pool_op=tf.nn.avg_pool2d,
                use_reduce_mean_for_pooling=False):
  """Pools a [batch, h, w, c] tensor to [batch, 1, 1, c].

  An average pool over the whole feature map (equivalent to a mean, but
  better supported by accelerators). When h or w is unknown the kernel is a
  tensor, which `tf.nn.avg_pool2d` does not accept: the default pool then
  becomes the equivalent mean (the original failed to build there).

  Args:
    input_tensor: a [batch, height, width, channels] tensor.
    pool_op: the pooling op, `(input, ksize, strides, padding)`.
    use_reduce_mean_for_pooling: use tf.reduce_mean instead.

  Returns:
    The pooled [batch, 1, 1, channels] tensor.
  """
  if use_reduce_mean_for_pooling:
    return tf.reduce_mean(input_tensor, [1, 2], keepdims=True,
                          name='ReduceMean')
  shape = input_tensor.get_shape().as_list()
  if (shape[1] is None or shape[2] is None) and pool_op is tf.nn.avg_pool2d:
    return tf.reduce_mean(input_tensor, [1, 2], keepdims=True, name='AvgPool')
  if shape[1] is None or shape[2] is None:
    kernel_size = tf.convert_to_tensor(value=[
        1, tf.shape(input=input_tensor)[1], tf.shape(input=input_tensor)[2], 1
    ])
  else:
    kernel_size = [1, shape[1], shape[2], 1]
  output = pool_op(input_tensor, ksize=kernel_size, strides=[1, 1, 1, 1],
                   padding='VALID')
  # Recover the static shape when the kernel was dynamic.
  output.set_shape([None, 1, 1, None])
  return output


@slim.add_arg_scope
def mobilenet(inputs,
              num_classes=1001,
              prediction_fn=slim.softmax,
              reuse=None,
              scope='Mobilenet',
              base_only=False,
              use_reduce_mean_for_pooling=False,
              **mobilenet_args):
  """A MobileNet classifier: `mobilenet_base`, global pool, dropout, 1x1 logits.

  Args:
    inputs: a [batch, height, width, channels] tensor.
    num_classes: number of classes; 0 or None returns the pooled features
      (end point 'global_pool') instead of logits.
    prediction_fn: turns logits into 'Predictions' (None to skip).
    reuse: whether to reuse the network's variables.
    scope: the variable scope.
    base_only: return the body's output and end points (no pooling).
    use_reduce_mean_for_pooling: pool with tf.reduce_mean.
    **mobilenet_args: passed to `mobilenet_base` (conv_defs, multiplier,
      final_endpoint, output_stride, use_explicit_padding, is_training).

  Returns:
    (logits, end_points); logits are [batch, num_classes], named
    '<scope>/Logits/output'.

  Raises:
    ValueError: if `inputs` is not of rank 4.
  """
  is_training = mobilenet_args.get('is_training', False)
  input_shape = inputs.get_shape().as_list()
  if len(input_shape) != 4:
    raise ValueError('inputs must be of rank 4 [batch, height, width, '
                     f'channels]. Received shape: {input_shape}.')

  with tf1.variable_scope(scope, 'Mobilenet', reuse=reuse) as scope:
    inputs = tf.identity(inputs, 'input')
    net, end_points = mobilenet_base(inputs, scope=scope, **mobilenet_args)
    if base_only:
      return net, end_points

    net = tf.identity(net, name='embedding')

    with tf1.variable_scope('Logits'):
      net = global_pool(net,
                        use_reduce_mean_for_pooling=use_reduce_mean_for_pooling)
      end_points['global_pool'] = net
      if not num_classes:
        return net, end_points
      net = slim.dropout(net, scope='Dropout', is_training=is_training)
      # 1 x 1 x num_classes. 'Conv2d_1c_1x1' is the legacy (V1) name.
      logits = slim.conv2d(net, num_classes, [1, 1],
                           activation_fn=None,
                           normalizer_fn=None,
                           biases_initializer=tf1.zeros_initializer(),
                           scope='Conv2d_1c_1x1')
      logits = tf.squeeze(logits, [1, 2])
      logits = tf.identity(logits, name='output')
    end_points['Logits'] = logits
    if prediction_fn:
      end_points['Predictions'] = prediction_fn(logits, 'Predictions')
  return logits, end_points


def mobilenet_with_depth_multiplier(network, input_tensor, conv_defs,
                                    depth_multiplier, **kwargs):
  """`mobilenet` as the v2 and v3 modules expose it: `depth_multiplier`.

  Their public `mobilenet` takes the original's `depth_multiplier` and
  passes it on as this module's `multiplier`; a caller passing the generic
  `multiplier` as well would get two multipliers, so it is refused.

  Args:
    network: the caller's name, for the message ('mobilenet_v2', ...).
    input_tensor: a [batch, height, width, channels] tensor.
    conv_defs: the table to build.
    depth_multiplier: the width multiplier.
    **kwargs: passed to `mobilenet` (num_classes, scope, is_training, ...).

  Returns:
    (logits, end_points).

  Raises:
    ValueError: if `multiplier` is in `kwargs`.
  """
  if 'multiplier' in kwargs:
    raise ValueError(f'{network} does not take the generic `multiplier`; '
                     f'use depth_multiplier. Received: multiplier='
                     f'{kwargs["multiplier"]!r}.')
  return mobilenet(input_tensor, conv_defs=conv_defs,
                   multiplier=depth_multiplier, **kwargs)


def training_scope(is_training=True,
                   weight_decay=0.00004,
                   stddev=0.09,
                   dropout_keep_prob=0.8,
                   bn_decay=0.997):
  """The MobileNet v2/v3 arg_scope: initializers, regularizer, BN, dropout.

  Only training-related defaults live here; anything that changes the
  inference graph belongs in the conv-def table.

  Args:
    is_training: the default mode of batch norm, dropout and the network
      functions; None leaves batch norm and dropout to the caller.
    weight_decay: L2 weight decay of the conv weights (not the depthwise).
    stddev: stddev of the truncated-normal weight initializer; negative
      for Xavier.
    dropout_keep_prob: the dropout keep probability; None for the layer's
      default.
    bn_decay: the batch-norm moving-average decay.

  Returns:
    An arg_scope dict to re-enter with `slim.arg_scope(...)`.
  """
  batch_norm_params = {'decay': bn_decay, 'is_training': is_training}
  if stddev < 0:
    weight_initializer = slim.initializers.xavier_initializer()
  else:
    weight_initializer = zoo.trunc_normal(stddev)

  with slim.arg_scope(
      [slim.conv2d, slim.fully_connected, slim.separable_conv2d],
      weights_initializer=weight_initializer,
      normalizer_fn=slim.batch_norm), \
      slim.arg_scope([mobilenet_base, mobilenet], is_training=is_training), \
      safe_arg_scope([slim.batch_norm], **batch_norm_params), \
      safe_arg_scope([slim.dropout], is_training=is_training,
                     keep_prob=dropout_keep_prob), \
      slim.arg_scope([slim.conv2d],
                     weights_regularizer=slim.l2_regularizer(weight_decay)), \
      slim.arg_scope([slim.separable_conv2d], weights_regularizer=None) as s:
    return s
