"""A user's own image folders, as converted by the custom converter.

The converter writes `custom_<split>_*.tfrecord`, labels.txt and
`dataset_meta.json` ({"num_classes": N, "splits": {"train": n,
"validation": m}, "file_pattern": "custom_%s_*.tfrecord"}); split sizes,
class count and file pattern are read from that file. Images are decoded to
3 channels, of varying size. A dataset converted from a CSV (`--source_csv`)
has `"multi_label": true` there: its item `label` is then the list of the
image's class ids (see datasets/multi_label.py).
"""
from datasets.descriptor import DatasetDescriptor

DESCRIPTOR = DatasetDescriptor(
    name='custom',
    file_pattern='custom_%s_*.tfrecord',
    splits_to_sizes=None,  # from dataset_meta.json
    num_classes=None,  # from dataset_meta.json
    items_to_descriptions={
        'image': 'A color image of varying size.',
        'label': 'A single integer between 0 and num_classes - 1',
    },
)

get_split = DESCRIPTOR.get_split
