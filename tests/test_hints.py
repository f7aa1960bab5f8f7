"""Hints: finalize (safety + reminders), tidy, parsing, HintWriter over a fake chat model, PendingTurns, schema."""

import json
import re

import pytest

from coach import alerts, safety
from coach.errors import ModelOutputError
from coach.hints import (
    EXAMPLE_ASSISTANT,
    MAX_HINT_TOKENS,
    REMINDERS,
    FOLLOW_UP_MAX,
    SUGGESTION_MAX,
    SUMMARY_MAX,
    Conversation,
    Hint,
    HintDraft,
    HintWriter,
    PendingTurns,
    REPLY_PREFIX,
    DraftStream,
    draft_grammar,
    draft_schema,
    finalize,
    parse_draft,
    tidy,
    user_message,
    SUMMARY_EXAMPLES,
    SUMMARY_PREFIX,
    SUMMARY_SYSTEM_PROMPT,
    SummaryDraft,
    summary_grammar,
)
from coach.move_choice import MoveChooser
from coach.moves import MOVES
from tests.fakes import JUNK, VALID_DRAFT, FakeChat, FakeEmbedder, Reply, draft_json

NEUTRAL = "A part of me feels stuck and tired at work."
TERSE = "Mm. Work. Tired, stuck."  # no clause to say back: the LLM writes the reflection


def draft(**overrides) -> HintDraft:
    return HintDraft.model_validate({**VALID_DRAFT, **overrides})


# ---- finalize ------------------------------------------------------------------------------------------------


def test_reminder_only_on_the_first_three_hints():
    reminders = [finalize(draft(), NEUTRAL, i).reminder for i in range(6)]
    assert reminders[:3] == list(REMINDERS[:3])
    assert all(r is not None for r in reminders[:3])
    assert reminders[3:] == [None, None, None]


def test_reminder_count_is_configurable():
    assert finalize(draft(), NEUTRAL, 0, reminder_hints=0).reminder is None
    assert finalize(draft(), NEUTRAL, 4, reminder_hints=5).reminder == REMINDERS[4 % len(REMINDERS)]


def test_normal_hint_keeps_the_model_text():
    hint = finalize(draft(), NEUTRAL, 5)
    assert hint.priority == "normal"
    assert hint.summary == VALID_DRAFT["summary"]
    assert hint.suggestion == VALID_DRAFT["suggestion"]
    assert hint.follow_ups == VALID_DRAFT["follow_ups"]


def test_clear_risk_forces_safety_even_if_the_model_says_normal():
    hint = finalize(draft(priority="normal"), "Sometimes I want to kill myself.", 0)
    assert hint.priority == "safety" and hint.alert == "urgent"
    assert hint.suggestion.endswith(alerts.URGENT_SUGGESTION)
    assert hint.follow_ups == list(alerts.URGENT_FOLLOW_UPS)
    # an alert's reflection is reviewed words, never the model's (it may have misheard the very thing that matters)
    assert hint.summary == alerts.URGENT_SUMMARY != VALID_DRAFT["summary"]
    assert hint.heard == "Sometimes I want to kill myself."
    Hint.model_validate(hint.model_dump())  # the long safety suggestion fits the Hint's bounds


def test_model_safety_flag_on_neutral_text_is_lowered():
    hint = finalize(draft(priority="safety"), NEUTRAL, 0)
    assert hint.priority == "normal"
    assert hint.suggestion == VALID_DRAFT["suggestion"]


def test_model_safety_flag_with_soft_phrase_is_kept():
    hint = finalize(draft(priority="safety"), "Everything feels hopeless lately.", 0)
    assert hint.priority == "safety" and hint.alert == "check_in"  # a softer sign: a gentle question, not "are you safe"
    assert hint.summary == alerts.CHECK_IN_SUMMARY and "safe right now" not in " ".join(hint.follow_ups)


def test_finalize_keeps_a_complete_field_without_final_period():
    summary = "It sounds like a part of you feels stuck at work"  # 48 chars: far below SUMMARY_MAX, not cut off
    assert len(summary) < SUMMARY_MAX
    assert finalize(draft(summary=summary), NEUTRAL, 0).summary == summary


# ---- tidy ----------------------------------------------------------------------------------------------------


def test_tidy_leaves_finished_text_alone():
    assert tidy("It sounds like you are tired.") == "It sounds like you are tired."
    assert tidy("Really?") == "Really?"
    assert tidy("") == ""


def test_tidy_collapses_whitespace():
    assert tidy("  It sounds   like\nyou are tired. ") == "It sounds like you are tired."


def test_tidy_cuts_at_a_late_sentence_boundary():
    text = "It sounds like a part of you is exhausted by the job. And another part wan"
    assert tidy(text) == "It sounds like a part of you is exhausted by the job."


def test_tidy_cuts_at_a_word_boundary_when_the_sentence_end_is_early():
    text = "It hurts. A part of you keeps working late every night because it fears what might happ"
    out = tidy(text)
    assert out == "It hurts. A part of you keeps working late every night because it fears what might…"
    assert "happ" not in out


def test_tidy_strips_trailing_punctuation_before_the_ellipsis():
    assert tidy("Invite them to notice the part, the feeling, and the sens") == (
        "Invite them to notice the part, the feeling, and the…"
    )
    assert tidy("Notice the worried part, and then gently ch") == "Notice the worried part, and then gently…"
    assert tidy("Notice this, that, theo") == "Notice this, that…"


# ---- parsing -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        JUNK,
        "",
        '{"summary": "It sounds like',  # cut off mid-JSON
        draft_json(follow_ups=["How do you feel toward that part?"]),  # one follow-up
        draft_json(follow_ups=["Tell me more about it.", "What does it want?"]),  # not a question
        draft_json(priority="urgent"),
        draft_json(summary="short"),
        draft_json(summary="x" * (SUMMARY_MAX + 1)),
        json.dumps({**VALID_DRAFT, "extra": 1}),
    ],
)
def test_parse_draft_rejects_junk(text):
    with pytest.raises(ModelOutputError):
        parse_draft(text)


def test_parse_draft_accepts_valid_json():
    d = parse_draft(draft_json())
    assert d.follow_ups == VALID_DRAFT["follow_ups"] and d.priority == "normal"


# ---- HintWriter with a fake model ----------------------------------------------------------------------------


def test_writer_valid_output():
    chat = FakeChat()
    writer = HintWriter(chat)
    pieces = []
    result = writer.write(NEUTRAL, on_text=pieces.append)
    Hint.model_validate(result.hint.model_dump())
    assert result.hint.summary == VALID_DRAFT["summary"]
    assert result.hint.reminder == REMINDERS[0]
    assert REPLY_PREFIX + "".join(pieces) == draft_json()  # streamed piece by piece, after the prompt's prefix
    assert len(pieces) > 1
    assert result.generation.finish_reason == "stop"
    assert writer.conversation.turns == [NEUTRAL]
    assert writer.hints_written == 1
    (call,) = chat.calls
    assert call.grammar == draft_grammar(REPLY_PREFIX) and call.reply_prefix == REPLY_PREFIX
    assert call.max_tokens == MAX_HINT_TOKENS
    assert call.partner_message == user_message(NEUTRAL)
    assert call.messages[0]["role"] == "system"


def test_writer_remembers_earlier_turns_in_order():
    chat = FakeChat()
    writer = HintWriter(chat)
    writer.write("First I noticed a tight part in my chest.")
    writer.write("Then an angry part showed up as well.")
    writer.write("Now I feel calmer toward both of them.")
    last = chat.calls[-1].messages
    earlier = [m["content"] for m in last if m["content"].startswith("Earlier the partner said")]
    assert earlier == [
        'Earlier the partner said: "First I noticed a tight part in my chest."',
        'Earlier the partner said: "Then an angry part showed up as well."',
    ]
    assert writer.hints_written == 3
    assert len(writer.conversation.turns) == 3


def test_writer_junk_raises_and_forgets_nothing_new():
    writer = HintWriter(FakeChat([JUNK]))
    with pytest.raises(ModelOutputError):
        writer.write(NEUTRAL)
    assert writer.conversation.turns == []
    assert writer.hints_written == 0


def test_writer_cut_off_output_raises():
    writer = HintWriter(FakeChat([Reply(draft_json(), finish_reason="length")]))
    with pytest.raises(ModelOutputError, match="token limit"):
        writer.write(NEUTRAL)
    assert writer.conversation.turns == []


def test_writer_passes_model_exceptions_through():
    writer = HintWriter(FakeChat([RuntimeError("llama.cpp crashed")]))
    with pytest.raises(RuntimeError, match="crashed"):
        writer.write(NEUTRAL)


def test_writer_reminders_stop_after_three_successful_hints():
    writer = HintWriter(FakeChat([JUNK]))
    with pytest.raises(ModelOutputError):
        writer.write(NEUTRAL)  # a failure does not use up a reminder
    reminders = [writer.write(NEUTRAL).hint.reminder for _ in range(4)]
    assert reminders == [REMINDERS[0], REMINDERS[1], REMINDERS[2], None]


def _prompt_tokens(chat: FakeChat, messages) -> int:
    return sum(chat.count_tokens(m["content"]) + 8 for m in messages)  # the same accounting as Conversation.fit


def test_conversation_fit_forgets_oldest_turns():
    chat = FakeChat()
    conv = Conversation([f"turn {i} " + "word " * 40 for i in range(8)])
    base = _prompt_tokens(chat, Conversation().messages(""))
    budget = base + 3 * 50
    conv.fit(chat.count_tokens, budget)
    assert _prompt_tokens(chat, conv.messages("")) <= budget
    assert conv.turns and conv.turns[-1].startswith("turn 7")  # the newest survive
    assert not any(t.startswith("turn 0") for t in conv.turns)


def test_a_memory_of_n_turns_keeps_the_newest_n_and_none_means_none():
    chat = FakeChat()
    two = Conversation([f"turn {i}" for i in range(5)], memory_turns=2)
    two.fit(chat.count_tokens, 10_000)
    assert two.turns == ["turn 3", "turn 4"]
    none = Conversation([f"turn {i}" for i in range(5)], memory_turns=0)
    none.fit(chat.count_tokens, 10_000)
    assert none.turns == [] and len(none.messages("now")) == len(Conversation().messages("now"))


def test_prompt_plus_output_fits_the_context():
    chat = FakeChat()
    history = [f"turn {i} " + "word " * 40 for i in range(6)]
    full = _prompt_tokens(chat, Conversation(list(history)).messages(""))
    context_tokens = full + MAX_HINT_TOKENS + 64  # the history alone fits the budget exactly
    writer = HintWriter(chat, context_tokens=context_tokens)
    writer.conversation.turns = list(history)
    long_turn = "and then a part of me " * 40  # a long, merged batch of turns (~240 tokens)
    writer.write(long_turn)
    assert _prompt_tokens(chat, chat.calls[0].messages) + MAX_HINT_TOKENS <= context_tokens


# ---- PendingTurns --------------------------------------------------------------------------------------------


def test_pending_not_enough_words():
    p = PendingTurns(min_words=5)
    assert not p.enough()
    p.add(1, "I feel", 1.0)
    assert not p.enough()
    p.add(2, "   ", 2.0)  # blank turns are ignored
    assert len(p.turns) == 1
    p.add(3, "stuck at work", 3.0)
    assert p.enough()


def test_pending_safety_phrase_makes_a_short_turn_enough():
    p = PendingTurns(min_words=5)
    p.add(1, "I'm suicidal.", 1.0)
    assert len(p.text.split()) < 5
    assert p.enough()
    q = PendingTurns(min_words=5)
    q.add(1, "I'm hopeless.", 1.0)  # tier 2 alone is not enough
    assert not q.enough()


def test_pending_take_merges_turns_and_clears():
    p = PendingTurns(min_words=5)
    p.add(4, " A part of me ", 10.0)
    p.add(6, "is scared of him.", 12.5)
    ids, text, t_end = p.take()
    assert ids == (4, 6)
    assert text == "A part of me is scared of him."
    assert t_end == 12.5
    assert p.turns == [] and not p.enough()


# ---- schema --------------------------------------------------------------------------------------------------


def test_draft_schema_compiles_to_a_llama_grammar():
    try:
        from llama_cpp import LlamaGrammar
    except Exception as e:  # noqa: BLE001 - any import failure means no llama.cpp here
        pytest.skip(f"llama_cpp not importable: {e}")
    grammar = LlamaGrammar.from_json_schema(json.dumps(draft_schema()), verbose=False)
    assert grammar is not None


def test_example_answer_validates_and_matches_the_schema():
    example = json.loads(EXAMPLE_ASSISTANT)
    HintDraft.model_validate(example)
    schema = draft_schema()
    assert set(example) == set(schema["required"])
    props = schema["properties"]
    for name in ("summary", "suggestion"):
        assert re.fullmatch(props[name]["pattern"], example[name]), name
    assert len(example["follow_ups"]) == props["follow_ups"]["minItems"]
    for q in example["follow_ups"]:
        assert re.fullmatch(props["follow_ups"]["items"]["pattern"], q), q
    assert example["priority"] in props["priority"]["enum"]


def test_fake_valid_draft_matches_the_schema():
    """The fakes' canned answer is one the grammar could really produce."""
    props = draft_schema()["properties"]
    assert re.fullmatch(props["summary"]["pattern"], VALID_DRAFT["summary"])
    assert re.fullmatch(props["suggestion"]["pattern"], VALID_DRAFT["suggestion"])
    for q in VALID_DRAFT["follow_ups"]:
        assert re.fullmatch(props["follow_ups"]["items"]["pattern"], q)


@pytest.mark.parametrize(
    "field, value",
    [
        ("summary", "It sounds like " + "a" * 200),
        ("summary", "You are clearly depressed."),  # must open with a reflection
        ("suggestion", "Tell them to quit the job."),
    ],
)
def test_schema_patterns_bound_and_steer(field, value):
    assert not re.fullmatch(draft_schema()["properties"][field]["pattern"], value)


def test_schema_longest_strings_fit_the_pydantic_bounds():
    """The grammar caps must never allow something HintDraft then rejects."""
    props = draft_schema()["properties"]
    longest_summary = "It sounds like " + "a" * (SUMMARY_MAX - 15)
    assert re.fullmatch(props["summary"]["pattern"], longest_summary)
    longest_suggestion = "Invite them to " + "a" * (SUGGESTION_MAX - 20)
    assert re.fullmatch(props["suggestion"]["pattern"], longest_suggestion)
    longest_q = "Would you " + "a" * (FOLLOW_UP_MAX - 12) + "?"
    assert re.fullmatch(props["follow_ups"]["items"]["pattern"], longest_q)
    HintDraft.model_validate(
        {"summary": longest_summary, "suggestion": longest_suggestion, "follow_ups": [longest_q] * 2, "priority": "normal"}
    )


def test_writer_without_prefill_generates_the_whole_object():
    chat = FakeChat()
    pieces = []
    HintWriter(chat, prefill_opening=False).write(NEUTRAL, on_text=pieces.append)
    assert "".join(pieces) == draft_json() and chat.calls[0].reply_prefix == ""
    assert chat.calls[0].grammar == draft_grammar("")


def test_grammars_compile_in_llama_cpp():
    llama_cpp = pytest.importorskip("llama_cpp")
    for gbnf in [draft_grammar(), draft_grammar(REPLY_PREFIX)]:
        assert llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False) is not None


def test_draft_stream_shows_summary_words_then_whole_fields():
    text = draft_json()
    stream = DraftStream(REPLY_PREFIX)
    shown = [v for i in range(len(REPLY_PREFIX), len(text), 3) if (v := stream.feed(text[i : i + 3]))]
    assert shown[0]["summary"].endswith(" …") and len(shown[0]) == 1  # a first word, nothing else yet
    assert all("suggestion" not in v or v["summary"] == VALID_DRAFT["summary"] for v in shown)  # summary first
    assert not any(v.get("follow_ups") == [] for v in shown)
    assert shown[-1] == {k: VALID_DRAFT[k] for k in ("summary", "suggestion", "follow_ups")}
    growing = [v["summary"] for v in shown if v["summary"].endswith("…")]
    assert growing == sorted(growing, key=len) and len(growing) >= 5  # word by word


def test_draft_stream_never_shows_only_the_fixed_opening():
    stream = DraftStream(REPLY_PREFIX)
    assert stream.feed(" a") is None  # "It sounds like a": a word still being written
    assert stream.feed(" part")["summary"] == "It sounds like a …"


# ---- combined: the LLM's summary with the chosen IFS move ------------------------------------------------------


def summary_json(summary: str = "It sounds like a part of you feels stuck and tired at work.", priority="normal") -> str:
    return json.dumps({"summary": summary, "priority": priority})


@pytest.fixture(scope="module")
def chooser():
    return MoveChooser(FakeEmbedder())


LIBRARY_FOLLOW_UPS = {q for m in MOVES for q in m.follow_ups}


def _from_library(question: str) -> bool:
    """A follow-up is a library template, its part slot filled."""
    import re

    for template in LIBRARY_FOLLOW_UPS:
        head, _, tail = template.partition("{part}")
        if question == template or (tail and re.fullmatch(re.escape(head) + ".+" + re.escape(tail), question)):
            return True
    return False


def test_combined_writer_asks_the_llm_for_the_summary_only(chooser):
    chat = FakeChat(default=summary_json("It sounds like you feel stuck and tired at work."))
    writer = HintWriter(chat, moves=chooser)
    result = writer.write(TERSE)
    (call,) = chat.calls
    assert call.grammar == summary_grammar(SUMMARY_PREFIX) and call.reply_prefix == SUMMARY_PREFIX
    assert call.messages[0]["content"] == SUMMARY_SYSTEM_PROMPT and call.partner_message == user_message(TERSE)
    hint = result.hint
    assert hint.summary == "It sounds like you feel stuck and tired at work." and not result.summary_problems
    assert result.move in {m.key for m in MOVES}
    assert any(hint.suggestion.startswith(t.split("{part}")[0]) for m in MOVES for t in m.suggestions)
    assert all(_from_library(q) for q in hint.follow_ups)
    assert hint.reminder == REMINDERS[0]
    Hint.model_validate(hint.model_dump())
    assert writer.conversation.turns == [TERSE] and writer.hints_written == 1


def test_a_turn_with_a_clause_to_say_back_needs_no_llm(chooser):
    chat = FakeChat(default=summary_json("It sounds like a part of you thinks your partner is struggling."))
    shown = []
    writer = HintWriter(chat, moves=chooser)
    result = writer.write("There is a heaviness in my chest when I stop being busy.", on_fields=shown.append)
    assert chat.calls == [] and result.generation.finish_reason == "skipped"
    assert result.hint.summary == "It sounds like there is a heaviness in your chest when you stop being busy."
    assert shown == [{"summary": result.hint.summary, "suggestion": result.hint.suggestion,
                      "follow_ups": result.hint.follow_ups}]  # the whole hint at once
    assert writer.hints_written == 1 and writer.move_state.moves == [result.move]


def test_combined_writer_replaces_a_summary_about_your_partner(chooser):
    chat = FakeChat(default=summary_json("It sounds like a part of you thinks your partner is struggling."))
    result = HintWriter(chat, moves=chooser).write("Mm. Heaviness. Chest.")
    assert "your partner" not in result.hint.summary and result.summary_problems


def test_combined_writer_never_repeats_a_follow_up_or_a_summary(chooser):
    writer = HintWriter(FakeChat(default=summary_json()), moves=chooser)
    hints = [writer.write(NEUTRAL).hint for _ in range(8)]  # the same words eight times running
    questions = [q for h in hints for q in h.follow_ups]
    assert len(set(questions)) == len(questions)
    summaries = [h.summary for h in hints]
    assert len(set(summaries)) == len(summaries)  # the same LLM sentence again is rebuilt from the partner's words


def test_combined_writer_keeps_the_safety_rule(chooser):
    writer = HintWriter(FakeChat(default=summary_json()), moves=chooser)
    result = writer.write("Sometimes I want to kill myself.")
    assert result.hint.priority == "safety" and result.hint.follow_ups == list(alerts.URGENT_FOLLOW_UPS)
    assert result.hint.suggestion.endswith(alerts.URGENT_SUGGESTION) and result.hint.summary == alerts.URGENT_SUMMARY
    assert writer.move_state.moves == []  # the move's words were not shown: still unused


def test_combined_writer_junk_raises_and_remembers_nothing(chooser):
    writer = HintWriter(FakeChat([JUNK]), moves=chooser)
    with pytest.raises(ModelOutputError):
        writer.write(TERSE)
    assert writer.conversation.turns == [] and writer.hints_written == 0 and writer.move_state.moves == []


def test_combined_writer_without_prefill_generates_the_whole_object(chooser):
    chat = FakeChat(default=SUMMARY_PREFIX + summary_json()[len(SUMMARY_PREFIX):])
    HintWriter(chat, moves=chooser, prefill_opening=False).write(TERSE)
    assert chat.calls[0].grammar == summary_grammar("") and chat.calls[0].reply_prefix == ""


def test_summary_examples_fit_the_summary_grammar_bounds():
    for user, answer in SUMMARY_EXAMPLES:
        draft = SummaryDraft.model_validate_json(answer)
        assert answer.startswith(SUMMARY_PREFIX) and len(draft.summary) <= SUMMARY_MAX
        assert user.startswith("Partner said:")


def test_summary_grammars_compile_in_llama_cpp():
    llama_cpp = pytest.importorskip("llama_cpp")
    for gbnf in [summary_grammar(), summary_grammar(SUMMARY_PREFIX)]:
        assert llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False) is not None
    with pytest.raises(ValueError):
        summary_grammar('{"summary": "It')


def test_example_fields_are_what_an_echo_is_measured_against(chooser):
    assert HintWriter(FakeChat()).example_fields == [
        json.loads(EXAMPLE_ASSISTANT)["summary"], json.loads(EXAMPLE_ASSISTANT)["suggestion"],
        *json.loads(EXAMPLE_ASSISTANT)["follow_ups"]]
    assert HintWriter(FakeChat(), moves=chooser).example_fields == [json.loads(a)["summary"] for _, a in SUMMARY_EXAMPLES]


def test_the_moves_words_are_shown_before_the_llm_writes_anything(chooser):
    seen: list[tuple[str, object]] = []
    chat = FakeChat(default=summary_json())
    writer = HintWriter(chat, moves=chooser)
    result = writer.write(TERSE, on_text=lambda piece: seen.append(("text", piece)),
                          on_fields=lambda fields: seen.append(("fields", fields)))
    assert seen[0] == ("fields", {"suggestion": result.hint.suggestion, "follow_ups": result.hint.follow_ups})
    assert all(kind == "text" for kind, _ in seen[1:]) and len(seen) > 1


@pytest.mark.parametrize("text", [
    "I've started cutting myself again, a part of me needs it.",  # a clear statement
    "Everything feels hopeless and a part of me is so tired.",  # a softer sign the model may confirm
])
def test_no_move_is_shown_early_on_a_turn_with_any_sign_of_risk(chooser, text):
    shown = []
    HintWriter(FakeChat(default=summary_json()), moves=chooser).write(text, on_fields=shown.append)
    assert shown == []


def test_a_check_in_by_meaning_alone_asks_only_the_gentle_questions():
    from coach.hints import alert_hint

    by_meaning = safety.SafetyVerdict(True, "suicidal_ideation", "meaning", 0.12, level="check_in", heard="x")
    sign = safety.SafetyVerdict(True, "suicidal_ideation", "warning sign", 1.0, level="check_in", heard="x")
    gentle = alert_hint("check_in", by_meaning, "x").follow_ups
    direct = alert_hint("check_in", sign, "x").follow_ups
    assert not any("not wanting to be here" in q for q in gentle)
    assert any("not wanting to be here" in q for q in direct)
    assert not any("safe right now" in q for q in gentle + direct)


def test_a_phrase_only_asked_about_makes_a_check_in_hint_as_its_card_is():
    hint = finalize(draft(priority="normal"), "What, like suicidal?", 0)
    assert hint.priority == "safety" and hint.alert == "check_in"
