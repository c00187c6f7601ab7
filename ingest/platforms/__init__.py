"""One package per platform: everything valuenet knows about it in one place.

``<platform>/parse.py`` turns one raw payload into Interactions (dispatched by
:mod:`valuenet.ingest.parsers`); ``verify.py`` checks a webhook's signature (served by
:mod:`valuenet.ingest.webhook`); ``read.py`` reads the platform's export or history files (chosen by
:mod:`valuenet.ingest.readers`); ``fake.py`` writes the platform's payloads for the synthetic
network (:mod:`valuenet.ingest.synth`). Conventions shared by every parser (actor and event ids,
the parse context) are in :mod:`valuenet.ingest.platforms._common`; the test payloads are in
``tests/payloads/<platform>/``.
"""
