"""The pure core: references, mappings, results, the pipeline. No I/O lives here."""
