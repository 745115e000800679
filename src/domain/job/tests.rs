use chrono::{Duration, Utc};

use super::*;
use crate::domain::issuing::{fresh_keys, licenses_from_keys};

use crate::domain::issuing::test_generator as generator;

fn job(total: u32) -> Job {
    let now = Utc::now();
    Job::new(
        Environment::Production,
        "t".into(),
        "admin".into(),
        total,
        GenerationSpec {
            generator: generator(),
            overrides: Overrides::default(),
        },
        Lease {
            node: "a".into(),
            until: now + Duration::seconds(15),
        },
        now,
    )
}

#[test]
fn a_live_lease_keeps_others_out_and_an_expired_one_lets_them_in() {
    let j = job(1000);
    let now = Utc::now();
    let lease = Duration::seconds(15);
    assert!(j.held_by("a", now));
    assert_eq!(j.claim("b", now, lease), Err(JobError::Held("a".into())));
    let later = now + Duration::seconds(16);
    assert!(!j.held_by("a", later));
    let taken = j.claim("b", later, lease).unwrap();
    assert!(taken.held_by("b", later));
    assert_eq!(taken.attempts, 2, "a takeover is an attempt");
    assert_eq!((taken.done, taken.step), (j.done, j.step), "progress kept");
}

#[test]
fn only_a_running_job_is_claimed_and_only_a_failed_one_retried() {
    let now = Utc::now() + Duration::seconds(60);
    let lease = Duration::seconds(15);
    let done = job(10).finished(now);
    assert_eq!(done.claim("b", now, lease), Err(JobError::NotRunning));
    assert_eq!(done.retried("b", now, lease), Err(JobError::NotFailed));
    assert_eq!(done.check_removable(), Ok(()));
    let failed = job(10).failed("store down".into(), now);
    let again = failed.retried("b", now, lease).unwrap();
    assert_eq!(again.state, JobState::Running);
    assert_eq!(again.finished_at, None);
    assert!(again.held_by("b", now));
    assert_eq!(job(10).check_removable(), Err(JobError::StillRunning));
}

#[test]
fn steps_are_chunks_until_the_total_and_progress_never_passes_it() {
    let mut j = job(1200);
    let mut sizes = Vec::new();
    while let Some(n) = j.next_step_size(500) {
        sizes.push(n);
        j = j.advanced(n);
    }
    assert_eq!(sizes, vec![500, 500, 200]);
    assert_eq!((j.done, j.step, j.percent()), (1200, 3, 100));
    assert_eq!(j.advanced(7).done, 1200, "capped at the total");
    // A step that made fewer (a key was taken) leaves the rest to the next step.
    let j = job(1000).advanced(499);
    assert_eq!(j.next_step_size(500), Some(500));
    assert_eq!(job(0).next_step_size(500), None);
    assert_eq!(job(0).percent(), 100);
}

#[test]
fn a_license_counts_for_a_step_only_with_its_generator_and_time() {
    let g = generator();
    let at = Utc::now();
    let keys = fresh_keys(&g, 3, &mut rand::rngs::OsRng);
    let made = licenses_from_keys(
        Environment::Production,
        &g,
        &Overrides::default(),
        &keys,
        at,
    );
    assert!(made.iter().all(|l| made_as_planned(l, l)));
    let mut other_gen = made[0].clone();
    other_gen.generator_id = Some(generator().id);
    assert!(!made_as_planned(&other_gen, &made[0]));
    let earlier = licenses_from_keys(
        Environment::Production,
        &g,
        &Overrides::default(),
        &keys[..1],
        at - Duration::seconds(1),
    );
    assert!(!made_as_planned(&earlier[0], &made[0]));
}

#[test]
fn a_draft_runs_only_once_confirmed_and_can_be_discarded() {
    let now = Utc::now();
    let task = JobTask::Import {
        rows: 3,
        problems: 1,
    };
    let d = Job::draft(
        Environment::Production,
        task,
        "t".into(),
        "who".into(),
        2,
        now,
    );
    assert_eq!(d.state, JobState::Draft);
    assert!(!d.claimable(now), "nobody runs a draft");
    assert!(d.check_removable().is_ok(), "a draft can be discarded");
    let lease = Duration::seconds(30);
    let r = d.confirmed("n1", now, lease).unwrap();
    assert_eq!((r.state.clone(), r.attempts), (JobState::Running, 1));
    assert!(r.held_by("n1", now));
    assert_eq!(r.confirmed("n1", now, lease), Err(JobError::NotDraft));
    let after = r.advanced_past(2, 1);
    assert_eq!((after.done, after.skipped, after.step), (2, 1, 1));
    assert_eq!(after.next_step_size(500), None);
}

#[test]
fn the_same_plan_makes_the_same_licenses() {
    let g = generator();
    let at = Utc::now();
    let keys = fresh_keys(&g, 50, &mut rand::rngs::OsRng);
    let o = Overrides::default();
    let a = licenses_from_keys(Environment::Production, &g, &o, &keys, at);
    let b = licenses_from_keys(Environment::Production, &g, &o, &keys, at);
    assert_eq!(a, b);
}

#[test]
fn a_job_row_round_trips_through_messagepack() {
    let j = job(10);
    let bytes = rmp_serde::to_vec_named(&j).unwrap();
    let back: Job = rmp_serde::from_slice(&bytes).unwrap();
    assert_eq!(back, j);
}
