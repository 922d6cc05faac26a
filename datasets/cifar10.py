"""The CIFAR-10 dataset, as converted by download_and_convert_data.py.

Files `cifar10_train.tfrecord` and `cifar10_test.tfrecord`; 32x32x3 PNGs.
"""
from datasets.descriptor import DatasetDescriptor

DESCRIPTOR = DatasetDescriptor(
    name='cifar10',
    file_pattern='cifar10_%s.tfrecord',
    splits_to_sizes={'train': 50000, 'test': 10000},
    num_classes=10,
    items_to_descriptions={
        'image': 'A [32 x 32 x 3] color image.',
        'label': 'A single integer between 0 and 9',
    },
    image_shape=(32, 32, 3),
    default_format='png',
)

SPLITS_TO_SIZES = DESCRIPTOR.splits_to_sizes
get_split = DESCRIPTOR.get_split
