"""The shapes dataset: small synthetic images made on this machine.

Its generator writes `shapes_<split>_*.tfrecord` for the splits train and
validation, labels.txt and `dataset_meta.json`, from which split sizes and
class count are read (see datasets/descriptor.py).
"""
from datasets.descriptor import DatasetDescriptor

DESCRIPTOR = DatasetDescriptor(
    name='shapes',
    file_pattern='shapes_%s_*.tfrecord',
    splits_to_sizes=None,  # from dataset_meta.json
    num_classes=None,  # from dataset_meta.json
    items_to_descriptions={
        'image': 'A color image of a shape.',
        'label': 'A single integer between 0 and num_classes - 1',
    },
    default_format='png',
)

get_split = DESCRIPTOR.get_split
