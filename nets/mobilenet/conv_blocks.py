"""Convolution blocks for MobileNet v2/v3 (and the helpers MobileNet v1 shares).

* `expanded_conv`: the inverted-residual bottleneck (1x1 expansion, depthwise,
  optional transform such as squeeze-excite, linear 1x1 projection, residual).
  With `depthwise_location=None` and a k x k `expansion_fn` it is the "fused"
  block of MobileNet-EdgeTPU.
* `squeeze_excite`: channel gating (MobileNet v3).
* `split_conv`, `split_separable_conv2d`: grouped 1x1 and V1-style separable
  convolutions.
* `expand_input_by_factor`, `make_divisible`: the channel rounding rules
  every MobileNet uses (explicit padding is `zoo.fixed_padding`).

Scope names, op names ('expansion_output', 'depthwise_output', 'output') and
the order of operations are the original's: they are checkpoint and
end-point API.
"""
import contextlib
import functools

import tensorflow as tf

import slim
from nets import zoo

tf1 = tf.compat.v1

__all__ = ['expanded_conv', 'squeeze_excite', 'split_conv',
           'split_separable_conv2d', 'expand_input_by_factor',
           'make_divisible']

_DEPTHWISE_LOCATIONS = (None, 'input', 'output', 'expansion')


def make_divisible(v, divisor, min_value=None):
  """Rounds `v` to the nearest multiple of `divisor`, at least `min_value`.

  Never rounds down by more than 10%: 0.9 * v is the floor.

  Args:
    v: the nominal value (may be a float).
    divisor: the multiple to round to.
    min_value: the smallest result; defaults to `divisor`.

  Returns:
    The rounded value, an int.
  """
  if min_value is None:
    min_value = divisor
  new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
  # Make sure that round down does not go down by more than 10%.
  if new_v < 0.9 * v:
    new_v += divisor
  return int(new_v)


def _split_divisible(num, num_ways, divisible_by=8):
  """Splits `num` in `num_ways` pieces, each a multiple of `divisible_by`."""
  if num % divisible_by or num / num_ways < divisible_by:
    raise ValueError(f'Cannot split {num} channels {num_ways} ways into '
                     f'multiples of divisible_by={divisible_by}.')
  # Round down, then grow each split until the running total catches up.
  base = num // num_ways // divisible_by * divisible_by
  result = []
  accumulated = 0
  for i in range(num_ways):
    r = base
    while accumulated + r < num * (i + 1) / num_ways:
      r += divisible_by
    result.append(r)
    accumulated += r
  return result


@contextlib.contextmanager
def _v1_compatible_scope_naming(scope):
  """Yields the scope prefix for V1-style '<scope>_depthwise' names."""
  if scope is None:  # Create uniquified separable blocks.
    with tf1.variable_scope(None, default_name='separable') as s, \
         tf1.name_scope(s.original_name_scope):
      yield ''
  else:
    # '<scope>_depthwise' / '<scope>_pointwise', as in V1 checkpoints.
    yield scope + '_'


@slim.add_arg_scope
def split_separable_conv2d(input_tensor,
                           num_outputs,
                           scope=None,
                           normalizer_fn=None,
                           stride=1,
                           rate=1,
                           endpoints=None,
                           use_explicit_padding=False):
  """A MobileNet V1 style separable convolution: 3x3 depthwise, 1x1 pointwise.

  Args:
    input_tensor: the input, [batch, height, width, channels].
    num_outputs: channels of the pointwise convolution.
    scope: prefix of the '<scope>_depthwise' and '<scope>_pointwise' scopes;
      None makes a unique 'separable' scope.
    normalizer_fn: normalizer of both convolutions.
    stride: stride of the depthwise convolution.
    rate: dilation rate of the depthwise convolution.
    endpoints: optional dict that receives both outputs.
    use_explicit_padding: pad explicitly and convolve with VALID padding.

  Returns:
    The output tensor.
  """
  with _v1_compatible_scope_naming(scope) as scope:
    dw_scope = scope + 'depthwise'
    endpoints = endpoints if endpoints is not None else {}
    kernel_size = [3, 3]
    padding = 'SAME'
    if use_explicit_padding:
      padding = 'VALID'
      input_tensor = zoo.fixed_padding(input_tensor, kernel_size, rate)
    net = slim.separable_conv2d(
        input_tensor, None, kernel_size, depth_multiplier=1, stride=stride,
        rate=rate, normalizer_fn=normalizer_fn, padding=padding,
        scope=dw_scope)
    endpoints[dw_scope] = net

    pw_scope = scope + 'pointwise'
    net = slim.conv2d(net, num_outputs, [1, 1], stride=1,
                      normalizer_fn=normalizer_fn, scope=pw_scope)
    endpoints[pw_scope] = net
  return net


def expand_input_by_factor(n, divisible_by=8):
  """Returns an `expansion_size` function: input channels * n, rounded."""
  return lambda num_inputs, **_: make_divisible(num_inputs * n, divisible_by)


def split_conv(input_tensor,
               num_outputs,
               num_ways,
               scope,
               divisible_by=8,
               **kwargs):
  """A 1x1 convolution split into `num_ways` independent groups.

  The i-th group of input channels feeds only the i-th group of outputs. With
  `num_ways == 1`, or groups narrower than `divisible_by`, it is a plain 1x1
  convolution named `scope`; otherwise the groups are '<scope>_part_<i>'.

  Args:
    input_tensor: the input, [batch, height, width, channels].
    num_outputs: the number of output channels.
    num_ways: the number of groups.
    scope: the scope of the convolution.
    divisible_by: every group's width is a multiple of this.
    **kwargs: passed to `slim.conv2d`.

  Returns:
    The output tensor.
  """
  b = input_tensor.get_shape().as_list()[3]

  if num_ways == 1 or min(b // num_ways,
                          num_outputs // num_ways) < divisible_by:
    # No splitting if either side would get fewer than divisible_by filters.
    return slim.conv2d(input_tensor, num_outputs, [1, 1], scope=scope,
                       **kwargs)

  outs = []
  input_splits = _split_divisible(b, num_ways, divisible_by=divisible_by)
  output_splits = _split_divisible(num_outputs, num_ways,
                                   divisible_by=divisible_by)
  inputs = tf.split(input_tensor, input_splits, axis=3, name='split_' + scope)
  base = scope
  for i, (part, out_size) in enumerate(zip(inputs, output_splits)):
    scope = base + '_part_%d' % (i,)
    n = slim.conv2d(part, out_size, [1, 1], scope=scope, **kwargs)
    n = tf.identity(n, scope + '_output')
    outs.append(n)
  return tf.concat(outs, 3, name=scope + '_concat')


@slim.add_arg_scope
def expanded_conv(input_tensor,
                  num_outputs,
                  expansion_size=expand_input_by_factor(6),
                  stride=1,
                  rate=1,
                  kernel_size=(3, 3),
                  residual=True,
                  normalizer_fn=None,
                  split_projection=1,
                  split_expansion=1,
                  split_divisible_by=8,
                  expansion_transform=None,
                  depthwise_location='expansion',
                  depthwise_channel_multiplier=1,
                  endpoints=None,
                  use_explicit_padding=False,
                  padding='SAME',
                  inner_activation_fn=None,
                  depthwise_activation_fn=None,
                  project_activation_fn=tf.identity,
                  depthwise_fn=slim.separable_conv2d,
                  expansion_fn=split_conv,
                  projection_fn=split_conv,
                  scope=None):
  """Depthwise convolution block with expansion (the inverted residual).

  input -> [expand 1x1] -> [depthwise k x k] -> [expansion_transform]
  -> project 1x1 (linear) -> [+ input]. The ops 'expansion_output',
  'depthwise_output' and 'output' go into `endpoints`; `mobilenet_base`
  passes a dict and records them as '<layer>/expansion_output', ...

  Args:
    input_tensor: the input, [batch, height, width, channels].
    num_outputs: channels of the projection.
    expansion_size: channels of the expansion, or a function
      `(num_inputs) -> size`; no expansion is made when it is not larger
      than the input depth.
    stride: the depthwise stride.
    rate: the depthwise dilation rate.
    kernel_size: the depthwise kernel.
    residual: add the input to the output when stride is 1 and the depths
      match; or a function `(input_tensor, output_tensor) -> tensor`.
    normalizer_fn: normalizer of every convolution.
    split_projection: groups of the projection (see `split_conv`).
    split_expansion: groups of the expansion.
    split_divisible_by: channel granularity of the groups.
    expansion_transform: optional `(expansion_tensor, input_tensor) ->
      tensor` applied after the depthwise (squeeze-excite in MobileNet v3).
    depthwise_location: where the depthwise goes: 'expansion' (after the
      expansion), 'input', 'output' (after the projection) or None (no
      depthwise: the "fused" block, whose `expansion_fn` holds the kernel).
    depthwise_channel_multiplier: the depthwise channel multiplier.
    endpoints: optional dict that receives 'expansion_output',
      'depthwise_output' (when built) and 'output'.
    use_explicit_padding: pad explicitly before the depthwise and use VALID
      padding; requires `padding='SAME'`.
    padding: padding of the depthwise convolution.
    inner_activation_fn: activation of the expansion and the depthwise;
      None keeps the arg_scope's.
    depthwise_activation_fn: activation of the depthwise; None keeps
      `inner_activation_fn` (or the arg_scope's).
    project_activation_fn: activation of the projection (linear).
    depthwise_fn: the depthwise layer.
    expansion_fn: the expansion layer, `(net, size, scope=, normalizer_fn=)`.
    projection_fn: the projection layer, same signature.
    scope: the block's scope; default 'expanded_conv', uniquified.

  Returns:
    The block's output, named '<scope>/output'.

  Raises:
    ValueError: for an unknown `depthwise_location`, or
      `use_explicit_padding` with a padding other than 'SAME'.
  """
  conv_defaults = {}
  dw_defaults = {}
  if inner_activation_fn is not None:
    conv_defaults['activation_fn'] = inner_activation_fn
    dw_defaults['activation_fn'] = inner_activation_fn
  if depthwise_activation_fn is not None:
    dw_defaults['activation_fn'] = depthwise_activation_fn
  if depthwise_location not in _DEPTHWISE_LOCATIONS:
    raise ValueError(f'depthwise_location must be one of '
                     f'{_DEPTHWISE_LOCATIONS}. Received: '
                     f'{depthwise_location!r}.')
  if use_explicit_padding:
    if padding != 'SAME':
      raise ValueError('use_explicit_padding requires padding="SAME". '
                       f'Received: padding={padding!r}.')
    padding = 'VALID'
  with tf1.variable_scope(scope, default_name='expanded_conv') as s, \
       tf1.name_scope(s.original_name_scope), \
       slim.arg_scope((slim.conv2d,), **conv_defaults), \
       slim.arg_scope((slim.separable_conv2d,), **dw_defaults):
    prev_depth = input_tensor.get_shape().as_list()[3]
    depthwise_func = functools.partial(
        depthwise_fn,
        num_outputs=None,
        kernel_size=kernel_size,
        depth_multiplier=depthwise_channel_multiplier,
        stride=stride,
        rate=rate,
        normalizer_fn=normalizer_fn,
        padding=padding,
        scope='depthwise')

    def depthwise(net, **kwargs):
      if use_explicit_padding:
        net = zoo.fixed_padding(net, kernel_size, rate)
      net = depthwise_func(net, **kwargs)
      net = tf.identity(net, name='depthwise_output')
      if endpoints is not None:
        endpoints['depthwise_output'] = net
      return net

    # b1 -> b2 * r -> b2
    #   i -> (o * r) (bottleneck) -> o
    input_tensor = tf.identity(input_tensor, 'input')
    net = input_tensor

    if depthwise_location == 'input':
      net = depthwise(net, activation_fn=None)

    if callable(expansion_size):
      inner_size = expansion_size(num_inputs=prev_depth)
    else:
      inner_size = expansion_size

    if inner_size > net.shape[3]:
      if expansion_fn == split_conv:
        expansion_fn = functools.partial(
            expansion_fn, num_ways=split_expansion,
            divisible_by=split_divisible_by, stride=1)
      net = expansion_fn(net, inner_size, scope='expand',
                         normalizer_fn=normalizer_fn)
      net = tf.identity(net, 'expansion_output')
      if endpoints is not None:
        endpoints['expansion_output'] = net

    if depthwise_location == 'expansion':
      net = depthwise(net)

    if expansion_transform:
      net = expansion_transform(expansion_tensor=net, input_tensor=input_tensor)
    # Unlike the expansion, the projection is always there: it produces the
    # output depth.
    if projection_fn == split_conv:
      projection_fn = functools.partial(
          projection_fn, num_ways=split_projection,
          divisible_by=split_divisible_by, stride=1)
    net = projection_fn(net, num_outputs, scope='project',
                        normalizer_fn=normalizer_fn,
                        activation_fn=project_activation_fn)

    if depthwise_location == 'output':
      net = depthwise(net, activation_fn=None)

    if callable(residual):  # Custom residual.
      net = residual(input_tensor=input_tensor, output_tensor=net)
    elif (residual and
          # No residual when the spatial size changes...
          stride == 1 and
          # ... or the depth does.
          net.get_shape().as_list()[3] ==
          input_tensor.get_shape().as_list()[3]):
      net += input_tensor
    net = tf.identity(net, name='output')
    if endpoints is not None:
      endpoints['output'] = net
    return net


@slim.add_arg_scope
def squeeze_excite(input_tensor,
                   divisible_by=8,
                   squeeze_factor=3,
                   inner_activation_fn=tf.nn.relu,
                   gating_fn=tf.sigmoid,
                   squeeze_input_tensor=None,
                   pool=None):
  """Squeeze-and-excite: rescales channels by a gate computed from their means.

  avg pool -> 1x1 conv (channels / squeeze_factor, rounded to
  `divisible_by`, `inner_activation_fn`) -> 1x1 conv (channels,
  `gating_fn`) -> multiply. Both convolutions have biases and no normalizer
  ('squeeze_excite/Conv', 'squeeze_excite/Conv_1').

  Args:
    input_tensor: the tensor to rescale, [batch, height, width, channels].
    divisible_by: granularity of the squeezed width.
    squeeze_factor: the squeezed width is input channels / squeeze_factor.
    inner_activation_fn: activation of the squeeze convolution.
    gating_fn: activation of the excite convolution (the gate).
    squeeze_input_tensor: the tensor the gate is computed from; defaults to
      `input_tensor`.
    pool: if set, average over `pool` x `pool` windows (stride `pool`)
      instead of globally, and resize the gate back bilinearly.

  Returns:
    input_tensor * gate.
  """
  with tf1.variable_scope('squeeze_excite'):
    if squeeze_input_tensor is None:
      squeeze_input_tensor = input_tensor
    input_size = input_tensor.shape.as_list()[1:3]
    pool_height, pool_width = squeeze_input_tensor.shape.as_list()[1:3]
    stride = 1
    if pool is not None and pool_height >= pool:
      pool_height, pool_width, stride = pool, pool, pool
    input_channels = squeeze_input_tensor.shape.as_list()[3]
    output_channels = input_tensor.shape.as_list()[3]
    squeeze_channels = make_divisible(input_channels / squeeze_factor,
                                       divisor=divisible_by)

    pooled = tf.nn.avg_pool2d(squeeze_input_tensor,
                              (1, pool_height, pool_width, 1),
                              strides=(1, stride, stride, 1),
                              padding='VALID')
    squeeze = slim.conv2d(pooled, kernel_size=(1, 1),
                          num_outputs=squeeze_channels,
                          normalizer_fn=None,
                          activation_fn=inner_activation_fn)
    excite = slim.conv2d(squeeze, num_outputs=output_channels,
                         kernel_size=[1, 1],
                         normalizer_fn=None,
                         activation_fn=gating_fn)
    if pool is not None:
      # As in the original: BILINEAR with align_corners=True.
      excite = tf1.image.resize_bilinear(excite, input_size,
                                         align_corners=True)
    result = input_tensor * excite
  return result
