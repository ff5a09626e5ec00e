"""The event stream: the one way events enter (:func:`events.ingest.ingest`) and who hears of them."""
