"""Everything edge-gru does with ``.tflite`` files without TensorFlow.

* :mod:`~edge_gru.tflite.schema`: the flatbuffer schema accessors;
* :mod:`~edge_gru.tflite.check`: structural checks before any interpreter sees a file;
* :mod:`~edge_gru.tflite.inspection`: operators, tensors, MACs and sizes of a file;
* :mod:`~edge_gru.tflite.runner`: LiteRT and TFLite Micro interpreters, both layouts;
* :mod:`~edge_gru.tflite.isolate`: running an interpreter (or TensorFlow's converter) in a child process.

Writing ``.tflite`` files needs TensorFlow and lives in :mod:`converters.tflite_export`.
"""
