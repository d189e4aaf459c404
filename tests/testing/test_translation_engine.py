"""The words synthetic speech carries (speech_marks) and the translation engine's frames and phrases, without a
server."""
import numpy as np
import pytest

from realtime_sync.testing import spoken_text, synthesize
from realtime_sync.testing.speech_marks import MarkReader, mark_words, read_word, text_pieces
from realtime_sync.testing.translation_engine import FRAME_BYTES, Heard, Phrase, TranslationEngine


@pytest.mark.parametrize("text", ["good morning everyone", "Good morning, everyone. How are you?", "a",
                                  "don't stop-me now!!", "Ünïcode ça va? 東京", "x" * 40, "(42) [es] ok"])
@pytest.mark.parametrize("speed", [0.25, 1.0, 4.0])
def test_synthesized_speech_carries_its_text(text, speed):
    assert spoken_text(synthesize(text, speed=speed)) == text


def test_pieces_join_back_and_carry_their_punctuation():
    assert text_pieces("Good morning, everyone.") == ["Good", " morning,", " everyone."]
    assert text_pieces("  ¿Qué tal? bien ") == ["  ¿Qué", " tal?", " bien "]
    assert text_pieces("...") == []


def test_the_mark_is_inaudible_and_keeps_the_silences():
    plain = np.frombuffer(synthesize("plain words here", "g711_ulaw"), dtype=np.uint8)  # G.711 is never marked
    assert spoken_text(synthesize("plain words here", "g711_ulaw")) == "" and plain.size
    marked = np.frombuffer(synthesize("plain words here"), dtype="<i2").astype(np.int32)
    restored = marked.copy()
    restored[np.abs(restored) >= 2] &= ~1  # clear every LSB the mark may have used
    assert np.max(np.abs(marked - restored)) <= 1
    assert np.array_equal(marked == 0, restored == 0)  # no silence added or removed


def test_unmarked_or_damaged_audio_reads_as_nothing():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 3000, 24000).astype("<i2")
    assert spoken_text(noise.tobytes()) == ""
    speech = np.frombuffer(synthesize("hello world"), dtype="<i2")
    louder = np.clip(speech.astype(np.int32) * 2, -32768, 32767).astype("<i2")  # gain destroys the mark
    assert spoken_text(louder.tobytes()) == ""
    assert read_word(np.zeros(10, dtype=np.int16)) is None
    # words that do not match the runs one to one are left unmarked
    two_runs = np.concatenate([np.full(500, 900), np.zeros(400), np.full(500, 900)]).astype(np.int16)
    assert np.array_equal(mark_words(two_runs, "one"), two_runs)


@pytest.mark.parametrize("chunk", [1, 777, 4800, 10 ** 6])
def test_the_reader_takes_any_chunking_and_silence_around(chunk):
    audio = np.frombuffer(bytes(3334) + synthesize("one more time")[:-2000], dtype="<i2")  # 80 zeros after "time"
    reader = MarkReader()
    pieces = []
    for i in range(0, audio.size, chunk):
        pieces += reader.feed(audio[i:i + chunk])
    assert "".join(pieces) == "one more"  # "time" waits for its trailing silence
    assert reader.flush() == [" time"]


def test_engine_frames_words_and_phrases():
    engine = TranslationEngine()
    audio = bytes(5000) + synthesize("Good morning, everyone. How are you") + bytes(24000) + synthesize("bye")
    found = []
    for i in range(0, len(audio), 7000):
        found += engine.append(audio[i:i + 7000])
    assert engine.held_bytes == len(audio) % FRAME_BYTES and engine.frames == len(audio) // FRAME_BYTES
    found += engine.finish()
    assert engine.held_bytes == 0 and engine.elapsed_ms == 200 * engine.frames
    heard = [f for f in found if isinstance(f, Heard)]
    phrases = [f.text for f in found if isinstance(f, Phrase)]
    assert "".join(h.text for h in heard) == "Good morning, everyone. How are you bye"
    assert phrases == ["Good morning, everyone.", "How are you", "bye"]  # a sentence end, a 545 ms pause, the end
    assert all(f.elapsed_ms % 200 == 0 for f in found)
    assert found.index(Phrase("Good morning, everyone.", heard[2].elapsed_ms)) == 3  # right after its last word


def test_a_long_phrase_without_pause_is_cut():
    engine = TranslationEngine()
    words = " ".join(f"w{i}" for i in range(40))
    found = engine.append(synthesize(words)) + engine.finish()
    phrases = [f.text for f in found if isinstance(f, Phrase)]
    assert len(phrases) == 2 and " ".join(phrases) == words and len(phrases[0].split()) == 30
