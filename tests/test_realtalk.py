"""Reading the real-talk sets: client turns by id, each with the counsellor's next utterance (files made here, in the
sets' layout, with words written for this test)."""

import json

from coach import realtalk


def _write(path, rows):
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(json.dumps(r) for r in rows).replace('"NAN"', "NaN"))


def test_both_layouts_give_client_turns_with_the_counsellor_s_reply(tmp_path):
    _write(tmp_path / "annomi-dev" / "annomi_dev.jsonl", [
        {"transcript_id": 3, "utterance_id": 0, "speaker": "therapist", "text": "How was the week?", "therapist_behaviour": "question"},
        {"transcript_id": 3, "utterance_id": 1, "speaker": "client", "text": "Long.", "therapist_behaviour": "NAN"},
        {"transcript_id": 3, "utterance_id": 2, "speaker": "therapist", "text": "A long one.", "therapist_behaviour": "reflection"},
        {"transcript_id": 4, "utterance_id": 0, "speaker": "client", "text": "Hi.", "therapist_behaviour": "NAN"},
    ])
    _write(tmp_path / "counseling-dev" / "esconv_conversations_sample.jsonl", [
        {"conversation_id": "c1", "turn_index": 0, "is_client": 1, "text": "I feel low.", "helper_strategy": ""},
        {"conversation_id": "c1", "turn_index": 1, "is_client": 0, "text": "That sounds hard.", "helper_strategy": "Reflection"},
    ])
    sets = realtalk.real_talk(tmp_path)
    annomi, esconv = sets["annomi-dev"], sets["counseling-dev"]
    assert [t.id for t in annomi] == ["annomi:3:1", "annomi:4:0"]
    assert annomi[0].reply == "A long one." and annomi[0].reply_kind == "reflection"
    assert annomi[1].reply is None  # the next line is another transcript's
    assert esconv[0].id == "esconv:c1:0" and esconv[0].reply_kind == "Reflection"
    assert list(realtalk.sessions(annomi)) == ["annomi:3", "annomi:4"]


def test_a_missing_set_is_left_out(tmp_path):
    assert realtalk.real_talk(tmp_path) == {}
