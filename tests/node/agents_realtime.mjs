// Runs @openai/agents-realtime (the official TypeScript Agents SDK) against a simulator.
// Usage: node agents_realtime.mjs <ws-url> <api-key> <text|tool|audio>
// Prints one JSON line {ok, scenario, events, errors, ...} and exits 0 only when the turn completed without errors.
import { RealtimeAgent, RealtimeSession, tool } from '@openai/agents-realtime';
import { z } from 'zod';

const [url, apiKey, scenario] = process.argv.slice(2);
const errors = [];
const events = [];
const calls = [];
process.on('uncaughtException', (e) => { errors.push(`uncaught: ${e && e.message}`); finish(); });
process.on('unhandledRejection', (e) => { errors.push(`unhandled: ${e && e.message}`); finish(); });

const getWeather = tool({
  name: 'get_weather',
  description: 'Current weather for a city.',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => { calls.push(city); return `Sunny in ${city}.`; },
});
const agent = new RealtimeAgent({ name: 'Assistant', instructions: 'Answer briefly.', tools: [getWeather] });
const audio = scenario === 'audio';
const session = new RealtimeSession(agent, {
  transport: 'websocket',
  model: 'gpt-realtime',
  config: audio
    ? { outputModalities: ['audio'], audio: { input: { turnDetection: { type: 'server_vad', silenceDurationMs: 300 },
                                                       transcription: { model: 'gpt-4o-mini-transcribe' } } } }
    : { outputModalities: ['text'] },
});

let finished = false;
let agentEnds = 0;
let audioBytes = 0;
function finish() {
  if (finished) return;
  finished = true;
  const history = session.history.map((i) => ({ type: i.type, role: i.role, status: i.status }));
  console.log(JSON.stringify({ ok: errors.length === 0, scenario, events, errors, calls, agentEnds, audioBytes,
                               history }));
  try { session.close(); } catch (e) { /* closing */ }
  process.exit(errors.length === 0 ? 0 : 1);
}

session.on('error', (e) => { errors.push(`session error: ${JSON.stringify(e.error ?? e).slice(0, 500)}`); });
session.on('agent_tool_end', () => events.push('agent_tool_end'));
session.on('audio', (e) => { audioBytes += e.data.byteLength; });
session.on('agent_end', () => {
  agentEnds += 1;
  events.push('agent_end');
  const needed = scenario === 'tool' ? 2 : 1;
  if (agentEnds >= needed) setTimeout(finish, 200); // let late events (transcripts) arrive and be checked
});
session.transport.on('*', (e) => { if (e && e.type === 'error') errors.push(`transport error: ${JSON.stringify(e).slice(0, 500)}`); });

const deadline = setTimeout(() => { errors.push('timeout'); finish(); }, 20000);
deadline.unref();

await session.connect({ apiKey, url });
if (scenario === 'audio') {
  // 24 kHz PCM16: 300 ms silence, 800 ms of a harmonic tone, 900 ms silence (server VAD ends the turn)
  const rate = 24000;
  const samples = new Int16Array(Math.round(rate * 2.0));
  for (let i = Math.round(rate * 0.3); i < Math.round(rate * 1.1); i++) {
    const t = i / rate;
    let v = 0;
    for (let k = 1; k <= 5; k++) v += Math.sin(2 * Math.PI * 150 * k * t) / k;
    samples[i] = Math.round(v * 0.3 * 32767 / 1.5);
  }
  for (let i = 0; i < samples.length; i += 2400) {
    session.sendAudio(samples.slice(i, i + 2400).buffer);
  }
} else {
  session.sendMessage(scenario === 'tool' ? 'Weather in Paris?' : 'Hello!');
}
