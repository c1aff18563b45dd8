"""The producer: the ``imgsync`` command line, embedded and distributed runners."""
