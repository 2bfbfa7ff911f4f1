//! The bounded pool CPU work runs in, off the async executor.
//!
//! At most `workers` renders run at once on tokio's blocking threads; at most
//! `queue` more wait for a turn. A request admitted beyond that is refused at
//! once with [`Overloaded`] (a 503 with `Retry-After`), so memory stays
//! bounded under any load.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use thiserror::Error;
use tokio::sync::Semaphore;

use crate::metrics::Metrics;

/// Every worker is busy and the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the render queue is full")]
pub struct Overloaded;

/// A job that did not return (it panicked).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("a render worker failed: {0}")]
pub struct WorkerFailed(pub String);

/// The pool.
#[derive(Debug, Clone)]
pub struct Workers {
    running: Arc<Semaphore>,
    admitted: Arc<AtomicUsize>,
    capacity: usize,
    metrics: Arc<Metrics>,
}

/// A place in the pool, held from admission until the job is done.
#[derive(Debug)]
pub struct Ticket {
    workers: Workers,
    running: bool,
}

impl Workers {
    /// A pool running `workers` jobs at once (at least one, at most what a
    /// semaphore holds) with `queue` more waiting; the sum saturates.
    pub fn new(workers: usize, queue: usize, metrics: Arc<Metrics>) -> Self {
        let workers = workers.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            running: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity: workers.saturating_add(queue),
            metrics,
        }
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
                })
            }
            Err(_) => Err(Overloaded),
        }
    }
}

impl Ticket {
    /// Waits for a worker, then runs `job` on a blocking thread and returns
    /// what it returns, or how it failed.
    ///
    /// The ticket and the worker go with the job: if this future is dropped
    /// (the client went away), the job still finishes before its place is
    /// freed, so no more than `workers` jobs ever run at once.
    pub async fn run<T: Send + 'static>(mut self, job: impl FnOnce() -> T + Send + 'static) -> Result<T, WorkerFailed> {
        let permit = self
            .workers
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| WorkerFailed(e.to_string()))?;
        self.running = true;
        self.workers.metrics.render_queue.dec();
        self.workers.metrics.renders_in_flight.inc();
        let task = tokio::task::spawn_blocking(move || {
            let _place = (self, permit);
            job()
        });
        task.await.map_err(|e| WorkerFailed(e.to_string()))
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
        self.workers.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_workers_plus_queue_then_refuses() {
        let workers = Workers::new(2, 1, Arc::new(Metrics::new()));
        let tickets: Vec<Ticket> = (0..3).filter_map(|_| workers.admit().ok()).collect();
        assert_eq!(tickets.len(), 3);
        assert_eq!(workers.admit().err(), Some(Overloaded));
        drop(tickets);
        assert!(workers.admit().is_ok());
        assert_eq!(workers.metrics.render_queue.get(), 0);
    }

    #[test]
    fn any_sizes_make_a_pool() {
        for (workers, queue) in [(usize::MAX, usize::MAX), (usize::MAX, 0), (0, usize::MAX), (0, 0)] {
            let pool = Workers::new(workers, queue, Arc::new(Metrics::new()));
            assert!(pool.admit().is_ok(), "{workers} {queue}");
        }
    }

    #[tokio::test]
    async fn runs_jobs_and_reports_panics() {
        let workers = Workers::new(1, 0, Arc::new(Metrics::new()));
        let ticket = workers.admit().expect("a free place");
        assert_eq!(ticket.run(|| 6 * 7).await, Ok(42));
        let ticket = workers.admit().expect("the place is free again");
        assert!(ticket.run(|| panic!("boom")).await.is_err());
        assert_eq!(workers.metrics.renders_in_flight.get(), 0);
        assert_eq!(workers.metrics.render_queue.get(), 0);
    }

    #[tokio::test]
    async fn an_abandoned_job_keeps_its_place_until_it_ends() {
        let workers = Workers::new(1, 0, Arc::new(Metrics::new()));
        let ticket = workers.admit().expect("a free place");
        let job = ticket.run(|| std::thread::sleep(std::time::Duration::from_millis(300)));
        // The caller gives up while the job runs.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), job)
                .await
                .is_err()
        );
        assert_eq!(
            workers.admit().err(),
            Some(Overloaded),
            "the running job's place was freed"
        );
        assert_eq!(workers.metrics.renders_in_flight.get(), 1);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(workers.admit().is_ok());
        assert_eq!(workers.metrics.renders_in_flight.get(), 0);
        assert_eq!(workers.metrics.render_queue.get(), 0);
    }
}
