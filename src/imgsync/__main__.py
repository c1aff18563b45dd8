"""``python -m imgsync`` is the same as the ``imgsync`` command."""

from imgsync.producer.cli import main

if __name__ == "__main__":
    main()
