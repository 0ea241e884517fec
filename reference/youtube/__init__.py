"""YouTube Data API v3: the client (``client``), its errors and parsers, and a fake of the API
(``fake``, over the synthetic ``catalogue``, with ``faults``) to run the pipeline against."""
