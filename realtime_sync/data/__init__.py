"""Audio shipped with realtime_sync for demos and tests.

``weather_question.wav``: "What's the weather like in San Francisco right now?" (espeak-ng, 24 kHz mono PCM16,
0.5 s of leading and 1 s of trailing silence so server VAD sees the start and the end of speech).
"""
import os

DATA_DIR = os.path.dirname(os.path.abspath(__file__))
WEATHER_QUESTION_WAV = os.path.join(DATA_DIR, "weather_question.wav")

__all__ = ["DATA_DIR", "WEATHER_QUESTION_WAV"]
