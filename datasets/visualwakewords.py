"""The Visual Wake Words dataset (person / no person, from COCO).

Files `<split>.record-<shard>` for the splits train and val; JPEGs of
varying size, 2 classes, plus `object/bbox` boxes.
"""
from datasets import descriptor
from datasets.descriptor import DatasetDescriptor

DESCRIPTOR = DatasetDescriptor(
    name='visualwakewords',
    file_pattern='%s.record-*',
    splits_to_sizes={'train': 82783, 'val': 40504},
    num_classes=2,
    items_to_descriptions={
        'image': 'A color image of varying height and width.',
        'label': 'The label id of the image, an integer in {0, 1}',
        'object/bbox': 'A list of bounding boxes.',
    },
    default_format='jpeg',
    extra_features=descriptor.bounding_box_features(),
    extra_handlers={'object/bbox': descriptor.bounding_box_handler()},
)

get_split = DESCRIPTOR.get_split
