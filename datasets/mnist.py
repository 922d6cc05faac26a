"""The MNIST dataset, as converted by download_and_convert_data.py.

Files `mnist_train.tfrecord` and `mnist_test.tfrecord`; 28x28x1 PNGs.
"""
from datasets.descriptor import DatasetDescriptor

DESCRIPTOR = DatasetDescriptor(
    name='mnist',
    file_pattern='mnist_%s.tfrecord',
    splits_to_sizes={'train': 60000, 'test': 10000},
    num_classes=10,
    items_to_descriptions={
        'image': 'A [28 x 28 x 1] grayscale image.',
        'label': 'A single integer between 0 and 9',
    },
    image_shape=(28, 28, 1),
    channels=1,
    default_format='raw',  # upstream's default for records without a format.
)

SPLITS_TO_SIZES = DESCRIPTOR.splits_to_sizes
get_split = DESCRIPTOR.get_split
