"""What the tests share, one of each: the fake session (:mod:`.fake_session`), ``wait_until`` (:mod:`.waiting`),
the client and session factory for a simulator (:mod:`.sessions`) and the recorded-trace loader (:mod:`.traces`)."""
