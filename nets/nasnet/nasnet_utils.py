"""The NASNet-A cell machinery shared by NASNet and PNASNet.

Zoph et al., "Learning Transferable Architectures for Scalable Image
Recognition", https://arxiv.org/abs/1707.07012; Liu et al., "Progressive
Neural Architecture Search", https://arxiv.org/abs/1712.00559.

A cell is data: a list of ten operations ('separable_5x5_2', 'max_pool_3x3',
'none', ...), the hidden-state index each reads, and which hidden states
are consumed inside the cell (the rest are concatenated into its output).
`NasNetABaseCell` interprets that data; `NasNetANormalCell`,
`NasNetAReductionCell` (here) and `PNasNetNormalCell` (pnasnet.py) are just
their tables. Scope names, op order and padding are the original's, so the
published checkpoints load by name.

`data_format` reaches the helpers below through `slim.arg_scope`, as in the
original: the network builders set it once for `get_channel_index`,
`get_channel_dim`, `global_avg_pool` and `factorized_reduction`.
"""
import tensorflow as tf

import slim

tf1 = tf.compat.v1

__all__ = [
    'calc_reduction_layers', 'get_channel_index', 'get_channel_dim',
    'global_avg_pool', 'factorized_reduction', 'drop_path',
    'NasNetABaseCell', 'FixedCell', 'NasNetANormalCell', 'NasNetAReductionCell',
]

DATA_FORMAT_NCHW = 'NCHW'
DATA_FORMAT_NHWC = 'NHWC'
INVALID = 'null'
# The cap for tf.clip_by_value, hinted from the activation distribution: the
# majority of activation values are in the range [-6, 6].
CLIP_BY_VALUE_CAP = 6


def _check_data_format(data_format, where):
  if data_format not in (DATA_FORMAT_NHWC, DATA_FORMAT_NCHW):
    raise ValueError(
        f'{where}: data_format must be {DATA_FORMAT_NHWC!r} or '
        f'{DATA_FORMAT_NCHW!r} (set it with slim.arg_scope as the NASNet '
        f'builders do); received {data_format!r}.')


def calc_reduction_layers(num_cells, num_reduction_layers):
  """Returns the indices of the cells preceded by a reduction cell.

  Args:
    num_cells: the number of normal cells.
    num_reduction_layers: the number of reduction cells, spread evenly.

  Returns:
    A list of `num_reduction_layers` cell indices,
    `int(k / (num_reduction_layers + 1) * num_cells)` for k = 1, 2, ...
  """
  reduction_layers = []
  for pool_num in range(1, num_reduction_layers + 1):
    layer_num = (float(pool_num) / (num_reduction_layers + 1)) * num_cells
    reduction_layers.append(int(layer_num))
  return reduction_layers


@slim.add_arg_scope
def get_channel_index(data_format=INVALID):
  """Returns the channel axis: 3 for 'NHWC', 1 for 'NCHW'.

  Args:
    data_format: 'NHWC' or 'NCHW', usually set by an arg_scope.

  Returns:
    The channel axis of a 4-D tensor.

  Raises:
    ValueError: if data_format is neither.
  """
  _check_data_format(data_format, 'get_channel_index')
  return 3 if data_format == DATA_FORMAT_NHWC else 1


@slim.add_arg_scope
def get_channel_dim(shape, data_format=INVALID):
  """Returns the number of channels of a 4-D `shape`.

  Args:
    shape: a 4-D `TensorShape` or list.
    data_format: 'NHWC' or 'NCHW', usually set by an arg_scope.

  Returns:
    The channel count as an int.

  Raises:
    ValueError: if data_format is neither, or `shape` is not 4-D.
  """
  _check_data_format(data_format, 'get_channel_dim')
  if len(shape) != 4:
    raise ValueError(f'get_channel_dim: shape must be 4-D; received '
                     f'{shape!r}.')
  return int(shape[3] if data_format == DATA_FORMAT_NHWC else shape[1])


@slim.add_arg_scope
def global_avg_pool(x, data_format=INVALID):
  """Averages away the spatial dimensions of `x`: [batch, channels].

  Args:
    x: a 4-D tensor.
    data_format: 'NHWC' or 'NCHW', usually set by an arg_scope.

  Returns:
    A [batch, channels] tensor.

  Raises:
    ValueError: if data_format is neither, or `x` is not 4-D.
  """
  _check_data_format(data_format, 'global_avg_pool')
  if x.shape.ndims != 4:
    raise ValueError(f'global_avg_pool: x must be 4-D; received shape '
                     f'{x.shape}.')
  axis = [1, 2] if data_format == DATA_FORMAT_NHWC else [2, 3]
  return tf.reduce_mean(input_tensor=x, axis=axis)


@slim.add_arg_scope
def factorized_reduction(net, output_filters, stride, data_format=INVALID):
  """Reduces the spatial size of `net` without losing information to striding.

  With stride 1 this is a 1x1 conv + batch norm ('path_conv', 'path_bn').
  With stride 2, two half-width 1x1 convs read the input at even and at odd
  offsets ('path1_conv', 'path2_conv'); their concatenation is batch
  normalized ('final_path_bn').

  Args:
    net: a 4-D tensor.
    output_filters: the number of output channels.
    stride: the spatial stride, 1 or more.
    data_format: 'NHWC' or 'NCHW', usually set by an arg_scope.

  Returns:
    The reduced tensor with `output_filters` channels.

  Raises:
    ValueError: if data_format is neither 'NHWC' nor 'NCHW'.
  """
  _check_data_format(data_format, 'factorized_reduction')
  if stride == 1:
    net = slim.conv2d(net, output_filters, 1, scope='path_conv')
    net = slim.batch_norm(net, scope='path_bn')
    return net
  if data_format == DATA_FORMAT_NHWC:
    stride_spec = [1, stride, stride, 1]
  else:
    stride_spec = [1, 1, stride, stride]

  # Skip path 1: the even offsets.
  path1 = tf.nn.avg_pool2d(input=net, ksize=[1, 1, 1, 1], strides=stride_spec,
                           padding='VALID', data_format=data_format)
  path1 = slim.conv2d(path1, int(output_filters / 2), 1, scope='path1_conv')

  # Skip path 2: pad with zeros on the right and bottom, then shift by one
  # so that the strided read sees the odd offsets.
  if data_format == DATA_FORMAT_NHWC:
    pad_arr = [[0, 0], [0, 1], [0, 1], [0, 0]]
    path2 = tf.pad(tensor=net, paddings=pad_arr)[:, 1:, 1:, :]
    concat_axis = 3
  else:
    pad_arr = [[0, 0], [0, 0], [0, 1], [0, 1]]
    path2 = tf.pad(tensor=net, paddings=pad_arr)[:, :, 1:, 1:]
    concat_axis = 1
  path2 = tf.nn.avg_pool2d(input=path2, ksize=[1, 1, 1, 1],
                           strides=stride_spec, padding='VALID',
                           data_format=data_format)
  # An odd number of filters gives the second path the extra one.
  final_filter_size = int(output_filters / 2) + int(output_filters % 2)
  path2 = slim.conv2d(path2, final_filter_size, 1, scope='path2_conv')

  final_path = tf.concat(values=[path1, path2], axis=concat_axis)
  final_path = slim.batch_norm(final_path, scope='final_path_bn')
  return final_path


@slim.add_arg_scope
def drop_path(net, keep_prob, is_training=True):
  """Drops whole examples of `net` with probability `1 - keep_prob`.

  The kept examples are scaled by `1 / keep_prob`. Outside training `net`
  is returned unchanged (no op is added).

  Args:
    net: a 4-D tensor.
    keep_prob: a float or scalar float tensor, the keep probability.
    is_training: a Python bool, usually set by an arg_scope.

  Returns:
    A tensor shaped like `net`.
  """
  if is_training:
    batch_size = tf.shape(input=net)[0]
    noise_shape = [batch_size, 1, 1, 1]
    random_tensor = keep_prob
    random_tensor += tf.random.uniform(noise_shape, dtype=tf.float32)
    binary_tensor = tf.cast(tf.floor(random_tensor), net.dtype)
    keep_prob_inv = tf.cast(1.0 / keep_prob, net.dtype)
    net = net * keep_prob_inv * binary_tensor
  return net


# ------------------------------------------------ parsing operation names
# An operation is 'separable_<k>x<k>_<layers>', '<avg|max>_pool_<k>x<k>' or
# 'none' (identity, or a strided / channel-matching 1x1 conv).

def _operation_to_filter_shape(operation):
  splitted_operation = operation.split('x')
  filter_shape = int(splitted_operation[0][-1])
  if filter_shape != int(splitted_operation[1][0]):
    raise ValueError(f'Rectangular filters are not supported; received '
                     f'operation {operation!r}.')
  return filter_shape


def _operation_to_num_layers(operation):
  splitted_operation = operation.split('_')
  if 'x' in splitted_operation[-1]:
    return 1
  return int(splitted_operation[-1])


def _operation_to_info(operation):
  """Returns (number of stacked layers, kernel size) of a separable op."""
  return (_operation_to_num_layers(operation),
          _operation_to_filter_shape(operation))


def _operation_to_pooling_type(operation):
  return operation.split('_')[0]


def _operation_to_pooling_shape(operation):
  shape = operation.split('_')[-1]
  if 'x' not in shape:
    raise ValueError(f'A pooling operation ends with <k>x<k>; received '
                     f'{operation!r}.')
  filter_height, filter_width = shape.split('x')
  if filter_height != filter_width:
    raise ValueError(f'Rectangular pooling is not supported; received '
                     f'operation {operation!r}.')
  return int(filter_height)


def _operation_to_pooling_info(operation):
  """Returns (pooling type, kernel size) of a pooling op."""
  return (_operation_to_pooling_type(operation),
          _operation_to_pooling_shape(operation))


def _activation(use_bounded_activation):
  return tf.nn.relu6 if use_bounded_activation else tf.nn.relu


def _stacked_separable_conv(net, stride, operation, filter_size,
                            use_bounded_activation):
  """relu > separable conv > batch norm, stacked as `operation` says.

  Only the first layer strides. Scopes are 'separable_<k>x<k>_<i>' and
  'bn_sep_<k>x<k>_<i>' for i = 1, 2, ...
  """
  num_layers, kernel_size = _operation_to_info(operation)
  activation_fn = _activation(use_bounded_activation)
  for layer_num in range(1, num_layers + 1):
    net = activation_fn(net)
    net = slim.separable_conv2d(
        net, filter_size, kernel_size, depth_multiplier=1,
        scope=f'separable_{kernel_size}x{kernel_size}_{layer_num}',
        stride=stride)
    net = slim.batch_norm(
        net, scope=f'bn_sep_{kernel_size}x{kernel_size}_{layer_num}')
    stride = 1
  return net


def _pooling(net, stride, operation, use_bounded_activation):
  """Applies the 'SAME'-padded pooling that `operation` names."""
  padding = 'SAME'
  pooling_type, pooling_shape = _operation_to_pooling_info(operation)
  if use_bounded_activation:
    net = tf.nn.relu6(net)
  if pooling_type == 'avg':
    net = slim.avg_pool2d(net, pooling_shape, stride=stride, padding=padding)
  elif pooling_type == 'max':
    net = slim.max_pool2d(net, pooling_shape, stride=stride, padding=padding)
  else:
    raise ValueError(f'Unknown pooling type {pooling_type!r} in operation '
                     f'{operation!r}; valid: avg, max.')
  return net


class NasNetABaseCell(object):
  """A NASNet-style cell, used as a 'layer' of the image architectures.

  Each of its five combinations reads two hidden states (0: this cell's
  1x1-projected input, 1: the previous cell's output brought to the same
  shape, 2+: earlier combinations), applies an operation to each and adds
  them; the hidden states not marked used are concatenated on channels.
  """

  def __init__(self, num_conv_filters, operations, used_hiddenstates,
               hiddenstate_indices, drop_path_keep_prob, total_num_cells,
               total_training_steps, use_bounded_activation=False):
    """Creates the cell.

    Args:
      num_conv_filters: the base channel count, scaled per call by
        `filter_scaling`.
      operations: 10 operation names, left and right of each combination.
      used_hiddenstates: 7 flags; 1 marks a hidden state left out of the
        output concatenation.
      hiddenstate_indices: 10 hidden-state indices, the inputs of
        `operations`.
      drop_path_keep_prob: the final keep probability of drop path (1.0
        disables it).
      total_num_cells: the number of cells of the network (stem, normal and
        reduction); drop path is stronger in later cells.
      total_training_steps: the steps over which drop path ramps up.
      use_bounded_activation: use relu6 and clip activations to [-6, 6].

    Raises:
      ValueError: if the tables have the wrong lengths.
    """
    if len(operations) != 10 or len(hiddenstate_indices) != 10:
      raise ValueError(
          'A cell has 10 operations and 10 hidden-state indices; received '
          f'operations={operations!r}, '
          f'hiddenstate_indices={hiddenstate_indices!r}.')
    if len(used_hiddenstates) != 7:
      raise ValueError('used_hiddenstates must have 7 entries; received '
                       f'{used_hiddenstates!r}.')
    self._num_conv_filters = num_conv_filters
    self._operations = operations
    self._used_hiddenstates = used_hiddenstates
    self._hiddenstate_indices = hiddenstate_indices
    self._drop_path_keep_prob = drop_path_keep_prob
    self._total_num_cells = total_num_cells
    self._total_training_steps = total_training_steps
    self._use_bounded_activation = use_bounded_activation
    self._cell_num = -1
    self._filter_scaling = 1
    self._filter_size = num_conv_filters

  def _reduce_prev_layer(self, prev_layer, curr_layer):
    """Brings `prev_layer` to the spatial size and width of this cell."""
    if prev_layer is None:
      return curr_layer
    curr_num_filters = self._filter_size
    prev_num_filters = get_channel_dim(prev_layer.shape)
    curr_filter_shape = int(curr_layer.shape[2])
    prev_filter_shape = int(prev_layer.shape[2])
    activation_fn = _activation(self._use_bounded_activation)
    if curr_filter_shape != prev_filter_shape:
      prev_layer = activation_fn(prev_layer)
      prev_layer = factorized_reduction(prev_layer, curr_num_filters, stride=2)
    elif curr_num_filters != prev_num_filters:
      prev_layer = activation_fn(prev_layer)
      prev_layer = slim.conv2d(prev_layer, curr_num_filters, 1,
                               scope='prev_1x1')
      prev_layer = slim.batch_norm(prev_layer, scope='prev_bn')
    return prev_layer

  def _cell_base(self, net, prev_layer):
    """Returns the first two hidden states: [projected net, prev_layer]."""
    num_filters = self._filter_size
    prev_layer = self._reduce_prev_layer(prev_layer, net)
    net = _activation(self._use_bounded_activation)(net)
    net = slim.conv2d(net, num_filters, 1, scope='1x1')
    net = slim.batch_norm(net, scope='beginning_bn')
    return [net, prev_layer]

  def __call__(self, net, scope=None, filter_scaling=1, stride=1,
               prev_layer=None, cell_num=-1, current_step=None):
    """Runs the cell.

    Args:
      net: the previous cell's output, a 4-D tensor.
      scope: the cell's variable scope, e.g. 'cell_3'.
      filter_scaling: multiplies `num_conv_filters`.
      stride: 2 in reduction cells (applied to the original inputs only).
      prev_layer: the output of the cell before the previous one, or None.
      cell_num: this cell's position among all cells (for drop path).
      current_step: the training step for drop-path scheduling; None uses
        the graph's global step.

    Returns:
      The cell's output tensor.
    """
    self._cell_num = cell_num
    self._filter_scaling = filter_scaling
    self._filter_size = int(self._num_conv_filters * filter_scaling)

    with tf1.variable_scope(scope):
      net = self._cell_base(net, prev_layer)
      for iteration in range(5):
        with tf1.variable_scope(f'comb_iter_{iteration}'):
          i = 2 * iteration
          left_idx, right_idx = self._hiddenstate_indices[i:i + 2]
          with tf1.variable_scope('left'):
            h1 = self._apply_conv_operation(
                net[left_idx], self._operations[i], stride, left_idx < 2,
                current_step)
          with tf1.variable_scope('right'):
            h2 = self._apply_conv_operation(
                net[right_idx], self._operations[i + 1], stride,
                right_idx < 2, current_step)
          with tf1.variable_scope('combine'):
            h = h1 + h2
            if self._use_bounded_activation:
              h = tf.nn.relu6(h)
          net.append(h)

      with tf1.variable_scope('cell_output'):
        net = self._combine_unused_states(net)
      return net

  def _apply_conv_operation(self, net, operation, stride,
                            is_from_original_input, current_step):
    """Applies `operation` to the hidden state `net`."""
    # Only the cell's original inputs are strided.
    if stride > 1 and not is_from_original_input:
      stride = 1
    input_filters = get_channel_dim(net.shape)
    filter_size = self._filter_size
    bounded = self._use_bounded_activation
    if 'separable' in operation:
      net = _stacked_separable_conv(net, stride, operation, filter_size,
                                    bounded)
      if bounded:
        net = tf.clip_by_value(net, -CLIP_BY_VALUE_CAP, CLIP_BY_VALUE_CAP)
    elif operation == 'none':
      if bounded:
        net = tf.nn.relu6(net)
      # A strided or channel-changing identity becomes a 1x1 conv.
      if stride > 1 or (input_filters != filter_size):
        if not bounded:
          net = tf.nn.relu(net)
        net = slim.conv2d(net, filter_size, 1, stride=stride, scope='1x1')
        net = slim.batch_norm(net, scope='bn_1')
        if bounded:
          net = tf.clip_by_value(net, -CLIP_BY_VALUE_CAP, CLIP_BY_VALUE_CAP)
    elif 'pool' in operation:
      net = _pooling(net, stride, operation, bounded)
      if input_filters != filter_size:
        net = slim.conv2d(net, filter_size, 1, stride=1, scope='1x1')
        net = slim.batch_norm(net, scope='bn_1')
      if bounded:
        net = tf.clip_by_value(net, -CLIP_BY_VALUE_CAP, CLIP_BY_VALUE_CAP)
    else:
      raise ValueError(f'Unknown cell operation {operation!r}; valid: '
                       "'separable_<k>x<k>_<n>', '<avg|max>_pool_<k>x<k>', "
                       "'none'.")
    if operation != 'none':
      net = self._apply_drop_path(net, current_step=current_step)
    return net

  def _combine_unused_states(self, net):
    """Concatenates the hidden states not consumed inside the cell."""
    used_hiddenstates = self._used_hiddenstates
    final_height = int(net[-1].shape[2])
    final_num_filters = get_channel_dim(net[-1].shape)
    for idx, used_h in enumerate(used_hiddenstates):
      curr_height = int(net[idx].shape[2])
      curr_num_filters = get_channel_dim(net[idx].shape)
      # An unused state of another size or width is reduced to match.
      should_reduce = (final_num_filters != curr_num_filters or
                       final_height != curr_height) and not used_h
      if should_reduce:
        stride = 2 if final_height != curr_height else 1
        with tf1.variable_scope(f'reduction_{idx}'):
          net[idx] = factorized_reduction(net[idx], final_num_filters, stride)
    states_to_combine = [h for h, is_used in zip(net, used_hiddenstates)
                         if not is_used]
    return tf.concat(values=states_to_combine, axis=get_channel_index())

  def _apply_drop_path(self, net, current_step=None,
                       drop_connect_version='v3'):
    """Applies drop path with the scheduled keep probability.

    v1 scales the drop rate by `current_step / total_training_steps`
    (capped at 1), v2 by `(cell_num + 1) / total_num_cells`, v3 (the
    default, as published) by both.

    Args:
      net: the tensor to regularize.
      current_step: the training step, a scalar tensor or number; None uses
        the graph's global step (created at the graph's root if missing).
      drop_connect_version: 'v1', 'v2' or 'v3'.

    Returns:
      `net`, with drop path when the cell's keep probability is below 1.

    Raises:
      ValueError: for an unknown `drop_connect_version`.
    """
    drop_path_keep_prob = self._drop_path_keep_prob
    if drop_path_keep_prob >= 1.0:
      return net
    if drop_connect_version not in ('v1', 'v2', 'v3'):
      raise ValueError("drop_connect_version must be 'v1', 'v2' or 'v3'; "
                       f'received {drop_connect_version!r}.')
    if drop_connect_version in ('v2', 'v3'):
      # Later cells drop more.
      layer_ratio = (self._cell_num + 1) / float(self._total_num_cells)
      drop_path_keep_prob = 1 - layer_ratio * (1 - drop_path_keep_prob)
    if drop_connect_version in ('v1', 'v3'):
      # Drop more as training goes on.
      if current_step is None:
        current_step = global_step_at_root()
      current_step = tf.cast(current_step, tf.float32)
      current_ratio = current_step / self._total_training_steps
      current_ratio = tf.minimum(1.0, current_ratio)
      drop_path_keep_prob = 1 - current_ratio * (1 - drop_path_keep_prob)
    return drop_path(net, drop_path_keep_prob)


def global_step_at_root():
  """The graph's global step, created as 'global_step' if there is none.

  The original called `get_or_create_global_step()` inside a cell's scope,
  which leaked a stray `<cell>/.../global_step` variable into graphs built
  without a global step. Here it is created outside every variable scope.
  """
  global_step = slim.get_global_step()
  if global_step is not None:
    return global_step
  with tf1.variable_scope(tf1.VariableScope(reuse=tf1.AUTO_REUSE, name='')):
    return slim.get_or_create_global_step()


class FixedCell(NasNetABaseCell):
  """A cell whose tables are class attributes; subclasses only state them.

  Attributes:
    OPERATIONS: the 10 operation names (see `NasNetABaseCell`).
    USED_HIDDENSTATES: the 7 used-hidden-state flags.
    HIDDENSTATE_INDICES: the 10 hidden-state indices.
  """

  OPERATIONS = ()
  USED_HIDDENSTATES = ()
  HIDDENSTATE_INDICES = ()

  def __init__(self, num_conv_filters, drop_path_keep_prob, total_num_cells,
               total_training_steps, use_bounded_activation=False):
    super().__init__(num_conv_filters, list(self.OPERATIONS),
                     list(self.USED_HIDDENSTATES),
                     list(self.HIDDENSTATE_INDICES), drop_path_keep_prob,
                     total_num_cells, total_training_steps,
                     use_bounded_activation)


class NasNetANormalCell(FixedCell):
  """The NASNet-A normal cell."""

  OPERATIONS = ('separable_5x5_2',
                'separable_3x3_2',
                'separable_5x5_2',
                'separable_3x3_2',
                'avg_pool_3x3',
                'none',
                'avg_pool_3x3',
                'avg_pool_3x3',
                'separable_3x3_2',
                'none')
  USED_HIDDENSTATES = (1, 0, 0, 0, 0, 0, 0)
  HIDDENSTATE_INDICES = (0, 1, 1, 1, 0, 1, 1, 1, 0, 0)


class NasNetAReductionCell(FixedCell):
  """The NASNet-A reduction cell."""

  OPERATIONS = ('separable_5x5_2',
                'separable_7x7_2',
                'max_pool_3x3',
                'separable_7x7_2',
                'avg_pool_3x3',
                'separable_5x5_2',
                'none',
                'avg_pool_3x3',
                'separable_3x3_2',
                'max_pool_3x3')
  USED_HIDDENSTATES = (1, 1, 1, 0, 0, 0, 0)
  HIDDENSTATE_INDICES = (0, 1, 0, 1, 0, 1, 3, 2, 2, 0)
