"""Framework bridges: Keras import, training, TFLite export, C export.

TensorFlow / Keras are imported lazily inside the functions that need them.
"""
