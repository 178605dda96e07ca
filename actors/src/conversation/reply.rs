//! The agent's reply as it streams to the sockets (`agent_delta`, then `agent_message`).
//! Words the builtin agent chose stream in small chunks. With a chat model, the model says
//! them in its own words: its text is held back until a sentence is whole, checked for
//! safety, then released; a model that fails, says nothing usable, runs on, or writes
//! something unsafe is replaced by the builtin words. `cancel` stops the model's HTTP stream.

use super::{ConversationMessage, ConversationState};
use crate::model::Draft;
use crate::ports::{ChatLine, ChatRole, ProviderError, Reason, Speaker, TurnRecord};
use crate::protocol::ServerEvent;
use ractor::ActorRef;
use std::collections::VecDeque;
use std::time::Instant;

/// Longest reply a model may give before it is cut off (small models run on).
const MAX_REPLY_CHARS: usize = 600;

pub(super) struct Stream {
    number: u64,
    message_id: String,
    /// Chunks still to send.
    pending: VecDeque<String>,
    sent: String,
    /// The whole reply, when known in advance (the builtin agent's words).
    full: String,
    /// From the model, received but not yet released (an unfinished sentence).
    held: String,
    model: Option<tokio::task::AbortHandle>,
    /// What the builtin agent would say: used when the model's words cannot be.
    fallback: String,
    /// When the child's message this answers arrived; taken when the first words go out.
    asked: Option<Instant>,
}

impl Stream {
    /// A chat model is still writing this reply (its whole text is not known yet).
    pub(super) fn is_model_writing(&self) -> bool {
        self.model.is_some()
    }

    fn new(number: u64, reply: String, paced: bool) -> Self {
        Self {
            number,
            message_id: uuid::Uuid::new_v4().to_string(),
            pending: chunks(&reply, paced),
            sent: String::new(),
            full: reply.clone(),
            held: String::new(),
            model: None,
            fallback: reply,
            asked: None,
        }
    }
}

/// Words known in advance, as the deltas that say them: a few words at a time when paced (the
/// typing pause between them is what makes it read as speech), else all at once. Unpaced, more
/// deltas would only cost frames: they would leave together anyway.
fn chunks(text: &str, paced: bool) -> VecDeque<String> {
    if !paced {
        return VecDeque::from([text.to_owned()]);
    }
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    words.chunks(3).map(|c| c.concat()).collect()
}

/// Up to the end of the last whole sentence in `text` (a `.`, `!` or `?` followed by a space).
fn whole_sentences(text: &str) -> usize {
    let bytes = text.as_bytes();
    (1..bytes.len()).rev().find(|&i| matches!(bytes[i - 1], b'.' | b'!' | b'?') && bytes[i] == b' ').unwrap_or(0)
}

/// What the model is asked: be the storyteller, say what the builtin agent decided, briefly.
fn prompt(draft: &Draft, turns: &VecDeque<TurnRecord>, guidance: &str) -> Vec<ChatLine> {
    let age = draft.age.unwrap_or(crate::model::Age::DEFAULT);
    let system = format!(
        "You are Mimi, a warm, playful storyteller talking with a child aged {age}. Use short, simple, kind \
         sentences. Never mention anything scary, violent or unsuitable for children. In one to three \
         sentences, say this to the child in your own friendly words: \"{guidance}\""
    );
    let mut lines = vec![ChatLine { role: ChatRole::System, content: system }];
    for turn in turns.iter().rev().take(6).rev() {
        let role = if turn.speaker == Speaker::Child { ChatRole::User } else { ChatRole::Assistant };
        lines.push(ChatLine { role, content: turn.content.clone() });
    }
    lines
}

impl ConversationState {
    /// Whether the builtin words are said with a typing pause (a few words per delta).
    fn paced(&self) -> bool {
        !self.deps.config.delta_delay.is_zero()
    }

    /// Start saying `reply`: through the chat model when there is one and `through_model`,
    /// else as it is.
    pub(super) async fn begin_stream(
        &mut self,
        myself: &ActorRef<ConversationMessage>,
        reply: String,
        through_model: bool,
    ) {
        self.streams_started += 1;
        let number = self.streams_started;
        let mut stream = Stream::new(number, reply, self.paced());
        stream.asked = self.reply_asked.take();
        let Some(chat) = self.deps.chat.clone().filter(|_| through_model) else {
            self.stream = Some(stream);
            self.stream_next(myself, number).await;
            return;
        };
        stream.pending.clear();
        stream.full.clear();
        let lines = prompt(&self.draft, &self.turns, &stream.fallback);
        let (me, observer) = (myself.clone(), self.deps.observer.clone());
        let timeout = self.deps.config.reply_timeout;
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let pieces = me.clone();
            let on_piece = Box::new(move |piece: String| {
                let _ = pieces.send_message(ConversationMessage::ModelPiece(number, piece));
            });
            // A model that stops answering is given up on: the builtin words are said instead.
            let result = tokio::time::timeout(timeout, chat.reply(lines, on_piece))
                .await
                .unwrap_or_else(|_| Err(ProviderError::transient("the chat model did not finish its reply in time")));
            observer.provider_call(chat.name(), "reply", started.elapsed(), result.as_ref().err());
            let _ = me.send_message(ConversationMessage::ModelDone(number, result));
        });
        stream.model = Some(task.abort_handle());
        self.stream = Some(stream);
    }

    pub(super) async fn stream_next(&mut self, myself: &ActorRef<ConversationMessage>, number: u64) {
        let delay = self.deps.config.delta_delay;
        loop {
            let Some(stream) = self.stream.as_mut().filter(|s| s.number == number) else {
                return;
            };
            let Some(delta) = stream.pending.pop_front() else {
                self.finish_stream(false).await;
                return;
            };
            if let Some(asked) = stream.asked.take() {
                self.deps.observer.first_words(asked.elapsed());
            }
            stream.sent.push_str(&delta);
            let event = ServerEvent::AgentDelta { message_id: stream.message_id.clone(), delta };
            self.broadcast(event);
            if !delay.is_zero() {
                myself.send_after(delay, move || ConversationMessage::StreamNext(number));
                return;
            }
        }
    }

    pub(super) async fn model_piece(&mut self, myself: &ActorRef<ConversationMessage>, number: u64, piece: String) {
        let Some(stream) = self.stream.as_mut().filter(|s| s.number == number && s.model.is_some()) else { return };
        stream.held.push_str(&piece);
        let end = whole_sentences(&stream.held);
        if end > 0 {
            let ready: String = stream.held.drain(..end).collect();
            self.release(myself, number, ready).await;
        }
    }

    pub(super) async fn model_done(
        &mut self,
        myself: &ActorRef<ConversationMessage>,
        number: u64,
        result: Result<(), ProviderError>,
    ) {
        let Some(stream) = self.stream.as_mut().filter(|s| s.number == number && s.model.is_some()) else { return };
        stream.model = None;
        let rest = std::mem::take(&mut stream.held);
        let failed = result.as_ref().err().map(ProviderError::reason);
        if let Err(e) = result {
            tracing::warn!(user = %self.user, error = %e, "the chat model failed; the builtin agent answers");
        } else if !rest.trim().is_empty() {
            self.release(myself, number, rest).await;
        }
        let Some(stream) = self.stream.as_mut().filter(|s| s.number == number) else { return };
        if stream.sent.trim().is_empty() {
            // Nothing usable came (a failure, or no words): say the builtin words instead.
            self.fall_back(myself, number, failed.unwrap_or(Reason::Length)).await;
        } else if stream.pending.is_empty() {
            stream.full = stream.sent.clone();
            self.finish_stream(false).await;
        }
    }

    /// Nothing of the model's reply can be said: the builtin agent's words are, from the start.
    async fn fall_back(&mut self, myself: &ActorRef<ConversationMessage>, number: u64, reason: Reason) {
        self.deps.observer.provider_fallback("reply", reason);
        tracing::warn!(user = %self.user, reason = reason.as_str(), "the builtin agent's words replace the model's reply");
        let paced = self.paced();
        if let Some(stream) = self.stream.as_mut().filter(|s| s.number == number) {
            stream.pending = chunks(&stream.fallback, paced);
            stream.full = stream.fallback.clone();
        }
        self.stream_next(myself, number).await;
    }

    /// Send the model's `text` if, with what was already said, it is safe and not too long;
    /// otherwise stop the model and finish with what was safely said (or the builtin words).
    async fn release(&mut self, myself: &ActorRef<ConversationMessage>, number: u64, text: String) {
        let Some(stream) = self.stream.as_ref() else { return };
        let candidate = format!("{}{text}", stream.sent);
        let flagged = self.deps.safety.check(&candidate).await;
        if let Some(concern) = flagged {
            self.deps.observer.content_flagged("agent_reply", concern);
            tracing::warn!(user = %self.user, concern = concern.as_str(), "model reply held back");
        }
        let Some(stream) = self.stream.as_mut().filter(|s| s.number == number) else { return };
        if flagged.is_some() || candidate.chars().count() > MAX_REPLY_CHARS {
            if let Some(task) = stream.model.take() {
                task.abort();
            }
            stream.held.clear();
            if stream.sent.trim().is_empty() {
                let reason = if flagged.is_some() { Reason::Unsafe } else { Reason::Length };
                self.fall_back(myself, number, reason).await;
            } else {
                stream.full = stream.sent.clone();
                self.finish_stream(false).await;
            }
            return;
        }
        if let Some(asked) = stream.asked.take() {
            self.deps.observer.first_words(asked.elapsed());
        }
        stream.sent.push_str(&text);
        let event = ServerEvent::AgentDelta { message_id: stream.message_id.clone(), delta: text };
        self.broadcast(event);
    }

    /// End the reply in progress: whole, or as far as it got when `cancelled` (the model, if
    /// one is writing, is stopped).
    /// Stop the reply in progress without saying or storing anything (another machine is the
    /// user's home now).
    pub(super) fn abandon_stream(&mut self) {
        if let Some(task) = self.stream.take().and_then(|stream| stream.model) {
            task.abort();
        }
    }

    pub(super) async fn finish_stream(&mut self, cancelled: bool) {
        let Some(stream) = self.stream.take() else { return };
        if let Some(task) = &stream.model {
            task.abort();
        }
        let content = if cancelled || stream.full.is_empty() { stream.sent } else { stream.full };
        let record = TurnRecord { speaker: Speaker::Agent, content: content.clone(), client_id: None };
        // The child's turn was durable before this answer; the agent's own words need not hold
        // it up (they are queued in order and written with the next batch).
        self.deps.store.record_turn_soon(self.user, &self.conversation_id, &record);
        self.remember(record);
        self.broadcast(ServerEvent::AgentMessage { message_id: stream.message_id, content, cancelled });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_released_whole() {
        assert_eq!(whole_sentences("Hello there! How are"), "Hello there!".len());
        assert_eq!(whole_sentences("Hello there"), 0);
        assert_eq!(whole_sentences("One. Two? Three"), "One. Two?".len());
        assert_eq!(whole_sentences("Ünïcödé. é"), "Ünïcödé.".len());
    }
}
