"""Committing a turn's words while the partner is still speaking: local agreement between successive passes.

Whisper reads the uncommitted audio of a turn again every second or so. A word is committed once two passes in a row
read it the same way at the same place (LocalAgreement-2, as in whisper_streaming, Macháček et al. 2023): the
longest common prefix of the two readings, word by word. Committed words never change; the audio they cover is
kept out of later passes from the partner's last pause before the first uncommitted word (a pause the voice activity
detector heard: cutting the audio anywhere else cuts a word, and Whisper hears "ring" for "drink"), and the committed
text before the cut becomes the end of Whisper's prompt, so the next pass reads on from it. A pass's words from before the seam
are the committed ones read again: dropped. At the end of the turn only the uncommitted tail is decoded. Pure and synchronous: the transcription stage feeds it each pass's words, in audio-clock seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coach.stt import SttResult, TimedWord, normalize_words

MAX_AGAIN = 40  # committed words a pass may read again (between the last pause and the last committed word)
# Word times from the cross-attention alignment are good to about a tenth of a second: a new pass's word that starts
# this far before the committed end is a re-reading of committed audio, not a new word.
SEAM_SLACK_S = 0.1
LAST_WORD_MARGIN_S = 0.4  # a word ending this close to the end of the audio read may still be cut: never commit it
MIN_CUT_PAUSE_S = 0.1  # a dip in speech shorter than this may be a stop consonant inside a word: no place to cut


def _repeated(keys: list[str], again: list[str]) -> int:
    """How many of a pass's first words read `again` (the committed words after the cut) once more: the count that
    leaves the fewest word edits between them (the most words on a tie), 0 when nothing matches."""
    row = list(range(len(again) + 1))  # edit distance of keys[:m] to again[:j], for the m reached so far
    best, best_d = 0, row[-1]
    for m, x in enumerate(keys[: len(again) + 2], 1):
        prev, row[0] = row[0], m
        for j, y in enumerate(again, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
        if row[-1] <= best_d:
            best, best_d = m, row[-1]
    return best if best_d <= len(again) // 2 else 0  # (a reading of other words matches none of them)


@dataclass
class Agreement:
    """One turn's committed words and the last pass's reading of what comes after them."""

    start: float  # where the next pass's audio starts (the turn's start, then a pause before the uncommitted words)
    committed: list[TimedWord]
    pending: list[TimedWord]  # the previous pass's uncommitted reading
    pauses: list[float] = field(default_factory=list)  # middles of the partner's pauses, audio clock, in order
    # Audio kept before the first uncommitted word: Whisper reads a word cut off from what was said before it worse
    # (long annomi-dev turns, voiced: word error rate 13.9% with none kept, 9.6% with 3 s, 7.8% with 6 s, 5.9% for
    # the whole turn), and what is kept is decoded again at the end of the turn.
    left_context_s: float = 3.0

    @classmethod
    def at(cls, start: float, left_context_s: float = 3.0) -> "Agreement":
        return cls(start, [], [], left_context_s=left_context_s)

    @property
    def committed_end(self) -> float:
        return self.committed[-1].end if self.committed else self.start

    def paused(self, start: float, end: float) -> None:
        """The partner paused from `start` to `end`: a place the audio can be cut."""
        if end - start >= MIN_CUT_PAUSE_S:
            self.pauses.append((start + end) / 2)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.committed)

    def sentences(self) -> str:
        """The committed text up to its last full stop, question or exclamation mark: what can be read on its own."""
        text = self.text
        cut = max(text.rfind(c) for c in ".?!")
        return text[: cut + 1] if cut >= 0 else ""

    def insert(self, words: list[TimedWord], audio_end: float) -> list[TimedWord]:
        """A new pass's words over [self.start, audio_end]; returns the words it commits (often none)."""
        fresh = words[_repeated([w.key for w in words], self._again()):]
        agreed: list[TimedWord] = []
        for new, old in zip(fresh, self.pending):
            if not new.key or new.key != old.key or new.end > audio_end - LAST_WORD_MARGIN_S:
                break
            agreed.append(new)
        self.pending = fresh[len(agreed):]
        if agreed:
            self.committed += agreed
            # the latest pause before any uncommitted word: nothing after it is committed yet, and no word is cut
            limit = (self.pending[0].start if self.pending else agreed[-1].end) + SEAM_SLACK_S
            cuts = [p for p in self.pauses if self.start < p <= limit - self.left_context_s]
            if cuts:
                self.start = cuts[-1]
        return agreed

    def frozen(self) -> "Agreement":
        """A copy for a pass to finish from, untouched by the commits that come while it runs."""
        return Agreement(self.start, list(self.committed), [], list(self.pauses), self.left_context_s)

    def complete(self, tail: SttResult) -> SttResult:
        """The whole turn from the tail pass's result: the committed text and the tail's reading of the rest (its other
        readings joined the same way, for the safety check). Committed words stand even when the tail holds none."""
        text = self.join(tail.text)
        return SttResult(text, None if text else tail.dropped, tail.seconds, tuple(self.join(a) for a in tail.alternatives))

    def join(self, tail: str) -> str:
        """The committed text and the final pass's reading of the audio from `start`, whose first words read the
        committed words after `start` again: as many of them as best match those words go."""
        if not self.committed:
            return tail.strip()
        said = tail.split()
        return " ".join([self.text, *said[_repeated([normalize_words(w) for w in said], self._again()):]]).strip()

    def before_cut(self) -> str:
        """The committed words before `start`, for the next pass's prompt. Not the ones after it: Whisper told the
        words it is about to hear skips them in the audio, and they must be read again to be matched and dropped."""
        return " ".join(w.text for w in self.committed if w.end <= self.start + SEAM_SLACK_S)

    def _again(self) -> list[str]:
        """The committed words a pass from `start` reads again (at least the last one: Whisper often repeats the
        word at a seam)."""
        after = [w.key for w in self.committed if w.end > self.start + SEAM_SLACK_S]
        return after[-MAX_AGAIN:] or [w.key for w in self.committed[-1:]]

