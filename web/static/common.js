// Small helpers shared by the three pages. Everything from the network is written with textContent, never innerHTML.

/** An error from our API, carrying the HTTP status and the server's plain-words reason. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Calls our JSON API; resolves to the parsed body, or throws ApiError with the server's {error} text. */
export async function api(path, { method = 'GET', body } = {}) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'The coach server cannot be reached. Check that it is still running, then try again.');
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // not JSON: fall through to a generic message
  }
  if (!response.ok) {
    const reason = data && typeof data.error === 'string' ? data.error : `the server answered ${response.status}`;
    throw new ApiError(response.status, sentence(reason));
  }
  return data;
}

/** "this invite has expired: ask..." -> "This invite has expired: ask...". */
export function sentence(text) {
  const s = String(text).trim();
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

/** Creates an element with optional class and text (text is set with textContent). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export const $ = (selector) => document.querySelector(selector);

/** Shows `text` in a message element (or hides it when text is empty). kind: error | warn | info. */
export function showMessage(node, text, kind = 'error') {
  node.replaceChildren();
  node.className = `message ${kind}`;
  node.hidden = !text;
  if (text) node.textContent = text;
  return node;
}

/** The LiveKit browser SDK, loaded from our own server as /vendor/livekit-client.js, or null when it is missing. */
export function livekit() {
  return window.LivekitClient ?? null;
}

export const LIVEKIT_MISSING =
  'The video library is missing on the coach\'s computer: run scripts/install.sh there, then reload this page.';

/**
 * Where the browser opens LiveKit signaling. The server proxies it under /rtc on its own origin, and the page's
 * Content-Security-Policy allows connections to that origin only; so when the server's livekit_url names another
 * host (e.g. 127.0.0.1 for a page opened as localhost), the page's own origin is used instead.
 */
export function signalingUrl(livekitUrl) {
  const own = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
  try {
    const url = new URL(livekitUrl);
    if (url.host === location.host) return livekitUrl;
  } catch {
    // not a URL: use our own origin
  }
  return own;
}

/**
 * Options for room.connect(). No ICE servers: everyone is on the same network, so host candidates connect, and the
 * browser never asks a STUN server on the internet (without this it would use the list the server hands out).
 */
export const CONNECT_OPTIONS = { rtcConfig: { iceServers: [] } };

/**
 * Room options for a call of two people. One viewer per video, so no simulcast: encoding three layers of the same
 * camera costs CPU that, on the facilitator's computer, the coach's models need. 540p at 24 fps is plenty for a
 * face on a LAN.
 */
export const ROOM_OPTIONS = {
  adaptiveStream: true,
  dynacast: true,
  publishDefaults: { simulcast: false },
  videoCaptureDefaults: { resolution: { width: 960, height: 540, frameRate: 24 } },
};

// The facilitator's computer also runs the coach's models: its camera is sent at 360p and 15 frames a second, a
// quarter of the encoding work of 540p at 24, so that Whisper and the LLM keep the cores they need (measured with
// `coach bench --live --browser`). The partner's page, on its own device, keeps 540p.
export const FACILITATOR_ROOM_OPTIONS = {
  ...ROOM_OPTIONS,
  videoCaptureDefaults: { resolution: { width: 640, height: 360, frameRate: 15 } },
};

/**
 * The room events both call pages handle alike: the other person's video and sound, our own camera preview, the
 * coach's state, audio the browser blocked, and reconnecting. `els`: {video, placeholder, audioSink, selfView,
 * startAudio, message}; `onVideoOff` runs when the other person's camera goes away.
 */
export function wireCall(room, LK, els, { isCoach, setCoachState, onVideoOff }) {
  const { RoomEvent, Track } = LK;
  return room
    .on(RoomEvent.TrackSubscribed, (track, publication, participant) => {
      if (isCoach(participant)) return;
      if (track.kind === Track.Kind.Video) {
        track.attach(els.video);
        els.video.hidden = false;
        els.placeholder.hidden = true;
      } else if (track.kind === Track.Kind.Audio) {
        els.audioSink.append(track.attach());
      }
    })
    .on(RoomEvent.TrackUnsubscribed, (track) => {
      track.detach();
      if (track.kind === Track.Kind.Video) {
        els.video.hidden = true;
        onVideoOff();
      }
    })
    .on(RoomEvent.ParticipantAttributesChanged, (changed, participant) => {
      if (isCoach(participant) && 'coach_state' in changed) setCoachState(changed.coach_state);
    })
    .on(RoomEvent.LocalTrackPublished, (publication) => {
      if (publication.source === Track.Source.Camera && publication.track) {
        publication.track.attach(els.selfView);
        els.selfView.hidden = false;
      }
    })
    .on(RoomEvent.AudioPlaybackStatusChanged, () => { els.startAudio.hidden = room.canPlaybackAudio; })
    .on(RoomEvent.Reconnecting, () => showMessage(els.message, 'The connection was interrupted. Reconnecting…', 'warn'))
    .on(RoomEvent.Reconnected, () => showMessage(els.message, ''));
}

/**
 * Tries `attempt` again after an unexpected disconnect, waiting a little longer each time (LiveKit may be
 * restarting, or the network is back in a moment). `attempt` resolves true when connected. Returns a cancel function.
 */
export function keepTrying(attempt, onWait) {
  const waits = [1, 2, 3, 5];
  let cancelled = false;
  let timer = null;
  const run = async (i) => {
    if (cancelled) return;
    const ok = await attempt().catch(() => false);
    if (ok || cancelled) return;
    const wait = waits[Math.min(i, waits.length - 1)];
    onWait?.(wait);
    timer = setTimeout(() => run(i + 1), wait * 1000);
  };
  timer = setTimeout(() => run(0), 500);
  return () => { cancelled = true; clearTimeout(timer); };
}

/** Plain-words reason for a failed room.connect(); `advice` says what the reader can do about it. */
export function connectionProblem(err, advice) {
  const detail = err && err.message ? ` (Details: ${err.message})` : '';
  return `Could not connect to the video server. ${advice}${detail}`;
}

/** Plain-words reason for a camera/microphone failure. */
export function mediaProblem(err) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return 'Your camera and microphone are blocked. Allow them for this page (usually the icon in the address bar), then reload.';
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return 'No camera or microphone was found. Plug one in, then reload.';
  }
  if (name === 'NotReadableError') {
    return 'Your camera or microphone is in use by another program. Close it, then reload.';
  }
  return `Your camera or microphone could not be started${err && err.message ? ` (${err.message})` : ''}.`;
}

/** Copies text to the clipboard; falls back to selecting it in `input` so the user can press Ctrl+C / long-press. */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (input) {
      input.focus();
      input.select();
      try {
        if (document.execCommand('copy')) return true;
      } catch {
        // no legacy copy either: the text stays selected
      }
    }
    return false;
  }
}

/** Wires a Copy button to a read-only input holding a link; reports in `status`. */
export function wireCopy(button, input, status) {
  button.addEventListener('click', async () => {
    const ok = await copyText(input.value, input);
    status.textContent = ok ? 'Link copied.' : 'The link is selected: press Ctrl+C (or ⌘C) to copy it.';
  });
}

/** Seconds on the session's audio clock -> "m:ss". */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
