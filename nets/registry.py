"""One record per network: every fact about it that the toolkit uses.

A `NetworkSpec` says where the network lives (module, function, arg_scope),
its default input size, the preprocessing family it trains and evaluates
with, whether it takes video, and, for networks with published ImageNet
weights, a `Checkpoint`: the tarball's URL, the checkpoint file in it, the
weights' class count and the `--labels_offset` they need with the
1001-class ImageNet records, the preprocessing and size they were
trained with (ResNet V2's differ from the network's defaults), and the
tarball's SHA-256 where it is known.

This table is the single source for `nets_factory` (`networks_map`,
`arg_scopes_map`, `default_image_size`, `is_video`), for the network names
and families `preprocessing_factory` accepts, for
`tools/download_checkpoint.py` and for the README's table of networks
(`markdown_table()`). The original kept parallel dicts that drifted apart
(8 of 40 networks had no preprocessing); here a network cannot be
registered without one.

Pure data (no TensorFlow import), so light modules such as the preprocessing
factory can read it.
"""
import collections

NetworkSpec = collections.namedtuple(
    'NetworkSpec',
    ['module', 'function', 'arg_scope', 'default_image_size', 'preprocessing',
     'is_video', 'checkpoint'])

# Published weights. url: the tarball; file: the checkpoint in it;
# num_classes: 1001 (class 0 is background) or 1000; labels_offset: what to
# pass as --labels_offset with the 1001-class ImageNet records;
# preprocessing and image_size: what the weights were trained with;
# sha256: the tarball's hex SHA-256, None while unknown (never guessed:
# tools/download_checkpoint.py then checks the tarball's members and prints
# its SHA-256 for the user to pin with --sha256).
Checkpoint = collections.namedtuple(
    'Checkpoint',
    ['url', 'file', 'num_classes', 'labels_offset', 'preprocessing',
     'image_size', 'sha256'], defaults=[None])

# download.tensorflow.org serves https: a tarball cannot be swapped in
# transit even where its SHA-256 is unknown.
_CHECKPOINT_BASE = 'https://download.tensorflow.org/models/'


def _spec(module, function, arg_scope, size, preprocessing, is_video=False,
          checkpoint=None):
  return NetworkSpec('nets.' + module, function, arg_scope, size,
                     preprocessing, is_video, checkpoint)


def _ckpt(tarball, file, num_classes, preprocessing, image_size,
          sha256=None):
  return Checkpoint(_CHECKPOINT_BASE + tarball, file, num_classes,
                    1001 - num_classes, preprocessing, image_size, sha256)


# From the research/slim README's table of pre-trained models. VGG and
# ResNet V1 weights have 1000 classes (no background class); the ResNet V2
# weights were trained with Inception preprocessing at 299 x 299 although
# the networks' own preprocessing is VGG's at 224.
_CHECKPOINTS = {
    'inception_v1': _ckpt('inception_v1_2016_08_28.tar.gz', 'inception_v1.ckpt', 1001, 'inception', 224),
    'inception_v2': _ckpt('inception_v2_2016_08_28.tar.gz', 'inception_v2.ckpt', 1001, 'inception', 224),
    'inception_v3': _ckpt('inception_v3_2016_08_28.tar.gz', 'inception_v3.ckpt', 1001, 'inception', 299),
    'inception_v4': _ckpt('inception_v4_2016_09_09.tar.gz', 'inception_v4.ckpt', 1001, 'inception', 299),
    'inception_resnet_v2': _ckpt('inception_resnet_v2_2016_08_30.tar.gz',
                                 'inception_resnet_v2_2016_08_30.ckpt', 1001, 'inception', 299),
    'resnet_v1_50': _ckpt('resnet_v1_50_2016_08_28.tar.gz', 'resnet_v1_50.ckpt', 1000, 'vgg', 224),
    'resnet_v1_101': _ckpt('resnet_v1_101_2016_08_28.tar.gz', 'resnet_v1_101.ckpt', 1000, 'vgg', 224),
    'resnet_v1_152': _ckpt('resnet_v1_152_2016_08_28.tar.gz', 'resnet_v1_152.ckpt', 1000, 'vgg', 224),
    'resnet_v2_50': _ckpt('resnet_v2_50_2017_04_14.tar.gz', 'resnet_v2_50.ckpt', 1001, 'inception', 299),
    'resnet_v2_101': _ckpt('resnet_v2_101_2017_04_14.tar.gz', 'resnet_v2_101.ckpt', 1001, 'inception', 299),
    'resnet_v2_152': _ckpt('resnet_v2_152_2017_04_14.tar.gz', 'resnet_v2_152.ckpt', 1001, 'inception', 299),
    'vgg_16': _ckpt('vgg_16_2016_08_28.tar.gz', 'vgg_16.ckpt', 1000, 'vgg', 224),
    'vgg_19': _ckpt('vgg_19_2016_08_28.tar.gz', 'vgg_19.ckpt', 1000, 'vgg', 224),
}


# name: NetworkSpec(module, network function, arg_scope function,
#                   default_image_size, preprocessing family, is_video,
#                   checkpoint); the checkpoints are added below.
NETWORKS = {
    'alexnet_v2': _spec('alexnet', 'alexnet_v2', 'alexnet_v2_arg_scope', 224, 'vgg'),
    'cifarnet': _spec('cifarnet', 'cifarnet', 'cifarnet_arg_scope', 32, 'cifarnet'),
    'overfeat': _spec('overfeat', 'overfeat', 'overfeat_arg_scope', 231, 'vgg'),
    'vgg_a': _spec('vgg', 'vgg_a', 'vgg_arg_scope', 224, 'vgg'),
    'vgg_16': _spec('vgg', 'vgg_16', 'vgg_arg_scope', 224, 'vgg'),
    'vgg_19': _spec('vgg', 'vgg_19', 'vgg_arg_scope', 224, 'vgg'),
    'inception_v1': _spec('inception_v1', 'inception_v1', 'inception_v1_arg_scope', 224, 'inception'),
    'inception_v2': _spec('inception_v2', 'inception_v2', 'inception_v2_arg_scope', 224, 'inception'),
    'inception_v3': _spec('inception_v3', 'inception_v3', 'inception_v3_arg_scope', 299, 'inception'),
    'inception_v4': _spec('inception_v4', 'inception_v4', 'inception_v4_arg_scope', 299, 'inception'),
    'inception_resnet_v2': _spec('inception_resnet_v2', 'inception_resnet_v2',
                                 'inception_resnet_v2_arg_scope', 299, 'inception'),
    'i3d': _spec('i3d', 'i3d', 'i3d_arg_scope', 224, 'inception', is_video=True),
    's3dg': _spec('s3dg', 's3dg', 's3dg_arg_scope', 224, 'inception', is_video=True),
    'lenet': _spec('lenet', 'lenet', 'lenet_arg_scope', 28, 'lenet'),
    'resnet_v1_50': _spec('resnet_v1', 'resnet_v1_50', 'resnet_arg_scope', 224, 'vgg'),
    'resnet_v1_101': _spec('resnet_v1', 'resnet_v1_101', 'resnet_arg_scope', 224, 'vgg'),
    'resnet_v1_152': _spec('resnet_v1', 'resnet_v1_152', 'resnet_arg_scope', 224, 'vgg'),
    'resnet_v1_200': _spec('resnet_v1', 'resnet_v1_200', 'resnet_arg_scope', 224, 'vgg'),
    'resnet_v2_50': _spec('resnet_v2', 'resnet_v2_50', 'resnet_arg_scope', 224, 'vgg'),
    'resnet_v2_101': _spec('resnet_v2', 'resnet_v2_101', 'resnet_arg_scope', 224, 'vgg'),
    'resnet_v2_152': _spec('resnet_v2', 'resnet_v2_152', 'resnet_arg_scope', 224, 'vgg'),
    'resnet_v2_200': _spec('resnet_v2', 'resnet_v2_200', 'resnet_arg_scope', 224, 'vgg'),
    'mobilenet_v1': _spec('mobilenet_v1', 'mobilenet_v1', 'mobilenet_v1_arg_scope', 224, 'inception'),
    'mobilenet_v1_075': _spec('mobilenet_v1', 'mobilenet_v1_075', 'mobilenet_v1_arg_scope', 224, 'inception'),
    'mobilenet_v1_050': _spec('mobilenet_v1', 'mobilenet_v1_050', 'mobilenet_v1_arg_scope', 224, 'inception'),
    'mobilenet_v1_025': _spec('mobilenet_v1', 'mobilenet_v1_025', 'mobilenet_v1_arg_scope', 224, 'inception'),
    'mobilenet_v2': _spec('mobilenet.mobilenet_v2', 'mobilenet', 'training_scope', 224, 'inception'),
    'mobilenet_v2_140': _spec('mobilenet.mobilenet_v2', 'mobilenet_v2_140', 'training_scope', 224, 'inception'),
    'mobilenet_v2_035': _spec('mobilenet.mobilenet_v2', 'mobilenet_v2_035', 'training_scope', 224, 'inception'),
    'mobilenet_v3_small': _spec('mobilenet.mobilenet_v3', 'small', 'training_scope', 224, 'inception'),
    'mobilenet_v3_large': _spec('mobilenet.mobilenet_v3', 'large', 'training_scope', 224, 'inception'),
    'mobilenet_v3_small_minimalistic': _spec('mobilenet.mobilenet_v3', 'small_minimalistic',
                                             'training_scope', 224, 'inception'),
    'mobilenet_v3_large_minimalistic': _spec('mobilenet.mobilenet_v3', 'large_minimalistic',
                                             'training_scope', 224, 'inception'),
    'mobilenet_edgetpu': _spec('mobilenet.mobilenet_v3', 'edge_tpu', 'training_scope', 224, 'inception'),
    'mobilenet_edgetpu_075': _spec('mobilenet.mobilenet_v3', 'edge_tpu_075', 'training_scope', 224, 'inception'),
    'nasnet_cifar': _spec('nasnet.nasnet', 'build_nasnet_cifar', 'nasnet_cifar_arg_scope', 32, 'cifarnet'),
    'nasnet_mobile': _spec('nasnet.nasnet', 'build_nasnet_mobile', 'nasnet_mobile_arg_scope', 224, 'inception'),
    'nasnet_large': _spec('nasnet.nasnet', 'build_nasnet_large', 'nasnet_large_arg_scope', 331, 'inception'),
    'pnasnet_large': _spec('nasnet.pnasnet', 'build_pnasnet_large', 'pnasnet_large_arg_scope', 331, 'inception'),
    'pnasnet_mobile': _spec('nasnet.pnasnet', 'build_pnasnet_mobile', 'pnasnet_mobile_arg_scope', 224, 'inception'),
}

NETWORKS = {name: spec._replace(checkpoint=_CHECKPOINTS.get(name))
            for name, spec in NETWORKS.items()}

# Preprocessing families and the module that implements each.
PREPROCESSING_FAMILIES = {
    'cifarnet': 'preprocessing.cifarnet_preprocessing',
    'inception': 'preprocessing.inception_preprocessing',
    'lenet': 'preprocessing.lenet_preprocessing',
    'vgg': 'preprocessing.vgg_preprocessing',
}


def markdown_table():
  """The README's table of networks, one row per record, sorted by name."""
  rows = ['| name | function | size | preprocessing | published weights |',
          '|---|---|---|---|---|']
  for name in sorted(NETWORKS):
    spec = NETWORKS[name]
    size = f'{spec.default_image_size}' + (' (video)' if spec.is_video else '')
    weights = ''
    ckpt = spec.checkpoint
    if ckpt is not None:
      weights = f'[{ckpt.num_classes} classes]({ckpt.url})'
      if ckpt.labels_offset:
        weights += f', `--labels_offset={ckpt.labels_offset}`'
      if (ckpt.preprocessing, ckpt.image_size) != (spec.preprocessing,
                                                   spec.default_image_size):
        weights += (f', trained with {ckpt.preprocessing} at '
                    f'{ckpt.image_size}')
    rows.append(f'| {name} | `{spec.module}.{spec.function}` | {size} | '
                f'{spec.preprocessing} | {weights} |')
  return '\n'.join(rows)
