"""Convolution layers: N-d convolution, in-plane, transposed and separable.

Same arguments, defaults, scope names, variable names (`weights`, `biases`,
`depthwise_weights`, `pointwise_weights`) and op names (`<scope>/Conv2D`,
`<scope>/BiasAdd`, `<scope>/Relu`) as TF-Slim, built from `tf.nn` ops.
"""
import functools
import inspect

import tensorflow as tf

from slim import initializers
from slim import precision
from slim.layers import utils
from slim.scopes import add_arg_scope

tf1 = tf.compat.v1

__all__ = [
    'conv1d', 'conv2d', 'conv2d_in_plane', 'conv2d_transpose', 'conv3d',
    'conv3d_transpose', 'convolution', 'convolution1d', 'convolution2d',
    'convolution2d_in_plane', 'convolution2d_transpose', 'convolution3d',
    'convolution3d_transpose', 'separable_conv2d', 'separable_convolution2d',
]

# data_format values accepted by `convolution`, by input rank.
_CONV_DATA_FORMATS = {3: ('NWC', 'NCW'), 4: ('NHWC', 'NCHW'),
                      5: ('NDHWC', 'NCDHW')}
_ALL_CONV_DATA_FORMATS = (None, 'NWC', 'NCW', 'NHWC', 'NCHW', 'NDHWC',
                          'NCDHW')
_CONV_OP_NAMES = {1: 'Conv1D', 2: 'Conv2D', 3: 'Conv3D'}


def _channels_first(data_format):
  return bool(data_format) and data_format.startswith('NC')


def _spatial_strides(values, data_format):
  """[1, *values, 1] for channels last, [1, 1, *values] for channels first."""
  if _channels_first(data_format):
    return [1, 1] + list(values)
  return [1] + list(values) + [1]


@add_arg_scope
def convolution(inputs,
                num_outputs,
                kernel_size,
                stride=1,
                padding='SAME',
                data_format=None,
                rate=1,
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
                scope=None,
                conv_dims=None):
  """An N-d convolution (N = 1, 2 or 3, from the rank of `inputs`).

  Creates `weights` of shape `kernel_size + [in_channels, num_outputs]`
  and, unless a `normalizer_fn` is given or `biases_initializer` is None,
  `biases` of shape `[num_outputs]`. Then applies `normalizer_fn` and
  `activation_fn`.

  Args:
    inputs: a tensor of rank N+2, `[batch] + spatial + [channels]` (or
      channels first when `data_format` starts with 'NC').
    num_outputs: the number of output channels.
    kernel_size: an int or a list of N ints.
    stride: an int or a list of N ints.
    padding: 'SAME' or 'VALID' (any case).
    data_format: None (channels last) or one of 'NWC', 'NCW', 'NHWC',
      'NCHW', 'NDHWC', 'NCDHW', matching the rank of `inputs`.
    rate: the dilation rate, an int or a list of N ints. `rate` > 1 and
      `stride` > 1 cannot be combined.
    activation_fn: applied last; None for a linear layer.
    normalizer_fn: e.g. `slim.batch_norm`; when set, no biases are made.
    normalizer_params: kwargs for `normalizer_fn`.
    weights_initializer: initializer of the weights.
    weights_regularizer: optional regularizer of the weights.
    biases_initializer: initializer of the biases; None for no biases.
    biases_regularizer: optional regularizer of the biases.
    reuse: whether to reuse the layer's variables (`scope` must be given).
    variables_collections: extra collections for the variables: a list, or
      a dict keyed by 'weights' / 'biases'.
    outputs_collections: collections to add the output to (alias: the
      scope name).
    trainable: whether the variables are trainable.
    scope: the variable scope; default 'Conv'.
    conv_dims: if set, the required N; checked against the input rank.

  Returns:
    The output tensor.

  Raises:
    ValueError: for a bad rank, `data_format`, `padding`, `kernel_size`,
      `stride`, `rate` or unknown channel dimension.
  """
  if data_format not in _ALL_CONV_DATA_FORMATS:
    raise ValueError(f'convolution: data_format must be one of '
                     f'{list(_ALL_CONV_DATA_FORMATS)}; received '
                     f'{data_format!r}.')
  with tf1.variable_scope(scope, 'Conv', [inputs], reuse=reuse) as sc:
    inputs = tf.convert_to_tensor(inputs)
    input_rank = inputs.shape.rank
    if conv_dims is not None and input_rank != conv_dims + 2:
      raise ValueError(
          f'convolution{conv_dims}d: inputs must have rank {conv_dims + 2}; '
          f'received a tensor of rank {input_rank} (shape {inputs.shape}).')
    rank = utils.check_rank(inputs, (3, 4, 5), 'convolution')
    if data_format is not None and data_format not in _CONV_DATA_FORMATS[rank]:
      raise ValueError(
          f'convolution: data_format must be one of '
          f'{list(_CONV_DATA_FORMATS[rank])} or None for inputs of rank '
          f'{rank}; received {data_format!r}.')
    utils.check_positive_int(num_outputs, 'num_outputs', 'convolution')
    n = rank - 2
    kernel = utils.n_positive_integers(n, kernel_size, 'kernel_size')
    strides = utils.n_positive_integers(n, stride, 'stride')
    dilations = utils.n_positive_integers(n, rate, 'rate')
    if max(strides) > 1 and max(dilations) > 1:
      raise ValueError(f'convolution: stride > 1 cannot be combined with '
                       f'rate > 1; received stride={stride!r}, '
                       f'rate={rate!r}.')
    padding = utils.normalize_padding(padding)
    dtype = inputs.dtype.base_dtype
    num_filters_in = utils.channel_dimension(inputs.shape, data_format)
    weights = utils.layer_variable(
        'weights', list(kernel) + [num_filters_in, num_outputs], dtype,
        weights_initializer, weights_regularizer, variables_collections,
        'weights', trainable)
    convolve = tf.nn.convolution
    if n == 3:
      # TensorFlow's bfloat16 CPU Conv3D filter gradient is wrong when the
      # kernel is longer in time than the input (2 frames under a 3-frame
      # kernel: NaN, or errors larger than the gradient; TF 2.21), so 3-D
      # convolutions compute in float32 (`bfloat16_in_float32`).
      convolve = functools.partial(precision.bfloat16_in_float32,
                                   tf.nn.convolution)
    use_bias = not normalizer_fn and biases_initializer
    if not normalizer_fn and _covers_whole_input(inputs, kernel, padding,
                                                 dilations, data_format):
      outputs = _whole_input_matmul(inputs, weights)
    else:
      outputs = convolve(inputs, weights, strides=list(strides),
                         padding=padding, data_format=data_format,
                         dilations=list(dilations), name=_CONV_OP_NAMES[n])
    outputs = utils.finish_layer(
        outputs, num_outputs, dtype, data_format, activation_fn, normalizer_fn,
        normalizer_params, biases_initializer if use_bias else None,
        biases_regularizer, variables_collections, trainable)
    return utils.collect_named_outputs(outputs_collections, sc.name, outputs)


def _covers_whole_input(inputs, kernel, padding, dilations, data_format):
  """Whether a 2-D convolution has one output position, its kernel lying
  exactly on the (channels-last) input: VGG's, AlexNet's and OverFeat's
  fully connected layers written as convolutions (fc6 VALID over 7x7, fc7
  and fc8 1x1 over 1x1) and the 1x1 logits over pooled features."""
  if len(kernel) != 2 or _channels_first(data_format) or max(dilations) > 1:
    return False
  spatial = tuple(inputs.shape[1:3])
  if spatial == (1, 1) and tuple(kernel) == (1, 1):
    return True
  return padding == 'VALID' and spatial == tuple(kernel)


def _whole_input_matmul(inputs, weights):
  """That convolution as the matmul it is, [batch, kh*kw*in] x [kh*kw*in,
  out] reshaped to [batch, 1, 1, out]: the same sums in another order.
  oneDNN runs the convolution form 4-10x slower (VGG-16's fc6 at batch 16:
  193 ms against 32 ms, TF 2.21), a tenth of VGG's forward pass. The bias
  and activation follow as for any convolution, so the layer's output ops
  keep their names (`vgg_16/fc7/Relu`); layers with a normalizer keep the
  convolution, whose batch-norm folding (slim.quantize) expects one."""
  num_outputs = weights.shape[-1]
  flat_inputs = tf.reshape(inputs, [-1, weights.shape[:-1].num_elements()])
  outputs = tf.matmul(flat_inputs, tf.reshape(weights, [-1, num_outputs]))
  return tf.reshape(outputs, [-1, 1, 1, num_outputs])


def _fixed_rank_convolution(conv_dims, doc_name):
  """Makes `convolution{conv_dims}d`: `convolution` with a fixed rank.

  It has `convolution`'s signature less `conv_dims` (so its own arg_scope
  key, positional order and defaults are TF-Slim's) and calls the undecorated
  `convolution`, so an arg_scope on `convolution` does not reach it.
  """
  build = convolution.__wrapped__

  def convolution_nd(*args, **kwargs):
    return build(*args, conv_dims=conv_dims, **kwargs)

  signature = inspect.signature(build)
  convolution_nd.__signature__ = signature.replace(parameters=[
      p for p in signature.parameters.values() if p.name != 'conv_dims'])
  convolution_nd.__name__ = doc_name
  convolution_nd.__qualname__ = doc_name
  convolution_nd.__doc__ = (
      f'`convolution` on inputs of rank {conv_dims + 2} '
      f'({conv_dims}-d); see `convolution` for the arguments.')
  return add_arg_scope(convolution_nd)


convolution1d = _fixed_rank_convolution(1, 'convolution1d')
convolution2d = _fixed_rank_convolution(2, 'convolution2d')
convolution3d = _fixed_rank_convolution(3, 'convolution3d')


@add_arg_scope
def convolution2d_in_plane(
    inputs,
    kernel_size,
    stride=1,
    padding='SAME',
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
  """The same 2-D filter applied to every channel of an NHWC input.

  Creates `weights` of shape `[kh, kw, 1, 1]` (tiled over the channels) and
  `biases` of shape `[channels]`.

  Args:
    inputs: a 4-D NHWC tensor.
    kernel_size: an int or a list of 2 ints.
    stride: an int or a list of 2 ints.
    padding: 'SAME' or 'VALID' (any case).
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
    scope: the variable scope; default 'ConvInPlane'.

  Returns:
    The output tensor.

  Raises:
    ValueError: for a bad rank, `padding`, `kernel_size` or `stride`.
  """
  with tf1.variable_scope(scope, 'ConvInPlane', [inputs], reuse=reuse) as sc:
    inputs = tf.convert_to_tensor(inputs)
    utils.check_rank(inputs, (4,), 'convolution2d_in_plane')
    dtype = inputs.dtype.base_dtype
    kernel_h, kernel_w = utils.two_element_tuple(kernel_size, 'kernel_size')
    stride_h, stride_w = utils.two_element_tuple(stride, 'stride')
    padding = utils.normalize_padding(padding)
    num_filters_in = utils.last_dimension(inputs.shape, min_rank=4)
    weights = utils.layer_variable(
        'weights', [kernel_h, kernel_w, 1, 1], dtype, weights_initializer,
        weights_regularizer, variables_collections, 'weights', trainable)
    depthwise_weights = tf.tile(weights, [1, 1, num_filters_in, 1])
    outputs = tf1.nn.depthwise_conv2d(inputs, depthwise_weights,
                                      [1, stride_h, stride_w, 1], padding)
    outputs = utils.finish_layer(
        outputs, num_filters_in, dtype, 'NHWC', activation_fn, normalizer_fn,
        normalizer_params, biases_initializer, biases_regularizer,
        variables_collections, trainable)
    return utils.collect_named_outputs(outputs_collections, sc.name, outputs)


def _deconv_length(length, kernel, stride, padding):
  """Output length of a transposed convolution (Python int or tensor)."""
  if padding == 'VALID':
    return length * stride + max(kernel - stride, 0)
  return length * stride


def _transpose_conv(inputs, num_outputs, kernel_size, stride, padding,
                    data_format, n, layer):
  """Checks the arguments of a transposed convolution; computes its shape."""
  utils.check_rank(inputs, (n + 2,), layer)
  utils.check_positive_int(num_outputs, 'num_outputs', layer)
  kernel = utils.n_positive_integers(n, kernel_size, 'kernel_size')
  strides = utils.n_positive_integers(n, stride, 'stride')
  padding = utils.normalize_padding(padding)
  dtype = inputs.dtype.base_dtype
  num_filters_in = utils.channel_dimension(inputs.shape, data_format)
  channels_first = _channels_first(data_format)
  spatial_axes = list(range(2, n + 2)) if channels_first else list(
      range(1, n + 1))
  dynamic_shape = tf.shape(inputs)
  static_shape = inputs.shape.as_list()
  out_spatial, out_static = [], []
  for axis, k, s in zip(spatial_axes, kernel, strides):
    static = static_shape[axis]
    length = static if static is not None else dynamic_shape[axis]
    out_spatial.append(_deconv_length(length, k, s, padding))
    out_static.append(
        _deconv_length(static, k, s, padding) if static is not None else None)
  if channels_first:
    output_shape = [dynamic_shape[0], num_outputs] + out_spatial
    static_out = [static_shape[0], num_outputs] + out_static
  else:
    output_shape = [dynamic_shape[0]] + out_spatial + [num_outputs]
    static_out = [static_shape[0]] + out_static + [num_outputs]
  return kernel, strides, padding, dtype, num_filters_in, (
      tf.stack(output_shape), static_out)


# Spatial rank -> the tf.nn op, its data formats (the default first) and the
# kernel dimensions in the weights' shape, for the transposed convolutions.
_TRANSPOSE_CONVS = {
    2: (tf1.nn.conv2d_transpose, ('NHWC', 'NCHW'), 'kh, kw'),
    3: (tf1.nn.conv3d_transpose, ('NDHWC', 'NCDHW'), 'kd, kh, kw'),
}


def _fixed_rank_transpose(n):
  """Makes `convolution{n}d_transpose` for n = 2 or 3.

  The 2-D and 3-D layers differ only in rank, op and default `data_format`;
  each keeps TF-Slim's name, signature and arg_scope key.
  """
  layer = f'convolution{n}d_transpose'
  default_scope = f'Conv{n}d_transpose'
  conv_transpose, data_formats, kernel_dims = _TRANSPOSE_CONVS[n]

  def convolution_nd_transpose(
      inputs,
      num_outputs,
      kernel_size,
      stride=1,
      padding='SAME',
      data_format=data_formats[0],
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
    with tf1.variable_scope(scope, default_scope, [inputs],
                            reuse=reuse) as sc:
      utils.check_data_format(data_format, data_formats)
      inputs = tf.convert_to_tensor(inputs)
      kernel, strides, padding, dtype, num_filters_in, shapes = (
          _transpose_conv(inputs, num_outputs, kernel_size, stride, padding,
                          data_format, n, layer))
      output_shape, static_out = shapes
      weights = utils.layer_variable(
          'weights', list(kernel) + [num_outputs, num_filters_in], dtype,
          weights_initializer, weights_regularizer, variables_collections,
          'weights', trainable)
      outputs = conv_transpose(
          inputs, weights, output_shape,
          _spatial_strides(strides, data_format), padding=padding,
          data_format=data_format, name=f'conv{n}d_transpose')
      outputs.set_shape(static_out)
      use_bias = not normalizer_fn and biases_initializer
      outputs = utils.finish_layer(
          outputs, num_outputs, dtype, data_format, activation_fn,
          normalizer_fn, normalizer_params,
          biases_initializer if use_bias else None, biases_regularizer,
          variables_collections, trainable)
      return utils.collect_named_outputs(outputs_collections, sc.name,
                                         outputs)

  convolution_nd_transpose.__name__ = layer
  convolution_nd_transpose.__qualname__ = layer
  doc = f"""A {n}-D transposed convolution ("deconvolution").

  Creates `weights` of shape `[{kernel_dims}, num_outputs, in_channels]` and
  `biases` of shape `[num_outputs]`. The output size is `in * stride` for
  'SAME' and `in * stride + max(kernel - stride, 0)` for 'VALID'.

  Args:
    inputs: a {n + 2}-D tensor, {' or '.join(data_formats)}.
    num_outputs: the number of output channels.
    kernel_size: an int or a list of {n} ints.
    stride: an int or a list of {n} ints.
    padding: 'SAME' or 'VALID' (any case).
    data_format: {' or '.join(repr(f) for f in data_formats)}.
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
    scope: the variable scope; default '{default_scope}'.

  Returns:
    The output tensor.

  Raises:
    ValueError: for a bad rank, `data_format`, `padding`, `kernel_size`,
      `stride` or `num_outputs`.
  """
  convolution_nd_transpose.__doc__ = doc
  return add_arg_scope(convolution_nd_transpose)


convolution2d_transpose = _fixed_rank_transpose(2)
convolution3d_transpose = _fixed_rank_transpose(3)


@add_arg_scope
def separable_convolution2d(
    inputs,
    num_outputs,
    kernel_size,
    depth_multiplier=1,
    stride=1,
    padding='SAME',
    data_format='NHWC',
    rate=1,
    activation_fn=tf.nn.relu,
    normalizer_fn=None,
    normalizer_params=None,
    weights_initializer=initializers.xavier_initializer(),
    pointwise_initializer=None,
    weights_regularizer=None,
    biases_initializer=tf1.zeros_initializer(),
    biases_regularizer=None,
    reuse=None,
    variables_collections=None,
    outputs_collections=None,
    trainable=True,
    scope=None):
  """A depthwise-separable 2-D convolution, or a depthwise one alone.

  With `num_outputs` set: a depthwise convolution (`depthwise_weights`,
  `[kh, kw, in, depth_multiplier]`) followed by a 1x1 pointwise one
  (`pointwise_weights`, `[1, 1, in * depth_multiplier, num_outputs]`).
  With `num_outputs=None`: the depthwise convolution only, giving
  `in * depth_multiplier` channels. Biases are `[channels out]`.

  Args:
    inputs: a 4-D tensor, NHWC or NCHW.
    num_outputs: output channels of the pointwise convolution, or None to
      skip it.
    kernel_size: an int or a list of 2 ints.
    depth_multiplier: depthwise output channels per input channel.
    stride: an int or a list of 2 ints.
    padding: 'SAME' or 'VALID' (any case).
    data_format: 'NHWC' or 'NCHW'.
    rate: the depthwise dilation rate, an int or a list of 2 ints.
    activation_fn: applied last; None for linear.
    normalizer_fn: e.g. `slim.batch_norm`; when set, no biases are made.
    normalizer_params: kwargs for `normalizer_fn`.
    weights_initializer: initializer of the depthwise weights (and of the
      pointwise weights when `pointwise_initializer` is None).
    pointwise_initializer: initializer of the pointwise weights.
    weights_regularizer: optional regularizer of both weights.
    biases_initializer: initializer of the biases; None for no biases.
    biases_regularizer: optional regularizer of the biases.
    reuse: whether to reuse the layer's variables.
    variables_collections: a list, or a dict keyed by 'weights'/'biases'.
    outputs_collections: collections to add the output to.
    trainable: whether the variables are trainable.
    scope: the variable scope; default 'SeparableConv2d'.

  Returns:
    The output tensor.

  Raises:
    ValueError: for a bad rank, `data_format`, `padding`, `kernel_size`,
      `stride`, `rate` or `depth_multiplier`.
  """
  utils.check_data_format(data_format, ('NHWC', 'NCHW'))
  with tf1.variable_scope(scope, 'SeparableConv2d', [inputs],
                          reuse=reuse) as sc:
    inputs = tf.convert_to_tensor(inputs)
    utils.check_rank(inputs, (4,), 'separable_convolution2d')
    if num_outputs is not None:
      utils.check_positive_int(num_outputs, 'num_outputs',
                               'separable_convolution2d')
    utils.check_positive_int(depth_multiplier, 'depth_multiplier',
                             'separable_convolution2d')
    if pointwise_initializer is None:
      pointwise_initializer = weights_initializer
    dtype = inputs.dtype.base_dtype
    kernel_h, kernel_w = utils.two_element_tuple(kernel_size, 'kernel_size')
    stride_h, stride_w = utils.two_element_tuple(stride, 'stride')
    rates = utils.two_element_tuple(rate, 'rate')
    if max(stride_h, stride_w) > 1 and max(rates) > 1:
      raise ValueError('separable_convolution2d: stride > 1 cannot be '
                       f'combined with rate > 1; received stride={stride!r}, '
                       f'rate={rate!r}.')
    padding = utils.normalize_padding(padding)
    num_filters_in = utils.channel_dimension(inputs.shape, data_format,
                                             min_rank=4)
    strides = _spatial_strides((stride_h, stride_w), data_format)
    depthwise_weights = utils.layer_variable(
        'depthwise_weights',
        [kernel_h, kernel_w, num_filters_in, depth_multiplier], dtype,
        weights_initializer, weights_regularizer, variables_collections,
        'weights', trainable)
    if num_outputs is not None:
      pointwise_weights = utils.layer_variable(
          'pointwise_weights',
          [1, 1, depth_multiplier * num_filters_in, num_outputs], dtype,
          pointwise_initializer, weights_regularizer, variables_collections,
          'weights', trainable)
      outputs = _separable_conv2d(inputs, depthwise_weights,
                                  pointwise_weights, strides, padding,
                                  list(rates), data_format)
    else:
      num_outputs = depth_multiplier * num_filters_in
      outputs = _depthwise_conv2d(inputs, depthwise_weights, strides,
                                  padding, list(rates), data_format)
    outputs = utils.finish_layer(
        outputs, num_outputs, dtype, data_format, activation_fn, normalizer_fn,
        normalizer_params, biases_initializer, biases_regularizer,
        variables_collections, trainable)
    return utils.collect_named_outputs(outputs_collections, sc.name, outputs)


def _separable_conv2d(inputs, depthwise_weights, pointwise_weights, strides,
                      padding, rates, data_format):
  """tf.nn.separable_conv2d, but in bfloat16 with the depthwise half in
  float32 (`precision.bfloat16_in_float32`): the fused op would run it in
  bfloat16, whose CPU gradients are 3-4x slower (NASNet-A Mobile, batch 16).
  The pointwise half stays bfloat16; float32 builds the fused op as ever."""
  if inputs.dtype.base_dtype != tf.bfloat16:
    return tf1.nn.separable_conv2d(inputs, depthwise_weights,
                                   pointwise_weights, strides, padding,
                                   rate=rates, data_format=data_format)
  depthwise = _depthwise_conv2d(inputs, depthwise_weights, strides, padding,
                                rates, data_format)
  return tf1.nn.conv2d(depthwise, pointwise_weights, [1, 1, 1, 1], 'VALID',
                       data_format=data_format)


def _depthwise_conv2d(inputs, depthwise_weights, strides, padding, rates,
                      data_format):
  """tf.nn.depthwise_conv2d, in float32 under bfloat16: its bfloat16 CPU
  gradients are 5-7x slower (`precision.bfloat16_in_float32`)."""
  return precision.bfloat16_in_float32(
      tf1.nn.depthwise_conv2d, inputs, depthwise_weights, strides=strides,
      padding=padding, rate=rates, data_format=data_format)


# Simple aliases, as in TF-Slim.
conv1d = convolution1d
conv2d = convolution2d
conv3d = convolution3d
conv2d_in_plane = convolution2d_in_plane
conv2d_transpose = convolution2d_transpose
conv3d_transpose = convolution3d_transpose
separable_conv2d = separable_convolution2d
