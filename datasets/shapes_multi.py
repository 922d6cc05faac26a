"""The shapes_multi dataset: synthetic images of 1 to 3 shapes each.

Its generator (datasets/convert_shapes_multi.py) writes
`shapes_multi_<split>_*.tfrecord` for the splits train and validation (2,500
and 500 images by default; the sizes are read from `dataset_meta.json`),
labels.txt with the five classes of `shapes`. Each record's label is the
list of the shapes it shows (see datasets/multi_label.py).
"""
from datasets.descriptor import DatasetDescriptor
from datasets.shapes_generator import CLASS_NAMES

DESCRIPTOR = DatasetDescriptor(
    name='shapes_multi',
    file_pattern='shapes_multi_%s_*.tfrecord',
    splits_to_sizes=None,  # from dataset_meta.json
    num_classes=len(CLASS_NAMES),
    items_to_descriptions={
        'image': 'A color image of 1 to 3 shapes.',
        'label': 'The sorted ids, between 0 and num_classes - 1, of the '
                 'shapes shown',
    },
    default_format='png',
    multi_label=True,
)

get_split = DESCRIPTOR.get_split
