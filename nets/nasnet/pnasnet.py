"""PNASNet-5 (mobile and large), checkpoint-exact.

Liu et al., "Progressive Neural Architecture Search",
https://arxiv.org/abs/1712.00559.

PNASNet is built by NASNet's builder (`nasnet.build_nasnet_base`: stem,
cell loop, auxiliary head, classifier) with NASNet's cell machinery
(`nasnet_utils.FixedCell`); it differs by its cell table and by striding
its normal cell where NASNet inserts a reduction cell.
"""
from nets.nasnet import nasnet
from nets.nasnet import nasnet_utils

__all__ = [
    'PNasNetNormalCell', 'large_imagenet_config', 'mobile_imagenet_config',
    'pnasnet_large_arg_scope', 'pnasnet_mobile_arg_scope',
    'build_pnasnet_large', 'build_pnasnet_mobile',
]


def large_imagenet_config():
  """The PNASNet-5 large ImageNet configuration."""
  return nasnet.NasNetConfig(
      stem_multiplier=3.0,
      dense_dropout_keep_prob=0.5,
      num_cells=12,
      filter_scaling_rate=2.0,
      num_conv_filters=216,
      drop_path_keep_prob=0.6,
      use_aux_head=1,
      num_reduction_layers=2,
      data_format='NHWC',
      skip_reduction_layer_input=1,
      total_training_steps=250000,
      use_bounded_activation=False,
  )


def mobile_imagenet_config():
  """The PNASNet-5 mobile ImageNet configuration."""
  return nasnet.NasNetConfig(
      stem_multiplier=1.0,
      dense_dropout_keep_prob=0.5,
      num_cells=9,
      filter_scaling_rate=2.0,
      num_conv_filters=54,
      drop_path_keep_prob=1.0,
      use_aux_head=1,
      num_reduction_layers=2,
      data_format='NHWC',
      skip_reduction_layer_input=1,
      total_training_steps=250000,
      use_bounded_activation=False,
  )


def pnasnet_large_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997,
                            batch_norm_epsilon=0.001):
  """Defines the default arg scope for the PNASNet Large ImageNet model.

  Args:
    weight_decay: the L2 weight decay of every weight.
    batch_norm_decay: decay of the batch-norm moving averages.
    batch_norm_epsilon: added to the variance to avoid dividing by zero.

  Returns:
    An `arg_scope` to use for the PNASNet Large model.
  """
  return nasnet.nasnet_large_arg_scope(weight_decay, batch_norm_decay,
                                       batch_norm_epsilon)


def pnasnet_mobile_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997,
                             batch_norm_epsilon=0.001):
  """Defines the default arg scope for the PNASNet Mobile ImageNet model.

  Args:
    weight_decay: the L2 weight decay of every weight.
    batch_norm_decay: decay of the batch-norm moving averages.
    batch_norm_epsilon: added to the variance to avoid dividing by zero.

  Returns:
    An `arg_scope` to use for the PNASNet Mobile model.
  """
  return nasnet.nasnet_mobile_arg_scope(weight_decay, batch_norm_decay,
                                        batch_norm_epsilon)


class PNasNetNormalCell(nasnet_utils.FixedCell):
  """The PNASNet-5 cell (strided where the network reduces)."""

  OPERATIONS = (
      'separable_5x5_2', 'max_pool_3x3', 'separable_7x7_2', 'max_pool_3x3',
      'separable_5x5_2', 'separable_3x3_2', 'separable_3x3_2',
      'max_pool_3x3', 'separable_3x3_2', 'none')
  USED_HIDDENSTATES = (1, 1, 0, 0, 0, 0, 0)
  HIDDENSTATE_INDICES = (1, 1, 0, 0, 0, 0, 4, 0, 1, 0)


def _pnasnet_cells(hparams, total_num_cells):
  return PNasNetNormalCell(hparams.num_conv_filters,
                           hparams.drop_path_keep_prob, total_num_cells,
                           hparams.total_training_steps,
                           hparams.use_bounded_activation)


def _pnasnet(default_config, default_image_size, name):
  """Makes a build_pnasnet_<variant> function: the variants are data."""

  def build(images, num_classes, is_training=True, final_endpoint=None,
            config=None, current_step=None):
    def build_base(images, normal_cell, hparams, current_step):
      return nasnet.build_nasnet_base(
          images, normal_cell=normal_cell, reduction_cell=None,
          num_classes=num_classes, hparams=hparams, is_training=is_training,
          stem_type='imagenet', final_endpoint=final_endpoint,
          current_step=current_step)
    # PNASNet has no separate reduction cells: the total is the normal
    # cells plus the two stem cells.
    return nasnet.build_network(
        images, num_classes, is_training, final_endpoint, config,
        current_step, default_config, build_base, num_extra_cells=2,
        cells=_pnasnet_cells, name=name, reduction_cells=False)

  build.__name__ = build.__qualname__ = name
  variant = name[len('build_pnasnet_'):]
  build.__doc__ = f"""Builds PNASNet-5 {variant} ({default_config.__name__}).

  Args:
    images: a [batch, {default_image_size}, {default_image_size}, 3] tensor
      (other sizes work too).
    num_classes: the number of classes; 0 or None returns the pooled
      features (end point 'global_pool').
    is_training: builds dropout, drop path, batch-norm updates and the
      auxiliary head ('AuxLogits') when True.
    final_endpoint: stop at this end point ('Stem', 'Cell_<i>',
      'global_pool', 'Logits', 'Predictions') and return its tensor.
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


build_pnasnet_large = _pnasnet(large_imagenet_config, 331,
                               'build_pnasnet_large')
build_pnasnet_mobile = _pnasnet(mobile_imagenet_config, 224,
                                'build_pnasnet_mobile')
