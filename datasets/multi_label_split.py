"""A train/validation split of multi-label data, stratified per label.

A row with several labels cannot follow each label's quota the way the
folder converter splits one class at a time. This is iterative
stratification (Sechidis, Tsoumakas and Vlahavas, "On the stratification of
multi-label data", ECML PKDD 2011), the usual answer:

1. each label wants round(count * validation_fraction) of its rows in
   validation and the rest in train, and, when it has two rows or more, at
   least one in each split (the folder converter keeps a one-image class in
   train; so does this);
2. the label with the fewest rows not yet placed goes first (rare labels
   have the fewest ways to be placed well): each of its rows goes to the
   split that still wants that label most (ties: the split with more room
   left, then train), and counts against every label of the row;
3. rows without a label are stratified as one more label.

Each label keeps a row in both splits whenever its rows allow it; they may
not, when every row of a rare label was already placed for a rarer one.
What is kept is each label's share: the validation split's share of rows
follows from them, within a few percent of `validation_fraction` on rows
with several labels (more on tiny data, where the one-row minimum weighs).
The row order is shuffled first and each split last, with `seed`.
"""
import collections
import math
import random

__all__ = ['split_rows', 'validation_quota']

TRAIN, VALIDATION = 'train', 'validation'
_NO_LABEL = -1  # Stands for the empty label set.


def validation_quota(count, validation_fraction):
  """How many of a label's `count` rows validation should get.

  round(count * validation_fraction), but at least one when the label has
  two rows or more (and validation_fraction > 0), and never all of them.
  """
  if validation_fraction <= 0 or count < 2:
    return 0
  quota = int(math.floor(count * validation_fraction + 0.5))
  return min(max(quota, 1), count - 1)


class _Placement:
  """What each split still wants while rows are placed."""

  def __init__(self, label_sets, validation_fraction):
    counts = collections.Counter(
        label for labels in label_sets for label in labels)
    self.wanted = {VALIDATION: {}, TRAIN: {}}
    for label, count in counts.items():
      quota = validation_quota(count, validation_fraction)
      self.wanted[VALIDATION][label] = quota
      self.wanted[TRAIN][label] = count - quota
    num_validation = int(math.floor(len(label_sets) * validation_fraction
                                    + 0.5))
    self.room = {VALIDATION: num_validation,
                 TRAIN: len(label_sets) - num_validation}
    self.unplaced = dict(counts)

  def best_split(self, label):
    return max((TRAIN, VALIDATION), key=lambda split: (
        self.wanted[split][label], self.room[split], split == TRAIN))

  def place(self, labels, split):
    self.room[split] -= 1
    for label in labels:
      self.wanted[split][label] -= 1
      self.unplaced[label] -= 1

  def rarest_label(self):
    """The label with the fewest unplaced rows (then the smallest), or None."""
    left = [(count, label) for label, count in self.unplaced.items() if count]
    return min(left)[1] if left else None


def split_rows(label_sets, validation_fraction, seed):
  """Splits rows into train and validation, stratified per label.

  Args:
    label_sets: one iterable of int labels per row (may be empty).
    validation_fraction: float in [0, 1).
    seed: int seed of the shuffles.

  Returns:
    {'train': [row index], 'validation': [row index]}, each shuffled.
  """
  rng = random.Random(seed)
  label_sets = [tuple(labels) or (_NO_LABEL,) for labels in label_sets]
  order = list(range(len(label_sets)))
  rng.shuffle(order)
  rows_by_label = collections.defaultdict(list)
  for row in order:
    for label in label_sets[row]:
      rows_by_label[label].append(row)
  placement = _Placement(label_sets, validation_fraction)
  splits = {TRAIN: [], VALIDATION: []}
  placed = set()
  label = placement.rarest_label()
  while label is not None:
    for row in rows_by_label[label]:
      if row not in placed:
        split = placement.best_split(label)
        placement.place(label_sets[row], split)
        splits[split].append(row)
        placed.add(row)
    label = placement.rarest_label()
  for rows in splits.values():
    rng.shuffle(rows)
  return splits
