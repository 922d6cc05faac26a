"""Shared test set-up: the repository root and compat/ on sys.path, graph mode."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPAT = os.path.join(ROOT, 'compat')
for path in (ROOT, COMPAT):
  if path not in sys.path:
    sys.path.insert(0, path)

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
