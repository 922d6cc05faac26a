"""Building blocks shared by the video networks I3D and S3D-G.

* `conv3d_spatiotemporal`: a 3-D conv, or (separable) a spatial 1xkxk conv
  followed by a temporal kx1x1 conv ('<scope>/temporal', identity-initialized
  by `center_initializer`).
* `inception_block_v1_3d`: the Inception-v1 module in 3-D, with optional
  feature gating after each branch.
* `reduced_kernel_size_3d`: shrinks the final pooling window to the input.
* `video_logits_head`: the classifier both networks share ('Logits' scope).

Scope and variable names are the original's, so the published checkpoints
load by name.
"""
import numpy as np
import tensorflow as tf

import slim

tf1 = tf.compat.v1

__all__ = ['center_initializer', 'reduced_kernel_size_3d',
           'conv3d_spatiotemporal', 'inception_block_v1_3d',
           'video_logits_head']


def center_initializer():
  """An initializer making a temporal kx1x1 conv the identity map.

  Identity at initialization is what lets separable I3D models converge.
  The kernel must be [odd k, 1, 1, channels, channels].

  Returns:
    An initializer `fn(shape, dtype, partition_info)`.
  """

  def _initializer(shape, dtype=tf.float32, partition_info=None):
    del partition_info  # Unused.
    dtype = tf.as_dtype(dtype)
    if dtype not in (tf.float32, tf.bfloat16):
      raise ValueError('center_initializer: dtype must be float32 or '
                       f'bfloat16; received {dtype.name}.')
    shape = [int(d) for d in shape]
    if len(shape) != 5:
      raise ValueError('center_initializer: the kernel must be 5-D; '
                       f'received shape {shape}.')
    if shape[3] != shape[4]:
      raise ValueError('center_initializer: input and output channels must '
                       f'be equal; received shape {shape}.')
    if shape[1] != 1 or shape[2] != 1:
      raise ValueError('center_initializer: spatial kernel sizes must be 1 '
                       f'(pointwise conv); received shape {shape}.')
    if shape[0] % 2 == 0:
      raise ValueError('center_initializer: the temporal kernel size must '
                       f'be odd; received shape {shape}.')
    init_mat = np.zeros(shape, dtype=np.float32)
    channels = np.arange(shape[3])
    init_mat[shape[0] // 2, 0, 0, channels, channels] = 1.0
    return tf.constant(init_mat, dtype=dtype)

  return _initializer


def reduced_kernel_size_3d(input_tensor, kernel_size):
  """Shrinks a 3-D pooling `kernel_size` to fit `input_tensor`.

  Args:
    input_tensor: a [batch, time, height, width, channels] tensor.
    kernel_size: [time, height, width] of the desired window.

  Returns:
    The elementwise minimum of `kernel_size` and the input's static
    [time, height, width]; `kernel_size` itself if one is unknown.

  Raises:
    ValueError: if `kernel_size` has not 3 entries or the input is not 5-D.
  """
  if len(kernel_size) != 3:
    raise ValueError('reduced_kernel_size_3d: kernel_size must have 3 '
                     f'entries; received {kernel_size!r}.')
  shape = input_tensor.get_shape().as_list()
  if len(shape) != 5:
    raise ValueError('reduced_kernel_size_3d: input_tensor must be 5-D; '
                     f'received shape {shape}.')
  if None in shape[1:4]:
    return kernel_size
  return [min(shape[1], kernel_size[0]),
          min(shape[2], kernel_size[1]),
          min(shape[3], kernel_size[2])]


@slim.add_arg_scope
def conv3d_spatiotemporal(inputs,
                          num_outputs,
                          kernel_size,
                          stride=1,
                          padding='SAME',
                          activation_fn=None,
                          normalizer_fn=None,
                          normalizer_params=None,
                          weights_regularizer=None,
                          separable=False,
                          data_format='NDHWC',
                          scope=''):
  """A 3-D conv, or a spatial conv followed by a temporal one (separable).

  With `separable=True` and a temporal kernel > 1, a [1, kh, kw] conv
  (`scope`, normalized) is followed by a [kt, 1, 1] conv
  (`scope + '/temporal'`, with biases, identity-initialized, not
  normalized). Otherwise a single [kt, kh, kw] conv.

  Args:
    inputs: a 5-D tensor.
    num_outputs: the number of output channels.
    kernel_size: [time, height, width].
    stride: an int or [time, height, width].
    padding: 'SAME' or 'VALID'.
    activation_fn: applied after each conv; None for linear.
    normalizer_fn: e.g. `slim.batch_norm`, for the (spatial) conv.
    normalizer_params: kwargs of `normalizer_fn`.
    weights_regularizer: regularizer of the (spatial) conv's weights.
    separable: whether to factorize space and time.
    data_format: 'NDHWC' or 'NCDHW'.
    scope: the variable scope.

  Returns:
    The output tensor.

  Raises:
    ValueError: if `kernel_size` has not 3 entries.
  """
  if len(kernel_size) != 3:
    raise ValueError('conv3d_spatiotemporal: kernel_size must be [time, '
                     f'height, width]; received {kernel_size!r}.')
  if separable and kernel_size[0] != 1:
    spatial_kernel_size = [1, kernel_size[1], kernel_size[2]]
    temporal_kernel_size = [kernel_size[0], 1, 1]
    if isinstance(stride, (list, tuple)) and len(stride) == 3:
      spatial_stride = [1, stride[1], stride[2]]
      temporal_stride = [stride[0], 1, 1]
    else:
      spatial_stride = [1, stride, stride]
      temporal_stride = [stride, 1, 1]
    net = slim.conv3d(
        inputs, num_outputs, spatial_kernel_size, stride=spatial_stride,
        padding=padding, activation_fn=activation_fn,
        normalizer_fn=normalizer_fn, normalizer_params=normalizer_params,
        weights_regularizer=weights_regularizer, data_format=data_format,
        scope=scope)
    net = slim.conv3d(
        net, num_outputs, temporal_kernel_size, stride=temporal_stride,
        padding=padding, scope=scope + '/temporal',
        activation_fn=activation_fn, normalizer_fn=None,
        data_format=data_format, weights_initializer=center_initializer())
    return net
  return slim.conv3d(
      inputs, num_outputs, kernel_size, stride=stride, padding=padding,
      activation_fn=activation_fn, normalizer_fn=normalizer_fn,
      normalizer_params=normalizer_params,
      weights_regularizer=weights_regularizer, data_format=data_format,
      scope=scope)


def inception_block_v1_3d(inputs,
                          num_outputs_0_0a,
                          num_outputs_1_0a,
                          num_outputs_1_0b,
                          num_outputs_2_0a,
                          num_outputs_2_0b,
                          num_outputs_3_0b,
                          temporal_kernel_size=3,
                          self_gating_fn=None,
                          data_format='NDHWC',
                          scope=''):
  """The Inception-v1 module in 3-D: four branches concatenated on channels.

  Branch_0: 1x1x1 | Branch_1: 1x1x1 > tx3x3 | Branch_2: 1x1x1 > tx3x3 |
  Branch_3: 3x3x3 max pool > 1x1x1. With `self_gating_fn`, each branch's
  output is gated (S3D-G).

  Args:
    inputs: a 5-D tensor.
    num_outputs_0_0a: channels of Branch_0's 1x1x1 conv.
    num_outputs_1_0a: channels of Branch_1's 1x1x1 conv.
    num_outputs_1_0b: channels of Branch_1's tx3x3 conv.
    num_outputs_2_0a: channels of Branch_2's 1x1x1 conv.
    num_outputs_2_0b: channels of Branch_2's tx3x3 conv.
    num_outputs_3_0b: channels of Branch_3's 1x1x1 conv.
    temporal_kernel_size: t of the tx3x3 convs.
    self_gating_fn: None, or `fn(net, scope)` gating a branch.
    data_format: 'NDHWC' or 'NCDHW'.
    scope: the module's variable scope.

  Returns:
    The concatenated branches.
  """
  use_gating = self_gating_fn is not None

  def gate(net, gate_scope):
    return self_gating_fn(net, scope=gate_scope) if use_gating else net

  def tower(num_outputs_0a, num_outputs_0b):
    """Branches 1 and 2: 1x1x1 conv > tx3x3 conv > gate."""
    net = slim.conv3d(inputs, num_outputs_0a, [1, 1, 1],
                      scope='Conv2d_0a_1x1')
    net = conv3d_spatiotemporal(net, num_outputs_0b,
                                [temporal_kernel_size, 3, 3],
                                scope='Conv2d_0b_3x3')
    return gate(net, 'Conv2d_0b_3x3')

  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      branch_0 = slim.conv3d(inputs, num_outputs_0_0a, [1, 1, 1],
                             scope='Conv2d_0a_1x1')
      branch_0 = gate(branch_0, 'Conv2d_0a_1x1')
    with tf1.variable_scope('Branch_1'):
      branch_1 = tower(num_outputs_1_0a, num_outputs_1_0b)
    with tf1.variable_scope('Branch_2'):
      branch_2 = tower(num_outputs_2_0a, num_outputs_2_0b)
    with tf1.variable_scope('Branch_3'):
      branch_3 = slim.max_pool3d(inputs, [3, 3, 3], scope='MaxPool_0a_3x3')
      branch_3 = slim.conv3d(branch_3, num_outputs_3_0b, [1, 1, 1],
                             scope='Conv2d_0b_1x1')
      branch_3 = gate(branch_3, 'Conv2d_0b_1x1')
    index_c = data_format.index('C')
    return tf.concat([branch_0, branch_1, branch_2, branch_3], index_c)


def video_logits_head(net, end_points, num_classes, dropout_keep_prob,
                      prediction_fn, spatial_squeeze, data_format='NDHWC'):
  """The I3D / S3D-G classifier, built in the current scope as 'Logits'.

  Average pool (2x7x7, shrunk to the input) > dropout > 1x1x1 conv > mean
  over time > squeeze. Sets end points 'Logits' and 'Predictions'; with
  `num_classes` 0 or None, the pooled features instead ('global_pool').

  Args:
    net: the base network's output, a 5-D tensor.
    end_points: the dict to add the end points to.
    num_classes: the number of classes; 0 or None for features.
    dropout_keep_prob: dropout keep probability before the logits.
    prediction_fn: e.g. `slim.softmax`, called with scope 'Predictions'.
    spatial_squeeze: whether to squeeze the 1x1 spatial dimensions.
    data_format: 'NDHWC' or 'NCDHW' (the head itself runs in NDHWC).

  Returns:
    The logits [batch, num_classes] (or the features [batch, channels]).
  """
  with tf1.variable_scope('Logits'):
    if data_format.startswith('NC'):
      net = tf.transpose(a=net, perm=[0, 2, 3, 4, 1])
    kernel_size = reduced_kernel_size_3d(net, [2, 7, 7])
    net = slim.avg_pool3d(net, kernel_size, stride=1, data_format='NDHWC',
                          scope='AvgPool_0a_7x7')
    if not num_classes:
      # Features: averaged over time like the logits would be.
      net = tf.reduce_mean(input_tensor=net, axis=1)
      if spatial_squeeze:
        net = tf.squeeze(net, [1, 2], name='SpatialSqueeze')
      end_points['global_pool'] = net
      return net
    net = slim.dropout(net, dropout_keep_prob, scope='Dropout_0b')
    logits = slim.conv3d(net, num_classes, [1, 1, 1], activation_fn=None,
                         normalizer_fn=None, data_format='NDHWC',
                         scope='Conv2d_0c_1x1')
    # Temporal average pooling.
    logits = tf.reduce_mean(input_tensor=logits, axis=1)
    if spatial_squeeze:
      logits = tf.squeeze(logits, [1, 2], name='SpatialSqueeze')
    end_points['Logits'] = logits
    end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits
