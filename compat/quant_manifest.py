"""The variables a published `*_quant` MobileNet v1 or v2 checkpoint holds,
derived from the original's float variables and contrib.quantize's naming.

    python compat/quant_manifest.py   # rewrites mobilenet_v1_quant_manifest.json
                                      # and mobilenet_v2_quant_manifest.json

No checkpoint was at hand (no network): the names are derived, not read.
Inputs, both in compat/:

- `slim_checkpoint_manifest.json['mobilenet_v1' / 'mobilenet_v2']`: the
  original's float variables (width 1.0, 1001 classes), as it built them,
  and (v2) its end points' shapes at 224x224.
- `contrib_quantize.md` (what `tf.contrib.quantize` did): every `Conv2D`,
  `DepthwiseConv2dNative` or `MatMul` layer gets two float32 scalars
  `<layer>/weights_quant/{min,max}` for its weights and two
  `<layer>/act_quant/{min,max}` for the activation that follows it (Relu,
  Relu6, Identity, or the BiasAdd of a layer without activation), where
  `<layer>` is the scope of the layer's weights; an Add reading a layer's
  activation and not followed by a Relu (a post-activation bypass) gets
  `<add scope>/post_activation_bypass_quant/{min,max}` (a rule recalled from
  contrib's source, not checked against it); batch-norm folding adds no
  variable; a QAT checkpoint is the float one plus these scalars and
  `global_step`.

MobileNet v1: every layer is such a layer and none feeds an Add: each of its
28 weights variables (`weights` of Conv2d_0, the 13 pointwise layers and the
logits, `depthwise_weights` of the 13 depthwise layers, each depthwise layer
a separate op and scope, so none is skipped) gives 4 range scalars. The
names do not depend on the width or size: all 16 published MobileNet v1
`_quant` checkpoints hold them, with the shapes of their width.

MobileNet v2: its 53 weights variables (Conv, the expand / depthwise /
project layers of the 17 `expanded_conv` blocks, Conv_1, the logits) give 4
each. A block adds its input to its output (`<block>/add`, after the
`project` layer's Identity activation, no Relu after it) when its stride is
1 and its input depth equals its output depth (MobileNet v2's rule, as
slim's mobilenet's expanded_conv applied it); the depths are those of the
block's first and `project` weights, the stride comes from its end point's
spatial size against the previous one's (`layer_1`... `layer_19` are the
19 scopes Conv, expanded_conv... expanded_conv_16, Conv_1 in order). Those
10 blocks (expanded_conv_2, _4, _5, _7, _8, _9, _11, _12, _14, _15) give
2 more scalars each. The one published MobileNet v2 `_quant` checkpoint is
mobilenet_v2_1.0_224_quant.

A checkpoint saved by a training run may hold more: the zero-debiased moving
averages of the activation and add ranges
(`<layer>/act_quant/{min,max}/{biased,local_step}`, TensorFlow's
`assign_moving_average` with zero_debias, which contrib used); the eval
graph does not read them (`training_only`).
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
FLOAT_MANIFEST = os.path.join(HERE, 'slim_checkpoint_manifest.json')
QUANT_MANIFESTS = {
    name: os.path.join(HERE, f'{name}_quant_manifest.json')
    for name in ('mobilenet_v1', 'mobilenet_v2')}
QUANT_MANIFEST = QUANT_MANIFESTS['mobilenet_v1']

_WEIGHTS_LEAVES = ('weights', 'depthwise_weights')
_RANGE = ('min', 'max')
_CHECKPOINTS = {
    'mobilenet_v1': 'mobilenet_v1_<width>_<size>_quant, all 16; shapes here '
                    'are width 1.0 (mobilenet_v1_1.0_*)',
    'mobilenet_v2': 'mobilenet_v2_1.0_224_quant',
}


def quantized_layers(float_variables):
  """The scopes of the layers contrib.quantize quantized, in build order.

  Args:
    float_variables: [name, shape, dtype] of a MobileNet v1 or v2's
      variables.

  Returns:
    The scope of every `weights` / `depthwise_weights` variable.

  Raises:
    ValueError: for a separable conv in one scope (a `pointwise_weights`),
      whose depthwise half contrib skipped: not a MobileNet v1 / v2 layout.
  """
  scopes = []
  for name, _, _ in float_variables:
    scope, _, leaf = name.rpartition('/')
    if leaf == 'pointwise_weights':
      raise ValueError(f'{name}: a separable conv in one scope; this '
                       'derivation covers MobileNet v1 and v2 only')
    if leaf in _WEIGHTS_LEAVES:
      scopes.append(scope)
  return scopes


def _block_scopes(layers):
  """The MobileNet v2 scopes of `layers` below the network's, in order.

  `MobilenetV2/expanded_conv_2/expand` gives `MobilenetV2/expanded_conv_2`,
  `MobilenetV2/Conv` itself; the logits are left out.
  """
  blocks = []
  for layer in layers:
    parts = layer.split('/')
    if parts[1] == 'Logits':
      continue
    block = '/'.join(parts[:2])
    if block not in blocks:
      blocks.append(block)
  return blocks


def residual_blocks(float_variables, end_points):
  """The MobileNet v2 blocks that add their input to their output.

  Args:
    float_variables: [name, shape, dtype] of a MobileNet v2's variables.
    end_points: {name: shape} of its end points, `layer_1`... one a block.

  Returns:
    The scopes of the blocks with stride 1 and equal input and output depth.

  Raises:
    ValueError: if the blocks and the `layer_<k>` end points do not pair up.
  """
  shapes = {name: shape for name, shape, _ in float_variables}
  blocks = _block_scopes(quantized_layers(float_variables))
  spatial = [end_points[f'layer_{k}'][1:3]
             for k in range(1, len(blocks) + 1) if f'layer_{k}' in end_points]
  if len(spatial) != len(blocks) or f'layer_{len(blocks) + 1}' in end_points:
    raise ValueError(f'{len(blocks)} blocks but {len(spatial)} layer_<k> end '
                     'points: not a MobileNet v2 layout')
  residual = []
  for index, block in enumerate(blocks[1:], start=1):
    first = [f'{block}/{name}' for name in ('expand/weights',
                                             'depthwise/depthwise_weights')
             if f'{block}/{name}' in shapes]
    project = f'{block}/project/weights'
    if not first or project not in shapes:
      continue  # Conv_1: no block.
    stride_1 = spatial[index] == spatial[index - 1]
    if stride_1 and shapes[first[0]][2] == shapes[project][3]:
      residual.append(block)
  return residual


def range_variables(layers, bypasses=()):
  """[name, [], 'float32'] of each layer's weights and activation ranges and
  of each post-activation bypass's range."""
  return ([[f'{layer}/{kind}/{end}', [], 'float32'] for layer in layers
           for kind in ('weights_quant', 'act_quant') for end in _RANGE]
          + [[f'{scope}/post_activation_bypass_quant/{end}', [], 'float32']
             for scope in bypasses for end in _RANGE])


def training_only_variables(layers, bypasses=()):
  """The zero-debiasing state of the activation and add ranges' moving
  averages."""
  ranges = ([f'{layer}/act_quant' for layer in layers]
            + [f'{scope}/post_activation_bypass_quant' for scope in bypasses])
  return [[f'{scope}/{end}/{state}', [], 'float32']
          for scope in ranges for end in _RANGE
          for state in ('biased', 'local_step')]


def manifest(name='mobilenet_v1'):
  """The manifest's content for `name` (a dict ready for JSON)."""
  with open(FLOAT_MANIFEST) as f:
    entry = json.load(f)[name]
  float_variables = [v for v in entry['variables']
                     if not v[0].endswith('global_step')]
  layers = quantized_layers(float_variables)
  bypasses = []
  if name == 'mobilenet_v2':
    # Each residual block's `add` is in the block's scope.
    bypasses = residual_blocks(float_variables, entry['end_points'])
  content = {
      'checkpoints': _CHECKPOINTS[name],
      'num_classes': entry['num_classes'],
      'quantized_layers': layers,
  }
  if name == 'mobilenet_v2':
    content['post_activation_bypasses'] = bypasses
  content['variables'] = (float_variables + range_variables(layers, bypasses)
                          + [['global_step', [], 'int64']])
  content['training_only'] = training_only_variables(layers, bypasses)
  return {'_derivation': ' '.join(__doc__.split()), name: content}


def main():
  for name, path in QUANT_MANIFESTS.items():
    with open(path, 'w') as f:
      json.dump(manifest(name), f, indent=1)
      f.write('\n')


if __name__ == '__main__':
  main()
