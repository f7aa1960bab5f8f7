// Partner page: consent, then a full-screen call with the facilitator. This page never sends data into the room:
// a partner may publish only camera and microphone.
import {
  $, CONNECT_OPTIONS, LIVEKIT_MISSING, ROOM_OPTIONS, api, connectionProblem, keepTrying, livekit, mediaProblem, showMessage,
  signalingUrl, wireCall,
} from './common.js';

const STORE_KEY = 'nbp.partner'; // {invite, rejoin}: lets a reload come back without spending a new invite; the
// server replaces the rejoin code at every use, so the stored one is always the latest
const INVITE_RE = /^[A-Za-z0-9_-]{8,128}$/;

const ui = {
  welcome: $('#welcome'),
  loading: $('#loading'),
  consentCard: $('#consent-card'),
  form: $('#join-form'),
  name: $('#name'),
  consent: $('#consent'),
  join: $('#join'),
  joinMessage: $('#join-message'),
  problemCard: $('#problem-card'),
  call: $('#call'),
  remoteVideo: $('#remote-video'),
  placeholder: $('#call-placeholder'),
  placeholderText: $('#call-placeholder-text'),
  retry: $('#retry'),
  selfView: $('#self-view'),
  audioSink: $('#audio-sink'),
  indicator: $('#coach-indicator'),
  callMessage: $('#call-message'),
  mediaMessage: $('#media-message'),
  startAudio: $('#start-audio'),
  leave: $('#leave'),
  left: $('#left'),
};

let room = null;
let view = null; // {identity, token, livekit_url, coach_identity}
let leaving = false;

// ---- coach indicator --------------------------------------------------------------------------------------------

function setCoachState(state) {
  let label = 'Coach not listening';
  let cls = 'coach-state';
  if (state === 'listening' || state === 'thinking') {
    label = 'Coach is listening';
    cls += ' state-listening';
  } else if (state === 'paused') {
    label = 'Coach paused';
    cls += ' state-paused';
  }
  ui.indicator.className = cls;
  ui.indicator.textContent = label;
}

// Test hooks: the LiveKit handlers call the same function; the room as it is now, for checks from outside the page.
window.nbpPartner = { setCoachState, room: () => room };

// ---- screens ----------------------------------------------------------------------------------------------------

function saved() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE_KEY)) ?? null;
  } catch {
    return null;
  }
}

function showScreen(name) {
  ui.welcome.hidden = name !== 'welcome';
  ui.call.hidden = name !== 'call';
  ui.left.hidden = name !== 'left';
  document.body.classList.toggle('in-call', name === 'call');
}

function showProblem(title, message) {
  showScreen('welcome');
  ui.loading.hidden = true;
  ui.consentCard.hidden = true;
  $('#problem-title').textContent = title;
  $('#problem-text').textContent = message;
  ui.problemCard.hidden = false;
}

function showLeft(title, message, canRejoin) {
  showScreen('left');
  $('#left-title').textContent = title;
  $('#left-text').textContent = message;
  $('#rejoin').hidden = !canRejoin;
}

function showCallPlaceholder(message, retry = false) {
  ui.placeholderText.textContent = message;
  ui.retry.hidden = !retry;
  ui.placeholder.hidden = false;
}

/** The invite page's errors in plain words: 404 unknown, 409 already used, 410 expired or ended. */
function inviteProblem(err) {
  if (err.status === 409) {
    showProblem('This invite has already been used',
      'Each invite link works once, for one person. If you joined earlier and closed the page, ask the facilitator for a new link.');
  } else if (err.status === 410) {
    showProblem('This link can no longer be used', err.message);
  } else {
    showProblem('This invite link is not valid',
      'Check that you opened the whole link, or ask the facilitator to send you a new one.');
  }
}

// ---- consent and joining ------------------------------------------------------------------------------------------

function inviteFromUrl() {
  try {
    return decodeURIComponent(location.hash.slice(1)).trim();
  } catch {
    return '';
  }
}

function updateJoinButton() {
  ui.join.disabled = !(ui.consent.checked && ui.name.value.trim());
}

ui.consent.addEventListener('change', updateJoinButton);
ui.name.addEventListener('input', updateJoinButton);

ui.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = ui.name.value.trim();
  if (!ui.consent.checked || !name) {
    showMessage(ui.joinMessage, !name ? 'Please enter your name.' : 'Please tick the box to agree before joining.');
    return;
  }
  const invite = inviteFromUrl();
  ui.join.disabled = true;
  showMessage(ui.joinMessage, '');
  try {
    const joined = await api('/api/join', { method: 'POST', body: { invite, name, consent: true } });
    sessionStorage.setItem(STORE_KEY, JSON.stringify({ invite, rejoin: joined.rejoin }));
    history.replaceState(null, '', location.pathname); // the invite is spent: keep it out of the address bar
    await enterCall(joined);
  } catch (err) {
    if ([404, 409, 410].includes(err.status)) inviteProblem(err);
    else showMessage(ui.joinMessage, `Could not join. ${err.message}`);
    updateJoinButton();
  }
});

/** Back into the call with a fresh token. Resolves true when there is nothing more to try (in, or refused). */
async function rejoin() {
  const stored = saved();
  if (!stored?.rejoin) {
    showProblem('This link can no longer be used', 'Ask the facilitator to send you a new invite link.');
    return true;
  }
  try {
    const joined = await api('/api/rejoin', { method: 'POST', body: { rejoin: stored.rejoin } });
    // Each code works once: the answer carries the next one, kept before anything else can fail.
    sessionStorage.setItem(STORE_KEY, JSON.stringify({ ...stored, rejoin: joined.rejoin }));
    return await enterCall(joined);
  } catch (err) {
    if (err.status === 404 || err.status === 410) {
      sessionStorage.removeItem(STORE_KEY);
      showProblem(err.status === 410 ? 'The session has ended' : 'You can no longer rejoin this session', err.message);
      return true;
    }
    if (!ui.call.hidden) {
      showMessage(ui.callMessage, `Could not rejoin. ${err.message}`);
      showCallPlaceholder('Not connected.', true);
    } else {
      showProblem('Could not rejoin the session', err.message);
    }
    return false;
  }
}

let stopRetrying = null; // set while the page reconnects by itself

function reconnectByItself() {
  stopRetrying?.();
  showMessage(ui.callMessage, 'The call was interrupted. Reconnecting by itself…', 'warn');
  showCallPlaceholder('Reconnecting…', true);
  stopRetrying = keepTrying(async () => {
    if (leaving) return true;
    const done = await rejoin();
    if (done) stopRetrying = null;
    return done;
  }, (wait) => showMessage(ui.callMessage, `Still reconnecting (next try in ${wait} s)…`, 'warn'));
}

// ---- the call ---------------------------------------------------------------------------------------------------

async function enterCall(joined) {
  view = joined;
  leaving = false;
  showScreen('call');
  showMessage(ui.callMessage, '');
  showCallPlaceholder('Connecting…');
  setCoachState('offline');
  const LK = livekit();
  if (!LK) {
    showMessage(ui.callMessage, LIVEKIT_MISSING);
    showCallPlaceholder('No video.');
    return true;
  }
  const { RoomEvent, DisconnectReason } = LK;
  const current = new LK.Room(ROOM_OPTIONS);
  const isCoach = (participant) => participant?.identity === view.coach_identity;
  let joinedRoom = false;
  room = current;
  wireCall(current, LK, {
    video: ui.remoteVideo, placeholder: ui.placeholder, audioSink: ui.audioSink, selfView: ui.selfView,
    startAudio: ui.startAudio, message: ui.callMessage,
  }, { isCoach, setCoachState, onVideoOff: () => showCallPlaceholder('The facilitator’s camera is off.') })
    .on(RoomEvent.ParticipantConnected, (participant) => {
      if (isCoach(participant)) setCoachState(participant.attributes?.coach_state);
    })
    .on(RoomEvent.ParticipantDisconnected, (participant) => {
      if (isCoach(participant)) setCoachState('offline');
      else {
        ui.remoteVideo.hidden = true;
        showCallPlaceholder('The facilitator has left the call.');
      }
    })
    .on(RoomEvent.Disconnected, (reason) => {
      if (leaving || !joinedRoom || room !== current) return;
      room = null;
      setCoachState('offline');
      if (reason === DisconnectReason.ROOM_DELETED) {
        sessionStorage.removeItem(STORE_KEY);
        showLeft('The session has ended', 'The facilitator has ended the session. Thank you for taking part.', false);
        return;
      }
      ui.remoteVideo.hidden = true;
      ui.selfView.hidden = true;
      reconnectByItself();
    });

  try {
    await current.connect(signalingUrl(view.livekit_url), view.token, CONNECT_OPTIONS);
    joinedRoom = true;
    if (room !== current) { // left while connecting
      await current.disconnect();
      return true;
    }
  } catch (err) {
    if (room === current) room = null;
    if (leaving) return true;
    showMessage(ui.callMessage, connectionProblem(err,
      'The facilitator’s computer may not be reachable from here. Wait a moment, then press Try again.'));
    showCallPlaceholder('Not connected.', true);
    return false;
  }
  // The facilitator's video may already be playing (it can arrive before connect() returns): no placeholder over it.
  if (ui.remoteVideo.hidden) showCallPlaceholder('Waiting for the facilitator’s video…');
  for (const participant of current.remoteParticipants.values()) {
    if (isCoach(participant)) setCoachState(participant.attributes?.coach_state);
  }
  try {
    await current.localParticipant.enableCameraAndMicrophone();
    showMessage(ui.mediaMessage, '');
  } catch (err) {
    showMessage(ui.mediaMessage, mediaProblem(err), 'warn');
  }
  return true;
}

ui.leave.addEventListener('click', async () => {
  leaving = true;
  stopRetrying?.();
  const current = room;
  room = null;
  setCoachState('offline');
  showLeft('You have left the session', 'Thank you for taking part. You can come back while the session is open.',
    Boolean(saved()?.rejoin));
  await current?.disconnect();
});

ui.retry.addEventListener('click', async () => {
  ui.retry.hidden = true;
  stopRetrying?.();
  stopRetrying = null;
  const current = room;
  room = null;
  await current?.disconnect();
  await rejoin(); // a fresh token: the old one may have expired
});

$('#rejoin').addEventListener('click', rejoin);

ui.startAudio.addEventListener('click', async () => {
  await room?.startAudio();
  ui.startAudio.hidden = room?.canPlaybackAudio ?? true;
});

// ---- start ------------------------------------------------------------------------------------------------------

function start() {
  const invite = inviteFromUrl();
  const stored = saved();
  if (stored?.rejoin && (!invite || invite === stored.invite)) {
    rejoin(); // a reload after joining: consent was already given
    return;
  }
  ui.loading.hidden = true;
  if (!invite) {
    showProblem('This link is incomplete', 'Open the whole invite link the facilitator sent you.');
  } else if (!INVITE_RE.test(invite)) {
    showProblem('This invite link is not valid',
      'Check that you opened the whole link, or ask the facilitator to send you a new one.');
  } else {
    ui.consentCard.hidden = false;
    updateJoinButton();
  }
}

start();
