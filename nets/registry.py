"""One record per network: where it lives, its size and its preprocessing.

This table is the single source for `nets_factory.networks_map`,
`nets_factory.arg_scopes_map` and the network names that
`preprocessing_factory` accepts. The original kept three parallel dicts that
drifted apart (8 of 40 networks had no preprocessing); here a network cannot be
registered without one.

Pure data (no TensorFlow import), so light modules such as the preprocessing
factory can read it.
"""
import collections

NetworkSpec = collections.namedtuple(
    'NetworkSpec',
    ['module', 'function', 'arg_scope', 'default_image_size', 'preprocessing',
     'is_video'])


def _spec(module, function, arg_scope, size, preprocessing, is_video=False):
  return NetworkSpec('nets.' + module, function, arg_scope, size,
                     preprocessing, is_video)


# name: NetworkSpec(module, network function, arg_scope function,
#                   default_image_size, preprocessing family, is_video)
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

# Preprocessing families and the module that implements each.
PREPROCESSING_FAMILIES = {
    'cifarnet': 'preprocessing.cifarnet_preprocessing',
    'inception': 'preprocessing.inception_preprocessing',
    'lenet': 'preprocessing.lenet_preprocessing',
    'vgg': 'preprocessing.vgg_preprocessing',
}
