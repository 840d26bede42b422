"""Media beyond still images: video files, decoded and encoded with PyAV."""
