//! The bounded pool CPU work runs in, off the async executor.
//!
//! A render takes a place in the pool ([`Workers::admit`]): at most
//! `workers` run at once on tokio's blocking threads and at most `queue`
//! more wait, so a request beyond that is refused at once with
//! [`Overloaded`] (a 503 with `Retry-After`). While it waits, a render
//! reserves the memory it may use against the budget
//! ([`Ticket::reserve`]), so the renders running at once never allocate
//! more than the budget together. Each job runs under a deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use thiserror::Error;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::Metrics;
use crate::pipeline::Deadline;

/// Most workers or queue places a pool may have.
pub const MAX_PLACES: usize = 1 << 16;

/// A job that ignores its deadline is answered for this long after it
/// before its caller stops waiting (the job keeps its place until it ends).
const GRACE: Duration = Duration::from_secs(1);

/// The budget is counted in units of this many bytes (a semaphore counts
/// in `u32` per acquisition).
const UNIT: u64 = 1024;

/// Every worker is busy and the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the render queue is full")]
pub struct Overloaded;

/// A render that needs more memory than the whole budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the render needs {needed} bytes, more than the memory budget of {budget} bytes")]
pub struct OverBudget {
    /// What it needs.
    pub needed: u64,
    /// The budget.
    pub budget: u64,
}

/// Why a job gave no result.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WorkerFailed {
    /// The job panicked, or the pool is gone.
    #[error("a render worker failed: {0}")]
    Panicked(String),
    /// The job did not end within its deadline and the grace after it.
    #[error("the render did not end within its deadline")]
    TimedOut,
}

/// The pool.
#[derive(Debug, Clone)]
pub struct Workers {
    running: Arc<Semaphore>,
    memory: Arc<Semaphore>,
    budget: u64,
    admitted: Arc<AtomicUsize>,
    capacity: usize,
    workers: usize,
    metrics: Arc<Metrics>,
}

/// A place in the pool, held from admission until the job is done, with
/// the memory reserved for it.
#[derive(Debug)]
pub struct Ticket {
    workers: Workers,
    running: bool,
    memory: Option<OwnedSemaphorePermit>,
}

impl Workers {
    /// A pool running `workers` jobs at once with `queue` more waiting
    /// (each at most [`MAX_PLACES`]), whose jobs together reserve at most
    /// `budget` bytes.
    pub fn new(workers: usize, queue: usize, budget: u64, metrics: Arc<Metrics>) -> Self {
        let workers = workers.clamp(1, MAX_PLACES);
        let units = usize::try_from(budget / UNIT)
            .unwrap_or(usize::MAX)
            .clamp(1, Semaphore::MAX_PERMITS);
        let queue = queue.min(MAX_PLACES);
        metrics.memory_budget.set(i64::try_from(budget).unwrap_or(i64::MAX));
        metrics.render_workers.set(i64::try_from(workers).unwrap_or(i64::MAX));
        metrics
            .render_queue_capacity
            .set(i64::try_from(queue).unwrap_or(i64::MAX));
        Self {
            running: Arc::new(Semaphore::new(workers)),
            memory: Arc::new(Semaphore::new(units)),
            budget: units as u64 * UNIT,
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity: workers + queue,
            workers,
            metrics,
        }
    }

    /// How many jobs run at once.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The memory budget in bytes.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Takes a place in the pool, or refuses when it is full.
    pub fn admit(&self) -> Result<Ticket, Overloaded> {
        let taken = self.admitted.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < self.capacity).then_some(n + 1)
        });
        match taken {
            Ok(_) => {
                self.metrics.render_queue.inc();
                Ok(Ticket {
                    workers: self.clone(),
                    running: false,
                    memory: None,
                })
            }
            Err(_) => Err(Overloaded),
        }
    }
}

impl Ticket {
    /// Reserves `bytes` of the memory budget for this job (in addition to
    /// what it holds), waiting in line while the budget is in use; a job
    /// that could never fit is refused at once.
    pub async fn reserve(&mut self, bytes: u64) -> Result<(), OverBudget> {
        let held = self.memory.as_ref().map_or(0, |p| p.num_permits() as u64 * UNIT);
        let needed = held.saturating_add(bytes);
        let units = bytes.div_ceil(UNIT);
        let refused = OverBudget {
            needed,
            budget: self.workers.budget,
        };
        if needed > self.workers.budget {
            return Err(refused);
        }
        let units = u32::try_from(units).map_err(|_| refused)?;
        let permit = self
            .workers
            .memory
            .clone()
            .acquire_many_owned(units)
            .await
            .map_err(|_| refused)?;
        self.workers
            .metrics
            .memory_reserved
            .inc_by(i64::from(units) * UNIT as i64);
        match &mut self.memory {
            Some(held) => held.merge(permit),
            None => self.memory = Some(permit),
        }
        Ok(())
    }

    /// Waits for a worker, then runs `job` on a blocking thread with a
    /// deadline `timeout` from its start, and returns what it returns.
    ///
    /// The ticket and the worker go with the job: if this future is dropped
    /// or stops waiting, the job still finishes before its place and its
    /// memory are freed, so no more than `workers` jobs ever run at once.
    pub async fn run<T: Send + 'static>(
        mut self,
        timeout: Duration,
        job: impl FnOnce(Deadline) -> T + Send + 'static,
    ) -> Result<T, WorkerFailed> {
        let permit = self
            .workers
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| WorkerFailed::Panicked(e.to_string()))?;
        self.running = true;
        self.workers.metrics.render_queue.dec();
        self.workers.metrics.renders_in_flight.inc();
        let task = tokio::task::spawn_blocking(move || {
            let _place = (self, permit);
            job(Deadline::after(timeout))
        });
        match tokio::time::timeout(timeout.saturating_add(GRACE), task).await {
            Ok(done) => done.map_err(|e| WorkerFailed::Panicked(e.to_string())),
            Err(_) => Err(WorkerFailed::TimedOut),
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let metrics = &self.workers.metrics;
        if self.running {
            metrics.renders_in_flight.dec();
        } else {
            metrics.render_queue.dec();
        }
        if let Some(memory) = &self.memory {
            metrics
                .memory_reserved
                .dec_by(memory.num_permits() as i64 * UNIT as i64);
        }
        self.workers.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn pool(workers: usize, queue: usize, budget: u64) -> Workers {
        Workers::new(workers, queue, budget, Arc::new(Metrics::new()))
    }

    #[test]
    fn admits_workers_plus_queue_then_refuses() {
        let workers = pool(2, 1, 1 << 20);
        let tickets: Vec<Ticket> = (0..3).filter_map(|_| workers.admit().ok()).collect();
        assert_eq!(tickets.len(), 3);
        assert_eq!(workers.admit().err(), Some(Overloaded));
        drop(tickets);
        assert!(workers.admit().is_ok());
        assert_eq!(workers.metrics.render_queue.get(), 0);
    }

    #[test]
    fn huge_settings_are_clamped_not_overflowed() {
        let workers = pool(usize::MAX, usize::MAX, u64::MAX);
        assert_eq!(workers.capacity, 2 * MAX_PLACES);
        assert!(workers.budget() > 0);
        assert!(workers.admit().is_ok());
    }

    #[tokio::test]
    async fn runs_jobs_and_reports_panics() {
        let workers = pool(1, 0, 1 << 20);
        let ticket = workers.admit().expect("a free place");
        assert_eq!(ticket.run(SECOND, |_| 6 * 7).await, Ok(42));
        let ticket = workers.admit().expect("the place is free again");
        assert!(matches!(
            ticket.run(SECOND, |_| panic!("boom")).await,
            Err(WorkerFailed::Panicked(_))
        ));
        assert_eq!(workers.metrics.renders_in_flight.get(), 0);
        assert_eq!(workers.metrics.render_queue.get(), 0);
    }

    #[tokio::test]
    async fn an_abandoned_job_keeps_its_place_until_it_ends() {
        let workers = pool(1, 0, 1 << 20);
        let ticket = workers.admit().expect("a free place");
        let job = ticket.run(SECOND, |_| std::thread::sleep(Duration::from_millis(300)));
        // The caller gives up while the job runs.
        assert!(tokio::time::timeout(Duration::from_millis(50), job).await.is_err());
        assert_eq!(
            workers.admit().err(),
            Some(Overloaded),
            "the running job's place was freed"
        );
        assert_eq!(workers.metrics.renders_in_flight.get(), 1);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(workers.admit().is_ok());
        assert_eq!(workers.metrics.renders_in_flight.get(), 0);
        assert_eq!(workers.metrics.render_queue.get(), 0);
    }

    #[tokio::test]
    async fn jobs_see_their_deadline_and_a_stuck_one_is_not_waited_for() {
        let workers = pool(1, 0, 1 << 20);
        let timeout = Duration::from_millis(100);
        let cooperative = workers.admit().expect("a place").run(timeout, |deadline| {
            while !deadline.passed() {
                std::thread::sleep(Duration::from_millis(5));
            }
            "stopped"
        });
        assert_eq!(cooperative.await, Ok("stopped"));
        let started = std::time::Instant::now();
        let stuck = workers
            .admit()
            .expect("a place")
            .run(timeout, |_| std::thread::sleep(Duration::from_millis(2500)));
        assert_eq!(stuck.await, Err(WorkerFailed::TimedOut));
        assert!(started.elapsed() < Duration::from_millis(2000));
        // The stuck job still holds its worker.
        assert_eq!(workers.admit().err(), Some(Overloaded));
    }

    #[tokio::test]
    async fn memory_is_reserved_in_line_and_freed_with_the_ticket() {
        let workers = pool(4, 4, 10 * UNIT);
        let mut first = workers.admit().expect("a place");
        first.reserve(6 * UNIT).await.expect("fits");
        assert_eq!(workers.metrics.memory_reserved.get(), 6 * UNIT as i64);
        let mut second = workers.admit().expect("a place");
        // Only 4 units are left: the second waits until the first is done.
        let waiting = tokio::time::timeout(Duration::from_millis(50), second.reserve(6 * UNIT)).await;
        assert!(waiting.is_err(), "reserved past the budget");
        drop(first);
        second.reserve(6 * UNIT).await.expect("fits now");
        second.reserve(4 * UNIT).await.expect("grows to the budget");
        assert_eq!(
            second.reserve(1).await,
            Err(OverBudget {
                needed: 10 * UNIT + 1,
                budget: 10 * UNIT
            })
        );
        drop(second);
        assert_eq!(workers.metrics.memory_reserved.get(), 0);
        let mut huge = workers.admit().expect("a place");
        assert!(huge.reserve(11 * UNIT).await.is_err(), "could never fit");
    }
}
