"""One live connection (private): the only code that touches websocket-client.

``transport`` frames bytes on the socket; ``reader`` is the thread that turns frames into typed updates;
``writer`` is the thread that sends (commands, audio, pongs, close); ``connection`` starts both and ends everything
once; ``delivery`` (owned by the session, so it outlives a connection) hands updates to the observers, the
iterator and the waiters; ``audio_jobs`` turns ``send_audio`` sources into chunks for the writer.
"""
