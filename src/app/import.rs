//! CSV import of licenses (issue 15 item 18): the file is read and every row
//! checked by the rules a new license follows (`licenses::check_new`), nothing
//! written but a draft job and its plan; the admin sees the preview with each
//! refused row and why, then confirms, and a background job makes the rows.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::error::AppError;
use super::jobs::Jobs;
use super::licenses::{check_new, NewLicense, Plan, MAX_BULK};
use crate::domain::import::{self, RawRow};
use crate::domain::issuing::{fresh_keys, licenses_from_keys, Overrides};
use crate::domain::job::planned::import_steps;
use crate::domain::job::{ImportRow, Job, JobStep, JobTask, RowProblem};
use crate::domain::{ActivationLimit, Environment, LicenseKey, Product};
use crate::engine::Engine;
use crate::store::Store;

/// Largest file accepted (10,000 rows of the export's width fit easily).
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Most data rows in one file.
pub const MAX_ROWS: usize = MAX_BULK;
/// How long a checked file may wait for its confirmation.
const DRAFT_HOURS: i64 = 24;
/// Store reads in flight while the keys a file names are looked up.
const READS_AT_ONCE: usize = 32;

/// What the preview shows of a draft import.
pub struct Preview {
    pub job: Job,
    /// The first step's plan: its rows (a sample) and every problem kept.
    pub first: JobStep,
    /// Product names by id, for the sample.
    pub products: HashMap<Uuid, String>,
}

/// Reads and checks `bytes`, records the draft (nothing else is written) and
/// returns it; a file that cannot be read at all is refused with why.
pub async fn plan(
    engine: &Engine,
    jobs: &Jobs,
    env: Environment,
    bytes: Vec<u8>,
    filename: &str,
    who: &str,
) -> Result<Job, AppError> {
    let read = actix_web::web::block(move || import::read(&bytes, MAX_ROWS))
        .await
        .map_err(|e| AppError::Internal(format!("reading the file: {e}")))?;
    let (raw, mut problems) = read.map_err(|e| AppError::field("file", format!("{e}.")))?;
    let rows_in_file = (raw.len() + problems.len()) as u32;
    let store = engine.store().as_ref();
    let at = Utc::now();
    let taken = taken_keys(store, env, &raw).await?;
    let mut checker = Checker {
        store,
        env,
        at,
        products: store.list_products(env).await?,
        plans: HashMap::new(),
    };
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(raw.len());
    for r in raw {
        let fault = match &r.key {
            Some(k) if taken.contains(k) => {
                Some(format!("key {} is taken by a license", k.as_str()))
            }
            Some(k) if seen.contains(k) => Some(format!("key {} is in the file twice", k.as_str())),
            _ => None,
        };
        let planned = checker.plan_of(&r).await?;
        match (fault, planned) {
            (Some(f), _) | (None, Err(f)) => problems.push(RowProblem {
                line: r.line,
                message: f,
            }),
            (None, Ok(p)) => {
                // Only a row that passes holds its key: a refused one frees it.
                if let Some(k) = &r.key {
                    seen.insert(k.clone());
                }
                rows.push(row(env, &p, r, at));
            }
        }
    }
    problems.sort_by_key(|p| p.line);
    let task = JobTask::Import {
        rows: rows_in_file,
        problems: problems.len() as u32,
    };
    let name = filename
        .chars()
        .filter(|c| !c.is_control())
        .take(80)
        .collect::<String>();
    let title = format!("Import {} licenses from {name} ({env})", rows.len());
    let job = Job::draft(env, task, title, who.to_owned(), rows.len() as u32, at);
    jobs.draft(store, job, import_steps(at, rows, problems))
        .await
}

/// The draft (or the job it became) and its first step, for the preview.
pub async fn preview(store: &dyn Store, env: Environment, id: Uuid) -> Result<Preview, AppError> {
    let job = store
        .get_job(id)
        .await?
        .filter(|j| j.env == env && matches!(j.task, JobTask::Import { .. }))
        .ok_or_else(|| AppError::NotFound("no such import".into()))?;
    let first = store.get_job_step(id, 0).await?.unwrap_or_default();
    let products = store.list_products(env).await?;
    let products = products.into_iter().map(|p| (p.id, p.name)).collect();
    Ok(Preview {
        job,
        first,
        products,
    })
}

/// Confirms a draft import: audited, and its job starts here.
pub async fn confirm(
    engine: &Engine,
    jobs: &Jobs,
    env: Environment,
    id: Uuid,
    who: &str,
) -> Result<Job, AppError> {
    let store = engine.store().as_ref();
    let p = preview(store, env, id).await?;
    if p.job.total == 0 {
        return Err(AppError::Conflict("The file has no row to import.".into()));
    }
    // Its rows were checked then (products, expiry dates): a day later, check again.
    if Utc::now() - p.job.created_at > chrono::Duration::hours(DRAFT_HOURS) {
        return Err(AppError::Conflict(format!(
            "This file was checked more than {DRAFT_HOURS} hours ago: upload it again to check it anew."
        )));
    }
    let job = jobs.confirm(store, id).await?;
    let detail = format!("{} (job {id})", job.title);
    let audit =
        crate::engine::origin::entry(who, "license.imported", None, Utc::now()).detail(detail);
    store.append_audit(env, &audit).await?;
    Ok(job)
}

/// The keys the file names that a license has already.
async fn taken_keys(
    store: &dyn Store,
    env: Environment,
    raw: &[RawRow],
) -> Result<HashSet<LicenseKey>, AppError> {
    let keys: Vec<&LicenseKey> = raw.iter().filter_map(|r| r.key.as_ref()).collect();
    let mut taken = HashSet::new();
    for chunk in keys.chunks(READS_AT_ONCE) {
        let reads = chunk.iter().map(|k| store.get_license(env, k));
        for (k, found) in chunk
            .iter()
            .zip(futures_util::future::join_all(reads).await)
        {
            if found?.is_some() {
                taken.insert((*k).clone());
            }
        }
    }
    Ok(taken)
}

/// What a row's check depends on: product, limit, expiry.
type PlanKey = (Uuid, Option<ActivationLimit>, Option<DateTime<Utc>>);

/// The license rules, asked once per distinct (product, limit, expiry).
struct Checker<'a> {
    store: &'a dyn Store,
    env: Environment,
    at: DateTime<Utc>,
    products: Vec<Product>,
    plans: HashMap<PlanKey, Result<Plan, String>>,
}

impl Checker<'_> {
    /// The product a cell names: its id, or its name (any case).
    fn product(&self, named: &str) -> Option<&Product> {
        let by_id = Uuid::parse_str(named).ok();
        self.products
            .iter()
            .find(|p| Some(p.id) == by_id)
            .or_else(|| {
                self.products
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(named))
            })
    }

    async fn plan_of(&mut self, r: &RawRow) -> Result<Result<Plan, String>, AppError> {
        let Some(product) = self.product(&r.product) else {
            return Ok(Err(format!(
                "product “{}” is not in {} (use its name or id)",
                r.product, self.env
            )));
        };
        let id = (product.id, r.activation_limit, r.expires_at);
        if let Some(p) = self.plans.get(&id) {
            return Ok(p.clone());
        }
        let n = NewLicense {
            product_id: Some(product.id),
            activation_limit: r.activation_limit,
            expires_at: r.expires_at,
            ..NewLicense::default()
        };
        let checked = match check_new(self.store, self.env, &n, self.at).await {
            Ok(p) => Ok(p),
            Err(AppError::Invalid(e)) => Err(e.messages().join(" ")),
            Err(e) => return Err(e),
        };
        self.plans.insert(id, checked.clone());
        Ok(checked)
    }
}

/// A checked row's license: its own key, or a fresh one of the product's
/// generator format (chosen now, so the preview shows what the job makes).
fn row(env: Environment, p: &Plan, r: RawRow, at: DateTime<Utc>) -> ImportRow {
    let key = r
        .key
        .unwrap_or_else(|| fresh_keys(&p.generator, 1, &mut rand::rngs::OsRng).remove(0));
    let o = Overrides {
        customer_id: None,
        ..p.overrides.clone()
    };
    let license = licenses_from_keys(env, &p.generator, &o, &[key], at).remove(0);
    ImportRow {
        line: r.line,
        license,
        owner_email: r.owner_email,
    }
}
