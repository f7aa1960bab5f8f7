// Facilitator view: partner's video, own camera, the coach's hints (newest on top), the partner's transcript and the
// parts map. Hints, transcript lines and the parts map arrive as LiveKit text streams from the coach participant, to
// this participant only. Session notes are built from what this page received, in this browser, only on click.
import {
  $, CONNECT_OPTIONS, FACILITATOR_ROOM_OPTIONS, LIVEKIT_MISSING, api, clock, connectionProblem, el, keepTrying, livekit, mediaProblem, showMessage,
  signalingUrl, wireCall, wireCopy,
} from './common.js';

const MAX_HINTS = 50;
const MAX_LINES = 300;
const MAX_PARTS = 40;
const MAX_NOTE_LINES = 5000; // kept for the notes (the page shows the last MAX_LINES)
const ROLE_LABELS = {
  manager: 'guess: manager',
  firefighter: 'guess: firefighter',
  exile: 'guess: exile',
  unclear: 'guess: not yet clear',
};
const STATE_LABELS = {
  starting: 'Coach starting…',
  waiting: 'Coach waiting for your partner',
  listening: 'Coach listening',
  thinking: 'Coach thinking…',
  paused: 'Coach paused',
  offline: 'Coach offline',
};

const ui = {
  state: $('#coach-state'),
  pause: $('#pause'),
  end: $('#end'),
  connection: $('#connection-message'),
  media: $('#media-message'),
  control: $('#control-message'),
  behind: $('#behind-message'),
  partnerVideo: $('#partner-video'),
  placeholder: $('#partner-placeholder'),
  placeholderText: $('#placeholder-text'),
  inviteBox: $('#invite-box'),
  retry: $('#retry'),
  selfView: $('#self-view'),
  audioSink: $('#audio-sink'),
  startAudio: $('#start-audio'),
  transcript: $('#transcript'),
  transcriptScroll: $('#transcript-scroll'),
  hints: $('#hints'),
  safetyBanner: $('#safety-banner'),
  safetyText: $('#safety-text'),
  parts: $('#parts'),
  partsEmpty: $('#parts-empty'),
  endedNotes: $('#ended-notes'),
};

let session = null; // the API's view of this session
let room = null;
let paused = false;
let ending = false;
let stopRetrying = null; // set while the page reconnects by itself

// ---- coach state --------------------------------------------------------------------------------------------

function setCoachState(state) {
  const s = typeof state === 'string' && state ? state : 'offline';
  const known = Object.hasOwn(STATE_LABELS, s);
  ui.state.className = `coach-state state-${known ? s : 'other'}`;
  ui.state.textContent = known ? STATE_LABELS[s] : `Coach: ${s}`;
  if (s === 'paused') paused = true;
  else if (s === 'listening' || s === 'thinking' || s === 'waiting') paused = false;
  ui.pause.textContent = paused ? 'Resume coach' : 'Pause coach';
}

/** The coach's `coach_behind` attribute: seconds its hints start late ("" or 0 when it keeps up). */
function setCoachBehind(value) {
  const seconds = Number(value);
  if (!value || !Number.isFinite(seconds) || seconds <= 0) showMessage(ui.behind, '');
  else {
    showMessage(ui.behind, `The coach is behind: hints come about ${Math.round(seconds)} s after your partner speaks. `
      + 'It is catching up by answering several turns at once.', 'warn');
  }
}

// ---- hints --------------------------------------------------------------------------------------------------

const hintCards = new Map(); // hint id -> {node, data, final}
// When each card first showed text and when it was complete, on this page's clock (ms since the epoch): what the
// facilitator saw, for `coach bench --live --browser`. Ids and times only, never the words.
const timeline = [];
let safetyHintId = null; // the hint the safety banner is about

function text(value) {
  return typeof value === 'string' && value.trim() ? value.trim() : null;
}

/**
 * Renders a coach.hint payload. Partial payloads with the same id update one card in place until the final one;
 * {withdrawn: true} takes down a hint that failed. Safety styling waits for the final hint: the model's draft
 * priority alone never decides it.
 */
function renderHint(payload, stream = {}) {
  if (!payload || typeof payload !== 'object' || payload.id === undefined || payload.id === null) return;
  const id = String(payload.id);
  let entry = hintCards.get(id);
  if (entry?.final) return; // a late partial never overwrites a finished hint
  if (payload.withdrawn === true) {
    notes.hints.delete(id);
    entry?.node.remove();
    hintCards.set(id, { node: null, final: true }); // remembered, so that a late partial stays ignored
    if (safetyHintId === id) hideSafety();
    return;
  }
  const partial = payload.partial === true;
  let data = payload;
  if (partial && entry) { // keep what earlier partials carried; newer non-empty fields win
    data = { ...entry.data };
    for (const [key, value] of Object.entries(payload)) if (value !== null && value !== undefined) data[key] = value;
  }
  const isNew = !entry;
  if (isNew) timeline.push({ id, first_at: Date.now(), final_at: null });
  if (!partial) {
    const seen = timeline.findLast((t) => t.id === id);
    if (seen && seen.final_at === null) {
      seen.final_at = Date.now();
      const ended = Number(payload.speech_end_at); // seconds since the epoch, on this same computer's clock
      seen.speech_end_at = Number.isFinite(ended) ? ended * 1000 : null;
      seen.latencies = payload.latencies && typeof payload.latencies === 'object' ? payload.latencies : {};
      seen.turn_ids = Array.isArray(payload.turn_ids) ? payload.turn_ids.map(Number) : [];
      // When the coach sent it (its stream's own timestamp) and when it arrived: the delivery, apart from the drawing.
      seen.sent_at = Number.isFinite(stream.sentAt) ? stream.sentAt : null;
      seen.received_at = Number.isFinite(stream.receivedAt) ? stream.receivedAt : null;
    }
  }
  if (isNew) {
    entry = { node: el('li', 'hint') };
    hintCards.set(id, entry);
    ui.hints.prepend(entry.node);
    trimHints();
  }
  entry.data = data;
  entry.final = !partial;
  if (entry.final) noteHint(id, data);
  const safety = !partial && data.priority === 'safety';
  fillHint(entry.node, id, data, { partial, safety });
  if (safety) showSafety(id, data);
  else if (safetyHintId === id) hideSafety();
  if (isNew) ui.hints.parentElement.scrollTop = 0;
}

function fillHint(node, id, data, { partial, safety }) {
  const checkIn = safety && data.alert === 'check_in';
  node.className = `hint${safety ? ' safety' : ''}${checkIn ? ' check-in' : ''}${partial ? ' is-partial' : ''}`;
  node.dataset.hintId = id;
  node.setAttribute('aria-busy', String(partial));

  const meta = el('div', 'hint-meta');
  meta.append(el('span', 'hint-badge', checkIn ? 'Check in gently' : safety ? 'Safety: stay with your partner' : 'Hint'));
  const seconds = Number(data.latencies?.speech_to_hint_s);
  if (partial) meta.append(el('span', 'hint-latency', 'writing…'));
  else if (Number.isFinite(seconds)) {
    const latency = el('span', 'hint-latency', `${seconds.toFixed(1)} s`);
    latency.title = 'Time from the end of your partner\'s speech to this hint';
    meta.append(latency);
  }
  const parts = [meta];

  const heard = safety ? text(data.heard) : null;
  if (heard) { // the partner's own words that raised it: the facilitator judges, the coach only noticed
    const p = el('p', 'hint-heard');
    p.append(el('span', 'hint-label', 'Heard'), el('q', null, heard));
    parts.push(p);
  }
  const summary = text(data.summary);
  if (summary) parts.push(el('p', 'hint-summary', summary));
  const suggestion = text(data.suggestion);
  if (suggestion) {
    const p = el('p', 'hint-suggestion');
    p.append(el('span', 'hint-label', 'Suggestion'), document.createTextNode(suggestion));
    parts.push(p);
  }
  const followUps = Array.isArray(data.follow_ups) ? data.follow_ups.map(text).filter(Boolean) : [];
  if (followUps.length) {
    parts.push(el('span', 'hint-label', 'You could ask'));
    const list = el('ul', 'hint-followups');
    for (const question of followUps) list.append(el('li', null, question));
    parts.push(list);
  }
  const reminder = text(data.reminder);
  if (reminder) parts.push(el('p', 'hint-reminder', reminder));
  node.replaceChildren(...parts);
}

function trimHints() {
  const cards = ui.hints.querySelectorAll('.hint');
  for (const node of [...cards].slice(MAX_HINTS)) {
    hintCards.delete(node.dataset.hintId);
    node.remove();
  }
}

function showSafety(id, data) {
  const checkIn = data.alert === 'check_in';
  if (checkIn && safetyHintId !== null && !ui.safetyBanner.classList.contains('check-in')) return; // urgent stays
  ui.safetyText.textContent = checkIn
    ? 'Check in: something your partner said may be a sign of risk. See the hint below.'
    : `Safety: ${text(data.summary) ?? 'Your partner may be in danger.'} See the hint below.`;
  ui.safetyBanner.classList.toggle('check-in', checkIn);
  ui.safetyBanner.setAttribute('role', checkIn ? 'status' : 'alert');
  ui.safetyBanner.hidden = false;
  safetyHintId = id;
}

function hideSafety() {
  ui.safetyBanner.hidden = true;
  safetyHintId = null;
}

$('#safety-dismiss').addEventListener('click', hideSafety);

// ---- transcript ---------------------------------------------------------------------------------------------

const transcriptLines = new Map(); // turn id -> <p>

/** Renders a coach.transcript payload {turn_id, text, t_start, t_end}; a repeated turn_id replaces its line. */
function renderTranscript(payload) {
  const words = text(payload?.text);
  if (!words) return;
  const key = payload.turn_id === undefined || payload.turn_id === null ? null : String(payload.turn_id);
  const scroller = ui.transcriptScroll;
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  let line = key === null ? null : transcriptLines.get(key);
  if (!line) {
    line = el('p', 'transcript-line');
    if (key !== null) transcriptLines.set(key, line);
    ui.transcript.append(line);
    const lines = ui.transcript.querySelectorAll('.transcript-line');
    for (const old of [...lines].slice(0, Math.max(0, lines.length - MAX_LINES))) {
      transcriptLines.delete(old.dataset.turnId);
      old.remove();
    }
  }
  if (key !== null) line.dataset.turnId = key;
  line.replaceChildren(el('time', null, clock(payload.t_start)), document.createTextNode(words));
  if (atBottom) scroller.scrollTop = scroller.scrollHeight;
  noteTranscript(key, payload, words);
}

// ---- parts map ----------------------------------------------------------------------------------------------

/** A coach.parts entry with only the fields and kinds of value the page uses. */
function cleanPart(part) {
  const number = (v) => (Number.isFinite(Number(v)) && v !== null && v !== '' ? Number(v) : null);
  return {
    id: String(part.id ?? ''),
    name: text(part.name),
    role: Object.hasOwn(ROLE_LABELS, part.role) ? part.role : 'unclear',
    role_cues: Array.isArray(part.role_cues) ? part.role_cues.map(text).filter(Boolean).slice(0, 4) : [],
    latest: text(part.latest) ?? '',
    first_turn: number(part.first_turn),
    last_turn: number(part.last_turn),
    mentions: number(part.mentions),
  };
}

/**
 * Renders a coach.parts payload {turn_id, parts: [...]}: each update replaces the whole list. The role is always
 * shown as the coach's guess; the parts spoken of in the latest turn are marked.
 */
function renderParts(payload) {
  if (!payload || typeof payload !== 'object' || !Array.isArray(payload.parts)) return;
  const parts = payload.parts.filter((p) => p && typeof p === 'object').map(cleanPart).filter((p) => p.name);
  notes.parts = parts;
  const turn = payload.turn_id === undefined || payload.turn_id === null ? null : Number(payload.turn_id);
  const items = parts.slice(0, MAX_PARTS).map((part) => partItem(part, part.last_turn !== null && part.last_turn === turn));
  ui.parts.replaceChildren(ui.partsEmpty, ...items);
}

function partItem(part, recent) {
  const node = el('li', `part${recent ? ' is-recent' : ''}`);
  node.dataset.partId = part.id;
  const head = el('div', 'part-head');
  const role = el('span', `part-role role-${part.role}`, ROLE_LABELS[part.role]);
  role.title = 'The coach\'s guess from the words your partner used'
    + (part.role_cues.length ? ` (${part.role_cues.join(', ')})` : '') + ': not a finding. Stay curious with your partner.';
  head.append(el('span', 'part-name', part.name), role);
  node.append(head);
  if (part.latest) node.append(el('p', 'part-latest', part.latest));
  const when = part.last_turn === null ? null : notes.transcript.get(String(part.last_turn));
  const meta = [part.mentions ? `mentioned ${part.mentions}×` : null, when ? `last at ${clock(when.t_start)}` : null]
    .filter(Boolean).join(' · ');
  if (meta) node.append(el('p', 'part-meta', meta));
  return node;
}

function clearParts() {
  ui.parts.replaceChildren(ui.partsEmpty);
}

// ---- session notes: built here from what the page received, downloaded only on click ------------------------

const notes = { transcript: new Map(), hints: new Map(), parts: [] };
let noteSeq = 0; // keys for transcript lines that came without a turn id

function noteTranscript(key, payload, words) {
  const number = (v) => (Number.isFinite(Number(v)) && v !== null ? Number(v) : null);
  notes.transcript.set(key ?? `n${noteSeq++}`, {
    turn_id: number(payload.turn_id), t_start: number(payload.t_start), t_end: number(payload.t_end), text: words,
  });
  for (const old of [...notes.transcript.keys()].slice(0, Math.max(0, notes.transcript.size - MAX_NOTE_LINES))) {
    notes.transcript.delete(old);
  }
}

function noteHint(id, data) {
  const seconds = Number(data.latencies?.speech_to_hint_s);
  notes.hints.set(id, {
    id,
    priority: data.priority === 'safety' ? 'safety' : 'normal',
    alert: data.priority === 'safety' ? (data.alert === 'check_in' ? 'check_in' : 'urgent') : null,
    heard: data.priority === 'safety' ? text(data.heard) : null,
    summary: text(data.summary),
    suggestion: text(data.suggestion),
    follow_ups: Array.isArray(data.follow_ups) ? data.follow_ups.map(text).filter(Boolean) : [],
    reminder: text(data.reminder),
    turn_ids: Array.isArray(data.turn_ids) ? data.turn_ids.map(Number).filter(Number.isFinite) : [],
    speech_to_hint_s: Number.isFinite(seconds) ? seconds : null,
  });
}

function hasNotes() {
  return notes.transcript.size > 0 || notes.hints.size > 0 || notes.parts.length > 0;
}

/** Everything the notes hold, as one plain object (the JSON download). */
function notesData(now = new Date()) {
  return {
    kind: 'nobadparts-session-notes',
    version: 1,
    session_id: session?.session_id ?? null,
    downloaded_at: now.toISOString(),
    note: 'Built in the facilitator\'s browser from what the coach sent; nothing was saved on the server.',
    transcript: [...notes.transcript.values()],
    hints: [...notes.hints.values()],
    parts: notes.parts,
  };
}

/** Text from the partner or the model, safe inside Markdown: one line, no markup, no HTML. */
function md(value) {
  return String(value ?? '').replace(/\s+/g, ' ').trim().replace(/[\\`*_[\]<>|~]/g, '\\$&');
}

function notesMarkdown(now = new Date()) {
  const data = notesData(now);
  const lines = ['# Session notes', '', `Downloaded ${now.toLocaleString()}.`,
    'Built in this browser from what the coach sent; nothing was saved on the server.', '', '## Transcript', ''];
  if (!data.transcript.length) lines.push('_Nothing was transcribed._');
  for (const line of data.transcript) lines.push(`- ${line.t_start === null ? '' : `${clock(line.t_start)} `}${md(line.text)}`);
  lines.push('', '## Hints', '');
  if (!data.hints.length) lines.push('_No hints._');
  data.hints.forEach((hint, i) => {
    lines.push(`### ${i + 1}. ${hint.alert === 'check_in' ? 'Safety check-in' : hint.priority === 'safety' ? 'Safety hint' : 'Hint'}`
      + (hint.turn_ids.length ? ` (after turn ${hint.turn_ids.join(', ')})` : ''), '');
    if (hint.heard) lines.push(`- Heard: ${md(hint.heard)}`);
    if (hint.summary) lines.push(`- Summary: ${md(hint.summary)}`);
    if (hint.suggestion) lines.push(`- Suggestion: ${md(hint.suggestion)}`);
    for (const question of hint.follow_ups) lines.push(`- You could ask: ${md(question)}`);
    if (hint.reminder) lines.push(`- Reminder: ${md(hint.reminder)}`);
    lines.push('');
  });
  lines.push('## Parts map', '', 'Roles are the coach\'s guesses from the words used, not findings.', '');
  if (!data.parts.length) lines.push('_No parts were spoken of._');
  for (const part of data.parts) {
    const cues = part.role_cues.length ? ` (from: ${part.role_cues.map(md).join(', ')})` : '';
    const seen = part.mentions ? `, mentioned ${part.mentions}×` : '';
    lines.push(`- **${md(part.name)}**: ${ROLE_LABELS[part.role]}${cues}${seen}`);
    if (part.latest) lines.push(`  - Latest: ${md(part.latest)}`);
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function download(filename, type, content) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = Object.assign(document.createElement('a'), { href: url, download: filename });
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function downloadNotes(kind) {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}`;
  if (kind === 'json') {
    download(`session-notes-${stamp}.json`, 'application/json', `${JSON.stringify(notesData(now), null, 2)}\n`);
  } else {
    download(`session-notes-${stamp}.md`, 'text/markdown;charset=utf-8', notesMarkdown(now));
  }
}

for (const button of document.querySelectorAll('[data-notes]')) {
  button.addEventListener('click', () => downloadNotes(button.dataset.notes));
}

/**
 * Renders a coach.history payload {transcript: [...], hints: [...], parts}: everything the coach sent this session,
 * oldest first, sent again when this page (re)joins. What is already on the page stays as it is.
 */
function renderHistory(payload) {
  if (!payload || typeof payload !== 'object') return;
  if (Array.isArray(payload.transcript)) for (const line of payload.transcript) renderTranscript(line);
  if (Array.isArray(payload.hints)) for (const hint of payload.hints) renderHint(hint);
  if (payload.parts) renderParts(payload.parts);
}

// The text-stream handlers registered with LiveKit, by topic: only the coach participant's messages are rendered.
const streamHandlers = {
  'coach.hint': fromCoach(renderHint),
  'coach.transcript': fromCoach(renderTranscript),
  'coach.parts': fromCoach(renderParts),
  'coach.history': fromCoach(renderHistory),
};

// Test hooks: the LiveKit handlers call exactly these functions.
window.nbpFacilitator = {
  renderHint, renderTranscript, renderParts, renderHistory, setCoachState, setCoachBehind, streamHandlers, timeline,
  room: () => room,
};

// ---- page state ---------------------------------------------------------------------------------------------

function sessionIdFromPage() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('sid');
  return fromHash || sessionStorage.getItem('nbp.facilitatorSid');
}

function showPlaceholder(message, { invite = false, retry = false } = {}) {
  ui.placeholderText.textContent = message;
  ui.inviteBox.hidden = !invite;
  ui.retry.hidden = !retry;
  ui.placeholder.hidden = false;
}

function showWaiting() {
  const inviteUrl = session && !session.partner_identity && sessionStorage.getItem(`nbp.invite.${session.session_id}`);
  if (inviteUrl) {
    $('#invite-url').value = inviteUrl;
    $('#invite-qr').src = `/api/qr?text=${encodeURIComponent(inviteUrl)}`;
    showPlaceholder('Waiting for your partner to join. Send them this link if you have not yet:', { invite: true });
  } else {
    showPlaceholder('Waiting for your partner’s video…');
  }
}

function showEnded() {
  ending = true;
  $('#workspace').hidden = true;
  $('#notices').hidden = true;
  ui.pause.hidden = true;
  ui.end.hidden = true;
  $('#ended').hidden = false;
  clearParts(); // the parts map ends with the session; the notes stay until this page is left
  ui.endedNotes.hidden = !hasNotes();
  setCoachState('offline');
  if (session) {
    sessionStorage.removeItem(`nbp.invite.${session.session_id}`);
    sessionStorage.removeItem('nbp.facilitatorSid');
  }
}

// ---- LiveKit ------------------------------------------------------------------------------------------------

function isCoach(participant) {
  return participant?.identity === session.coach_identity;
}

function fromCoach(render) {
  return async (reader, participantInfo) => {
    if (!session || participantInfo?.identity !== session.coach_identity) return; // only the coach sends these
    let payload;
    try {
      payload = JSON.parse(await reader.readAll());
    } catch {
      return;
    }
    render(payload, { sentAt: Number(reader.info?.timestamp), receivedAt: Date.now() });
  };
}

async function connect() {
  const LK = livekit();
  if (!LK) {
    showMessage(ui.connection, LIVEKIT_MISSING);
    showPlaceholder('No video.');
    return true; // trying again would not help
  }
  const { RoomEvent, DisconnectReason } = LK;
  const current = new LK.Room(FACILITATOR_ROOM_OPTIONS);
  let joined = false;
  room = current;
  wireCall(current, LK, {
    video: ui.partnerVideo, placeholder: ui.placeholder, audioSink: ui.audioSink, selfView: ui.selfView,
    startAudio: ui.startAudio, message: ui.connection,
  }, { isCoach, setCoachState, onVideoOff: () => showPlaceholder('Your partner’s camera is off.') })
    .on(RoomEvent.ParticipantAttributesChanged, (changed, participant) => {
      if (isCoach(participant) && 'coach_behind' in changed) setCoachBehind(changed.coach_behind);
    })
    .on(RoomEvent.ParticipantConnected, (participant) => {
      if (isCoach(participant)) setCoachState(participant.attributes?.coach_state ?? 'starting');
      else showPlaceholder('Your partner has joined. Waiting for their camera…');
    })
    .on(RoomEvent.ParticipantDisconnected, (participant) => {
      if (isCoach(participant)) {
        setCoachState('offline');
        setCoachBehind('');
      } else {
        ui.partnerVideo.hidden = true;
        showPlaceholder('Your partner has left the call. If they reload their page, they come back.');
      }
    })
    .on(RoomEvent.Disconnected, (reason) => {
      if (ending || !joined || room !== current) return;
      if (reason === DisconnectReason.ROOM_DELETED) {
        showEnded();
        return;
      }
      ui.partnerVideo.hidden = true;
      ui.selfView.hidden = true;
      room = null;
      setCoachState('offline');
      reconnectByItself();
    });
  for (const [topic, handler] of Object.entries(streamHandlers)) current.registerTextStreamHandler(topic, handler);

  try {
    await current.connect(signalingUrl(session.livekit_url), session.facilitator.token, CONNECT_OPTIONS);
    joined = true;
    if (room !== current || ending) { // ended or retried while connecting
      await current.disconnect();
      return false;
    }
  } catch (err) {
    if (room !== current || ending) return false;
    room = null;
    showMessage(ui.connection, connectionProblem(err,
      'Check that the coach (coach serve) is still running on this computer, then press Try again.'));
    showPlaceholder('Not connected.', { retry: true });
    return false;
  }
  showMessage(ui.connection, '');
  for (const participant of current.remoteParticipants.values()) {
    if (isCoach(participant)) setCoachState(participant.attributes?.coach_state ?? 'starting');
  }
  try {
    await current.localParticipant.enableCameraAndMicrophone();
    showMessage(ui.media, '');
  } catch (err) {
    showMessage(ui.media, mediaProblem(err), 'warn');
  }
  return true;
}

/** Back into the call without anyone pressing anything: a fresh token each try (the old one may have expired). */
function reconnectByItself() {
  stopRetrying?.();
  showMessage(ui.connection, 'The video call was interrupted. Reconnecting by itself…', 'warn');
  showPlaceholder('Reconnecting…', { retry: true });
  stopRetrying = keepTrying(async () => {
    if (ending) return true;
    const ok = await load();
    if (ok) stopRetrying = null;
    return ok;
  }, (wait) => showMessage(ui.connection,
    `Still reconnecting (next try in ${wait} s). If this lasts, check that coach serve is running.`, 'warn'));
}

async function load() {
  showMessage(ui.connection, '');
  const sid = sessionIdFromPage();
  if (!sid) {
    showMessage(ui.connection, 'No session is open in this tab. Start one from the start page.', 'info');
    ui.connection.append(' ', Object.assign(el('a', null, 'Go to the start page'), { href: '/' }));
    showPlaceholder('No session.');
    return true;
  }
  if (!location.hash) history.replaceState(null, '', `#sid=${encodeURIComponent(sid)}`);
  try {
    session = await api(`/api/sessions/${encodeURIComponent(sid)}`);
  } catch (err) {
    const reason = err.status === 404
      ? 'This session no longer exists (the coach may have been restarted). Start a new one from the start page.'
      : err.message;
    showMessage(ui.connection, reason);
    showPlaceholder('No session.', { retry: err.status !== 404 && err.status !== 403 });
    return err.status === 404 || err.status === 403; // nothing to come back to
  }
  if (session.ended) {
    showEnded();
    return true;
  }
  sessionStorage.setItem('nbp.facilitatorSid', sid);
  setCoachState(session.coach_state);
  ui.pause.disabled = false;
  ui.end.disabled = false;
  showWaiting();
  return connect();
}

// ---- controls -----------------------------------------------------------------------------------------------

ui.pause.addEventListener('click', async () => {
  const action = paused ? 'resume' : 'pause';
  ui.pause.disabled = true;
  try {
    const result = await api(`/api/sessions/${encodeURIComponent(session.session_id)}/${action}`, { method: 'POST' });
    paused = action === 'pause';
    setCoachState(result.coach_state);
    showMessage(ui.control, '');
  } catch (err) {
    showMessage(ui.control, `Could not ${action} the coach. ${err.message}`);
  } finally {
    ui.pause.disabled = false;
  }
});

ui.end.addEventListener('click', async () => {
  if (!window.confirm('End the session for everyone? Your partner will be disconnected and the coach will stop.')) return;
  ui.end.disabled = true;
  try {
    await api(`/api/sessions/${encodeURIComponent(session.session_id)}/end`, { method: 'POST' });
  } catch (err) {
    showMessage(ui.control, `Could not end the session. ${err.message}`);
    ui.end.disabled = false;
    return;
  }
  showEnded();
  await room?.disconnect();
});

ui.retry.addEventListener('click', async () => {
  ui.retry.hidden = true;
  stopRetrying?.();
  stopRetrying = null;
  const old = room;
  room = null;
  await old?.disconnect();
  showPlaceholder('Connecting…');
  await load(); // fetches a fresh token: the old one may have expired
});

ui.startAudio.addEventListener('click', async () => {
  await room?.startAudio();
  ui.startAudio.hidden = room?.canPlaybackAudio ?? true;
});

wireCopy($('#copy'), $('#invite-url'), $('#copy-status'));
window.addEventListener('hashchange', () => window.location.reload());
load();
