"""Imported by every entry point before TensorFlow: hides its C++ banners.

TensorFlow reads TF_CPP_MIN_LOG_LEVEL once, when its libraries load, so this
must run before the first `import tensorflow`. Level 1 hides the C++ INFO
lines (the CPU-instructions banner, MLIR pass and tf.data notes) and keeps
C++ warnings and errors. A value the user set is left alone
(TF_CPP_MIN_LOG_LEVEL=0 shows everything). The oneDNN and CUDA-stub notices
written while TensorFlow loads go through absl's C++ logging, which ignores
the variable (they show even at level 3): TensorFlow offers no switch.
"""
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')
