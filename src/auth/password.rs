//! argon2id password hashing, kept off the async executor and bounded.
//!
//! Each hash needs 19 MiB. `argon2::verify_password` allocates that afresh
//! per call and glibc keeps the freed arenas, so a naive server grows past
//! 2 GB under a login flood. Here `HASH_CONCURRENCY` dedicated threads do
//! all hashing, each with one block buffer it reuses (on huge pages where
//! the kernel has them: `hash_memory`), so memory stays at one buffer per
//! thread; a caller that waits longer than `HASH_QUEUE_TIMEOUT`
//! for a turn gets `SERVICE_UNAVAILABLE`. The threads run at a lower CPU
//! priority: when logins saturate the machine, ordinary requests still get
//! the CPU first and keep their latency, while idle cores still go to hashing.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, Version};
use prometheus::Histogram;
use rand::RngCore;
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::hash_memory::BlockBuffer;
use super::phc::{Phc, decode, encode};
use crate::auth::django_hash::{self, DjangoHash, Refusal};
use crate::domain::Password;
use crate::error::AppError;
use crate::metrics::Metrics;

/// OWASP's argon2id recommendation: m=19456 KiB, t=2, p=1.
const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUTPUT_LEN: usize = 32;
const SALT_LEN: usize = 16;
/// Niceness of the hashing threads (0 is normal, 19 the lowest).
const HASH_THREAD_NICE: i32 = 19;

/// A hash to compute, and where to send its result.
struct Job {
    password: Vec<u8>,
    work: Work,
    reply: oneshot::Sender<Result<Vec<u8>, String>>,
    /// The caller's turn travels with the job and ends when the job does
    /// (hashed, or skipped because its caller is gone): a client that
    /// disconnects cannot hand its turn back while its hash still waits,
    /// so at most one job per hashing thread is ever queued.
    _turn: OwnedSemaphorePermit,
}

/// What a hashing thread computes: authql's argon2id, or the check of a
/// Django hash (answered as one byte, 1 for a match).
enum Work {
    Argon2 { salt: Vec<u8>, params: Params },
    Django(DjangoHash),
}

pub struct PasswordHasher {
    /// One permit per hashing thread: holding one means a thread is free,
    /// so a job sent with it never waits in the channel.
    permits: Arc<Semaphore>,
    /// Dropping the hasher closes the channel and ends its threads.
    jobs: Mutex<Sender<Job>>,
    queue_timeout: Duration,
    /// Verified against for unknown accounts, so they cost what known ones do.
    dummy_hash: String,
    metrics: Arc<Metrics>,
}

impl PasswordHasher {
    pub fn new(
        concurrency: usize,
        queue_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> PasswordHasher {
        let mut salt = [0u8; SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        let mut hash = [0u8; OUTPUT_LEN];
        rand::rng().fill_bytes(&mut hash);
        let threads = concurrency.max(1);
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let timer = metrics.hash_duration.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("authql-hash-{n}"))
                .spawn(move || hashing_thread(&queue, &timer));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-hashing thread");
            }
        }
        PasswordHasher {
            permits: Arc::new(Semaphore::new(threads)),
            jobs: Mutex::new(jobs),
            queue_timeout,
            dummy_hash: encode(&default_params(), &salt, &hash),
            metrics,
        }
    }

    /// Hashes a new password into a PHC string with a fresh random salt.
    pub async fn hash(&self, password: &Password) -> Result<String, AppError> {
        let mut salt = [0u8; SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        let params = default_params();
        let work = Work::Argon2 {
            salt: salt.to_vec(),
            params: params.clone(),
        };
        let digest = self.compute(password.expose(), work).await?;
        Ok(encode(&params, &salt, &digest))
    }

    /// Checks a password against a stored hash in constant time: authql's
    /// argon2id, or a Django hash an import brought (see `is_current`).
    /// An unusable one (`!…`) never matches, after the same work.
    pub async fn verify(&self, password: &Password, stored: &str) -> Result<bool, AppError> {
        if let Some(phc) = decode(stored) {
            return self.verify_argon2id(password, phc).await;
        }
        match django_hash::parse(stored) {
            Ok(hash) => {
                let answer = self.compute(password.expose(), Work::Django(hash)).await?;
                Ok(answer == [1])
            }
            Err(Refusal::Unusable) => self.verify_dummy(password).await.map(|()| false),
            Err(_) => {
                tracing::error!("a stored password hash is neither argon2id nor Django's");
                Ok(false)
            }
        }
    }

    /// Whether `stored` is authql's own argon2id (else the first successful
    /// sign-in replaces it).
    pub fn is_current(stored: &str) -> bool {
        decode(stored).is_some()
    }

    /// The same work as `verify`, for an account that does not exist (or
    /// cannot sign in), so the answer takes the same time either way.
    pub async fn verify_dummy(&self, password: &Password) -> Result<(), AppError> {
        let phc = decode(&self.dummy_hash)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("the dummy hash is malformed")))?;
        self.verify_argon2id(password, phc).await.map(|_| ())
    }

    async fn verify_argon2id(&self, password: &Password, phc: Phc) -> Result<bool, AppError> {
        let work = Work::Argon2 {
            salt: phc.salt,
            params: phc.params,
        };
        let digest = self.compute(password.expose(), work).await?;
        Ok(digest.ct_eq(&phc.hash).into())
    }

    async fn compute(&self, password: &str, work: Work) -> Result<Vec<u8>, AppError> {
        self.metrics.hash_waiting.inc();
        let turn =
            tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned()).await;
        self.metrics.hash_waiting.dec();
        let turn = turn
            .map_err(|_| AppError::ServiceUnavailable {
                retry_after_secs: self.queue_timeout.as_secs().max(1),
            })?
            .map_err(AppError::internal)?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            password: password.as_bytes().to_vec(),
            work,
            reply,
            _turn: turn,
        };
        self.jobs
            .lock()
            .map_err(|_| AppError::internal(anyhow::anyhow!("hashing queue poisoned")))?
            .send(job)
            .map_err(|_| AppError::internal(anyhow::anyhow!("no hashing thread is running")))?;
        answer
            .await
            .map_err(AppError::internal)?
            .map_err(|e| AppError::internal(anyhow::anyhow!("argon2: {e}")))
    }
}

/// One hashing thread: takes jobs until the hasher is dropped, reusing one
/// block buffer for all of them. A job whose caller has gone (the client
/// disconnected, the request was dropped) is skipped, not hashed.
fn hashing_thread(queue: &Mutex<Receiver<Job>>, timer: &Histogram) {
    lower_priority();
    let mut memory = BlockBuffer::new();
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else {
            return;
        };
        if job.reply.is_closed() {
            continue;
        }
        let _timer = timer.start_timer();
        let result = match job.work {
            Work::Argon2 { salt, params } => {
                let blocks = memory.blocks(params.block_count());
                let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
                let mut out = vec![0u8; OUTPUT_LEN];
                argon
                    .hash_password_into_with_memory(&job.password, &salt, &mut out, blocks)
                    .map(|()| out)
                    .map_err(|e| e.to_string())
            }
            Work::Django(hash) => Ok(vec![u8::from(hash.verify(&job.password))]),
        };
        let _ = job.reply.send(result);
    }
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: setpriority only reads its integer arguments; with `who` = 0 and
    // PRIO_PROCESS, Linux applies the niceness to the calling thread alone.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HASH_THREAD_NICE) };
    if rc != 0 {
        tracing::debug!("could not lower the hashing thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

fn default_params() -> Params {
    // The constants are valid argon2 parameters; `DEFAULT` is the same OWASP set.
    Params::new(M_COST, T_COST, P_COST, Some(OUTPUT_LEN)).unwrap_or(Params::DEFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::parse_for_login(s).unwrap()
    }

    /// A caller that goes away mid-hash (a dropped request) used to hand
    /// its turn back at once, so the next caller queued a second hash
    /// behind the first: enough of them, an unbounded backlog. The turn
    /// now ends only when the thread is done with the job.
    #[tokio::test]
    async fn a_gone_caller_keeps_its_turn_until_its_hash_is_done() {
        let hasher = Arc::new(PasswordHasher::new(
            1,
            Duration::from_secs(5),
            Arc::default(),
        ));
        let caller = {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.hash(&pw("correct horse battery staple")).await })
        };
        while hasher.permits.available_permits() == 1 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        caller.abort();
        let _ = caller.await;
        // The hash (tens of milliseconds) is still running: the turn is taken.
        assert_eq!(hasher.permits.available_permits(), 0);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while hasher.permits.available_permits() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the turn never came back"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let hasher = PasswordHasher::new(2, Duration::from_secs(5), Arc::default());
        let stored = hasher
            .hash(&pw("correct horse battery staple"))
            .await
            .unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify(&pw("correct horse battery staple"), &stored)
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(&pw("correct horse battery stapler"), &stored)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn hashes_are_salted() {
        let hasher = PasswordHasher::new(1, Duration::from_secs(5), Arc::default());
        let a = hasher.hash(&pw("same password")).await.unwrap();
        let b = hasher.hash(&pw("same password")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn hashes_from_the_reference_implementation_verify() {
        use argon2::password_hash::PasswordHasher as _;
        let reference: argon2::password_hash::phc::PasswordHash = Argon2::default()
            .hash_password_with_salt(b"hunter2hunter2", b"somesaltsomesalt")
            .unwrap();
        let reference = reference.to_string();
        let hasher = PasswordHasher::new(1, Duration::from_secs(5), Arc::default());
        assert!(
            hasher
                .verify(&pw("hunter2hunter2"), &reference)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn malformed_or_hostile_stored_hashes_never_verify() {
        let hasher = PasswordHasher::new(1, Duration::from_secs(5), Arc::default());
        for bad in [
            "",
            "plain",
            "$argon2i$v=19$m=19456,t=2,p=1$AAAA$AAAA",
            "$argon2id$v=19$m=4294967295,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
        ] {
            assert!(!hasher.verify(&pw("x"), bad).await.unwrap(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_full_queue_answers_service_unavailable() {
        let hasher = Arc::new(PasswordHasher::new(
            1,
            Duration::from_millis(1),
            Arc::default(),
        ));
        let busy = hasher.permits.clone().acquire_owned().await.unwrap();
        let err = hasher.hash(&pw("whatever")).await.unwrap_err();
        assert_eq!(err.code(), "SERVICE_UNAVAILABLE");
        drop(busy);
        assert!(hasher.hash(&pw("whatever")).await.is_ok());
    }
}
