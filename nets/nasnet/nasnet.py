"""NASNet-A for CIFAR-10 and ImageNet (mobile and large), checkpoint-exact.

Zoph et al., "Learning Transferable Architectures for Scalable Image
Recognition", https://arxiv.org/abs/1707.07012.

The three networks are one builder and three hyper-parameter records
(`cifar_config`, `mobile_imagenet_config`, `large_imagenet_config`); the
cells come from `nasnet_utils`. Drop path is active only with
`is_training=True` and a config whose `drop_path_keep_prob` is below 1; its
keep probability ramps with `current_step / total_training_steps` (the
graph's global step when `current_step` is None).
"""
import copy
import dataclasses

import tensorflow as tf

import slim
from nets.nasnet import nasnet_utils

tf1 = tf.compat.v1

__all__ = [
    'NasNetConfig', 'cifar_config', 'large_imagenet_config',
    'mobile_imagenet_config', 'nasnet_cifar_arg_scope',
    'nasnet_mobile_arg_scope', 'nasnet_large_arg_scope', 'build_nasnet_cifar',
    'build_nasnet_mobile', 'build_nasnet_large', 'endpoint_names',
]


@dataclasses.dataclass
class NasNetConfig:
  """The hyper-parameters of a NASNet / PNASNet (the original's HParams).

  Attributes:
    stem_multiplier: multiplies the stem's 32 (ImageNet) or
      `num_conv_filters` (CIFAR) channels.
    dense_dropout_keep_prob: dropout keep probability before the logits.
    num_cells: the number of normal cells.
    filter_scaling_rate: channel growth at each reduction.
    num_conv_filters: the base channel count of the cells.
    drop_path_keep_prob: the final drop-path keep probability (1.0: none).
    use_aux_head: whether training builds the auxiliary head.
    num_reduction_layers: the number of reduction steps among the cells.
    data_format: 'NHWC' or 'NCHW'.
    skip_reduction_layer_input: whether the cell after a reduction reads
      the state before the reduction's input (large models) instead of the
      reduction's input.
    total_training_steps: steps over which drop path ramps up.
    use_bounded_activation: relu6 and clipping instead of relu.
  """
  stem_multiplier: float
  dense_dropout_keep_prob: float
  num_cells: int
  filter_scaling_rate: float
  num_conv_filters: int
  drop_path_keep_prob: float
  use_aux_head: int
  num_reduction_layers: int
  data_format: str
  skip_reduction_layer_input: int
  total_training_steps: int
  use_bounded_activation: bool = False

  def set_hparam(self, name, value):
    """Sets one hyper-parameter, as `HParams.set_hparam` did.

    Raises:
      ValueError: if `name` is not a hyper-parameter.
    """
    valid = [f.name for f in dataclasses.fields(self)]
    if name not in valid:
      raise ValueError(f'Unknown NASNet hyper-parameter {name!r}; valid: '
                       f'{", ".join(valid)}.')
    setattr(self, name, value)

  def override_from_dict(self, values):
    """Sets several hyper-parameters from a dict; returns self."""
    for name, value in values.items():
      self.set_hparam(name, value)
    return self

  def values(self):
    """Returns the hyper-parameters as a dict."""
    return dataclasses.asdict(self)


def cifar_config():
  """The NASNet-A 6@768 CIFAR-10 configuration."""
  return NasNetConfig(
      stem_multiplier=3.0,
      drop_path_keep_prob=0.6,
      num_cells=18,
      use_aux_head=1,
      num_conv_filters=32,
      dense_dropout_keep_prob=1.0,
      filter_scaling_rate=2.0,
      num_reduction_layers=2,
      data_format='NHWC',
      skip_reduction_layer_input=0,
      # 600 epochs with a batch size of 32: drop path strengthens over
      # the course of training.
      total_training_steps=937500,
      use_bounded_activation=False,
  )


def large_imagenet_config():
  """The NASNet-A 6@4032 ImageNet configuration."""
  return NasNetConfig(
      stem_multiplier=3.0,
      dense_dropout_keep_prob=0.5,
      num_cells=18,
      filter_scaling_rate=2.0,
      num_conv_filters=168,
      drop_path_keep_prob=0.7,
      use_aux_head=1,
      num_reduction_layers=2,
      data_format='NHWC',
      skip_reduction_layer_input=1,
      total_training_steps=250000,
      use_bounded_activation=False,
  )


def mobile_imagenet_config():
  """The NASNet-A 4@1056 ImageNet configuration."""
  return NasNetConfig(
      stem_multiplier=1.0,
      dense_dropout_keep_prob=0.5,
      num_cells=12,
      filter_scaling_rate=2.0,
      drop_path_keep_prob=1.0,
      num_conv_filters=44,
      use_aux_head=1,
      num_reduction_layers=2,
      data_format='NHWC',
      skip_reduction_layer_input=0,
      total_training_steps=250000,
      use_bounded_activation=False,
  )


def resolve_config(config, default_config, is_training):
  """Returns a private copy of the config to build with.

  Args:
    config: None (use `default_config()`), a `NasNetConfig` (or any
      HParams-like object with the same attributes, deep-copied), or a dict
      of hyper-parameters overriding `default_config()`.
    default_config: the network's config function.
    is_training: outside training drop path is switched off
      (`drop_path_keep_prob` = 1), as the original's `_update_hparams`.

  Returns:
    A config object the caller may modify.

  Raises:
    ValueError: if a dict names an unknown hyper-parameter.
  """
  if config is None:
    hparams = default_config()
  elif isinstance(config, dict):
    hparams = default_config().override_from_dict(config)
  else:
    hparams = copy.deepcopy(config)
  if not is_training:
    hparams.set_hparam('drop_path_keep_prob', 1.0)
  return hparams


def _arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon):
  """The arg_scope all NASNets share; the three differ by constants."""
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': True,
      'fused': True,
  }
  weights_regularizer = slim.l2_regularizer(weight_decay)
  weights_initializer = slim.variance_scaling_initializer(mode='FAN_OUT')
  with slim.arg_scope([slim.fully_connected, slim.conv2d,
                       slim.separable_conv2d],
                      weights_regularizer=weights_regularizer,
                      weights_initializer=weights_initializer):
    with slim.arg_scope([slim.fully_connected], activation_fn=None,
                        scope='FC'):
      with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                          activation_fn=None, biases_initializer=None):
        with slim.arg_scope([slim.batch_norm], **batch_norm_params) as sc:
          return sc


def nasnet_cifar_arg_scope(weight_decay=5e-4, batch_norm_decay=0.9,
                           batch_norm_epsilon=1e-5):
  """Defines the default arg scope for the NASNet-A CIFAR model.

  Args:
    weight_decay: the L2 weight decay of every weight.
    batch_norm_decay: decay of the batch-norm moving averages.
    batch_norm_epsilon: added to the variance to avoid dividing by zero.

  Returns:
    An `arg_scope` to use for the NASNet CIFAR model.
  """
  return _arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_mobile_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997,
                            batch_norm_epsilon=1e-3):
  """Defines the default arg scope for the NASNet-A Mobile ImageNet model.

  Args:
    weight_decay: the L2 weight decay of every weight.
    batch_norm_decay: decay of the batch-norm moving averages.
    batch_norm_epsilon: added to the variance to avoid dividing by zero.

  Returns:
    An `arg_scope` to use for the NASNet Mobile model.
  """
  return _arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_large_arg_scope(weight_decay=5e-5, batch_norm_decay=0.9997,
                           batch_norm_epsilon=1e-3):
  """Defines the default arg scope for the NASNet-A Large ImageNet model.

  Args:
    weight_decay: the L2 weight decay of every weight.
    batch_norm_decay: decay of the batch-norm moving averages.
    batch_norm_epsilon: added to the variance to avoid dividing by zero.

  Returns:
    An `arg_scope` to use for the NASNet Large model.
  """
  return _arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def _activation(hparams):
  return tf.nn.relu6 if hparams.use_bounded_activation else tf.nn.relu


def _build_aux_head(net, end_points, num_classes, hparams, scope):
  """The auxiliary classifier every NASNet / PNASNet trains with.

  Sets `end_points['AuxLogits']`.
  """
  activation_fn = _activation(hparams)
  with tf1.variable_scope(scope):
    aux_logits = tf.identity(net)
    with tf1.variable_scope('aux_logits'):
      aux_logits = slim.avg_pool2d(aux_logits, [5, 5], stride=3,
                                   padding='VALID')
      aux_logits = slim.conv2d(aux_logits, 128, [1, 1], scope='proj')
      aux_logits = slim.batch_norm(aux_logits, scope='aux_bn0')
      aux_logits = activation_fn(aux_logits)
      # The remaining feature map, convolved away by a VALID conv.
      shape = aux_logits.shape
      shape = shape[1:3] if hparams.data_format == 'NHWC' else shape[2:4]
      aux_logits = slim.conv2d(aux_logits, 768, shape, padding='VALID')
      aux_logits = slim.batch_norm(aux_logits, scope='aux_bn1')
      aux_logits = activation_fn(aux_logits)
      aux_logits = slim.flatten(aux_logits)
      aux_logits = slim.fully_connected(aux_logits, num_classes)
      end_points['AuxLogits'] = aux_logits


def _imagenet_stem(inputs, hparams, stem_cell, current_step=None):
  """The ImageNet stem: a strided 3x3 conv and two reduction cells."""
  num_stem_cells = 2
  num_stem_filters = int(32 * hparams.stem_multiplier)
  # 331 x 331 x 3 -> 165 x 165 x 96 (large); 224 -> 111 x 111 x 32 (mobile)
  net = slim.conv2d(inputs, num_stem_filters, [3, 3], stride=2, scope='conv0',
                    padding='VALID')
  net = slim.batch_norm(net, scope='conv0_bn')

  cell_outputs = [None, net]
  filter_scaling = 1.0 / (hparams.filter_scaling_rate**num_stem_cells)
  for cell_num in range(num_stem_cells):
    net = stem_cell(net, scope=f'cell_stem_{cell_num}',
                    filter_scaling=filter_scaling, stride=2,
                    prev_layer=cell_outputs[-2], cell_num=cell_num,
                    current_step=current_step)
    cell_outputs.append(net)
    filter_scaling *= hparams.filter_scaling_rate
  return net, cell_outputs


def _cifar_stem(inputs, hparams):
  """The CIFAR stem: one 3x3 conv."""
  num_stem_filters = int(hparams.num_conv_filters * hparams.stem_multiplier)
  net = slim.conv2d(inputs, num_stem_filters, 3, scope='l1_stem_3x3')
  net = slim.batch_norm(net, scope='l1_stem_bn')
  return net, [None, net]


class EndPoints(object):
  """End-point bookkeeping: record a tensor, say whether to stop there."""

  def __init__(self, final_endpoint):
    self.final_endpoint = final_endpoint
    self.end_points = {}

  def add(self, name, net):
    """Records `net` as `name`; returns True if `name` is the final one."""
    self.end_points[name] = net
    return bool(self.final_endpoint) and name == self.final_endpoint


def build_head(net, end_points, num_classes, hparams):
  """The classifier: activation, global pool, dropout, 'FC', softmax.

  Builds under the 'final_layer' scope (exported names
  'final_layer/FC/BiasAdd' and 'final_layer/predictions').

  Returns:
    (output, end_points) as the network returns them: the logits, the
    pooled features when `num_classes` is 0 or None or `final_endpoint` is
    'global_pool', or the softmax when it is 'Predictions'.
  """
  with tf1.variable_scope('final_layer'):
    net = _activation(hparams)(net)
    net = nasnet_utils.global_avg_pool(net)
    if end_points.add('global_pool', net) or not num_classes:
      return net, end_points.end_points
    net = slim.dropout(net, hparams.dense_dropout_keep_prob, scope='dropout')
    logits = slim.fully_connected(net, num_classes)
    # The original returned the dropout output when asked to stop at
    # 'Logits' or 'Predictions'; here every stop returns its end point.
    end_points.add('Logits', logits)
    predictions = tf.nn.softmax(logits, name='predictions')
    if end_points.add('Predictions', predictions):
      return predictions, end_points.end_points
  return logits, end_points.end_points


def build_nasnet_base(images, normal_cell, reduction_cell, num_classes,
                      hparams, is_training, stem_type, final_endpoint=None,
                      current_step=None):
  """Builds a NASNet or PNASNet: stem, cells, aux head, classifier.

  Args:
    images: the [batch, height, width, 3] input (NCHW if the config says).
    normal_cell: the normal cell.
    reduction_cell: NASNet's reduction cell, built before the normal cell
      at each reduction point (and as the ImageNet stem's cells); None for
      PNASNet, whose normal cell strides there instead (and makes the stem).
    num_classes: the number of classes; 0 or None for features.
    hparams: the resolved config.
    is_training: whether the auxiliary head is built.
    stem_type: 'imagenet' or 'cifar'.
    final_endpoint: the end point to stop at, or None.
    current_step: the step for drop-path scheduling, or None.

  Returns:
    (logits or features, end_points).

  Raises:
    ValueError: for an unknown `stem_type`.
  """
  end_points = EndPoints(final_endpoint)
  reduction_indices = nasnet_utils.calc_reduction_layers(
      hparams.num_cells, hparams.num_reduction_layers)
  if stem_type == 'imagenet':
    net, cell_outputs = _imagenet_stem(images, hparams,
                                       reduction_cell or normal_cell,
                                       current_step=current_step)
  elif stem_type == 'cifar':
    net, cell_outputs = _cifar_stem(images, hparams)
  else:
    raise ValueError(f"stem_type must be 'imagenet' or 'cifar'; received "
                     f'{stem_type!r}.')
  if end_points.add('Stem', net):
    return net, end_points.end_points

  # The auxiliary head follows the cell before the second reduction.
  aux_head_cell_idxes = []
  if len(reduction_indices) >= 2:
    aux_head_cell_idxes.append(reduction_indices[1] - 1)

  filter_scaling = 1.0
  # true_cell_num counts the stem cells too (for drop path).
  true_cell_num = 2 if stem_type == 'imagenet' else 0
  activation_fn = _activation(hparams)
  prev_layer = None
  for cell_num in range(hparams.num_cells):
    is_reduction = cell_num in reduction_indices
    strided = is_reduction and reduction_cell is None
    if hparams.skip_reduction_layer_input:
      prev_layer = cell_outputs[-2]
    if is_reduction:
      filter_scaling *= hparams.filter_scaling_rate
    if is_reduction and not strided:
      reduction_num = reduction_indices.index(cell_num)
      net = reduction_cell(net, scope=f'reduction_cell_{reduction_num}',
                           filter_scaling=filter_scaling, stride=2,
                           prev_layer=cell_outputs[-2],
                           cell_num=true_cell_num, current_step=current_step)
      if end_points.add(f'Reduction_Cell_{reduction_num}', net):
        return net, end_points.end_points
      true_cell_num += 1
      cell_outputs.append(net)
    # As in the original PNASNet, a strided cell without
    # skip_reduction_layer_input keeps the previous cell's prev_layer.
    if not hparams.skip_reduction_layer_input and not strided:
      prev_layer = cell_outputs[-2]
    net = normal_cell(net, scope=f'cell_{cell_num}',
                      filter_scaling=filter_scaling,
                      stride=2 if strided else 1,
                      prev_layer=prev_layer, cell_num=true_cell_num,
                      current_step=current_step)
    if end_points.add(f'Cell_{cell_num}', net):
      return net, end_points.end_points
    true_cell_num += 1
    if (hparams.use_aux_head and cell_num in aux_head_cell_idxes and
        num_classes and is_training):
      aux_net = activation_fn(net)
      _build_aux_head(aux_net, end_points.end_points, num_classes, hparams,
                      scope=f'aux_{cell_num}')
    cell_outputs.append(net)

  return build_head(net, end_points, num_classes, hparams)


def endpoint_names(hparams, reduction_cells=True):
  """The end points a network with `hparams` can stop at, in build order."""
  names = ['Stem']
  reduction_indices = nasnet_utils.calc_reduction_layers(
      hparams.num_cells, hparams.num_reduction_layers)
  for cell_num in range(hparams.num_cells):
    if reduction_cells and cell_num in reduction_indices:
      names.append(f'Reduction_Cell_{reduction_indices.index(cell_num)}')
    names.append(f'Cell_{cell_num}')
  return names + ['global_pool', 'Logits', 'Predictions']


def build_network(images, num_classes, is_training, final_endpoint, config,
                  current_step, default_config, build_base, num_extra_cells,
                  cells, name, reduction_cells=True):
  """What every NASNet / PNASNet builder does around its base network.

  Resolves the config, transposes to NCHW if asked, makes the cells, sets
  `is_training` and `data_format` for the layers, and resolves the global
  step at the graph's root when drop path will need it.

  Args:
    images: a [batch, height, width, 3] tensor.
    num_classes: the number of classes; 0 or None returns features.
    is_training: whether to build the training graph.
    final_endpoint: the end point to stop at, or None.
    config: None, a config record or a dict of overrides (see
      `resolve_config`).
    current_step: the step for drop-path scheduling, or None.
    default_config: the network's config function.
    build_base: `fn(images, cells, hparams, current_step)` returning
      (net, end_points).
    num_extra_cells: the number of cells besides the normal ones (stem
      and reduction cells), which scales drop path by depth.
    cells: `fn(hparams, total_num_cells)` returning the cells.
    name: the network's name, for error messages.
    reduction_cells: whether the network has separate reduction cells
      (NASNet) or strides its normal cells (PNASNet).

  Returns:
    (logits or features, end_points).

  Raises:
    ValueError: for an unknown `final_endpoint` or `config.data_format`,
      checked before anything is built.
  """
  hparams = resolve_config(config, default_config, is_training)
  if hparams.data_format not in ('NHWC', 'NCHW'):
    raise ValueError(f"{name}: config.data_format must be 'NHWC' or 'NCHW'; "
                     f'received {hparams.data_format!r}.')
  if final_endpoint is not None:
    names = endpoint_names(hparams, reduction_cells)
    if final_endpoint not in names:
      raise ValueError(f'{name}: unknown final_endpoint {final_endpoint!r}. '
                       f'Valid values: {", ".join(names)}.')
  if hparams.data_format == 'NCHW':
    images = tf.transpose(a=images, perm=[0, 3, 1, 2])
  total_num_cells = hparams.num_cells + num_extra_cells
  built_cells = cells(hparams, total_num_cells)
  if (is_training and current_step is None and
      hparams.drop_path_keep_prob < 1.0):
    current_step = nasnet_utils.global_step_at_root()
  with slim.arg_scope([slim.dropout, nasnet_utils.drop_path, slim.batch_norm],
                      is_training=is_training):
    with slim.arg_scope([slim.avg_pool2d, slim.max_pool2d, slim.conv2d,
                         slim.batch_norm, slim.separable_conv2d,
                         nasnet_utils.factorized_reduction,
                         nasnet_utils.global_avg_pool,
                         nasnet_utils.get_channel_index,
                         nasnet_utils.get_channel_dim],
                        data_format=hparams.data_format):
      return build_base(images, built_cells, hparams, current_step)


def _nasnet_cells(hparams, total_num_cells):
  args = (hparams.num_conv_filters, hparams.drop_path_keep_prob,
          total_num_cells, hparams.total_training_steps,
          hparams.use_bounded_activation)
  return (nasnet_utils.NasNetANormalCell(*args),
          nasnet_utils.NasNetAReductionCell(*args))


def _nasnet(default_config, stem_type, default_image_size, name):
  """Makes a build_nasnet_<variant> function: the variants are data."""
  # Two reduction cells, plus two stem cells on ImageNet.
  num_extra_cells = 4 if stem_type == 'imagenet' else 2

  def build(images, num_classes, is_training=True, final_endpoint=None,
            config=None, current_step=None):
    def build_base(images, cells, hparams, current_step):
      normal_cell, reduction_cell = cells
      return build_nasnet_base(
          images, normal_cell=normal_cell, reduction_cell=reduction_cell,
          num_classes=num_classes, hparams=hparams, is_training=is_training,
          stem_type=stem_type, final_endpoint=final_endpoint,
          current_step=current_step)
    return build_network(images, num_classes, is_training, final_endpoint,
                         config, current_step, default_config, build_base,
                         num_extra_cells, _nasnet_cells, name)

  build.__name__ = build.__qualname__ = name
  variant = name[len('build_nasnet_'):]
  build.__doc__ = f"""Builds NASNet-A {variant} ({default_config.__name__}).

  Args:
    images: a [batch, {default_image_size}, {default_image_size}, 3] tensor
      (other sizes work too).
    num_classes: the number of classes; 0 or None returns the pooled
      features (end point 'global_pool').
    is_training: builds dropout, drop path, batch-norm updates and the
      auxiliary head ('AuxLogits') when True.
    final_endpoint: stop at this end point ('Stem', 'Cell_<i>',
      'Reduction_Cell_<i>', 'global_pool', 'Logits', 'Predictions') and
      return its tensor.
    config: None for `{default_config.__name__}()`, a `NasNetConfig`, or a
      dict overriding some of its hyper-parameters.
    current_step: the training step scheduling drop path (a scalar tensor);
      None uses the graph's global step.

  Returns:
    (logits, end_points): logits [batch, num_classes] and a dict of end
    points ('Predictions' is the softmax, op 'final_layer/predictions').
  """
  build.default_image_size = default_image_size
  return build


build_nasnet_cifar = _nasnet(cifar_config, 'cifar', 32, 'build_nasnet_cifar')
build_nasnet_mobile = _nasnet(mobile_imagenet_config, 'imagenet', 224,
                              'build_nasnet_mobile')
build_nasnet_large = _nasnet(large_imagenet_config, 'imagenet', 331,
                             'build_nasnet_large')
