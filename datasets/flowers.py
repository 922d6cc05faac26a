"""The flowers dataset (5 classes), converted by download_and_convert_data.py.

Files `flowers_<split>_<shard:05d>-of-00005.tfrecord`; JPEG images of
varying size.
"""
from datasets.descriptor import DatasetDescriptor

DESCRIPTOR = DatasetDescriptor(
    name='flowers',
    file_pattern='flowers_%s_*.tfrecord',
    splits_to_sizes={'train': 3320, 'validation': 350},
    num_classes=5,
    items_to_descriptions={
        'image': 'A color image of varying size.',
        'label': 'A single integer between 0 and 4',
    },
    default_format='png',  # upstream's default, kept; records say 'jpg'.
)

SPLITS_TO_SIZES = DESCRIPTOR.splits_to_sizes
get_split = DESCRIPTOR.get_split
