"""One live connection (private): the only code that touches websocket-client.

``transport`` frames bytes on the socket; ``writer`` is the thread that sends (commands, audio, pongs, close);
``connection`` runs the reader thread and ends everything once; ``delivery`` hands updates to the iterator,
observers and waiters; ``audio_jobs`` turns ``send_audio`` sources into chunks for the writer.
"""
