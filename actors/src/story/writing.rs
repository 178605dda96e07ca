//! Writing a plan or a scene: the configured storyteller first, asked again with the reason
//! while what it writes is rejected (unsafe, or, from a model, failing the cheap checks), up
//! to the rewrite budget. What then happens is the story actor's choice (its fallback policy);
//! this module says who wrote what, counts every retry and fallback, and logs each fallback
//! with the story id and the reason, never the text.

use super::StoryDeps;
use super::checks::SceneRules;
use super::stream::{SceneStream, Sink};
use crate::model::{SceneDraft, StoryId, StoryPlan, StorySpec, UserId, Writer};
use crate::ports::{ProviderError, Rejection, SceneRequest};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tokio::sync::Mutex;

/// What happens to a story whose model keeps writing text that is rejected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FallbackPolicy {
    /// The offline storyteller writes: the whole story while no scene is whole yet, else the
    /// rest of it (the story is then `mixed`).
    #[default]
    Offline,
    /// The story fails with the reason; `POST /stories/{id}/retry` asks the model again.
    Fail,
}

impl FallbackPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Fail => "fail",
        }
    }
}

/// A plan or a scene, and who wrote it; or the model gave up for this reason.
pub(super) enum Outcome<T> {
    Written(T, Writer),
    GaveUp(Rejection),
}

const UNSAFE_STORY: &str = "We couldn't write this story in a way that's right for children. Please try another idea.";

fn plan_text(plan: &StoryPlan) -> String {
    let mut text = plan.title.clone();
    for scene in &plan.scenes {
        text.push('\n');
        text.push_str(&scene.title);
        text.push('\n');
        text.push_str(&scene.outline);
    }
    text
}

fn scene_text(draft: &SceneDraft) -> String {
    format!("{}\n{}", draft.title, draft.text)
}

/// A piece of the story the configured storyteller writes: asked for (again, with the reason
/// it was rejected), then checked.
trait Part {
    type Text;
    const CALL: &'static str;
    fn story(&self) -> StoryId;
    async fn ask(&self, deps: &StoryDeps, rejected: Option<Rejection>) -> Result<Self::Text, ProviderError>;
    /// Safety for every storyteller; the cheap checks for a model's text.
    async fn check(&self, deps: &StoryDeps, text: &Self::Text) -> Result<(), Rejection>;
    /// What the offline storyteller writes instead.
    async fn offline(&self, deps: &StoryDeps) -> Result<Self::Text, ProviderError>;
    /// 1-based scene number, `None` for the plan (for logs).
    fn scene(&self) -> Option<usize>;
}

struct PlanPart<'a> {
    id: StoryId,
    user: UserId,
    spec: &'a StorySpec,
    rules: &'a SceneRules,
}

impl Part for PlanPart<'_> {
    type Text = StoryPlan;
    const CALL: &'static str = "plan";

    fn story(&self) -> StoryId {
        self.id
    }

    fn scene(&self) -> Option<usize> {
        None
    }

    async fn ask(&self, deps: &StoryDeps, rejected: Option<Rejection>) -> Result<StoryPlan, ProviderError> {
        let (llm, id, spec) = (&deps.llm, self.id, self.spec);
        let _permit = deps.llm_permits.acquire(self.user).await;
        let retried = |e: &ProviderError| deps.observer.provider_retry(Self::CALL, e.reason());
        let call = || {
            let work = match rejected {
                None => llm.plan_story(id, spec),
                Some(why) => llm.replan_story(id, spec, why),
            };
            observed(deps, llm.name(), Self::CALL, work)
        };
        deps.retry.run_observed(Self::CALL, retried, call).await
    }

    async fn check(&self, deps: &StoryDeps, plan: &StoryPlan) -> Result<(), Rejection> {
        if let Some(concern) = deps.safety.check(&plan_text(plan)).await {
            deps.observer.content_flagged("plan", concern);
            tracing::warn!(story = %self.id, concern = concern.as_str(), "generated plan held back");
            return Err(Rejection::Unsafe(concern));
        }
        match deps.llm_writer {
            Writer::Model => self.rules.check_plan(plan),
            Writer::Offline => Ok(()),
        }
    }

    async fn offline(&self, deps: &StoryDeps) -> Result<StoryPlan, ProviderError> {
        offline_plan(deps, self.id, self.spec).await
    }
}

struct ScenePart<'a> {
    user: UserId,
    request: SceneRequest<'a>,
    rules: &'a SceneRules,
    /// What of the scene was shown while it was written (across its attempts).
    stream: &'a Mutex<SceneStream>,
}

impl Part for ScenePart<'_> {
    type Text = SceneDraft;
    const CALL: &'static str = "scene";

    fn story(&self) -> StoryId {
        self.request.story_id
    }

    fn scene(&self) -> Option<usize> {
        Some(self.request.index + 1)
    }

    async fn ask(&self, deps: &StoryDeps, rejected: Option<Rejection>) -> Result<SceneDraft, ProviderError> {
        let (llm, request) = (&deps.llm, self.request);
        let _permit = deps.llm_permits.acquire(self.user).await;
        let rules = (deps.llm_writer == Writer::Model).then_some(self.rules);
        let mut stream = self.stream.lock().await;
        let write = |so_far: Sink| {
            let retried = |e: &ProviderError| deps.observer.provider_retry(Self::CALL, e.reason());
            let call =
                move || {
                    let so_far = so_far.clone();
                    observed(deps, llm.name(), Self::CALL, async move {
                        llm.stream_scene(request, rejected, &*so_far).await
                    })
                };
            deps.retry.run_observed(Self::CALL, retried, call)
        };
        stream.follow(deps, rules, write).await
    }

    async fn check(&self, deps: &StoryDeps, draft: &SceneDraft) -> Result<(), Rejection> {
        if let Some(concern) = deps.safety.check(&scene_text(draft)).await {
            deps.observer.content_flagged("scene", concern);
            let (story, scene) = (self.request.story_id, self.request.index + 1);
            tracing::warn!(%story, scene, concern = concern.as_str(), "generated scene held back");
            return Err(Rejection::Unsafe(concern));
        }
        match deps.llm_writer {
            Writer::Model => self.rules.check_scene(&draft.text),
            Writer::Offline => Ok(()),
        }
    }

    async fn offline(&self, deps: &StoryDeps) -> Result<SceneDraft, ProviderError> {
        offline_scene(deps, self.request, self.stream).await
    }
}

/// The plan, by the configured storyteller. Offline, a plan that stays unsafe is planned by
/// the offline storyteller; a model's that stays rejected is given up on.
pub(super) async fn plan(
    deps: &StoryDeps,
    (id, user): (StoryId, UserId),
    spec: &StorySpec,
    rules: &SceneRules,
) -> Result<Outcome<StoryPlan>, ProviderError> {
    write(deps, PlanPart { id, user, spec, rules }).await
}

/// A scene by `writer`: the configured storyteller (as [`plan`] does), or the offline one
/// when the story is already written offline.
pub(super) async fn scene(
    deps: &StoryDeps,
    user: UserId,
    request: SceneRequest<'_>,
    rules: &SceneRules,
    (writer, stream): (Writer, &Mutex<SceneStream>),
) -> Result<Outcome<SceneDraft>, ProviderError> {
    if writer == Writer::Offline && deps.llm_writer == Writer::Model {
        return Ok(Outcome::Written(offline_scene(deps, request, stream).await?, Writer::Offline));
    }
    write(deps, ScenePart { user, request, rules, stream }).await
}

async fn write<P: Part>(deps: &StoryDeps, part: P) -> Result<Outcome<P::Text>, ProviderError> {
    match (attempts(deps, &part).await?, deps.llm_writer) {
        (Ok(text), by) => Ok(Outcome::Written(text, by)),
        (Err(why), Writer::Model) => Ok(Outcome::GaveUp(why)),
        (Err(why), Writer::Offline) => {
            fell_back(deps, P::CALL, part.story(), part.scene(), why);
            Ok(Outcome::Written(part.offline(deps).await?, Writer::Offline))
        }
    }
}

/// Ask, and while the answer is rejected ask again with the reason, `deps.rewrites` times at
/// most. A provider error ends it (the retry policy already retried it).
async fn attempts<P: Part>(deps: &StoryDeps, part: &P) -> Result<Result<P::Text, Rejection>, ProviderError> {
    let (mut rejected, mut rewrites) = (None, 0);
    loop {
        let why = match part.ask(deps, rejected).await {
            Ok(answer) => match part.check(deps, &answer).await {
                Ok(()) => return Ok(Ok(answer)),
                Err(why) => why,
            },
            Err(ProviderError { rejected: Some(why), .. }) => why,
            Err(e) => return Err(e),
        };
        if rewrites >= deps.rewrites {
            return Ok(Err(why));
        }
        rewrites += 1;
        deps.observer.provider_retry(P::CALL, why.reason());
        let (story, call, reason) = (part.story(), P::CALL, why.reason().as_str());
        tracing::info!(%story, call, scene = part.scene(), reason, "the model's text was rejected; asking again");
        rejected = Some(why);
    }
}

/// The offline storyteller's plan; never unsafe in practice, but checked like any other.
pub(super) async fn offline_plan(deps: &StoryDeps, id: StoryId, spec: &StorySpec) -> Result<StoryPlan, ProviderError> {
    let plan = deps.fallback.plan_story(id, spec).await?;
    match deps.safety.check(&plan_text(&plan)).await {
        None => Ok(plan),
        Some(_) => Err(ProviderError::permanent(UNSAFE_STORY)),
    }
}

pub(super) async fn offline_scene(
    deps: &StoryDeps,
    request: SceneRequest<'_>,
    stream: &Mutex<SceneStream>,
) -> Result<SceneDraft, ProviderError> {
    let fallback = &deps.fallback;
    let mut stream = stream.lock().await;
    let write = |so_far: Sink| async move { fallback.stream_scene(request, None, &*so_far).await };
    let draft = stream.follow(deps, None, write).await?;
    match deps.safety.check(&scene_text(&draft)).await {
        None => Ok(draft),
        Some(_) => Err(ProviderError::permanent(UNSAFE_STORY)),
    }
}

/// Count and log a fallback: `scene` is `None` for the plan. Ids and the reason, never text.
pub(super) fn fell_back(deps: &StoryDeps, call: &'static str, story: StoryId, scene: Option<usize>, why: Rejection) {
    deps.observer.provider_fallback(call, why.reason());
    let reason = why.reason().as_str();
    tracing::warn!(%story, call, scene, reason, "the model's text kept being rejected; the offline storyteller writes");
}

/// Why a story failed because its model kept writing text that was rejected (the `fail`
/// policy), for the app to show. `scene` is 1-based, `None` for the plan.
pub(super) fn failure(scene: Option<usize>, why: Rejection) -> ProviderError {
    let part = match scene {
        None => "plan this story".to_owned(),
        Some(n) => format!("write scene {n}"),
    };
    let because = match why {
        Rejection::Unsafe(_) => "what it wrote was not right for children",
        Rejection::Length { .. } => "it was too short or too long",
        Rejection::Loop => "it kept repeating itself",
        Rejection::Unfinished => "it stopped in the middle of a sentence",
        Rejection::Person => "it told the story as \"I\"",
        Rejection::Hero => "it left out the hero",
        Rejection::Markup => "it left notes or formatting in the story",
        Rejection::Parse => "its answer could not be read",
    };
    ProviderError::permanent(format!("The story model could not {part} well: {because}. Please try again."))
}

/// One provider call, timed and reported (latency, errors) to the observer.
pub(super) async fn observed<T>(
    deps: &StoryDeps,
    provider: &str,
    call: &'static str,
    work: impl std::future::Future<Output = Result<T, ProviderError>>,
) -> Result<T, ProviderError> {
    let started = Instant::now();
    let result = work.await;
    deps.observer.provider_call(provider, call, started.elapsed(), result.as_ref().err());
    result
}
