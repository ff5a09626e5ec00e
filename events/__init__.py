"""The event stream: the one validation of an incoming event (:mod:`events.schema`), the one way
events enter (:func:`events.ingest.ingest`) and who hears of them, and event files read as the
API would take their rows (:mod:`events.files`, :mod:`events.columns`)."""
