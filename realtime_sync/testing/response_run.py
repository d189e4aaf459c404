"""One response: the full event sequence of a turn, in the order recorded live traffic shows.

GA (``pydantic-ai__*__ga.jsonl``): ``response.created`` -> per output item ``response.output_item.added``,
``conversation.item.added``, [``response.content_part.added``, deltas, ``response.output_{audio,text}.done``,
``response.output_audio_transcript.done``, ``response.content_part.done``], ``conversation.item.done``,
``response.output_item.done`` -> ``response.done`` -> ``rate_limits.updated``. Beta uses its own names, sends
``rate_limits.updated`` when the model starts answering, before the first output item (banyan-landing beta traces:
a response cancelled before it answered has none), ``conversation.item.created`` once and no
``conversation.item.done``. A transcription of user audio that finishes while the response streams is sent by the
response (:meth:`ResponseRun.hold`) once its answer has progressed far enough, so it lands among the answer's deltas
at every pace, as in the recorded GA traces. An audio answer streams, clause by clause, the
clause's transcript deltas then its audio deltas. The last item's done events, ``response.done`` and
``rate_limits.updated`` go out as one burst, as the service sends them, so a client event answering e.g.
``function_call_arguments.done`` is handled after ``response.done``. On a SIP call the audio goes to the caller
instead of ``response.output_audio.delta`` events (see :mod:`realtime_sync.testing.calls`).
"""
import base64
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, Generator, List, Optional, Tuple

from ..protocol import ContentPart, ConversationItem, Dialect, ResponseOptions, wire_server_type
from ..protocol.audio_formats import wire_sample_width
from ._util import bytes_per_ms, estimate_tokens, new_id, obfuscation, split_clauses, tokenize
from .conversation import StoredItem, item_wire
from .responder import Reply, ResponderContext
from .synth import split_audio, synthesize
from .worker import Call, CallFailed, Pause

__all__ = ["ResponseSpec", "ResponseRun"]

logger = logging.getLogger("realtime_sync.testing.response")
Json = Dict[str, Any]

FIRST_OUTPUT_S = 0.25  #: model latency before the first output item (times ``pace``)
TEXT_TOKEN_S = 0.02  #: time between text deltas (times ``pace``)
TEXT_DELTA_MS = 20.0  #: how far a text or arguments delta advances the answer (for held transcriptions)
AUDIO_LEAD_MS = 250  #: how far audio is sent ahead of real time when paced
#: what a ``gpt-realtime-2.x`` model says before a tool call when the responder gave no text
COMMENTARY = "I'll check that for you."


def _phase_of(model: str, calls: bool) -> Optional[str]:
    """``phase`` of an assistant message for a ``gpt-realtime-2.x`` model (ADDENDUM A2.3), None for other models:
    ``commentary`` when the response goes on to call a tool, else ``final_answer``."""
    if not model.startswith("gpt-realtime-2"):
        return None
    return "commentary" if calls else "final_answer"


@dataclass
class ResponseSpec:
    """Effective settings of one response: the session's, overridden by ``response.create``."""

    output_modalities: List[str]
    voice: str
    output_format: str  #: pcm16 / g711_ulaw / g711_alaw
    output_format_wire: Any
    instructions: str
    tools: List[Json]
    tool_choice: Any
    max_output_tokens: Any
    conversation: str  #: ``auto`` or ``none`` (out of band)
    metadata: Optional[Json]
    input_items: Optional[List[ConversationItem]]
    temperature: float
    speed: float
    options: Optional[ResponseOptions] = None


class _Output:
    def __init__(self, index: int, item: ConversationItem, stored: Optional[StoredItem], audio: bool) -> None:
        self.index = index
        self.item = item
        self.stored = stored
        self.audio = audio
        self.text = ""
        self.done = False


class ResponseRun:
    """Events of one response; :meth:`steps` is the worker stream, :meth:`cancel` ends it from the reader."""

    def __init__(self, conn: Any, spec: ResponseSpec) -> None:
        self.conn = conn
        self.spec = spec
        self.dialect: Dialect = conn.dialect
        self.id = new_id("resp")
        self.finished = False
        self.stream: Any = None
        self.outputs: List[_Output] = []
        self._current: Optional[_Output] = None
        self._audio_ms = 0.0
        self._audio_t0: Optional[float] = None
        self._chunks = 0
        self._input_tokens = (0, 0)
        self.status_details: Optional[Json] = None
        self._progress_ms = 0.0  #: how far the answer has streamed: ms of audio, TEXT_DELTA_MS per text delta
        self._held: List[Tuple[float, List[Json]]] = []  #: (progress due, events) of held transcriptions

    # -- events ---------------------------------------------------------------------------------------------------
    def _ev(self, ga_type: str, **fields: Any) -> Json:
        return {"type": wire_server_type(ga_type, self.dialect), "event_id": new_id("event"), **fields}

    def _obj(self, status: str, usage: Optional[Json] = None) -> Json:
        out: Json = {"object": "realtime.response", "id": self.id, "status": status,
                     "status_details": self.status_details or None}  # null while in progress / completed
        out["output"] = [item_wire(o.item, self.dialect) for o in self.outputs]
        out["conversation_id"] = self.conn.conversation_id if self.spec.conversation != "none" else None
        if self.dialect is Dialect.BETA:
            out.update(modalities=["audio", "text"] if "audio" in self.spec.output_modalities else ["text"],
                       voice=self.spec.voice, output_audio_format=self.spec.output_format,
                       temperature=self.spec.temperature, max_output_tokens=self.spec.max_output_tokens)
        else:
            out.update(output_modalities=list(self.spec.output_modalities),
                       max_output_tokens=self.spec.max_output_tokens,
                       audio={"output": {"format": self.spec.output_format_wire, "voice": self.spec.voice}})
        out["usage"] = usage  # null in response.created, as the service sends it
        out["metadata"] = self.spec.metadata
        return out

    def created_event(self) -> Json:
        return self._ev("response.created", response=self._obj("in_progress"))

    def _usage(self) -> Json:
        text_in, audio_in = self._input_tokens
        text_out = sum(estimate_tokens(o.text) for o in self.outputs)
        audio_out = int(self._audio_ms / 50)
        cached = {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0}
        return {"total_tokens": text_in + audio_in + text_out + audio_out, "input_tokens": text_in + audio_in,
                "output_tokens": text_out + audio_out,
                "input_token_details": {"text_tokens": text_in, "audio_tokens": audio_in, "image_tokens": 0,
                                        "cached_tokens": 0, "cached_tokens_details": cached},
                "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out}}

    def _finale(self, status: str) -> List[Json]:
        """``response.done`` (+ ``rate_limits.updated``); the response stops being active."""
        usage = self._usage()
        events = [self._ev("response.done", response=self._obj(status, usage))]
        self.finished = True
        if self.stream is not None:
            self.stream.finished = True
        remaining = self.conn.response_finished(self, usage["total_tokens"])
        if self.conn.call is not None:
            self.conn.call.response_finished(self.conn, self)
        if self.conn.config.rate_limits and self.dialect is Dialect.GA:  # GA: ~40 ms after response.done
            events.append(self._rate_limits(remaining))
        return events

    def _rate_limits(self, remaining: int) -> Json:
        limits = [{"name": "tokens", "limit": 15000000, "remaining": remaining, "reset_seconds": 0.002}]
        if self.dialect is Dialect.BETA:
            limits.insert(0, {"name": "requests", "limit": 20000, "remaining": 19999, "reset_seconds": 0.003})
        return self._ev("rate_limits.updated", rate_limits=limits)

    def _answering(self) -> List[Json]:
        """What goes out when the model starts answering: beta's ``rate_limits.updated`` (GA sends it after
        ``response.done``)."""
        if self.conn.config.rate_limits and self.dialect is Dialect.BETA:
            return [self._rate_limits(max(0, 15000000 - self.conn.tokens_used))]
        return []

    def hold(self, events: List[Json], after_ms: float) -> None:
        """Send ``events`` (a transcription's end) once the answer has streamed ``after_ms`` more, or when the
        response ends (before ``response.done``; after it when cancelled)."""
        self._held.append((self._progress_ms + after_ms, events))

    def _advance(self, ms: float) -> List[Json]:
        """The answer streamed ``ms`` more: the held events now due."""
        self._progress_ms += ms
        due = [e for at, events in self._held if at <= self._progress_ms for e in events]
        self._held = [(at, events) for at, events in self._held if at > self._progress_ms]
        return due

    def _release(self) -> List[Json]:
        """Every held event (the response ends)."""
        due = [e for _, events in self._held for e in events]
        self._held = []
        return due

    def cancel(self, reason: str) -> List[Json]:
        """End the response now (``client_cancelled`` / ``turn_detected``); returns the events to emit."""
        if self.finished:
            return []
        events = [e for o in self.outputs if not o.done for e in self._close(o, "incomplete")]
        self.status_details = {"type": "cancelled", "reason": reason}
        return events + self._finale("cancelled") + self._release()

    # -- the stream ----------------------------------------------------------------------------------------------
    def _context(self) -> ResponderContext:
        conv = self.conn.conversation
        items = list(self.spec.input_items) if self.spec.input_items is not None else conv.items()
        text = estimate_tokens(self.spec.instructions) + sum(estimate_tokens(i.text) + 4 for i in items)
        audio = sum(s.audio_ms for s in conv.stored() if s.item.role == "user") // 100 \
            if self.spec.input_items is None else 0
        self._input_tokens = (text, int(audio))
        return ResponderContext(items=items, instructions=self.spec.instructions, tools=list(self.spec.tools),
                                tool_choice=self.spec.tool_choice, output_modalities=list(self.spec.output_modalities),
                                dialect=self.dialect, model=self.conn.session.model, response=self.spec.options,
                                metadata=self.spec.metadata)

    def steps(self) -> Generator[Any, Any, None]:
        ctx = self._context()
        responder = self.conn.config.responder
        result = yield Call(lambda: responder(ctx))
        if self.finished:
            return
        carry: List[Json] = self._answering()
        try:
            if isinstance(result, CallFailed):
                raise result.error
            reply = Reply.coerce(result)
        except Exception as exc:  # a user responder's bug fails the response, as a server error would
            logger.error("responder failed: %s", type(exc).__name__)
            logger.debug("responder traceback", exc_info=exc)
            self.status_details = {"type": "failed", "error": {"type": "server_error", "code": "responder_error"}}
            yield carry + self._release() + self._finale("failed")
            return
        pace = self.conn.config.pace
        if pace and (FIRST_OUTPUT_S + reply.delay) > 0:
            yield carry
            carry = []
            yield Pause((FIRST_OUTPUT_S + reply.delay) * pace)
            if self.finished:
                return
        text, calls, status = reply.text, list(reply.function_calls), "completed"
        limit = self.spec.max_output_tokens
        if isinstance(limit, int) and estimate_tokens(text) > limit:
            text, calls, status = text[: limit * 4], [], "incomplete"
            self.status_details = {"type": "incomplete", "reason": "max_output_tokens"}
        phase = _phase_of(self.conn.session.model, bool(calls))
        if phase == "commentary" and not text and reply.audio is None:
            text = COMMENTARY  # a 2.x model says what it is about to do before calling a tool
        interleaved = calls.pop(0) if phase == "commentary" else None
        if text or reply.audio:
            carry = yield from self._message(len(self.outputs), text, reply.audio, carry, phase, interleaved)
            if self.finished:
                return
        for call in calls:
            carry = yield from self._function_call(len(self.outputs), call, carry)
            if self.finished:
                return
        yield carry + self._release() + self._finale(status)

    def _open(self, item: ConversationItem, audio: bool, part: Optional[Json], carry: List[Json]) -> List[Json]:
        stored = None
        index = len(self.outputs)
        events = carry + [self._ev("response.output_item.added", response_id=self.id, output_index=index,
                                   item=item_wire(item, self.dialect))]
        if self.spec.conversation != "none":
            stored = StoredItem(item, audio_format=self.spec.output_format)
            prev = self.conn.conversation.add(stored)
            kind = "conversation.item.created" if self.dialect is Dialect.BETA else "conversation.item.added"
            events.append(self._ev(kind, previous_item_id=prev, item=item_wire(item, self.dialect)))
        out = _Output(index, item, stored, audio)
        self.outputs.append(out)
        self._current = out
        if part is not None:
            events.append(self._ev("response.content_part.added", response_id=self.id, item_id=item.id,
                                   output_index=index, content_index=0, part=part))
            item.content = [ContentPart(type="output_audio", transcript="") if audio else
                            ContentPart(type="output_text", text="")]
        return events

    def _close(self, out: _Output, status: str) -> List[Json]:
        """The done events of an output item (``incomplete`` when cut by a cancel)."""
        item, ids = out.item, {"response_id": self.id, "item_id": out.item.id, "output_index": out.index}
        events: List[Json] = []
        if item.type == "message":
            if out.audio:
                events += [self._ev("response.output_audio.done", **ids, content_index=0),
                           self._ev("response.output_audio_transcript.done", **ids, content_index=0,
                                    transcript=out.text)]
                part = {"type": "audio", "transcript": out.text}
            else:
                events.append(self._ev("response.output_text.done", **ids, content_index=0, text=out.text))
                part = {"type": "text", "text": out.text}
            events.append(self._ev("response.content_part.done", **ids, content_index=0, part=part))
        elif status == "completed":
            events.append(self._ev("response.function_call_arguments.done", **ids, call_id=item.call_id,
                                   name=item.name, arguments=item.arguments))
        item.status = status
        if self.dialect is Dialect.GA and out.stored is not None:
            events.append(self._ev("conversation.item.done", previous_item_id=self.conn.conversation.previous_of(
                item.id), item=item_wire(item, self.dialect)))
        events.append(self._ev("response.output_item.done", response_id=self.id, output_index=out.index,
                               item=item_wire(item, self.dialect)))
        out.done = True
        self._current = None
        return events

    def _delta(self, out: _Output, ga_type: str, delta: str, obfuscate: bool = True) -> Json:
        ev = self._ev(ga_type, response_id=self.id, item_id=out.item.id, output_index=out.index, content_index=0,
                      delta=delta)
        if obfuscate:  # text and transcript deltas, in both dialects (the 2026 beta trace has it too)
            ev["obfuscation"] = obfuscation(delta)
        return ev

    def _call_events(self, call: Any) -> Tuple[_Output, List[Json]]:
        """A function call opened and its argument deltas (for a call interleaved with a commentary message)."""
        current = self._current
        item = ConversationItem(id=new_id("item"), type="function_call", status="in_progress", name=call.name,
                                call_id=call.call_id or new_id("call")[:21], arguments="")
        events = self._open(item, False, None, [])
        out = self._current
        assert out is not None
        for tok in tokenize(call.arguments_json):
            item.arguments = (item.arguments or "") + tok
            events.append(self._args_delta(out, tok))
        self._current = current
        return out, events

    def _args_delta(self, out: _Output, tok: str) -> Json:
        ev = self._ev("response.function_call_arguments.delta", response_id=self.id, item_id=out.item.id,
                      output_index=out.index, call_id=out.item.call_id, delta=tok)
        if self.dialect is Dialect.GA:
            ev["obfuscation"] = obfuscation(tok)
        return ev

    def _message(self, index: int, text: str, audio: Optional[bytes], carry: List[Json], phase: Optional[str] = None,
                 interleaved: Any = None) -> Generator[Any, Any, List[Json]]:
        """An assistant message; ``interleaved``: a function call whose item and argument deltas go out after the
        message's deltas but before its done events, and whose own done events follow the message's (the
        ``gpt-realtime-2.1`` trace)."""
        audio_out = "audio" in self.spec.output_modalities
        item = ConversationItem(id=new_id("item"), type="message", role="assistant", status="in_progress",
                                content=[], phase=phase)
        part = {"type": "audio", "transcript": ""} if audio_out else {"type": "text", "text": ""}
        opening = self._open(item, audio_out, part, carry)
        out = self._current
        assert out is not None
        pace = self.conn.config.pace
        clauses = split_clauses(tokenize(text)) or [[]]
        fmt = self.spec.output_format
        if audio_out and audio is not None:  # the given audio, shared between clauses by their length
            total = max(1, len(text))
            cuts, pos = [], 0
            for clause in clauses[:-1]:
                n = int(len(audio) * len("".join(clause)) / total)
                n -= n % wire_sample_width(fmt)
                cuts.append(audio[pos:pos + n])
                pos += n
            cuts.append(audio[pos:])
        batch: List[Json] = opening
        for ci, clause in enumerate(clauses):
            for tok in clause:
                out.text += tok
                ga = "response.output_audio_transcript.delta" if audio_out else "response.output_text.delta"
                batch.append(self._delta(out, ga, tok))
                if not audio_out:
                    batch += self._advance(TEXT_DELTA_MS)
                if pace:
                    yield batch
                    batch = []
                    if self.finished:
                        return []
                    yield Pause((0.005 if audio_out else TEXT_TOKEN_S) * pace)
                    if self.finished:
                        return []
                if item.content:
                    if audio_out:
                        item.content[0].transcript = out.text
                    else:
                        item.content[0].text = out.text
            if not audio_out:
                continue
            clause_audio = cuts[ci] if audio is not None else synthesize("".join(clause), fmt, self.spec.speed)
            for chunk in split_audio(clause_audio, fmt, self._chunks):
                if pace:
                    yield batch
                    batch = []
                    if self.finished:
                        return []
                    due = (self._audio_t0 or time.monotonic()) + max(0.0, self._audio_ms - AUDIO_LEAD_MS) / 1000 \
                        * pace
                    if due > time.monotonic():
                        yield Pause(due - time.monotonic())
                        if self.finished:
                            return []
                if self._audio_t0 is None:
                    self._audio_t0 = time.monotonic()
                ms = len(chunk) / bytes_per_ms(fmt)
                self._chunks += 1
                self._audio_ms += ms
                self.conn.session.audio_emitted = True
                if out.stored is not None:
                    out.stored.add_audio(chunk, ms)
                if self.conn.call is not None:  # a SIP call: the audio goes to the caller, not to the sideband
                    batch += self.conn.call.play(self.conn, self.id, out.item.id, chunk, fmt, ms)
                else:
                    batch.append(self._delta(out, "response.output_audio.delta", base64.b64encode(chunk).decode(),
                                             obfuscate=False))
                batch += self._advance(ms)
        call_out: Optional[_Output] = None
        if interleaved is not None:  # the call opens and streams before the message is done
            call_out, call_events = self._call_events(interleaved)
            batch += call_events
        batch += self._close(out, "completed")
        return batch + (self._close(call_out, "completed") if call_out is not None else [])

    def _function_call(self, index: int, call: Any, carry: List[Json]) -> Generator[Any, Any, List[Json]]:
        item = ConversationItem(id=new_id("item"), type="function_call", status="in_progress", name=call.name,
                                call_id=call.call_id or new_id("call")[:21], arguments="")
        batch = self._open(item, False, None, carry)
        out = self._current
        assert out is not None
        pace = self.conn.config.pace
        for tok in tokenize(call.arguments_json):
            item.arguments = (item.arguments or "") + tok
            batch.append(self._args_delta(out, tok))
            batch += self._advance(TEXT_DELTA_MS)
            if pace:
                yield batch
                batch = []
                if self.finished:
                    return []
                yield Pause(TEXT_TOKEN_S * pace)
                if self.finished:
                    return []
        return batch + self._close(out, "completed")
