"""Local stores: a website's storage on loopback (SeaweedFS, Azurite), created from its plan.

``divio-storage dev`` and the test suite share everything here: launching the servers (:mod:`.seaweedfs`,
:mod:`.azurite`), the local certificate authority that lets them serve TLS (:mod:`.tlsca`), the one applier that
creates the declared stores (:mod:`.applier`) and the relay that shapes latency and bandwidth (:mod:`.relay`).
"""
