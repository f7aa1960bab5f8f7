// Home page: start a session, share the invite (link, copy, QR), open the facilitator view.
import { $, api, showMessage, wireCopy } from './common.js';

const startButton = $('#start');
const startError = $('#start-error');

function showSession(session) {
  $('#invite-url').value = session.invite_url;
  $('#qr').src = `/api/qr?text=${encodeURIComponent(session.invite_url)}`;
  $('#open').href = `/facilitator#sid=${encodeURIComponent(session.session_id)}`;
  $('#session-card').hidden = false;
  startButton.textContent = 'Start another session';
  startButton.classList.remove('primary');
  $('#invite-url').focus();
  $('#invite-url').select();
}

startButton.addEventListener('click', async () => {
  startButton.disabled = true;
  showMessage(startError, '');
  try {
    const session = await api('/api/sessions', { method: 'POST' });
    // The facilitator page shows the invite again while it waits for the partner (same tab only).
    sessionStorage.setItem(`nbp.invite.${session.session_id}`, session.invite_url);
    sessionStorage.setItem('nbp.lastSession', session.session_id);
    showSession(session);
  } catch (err) {
    showMessage(startError, `Could not start a session. ${err.message}`);
  } finally {
    startButton.disabled = false;
  }
});

wireCopy($('#copy'), $('#invite-url'), $('#copy-status'));

// Coming back to this page (e.g. with the Back button) shows the session started in this tab, unless it has ended.
async function restore() {
  const sid = sessionStorage.getItem('nbp.lastSession');
  const inviteUrl = sid && sessionStorage.getItem(`nbp.invite.${sid}`);
  if (!inviteUrl) return;
  try {
    const session = await api(`/api/sessions/${encodeURIComponent(sid)}`);
    if (!session.ended) showSession({ ...session, invite_url: inviteUrl });
  } catch {
    sessionStorage.removeItem('nbp.lastSession');
  }
}
restore();
